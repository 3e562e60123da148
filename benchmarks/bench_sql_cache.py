"""Benchmark: what ``core.engine.duckdb_sql`` (the DuckDB SQL compiled once per shape of expression) saves.

    python benchmarks/bench_sql_cache.py [--persons 20000] [--years 3] [--replicates 10]

Generates the pilot's ``centre-middle`` county under benchmarks/data/sql_cache, then, each in a fresh process with one
DuckDB thread, simulates one global-budget scenario for ``--replicates`` x ``--years`` county-years twice: with the
cache (``duckdb_sql``) and with Ibis's plain compilation of every expression. Prints, for each, the CPU seconds of the
main thread spent making SQL, the number of statements, the process's CPU seconds and a hash of the rows (the same in
both). Order: cache, plain, plain, cache (the load drifts).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "sql_cache"
SRC = HERE.parent / "src"


def measure(mode: str, years: int, replicates: int) -> dict[str, Any]:
    """One process's figures: ``mode`` "cache" (duckdb_sql) or "plain" (backend.compile every time)."""
    from yigongti.benefits import engine as benefits_engine
    from yigongti.core import engine as core_engine
    from yigongti.simulator import service
    from yigongti.simulator.domain import load_scenarios

    cached = core_engine.duckdb_sql
    spent = [0.0, 0.0]

    def timed(expr: Any, con: Any = None) -> str:
        t = time.thread_time()
        try:
            return cached(expr, con) if mode == "cache" else str((con or expr.get_backend()).compile(expr))
        finally:
            spent[0] += time.thread_time() - t
            spent[1] += 1

    core_engine.duckdb_sql = timed  # type: ignore[assignment]
    benefits_engine.duckdb_sql = timed  # type: ignore[attr-defined]
    setup = service.prepare_county("centre-middle", DATA / "centre-middle")
    spent[:] = [0.0, 0.0]
    scenario = load_scenarios("[scenarios.global_budget]\n")[0]
    before = os.times()
    rows, crows = service.simulate_county(setup, scenario, county_index=0, years=years, replicates=replicates, seed=1)
    after = os.times()
    return {"mode": mode, "n": len(rows), "sql_cpu": spent[0], "statements": int(spent[1]),
            "cpu": after.user + after.system - before.user - before.system,
            "hash": hashlib.sha256(repr((rows, crows)).encode()).hexdigest()[:16]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--replicates", type=int, default=10)
    ap.add_argument("--measure", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.years, args.replicates)))
        return
    sys.path.insert(0, str(SRC))
    from yigongti.simulator.pilot import PILOT_4X3, read_pilot_design, write_pilot

    design = read_pilot_design(PILOT_4X3)
    design = design.model_copy(update={"counties": tuple(c for c in design.counties if c.name == "centre-middle")})
    shutil.rmtree(DATA, ignore_errors=True)
    write_pilot(design, DATA, persons=args.persons)
    env = {**os.environ, "PYTHONPATH": str(SRC), "YIGONGTI_DUCKDB_THREADS": "1"}
    print(f"{args.persons:,} persons, {args.replicates} replicates x {args.years} years; "
          f"load average {os.getloadavg()[0]:.1f}")
    for mode in ("cache", "plain", "plain", "cache"):
        out = subprocess.run([sys.executable, __file__, "--measure", mode, "--years", str(args.years),
                              "--replicates", str(args.replicates)], env=env, check=True, capture_output=True,
                             text=True)
        m = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{mode}: {m['statements']} statements, SQL made in {m['sql_cpu']:.2f} CPU s; process {m['cpu']:.1f} "
              f"CPU s for {m['n']} county-years; rows hash {m['hash']}")


if __name__ == "__main__":
    main()
