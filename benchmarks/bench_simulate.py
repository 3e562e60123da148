"""Benchmark: the pilot simulator (试点模拟), a county-year on the real adjudication, appraisal and settlement.

    python benchmarks/bench_simulate.py [--persons 20000] [--years 1] [--replicates 8] [--baseline SRC] [--once]
        [--jobs 2] [--threads 1]

Generates one pilot county (the shipped design's ``centre-middle``, ``--persons`` persons) under benchmarks/data/,
then, each in a fresh process: prepares it (the observed year run once) and simulates one global-budget scenario for
``--replicates`` x ``--years`` county-years, timing each phase (adjudication, appraisal, settlement, drawing; wall
and CPU of the process, the engine's threads included). ``--baseline SRC``: the same measurement with the code of
another source tree (``/path/to/main/src``) in the same run, before and after this tree's. ``--jobs N``: also the
wall time of ``run_simulation`` with 1 and with N processes on ``--replicates`` x ``--years`` of two counties
(``centre-middle`` and ``centre-low``). ``--threads T``: DuckDB on T threads in every measured process. Prints a
hash of the rows (the same in both trees: same seed, same numbers) and the CPU seconds
per county-year and the projection of the issue's 12 counties x 5 years x 50 replicates on N cores.
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
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "simulate"
SRC = HERE.parent / "src"
SPENT: dict[str, float] = defaultdict(float)
CPU: dict[str, float] = defaultdict(float)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        t, c = time.perf_counter(), _cpu()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] += time.perf_counter() - t
            CPU[name] += _cpu() - c
    return run


def measure(years: int, replicates: int) -> dict[str, Any]:
    """One tree's figures (run in a child process whose PYTHONPATH is that tree's src)."""
    from yigongti.simulator import service
    from yigongti.simulator.domain import load_scenarios

    for name in ("adjudicate_data", "appraise_data", "settle_year", "settle_worlds"):
        if hasattr(service, name):  # settle_worlds: a batch's settlements in one run (main before h8/simfast: none)
            setattr(service, name, _timed("settle" if name.startswith("settle") else name, getattr(service, name)))
    service.g.draw_claims = _timed("draw_claims", service.g.draw_claims)  # type: ignore[method-assign]
    t, c = time.perf_counter(), _cpu()
    setup = service.prepare_county("centre-middle", DATA / "centre-middle")
    prepare = (time.perf_counter() - t, _cpu() - c)
    SPENT.clear()
    CPU.clear()
    scenario = load_scenarios("[scenarios.global_budget]\n")[0]
    t, c = time.perf_counter(), _cpu()
    rows, crows = service.simulate_county(setup, scenario, county_index=0, years=years, replicates=replicates, seed=1)
    digest = hashlib.sha256(repr((rows, crows)).encode()).hexdigest()[:16]  # same seed, same numbers in both trees
    return {"wall": time.perf_counter() - t, "cpu": _cpu() - c, "n": len(rows), "prepare": prepare, "hash": digest,
            "claims": setup.templates.claims.num_rows, "phases": {k: (SPENT[k], CPU[k]) for k in SPENT}}


def parallel(years: int, replicates: int, jobs: int) -> dict[str, Any]:
    from yigongti.simulator.domain import load_scenarios
    from yigongti.simulator.service import run_simulation

    scenario = load_scenarios("[scenarios.global_budget]\n")
    t = time.perf_counter()
    result = run_simulation(DATA, scenario, years=years, replicates=replicates, seed=1, jobs=jobs)
    return {"wall": time.perf_counter() - t, "n": len(result.rows)}


def _child(src: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, __file__, *args], env=env, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _report(label: str, m: dict[str, Any]) -> float:
    n = m["n"]
    print(f"{label}: {n} county-years, {m['wall']:.1f} s wall, {m['cpu']:.1f} s CPU = {m['cpu'] / n:.2f} CPU s per "
          f"county-year; prepare {m['prepare'][1]:.1f} CPU s; rows hash {m.get('hash', '-')}")
    for name, (wall, cpu) in sorted(m["phases"].items(), key=lambda kv: -kv[1][1]):
        print(f"    {name}: {cpu / n:.2f} CPU s per county-year ({wall / n:.2f} s wall)")
    return float(m["cpu"] / n)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--years", type=int, default=1)
    ap.add_argument("--replicates", type=int, default=8)
    ap.add_argument("--baseline", type=Path, default=None, help="src of the tree to compare with (main's)")
    ap.add_argument("--once", action="store_true", help="each tree once (default: baseline, tree, tree, baseline)")
    ap.add_argument("--jobs", type=int, default=0, help="also time run_simulation with 1 and with N processes")
    ap.add_argument("--threads", type=int, default=0,
                    help="DuckDB threads of every measured process (YIGONGTI_DUCKDB_THREADS; a baseline "
                         "before h9/simfast2 ignores it)")
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--parallel", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.years, args.replicates)))
        return
    if args.parallel:
        print(json.dumps(parallel(args.years, args.replicates, args.parallel)))
        return
    if args.threads:
        os.environ["YIGONGTI_DUCKDB_THREADS"] = str(args.threads)
    sys.path.insert(0, str(SRC))
    from yigongti.simulator.pilot import PILOT_4X3, read_pilot_design, write_pilot

    design = read_pilot_design(PILOT_4X3)
    names = ("centre-middle", "centre-low") if args.jobs else ("centre-middle",)  # --jobs: two counties
    design = design.model_copy(update={"counties": tuple(c for c in design.counties if c.name in names)})
    shutil.rmtree(DATA, ignore_errors=True)
    write_pilot(design, DATA, persons=args.persons)
    run = ["--measure", "--years", str(args.years), "--replicates", str(args.replicates)]
    print(f"{args.persons:,} persons, one global-budget scenario, {args.replicates} replicates x {args.years} years; "
          f"load average {os.getloadavg()[0]:.1f}")
    trees = [("this tree", SRC)] + ([("baseline", args.baseline)] if args.baseline else [])
    order = trees + trees[::-1] if args.baseline and not args.once else trees  # the load drifts: both ways
    figures: dict[str, list[float]] = defaultdict(list)
    prepare = 0.0
    for label, src in order:
        m = _child(src, *run)
        figures[label].append(_report(f"{label} ({src})", m))
        prepare = m["prepare"][1]
    per = {label: sum(v) / len(v) for label, v in figures.items()}
    for label, cpu in per.items():
        total = 3000 * cpu + 12 * prepare
        print(f"{label}: {cpu:.2f} CPU s per county-year; 12 counties x 5 years x 50 replicates = 3,000 "
              f"county-years + 12 prepares = {total / 3600:.2f} CPU hours = {total / 2 / 60:.0f} min on 2 "
              f"free cores")
    if "baseline" in per:
        print(f"CPU per county-year: {per['baseline']:.2f} -> {per['this tree']:.2f} s "
              f"({per['this tree'] / per['baseline'] - 1:+.0%})")
    if args.jobs:
        par = ["--years", str(args.years), "--replicates", str(args.replicates), "--parallel"]
        one, many = _child(SRC, *par, "1"), _child(SRC, *par, str(args.jobs))
        print(f"run_simulation, {one['n']} county-years: --jobs 1 {one['wall']:.1f} s wall, --jobs {args.jobs} "
              f"{many['wall']:.1f} s wall (x{one['wall'] / many['wall']:.2f})")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
