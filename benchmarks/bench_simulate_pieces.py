"""Benchmark: where a simulator batch's CPU goes, piece by piece (试点模拟分项耗时).

    python benchmarks/bench_simulate_pieces.py COUNTY_FOLDER [--replicates 25] [--years 2]

Prepares one county folder (``yigongti simulate-pilot`` writes them) and simulates one global-budget scenario for
``--replicates`` x ``--years`` county-years in this process, DuckDB on one thread, with a CPU wrapper (``os.times()``:
user + system, the engine's threads included) around the adjudication, the appraisal, the settlement of the batch,
the draw and each piece of the glue (worlds, shift back, designations, counts, satisfaction). Prints the rows hash
(as ``bench_simulate.py``'s), each piece's CPU seconds per county-year and, on the SUMMARY line, the CPU outside the
adjudication and the appraisal and the prepare's. The wrappers nest (``_stacked_year`` holds ``worlds.prefix``,
``settle_worlds`` the ``bs.`` pieces). Run it with each tree's ``src`` on PYTHONPATH, alternating the trees.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

CPU: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _wrap(module: ModuleType, name: str, label: str) -> None:
    fn: Callable[..., Any] | None = getattr(module, name, None)
    if fn is None:  # a piece an older tree does not have
        return

    def run(*args: Any, **kwargs: Any) -> Any:
        c = _cpu()
        try:
            return fn(*args, **kwargs)
        finally:
            CPU[label] += _cpu() - c
            CALLS[label] += 1

    setattr(module, name, run)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("county", type=Path)
    ap.add_argument("--replicates", type=int, default=25)
    ap.add_argument("--years", type=int, default=2)
    args = ap.parse_args()
    os.environ["YIGONGTI_DUCKDB_THREADS"] = "1"
    from yigongti.budget import service as bs
    from yigongti.core.engine import set_duckdb_threads
    from yigongti.simulator import engine as g
    from yigongti.simulator import service, worlds
    from yigongti.simulator.domain import load_scenarios

    set_duckdb_threads(1)
    for name in ("adjudicate_data", "appraise_data", "settle_worlds", "_stacked_year", "_world_appraisals",
                 "_consortium_rows", "_scores", "_relabel"):
        _wrap(service, name, name)
    for name in ("draw_claims", "switch", "designations_table", "year_counts", "satisfaction", "shift_back",
                 "shift_back_all", "template_multipliers"):
        _wrap(g, name, f"g.{name}")
    for name in ("split", "prefix", "stack"):
        _wrap(worlds, name, f"worlds.{name}")
    for name in ("_world_rows", "_engine_tables", "_settle", "_last_year_costs", "_figures_of"):
        _wrap(bs, name, f"bs.{name}")
    c = _cpu()
    setup = service.prepare_county(args.county.name, args.county)
    prepare = _cpu() - c
    CPU.clear()
    CALLS.clear()
    scenario = load_scenarios("[scenarios.global_budget]\n")[0]
    c = _cpu()
    rows, crows = service.simulate_county(setup, scenario, county_index=0, years=args.years,
                                          replicates=args.replicates, seed=1)
    total = _cpu() - c
    n = len(rows)
    print(f"rows hash {hashlib.sha256(repr((rows, crows)).encode()).hexdigest()[:16]}, {n} county-years, "
          f"{total / n:.3f} CPU s per county-year; load average {os.getloadavg()[0]:.1f}")
    for label, spent in sorted(CPU.items(), key=lambda kv: -kv[1]):
        print(f"  {label:28s} {spent / n:.4f} per county-year ({spent:.2f} s, {CALLS[label]} calls)")
    outside = total - CPU["adjudicate_data"] - CPU["appraise_data"]
    print(f"SUMMARY total {total / n:.4f} outside-adj-appr {outside / n:.4f} settle {CPU['settle_worlds'] / n:.4f} "
          f"draw {CPU['g.draw_claims'] / n:.4f} prepare {prepare:.2f}")


if __name__ == "__main__":
    main()
