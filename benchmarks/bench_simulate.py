"""Benchmark: the pilot simulator (试点模拟), a county-year on the real adjudication, appraisal and settlement.

    python benchmarks/bench_simulate.py [--persons 20000] [--years 2] [--replicates 2] [--batch B]

Generates one pilot county (the shipped design's ``centre-middle``, ``--persons`` persons) under benchmarks/data/,
prepares it (the observed year run once), then simulates one global-budget scenario for ``--replicates`` x
``--years`` county-years (``--batch`` replicates adjudicated together), timing each phase (drawing the claims,
adjudication, appraisal, settlement, wall and CPU) and printing the seconds per county-year and the extrapolation
to the issue's 12 counties x 5 years x 50 replicates. The baseline of the same run: one ``yigongti run`` of the
observed year (``prepare``), the same engines on the observed claims.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yigongti.simulator import service
from yigongti.simulator.domain import load_scenarios
from yigongti.simulator.pilot import PILOT_4X3, read_pilot_design, write_pilot

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "simulate"
SPENT: dict[str, float] = defaultdict(float)
CPU: dict[str, float] = defaultdict(float)


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        t, c = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] += time.perf_counter() - t
            CPU[name] += time.process_time() - c
    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--years", type=int, default=2)
    ap.add_argument("--replicates", type=int, default=2)
    ap.add_argument("--batch", type=int, default=None,
                    help="replicates adjudicated together (default: service.batch_size; 1: one at a time, as before)")
    args = ap.parse_args()
    design = read_pilot_design(PILOT_4X3)
    design = design.model_copy(update={"counties": tuple(c for c in design.counties if c.name == "centre-middle")})
    shutil.rmtree(DATA, ignore_errors=True)
    t = time.perf_counter()
    write_pilot(design, DATA, persons=args.persons)
    print(f"generate {args.persons:,} persons: {time.perf_counter() - t:.2f} s")
    for name in ("adjudicate_data", "appraise_data", "settle_year"):
        setattr(service, name, _timed(name, getattr(service, name)))
    service.g.draw_claims = _timed("draw_claims", service.g.draw_claims)  # type: ignore[method-assign]
    service.g.switch = _timed("switch", service.g.switch)  # type: ignore[method-assign]
    t = time.perf_counter()
    setup = service.prepare_county("centre-middle", DATA / "centre-middle")
    prepare = time.perf_counter() - t
    print(f"prepare (the observed year: enroll, adjudicate, appraise, settle): {prepare:.2f} s; "
          f"{setup.templates.claims.num_rows:,} claims")
    SPENT.clear()
    CPU.clear()
    scenario = load_scenarios("[scenarios.global_budget]\n")[0]
    t = time.perf_counter()
    cpu = os.times()
    rows, _ = service.simulate_county(setup, scenario, county_index=0, years=args.years,
                                      replicates=args.replicates, seed=1, batch=args.batch)
    wall = time.perf_counter() - t
    used = sum(os.times()[:2]) - sum(cpu[:2])
    n = len(rows)
    per = wall / n
    print(f"{n} county-years: {wall:.2f} s wall, {used:.2f} s CPU; {per:.2f} s per county-year "
          f"({used / n:.2f} s CPU)")
    for name, s in sorted(SPENT.items(), key=lambda kv: -kv[1]):
        print(f"  {name}: {s / n:.2f} s per county-year ({s / wall:.0%}), {CPU[name] / n:.2f} s CPU")
    print(f"12 counties x 5 years x 50 replicates = 3,000 county-years: {3000 * per / 60:.0f} min at this rate "
          f"(+ 12 prepares, {12 * prepare / 60:.1f} min)")
    print(f"/load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
