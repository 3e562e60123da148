"""Benchmark: default designation by distance (就近默认定点) at province scale.

Assigns N persons (default 10,000,000) to the nearest of M village-tier institutions (default 600,000) by
great-circle distance with ``yigongti.core.geo.nearest`` (k-d tree on unit vectors), and compares with a
brute-force NumPy baseline (haversine to every institution, argmin) timed on a sample of persons in the same run and
extrapolated linearly to N. The sample's answers must agree exactly. Then the full engine step
``enrollment.engine.nearest_designations`` (Arrow tables in, designations with parent and consortium out; persons
spread over counties) is timed on the same persons.

    python benchmarks/bench_nearest.py [--persons 10000000] [--institutions 600000] [--sample 400] [--counties 2800]

Data are synthetic and generated in memory: institutions uniform over 100-120 E, 22-42 N; persons scattered
(about 3 km) around randomly drawn institutions.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from yigongti.core.geo import great_circle_km, nearest
from yigongti.enrollment.engine import nearest_designations

console = Console(width=130)


def brute_force(pl: np.ndarray, pa_: np.ndarray, tl: np.ndarray, ta: np.ndarray, chunk: int = 25) -> np.ndarray:
    """Nearest target by haversine to every target (first index on ties)."""
    out = np.empty(len(pl), dtype=np.int64)
    for s in range(0, len(pl), chunk):
        d = great_circle_km(pl[s:s + chunk, None], pa_[s:s + chunk, None], tl[None, :], ta[None, :])
        out[s:s + chunk] = d.argmin(axis=1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--persons", type=int, default=10_000_000)
    ap.add_argument("--institutions", type=int, default=600_000)
    ap.add_argument("--sample", type=int, default=200, help="persons for the brute-force baseline")
    ap.add_argument("--counties", type=int, default=2_800, help="counties for the end-to-end engine step")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--skip-engine", action="store_true", help="time only geo.nearest and the baseline")
    args = ap.parse_args()
    n, m = args.persons, args.institutions
    rng = np.random.default_rng(args.seed)
    figures: dict[str, float] = {}
    cpu: dict[str, float] = {}
    load_before = os.getloadavg()[0]

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as prog:
        task = prog.add_task(f"generating {m:,} institutions and {n:,} persons", total=None)
        tl, ta = rng.uniform(100, 120, m), rng.uniform(22, 42, m)
        home = rng.integers(0, m, n)
        pl = tl[home] + rng.normal(0, 0.03, n)
        pa_ = ta[home] + rng.normal(0, 0.03, n)
        prog.update(task, description="generated", completed=1, total=1)

        task = prog.add_task(f"k-d tree: {n:,} persons -> {m:,} institutions", total=None)
        t0, c0 = time.perf_counter(), time.process_time()
        got = nearest(pl, pa_, tl, ta)
        figures["tree"], cpu["tree"] = time.perf_counter() - t0, time.process_time() - c0
        prog.update(task, completed=1, total=1)

        task = prog.add_task(f"brute force NumPy on a sample of {args.sample:,}", total=None)
        sample = rng.choice(n, size=args.sample, replace=False)
        t0, c0 = time.perf_counter(), time.process_time()
        ref = brute_force(pl[sample], pa_[sample], tl, ta)
        figures["brute_sample"], cpu["brute_sample"] = time.perf_counter() - t0, time.process_time() - c0
        prog.update(task, completed=1, total=1)
        agree = bool((got[sample] == ref).all())

        if not args.skip_engine:
            task = prog.add_task(f"engine step: {n:,} persons in {args.counties:,} counties (Arrow in and out)",
                                 total=None)
            county_of_inst = np.array([f"{510000 + i:06d}" for i in range(args.counties)])[
                (np.floor((ta - 22) / 20 * 50).clip(0, 49) * 56 + np.floor((tl - 100) / 20 * 56).clip(0, 55))
                .astype(np.int64) % args.counties]
            inst = pa.table({
                "inst_id": pa.array([f"V{i:07d}" for i in range(m)]),
                "tier": pa.array(np.full(m, "village", dtype=object), pa.string()),
                "consortium_id": pa.array([f"C{i % 5000:05d}" for i in range(m)]),
                "parent_id": pa.array([f"T{i // 20:06d}" for i in range(m)]),
                "county_code": pa.array(county_of_inst), "lon": tl, "lat": ta})
            persons = pa.table({
                "person_id": pa.array([f"P{i:09d}" for i in range(n)]),
                "county_code": pa.array(county_of_inst).take(pa.array(home)),
                "lon": pl, "lat": pa_})
            t0, c0 = time.perf_counter(), time.process_time()
            des, unassigned = nearest_designations(persons, inst, year=2026)
            figures["engine"], cpu["engine"] = time.perf_counter() - t0, time.process_time() - c0
            assert des.num_rows + unassigned.num_rows == n
            prog.update(task, completed=1, total=1)

    brute_total = figures["brute_sample"] * n / args.sample
    table = Table(title=f"nearest village-tier institution: {n:,} persons, {m:,} institutions")
    table.add_column("method")
    table.add_column("wall s", justify="right")
    table.add_column("CPU s (all threads)", justify="right")
    table.add_column("persons / s (wall)", justify="right")
    table.add_row("k-d tree (engine.geo.nearest)", f"{figures['tree']:.2f}", f"{cpu['tree']:.2f}",
                  f"{n / figures['tree']:,.0f}")
    table.add_row(f"brute force NumPy, {args.sample:,} persons (measured)", f"{figures['brute_sample']:.2f}",
                  f"{cpu['brute_sample']:.2f}", f"{args.sample / figures['brute_sample']:,.0f}")
    table.add_row(f"brute force NumPy, {n:,} persons (extrapolated)", f"{brute_total:,.0f}",
                  f"{cpu['brute_sample'] * n / args.sample:,.0f}", "")
    if "engine" in figures:
        table.add_row(f"engine step nearest_designations, {args.counties:,} counties", f"{figures['engine']:.2f}",
                      f"{cpu['engine']:.2f}", f"{n / figures['engine']:,.0f}")
    console.print(table)
    console.print(f"load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
                  f"on {os.cpu_count()} cores")
    console.print(f"speed-up of the k-d tree over brute force: {brute_total / figures['tree']:,.0f}x; "
                  f"sample answers agree: {agree}; target < 10 s: {'met' if figures['tree'] < 10 else 'MISSED'}")
    if not agree:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
