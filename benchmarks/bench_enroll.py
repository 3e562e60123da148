"""Benchmark: batch enrollment of a large county-year (``enroll_data`` + head counts and movement).

A synthetic county with N persons (households of 3), 10 consortia x 30 township centres x 20 village clinics, N/4
choices (some outside the window, some broken), N/2 designations of the year before. Times the engine
(``enrollment.service.enroll_data``), then head counts and movement (``enrollment_outputs``), and compares with the
domain's plain per-person loop (``enrollment.domain.reference_designations``) timed on the first S persons in the same
run and extrapolated linearly to N; the loop's answers for those persons must equal the engine's.

    python benchmarks/bench_enroll.py [--persons 1000000] [--sample 3000]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from yigongti.core.policy import Policy
from yigongti.datafolder.crosschecks import registry_from_tables
from yigongti.datafolder.folder import DataFolder
from yigongti.enrollment.domain import Choice, Designation, Resident, Source, reference_designations
from yigongti.enrollment.report import enrollment_outputs
from yigongti.enrollment.service import enroll_data
from yigongti.registry.domain import Registry

console = Console(width=130)
COUNTY = "510727"


def county(n: int, seed: int) -> DataFolder:
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str, str, str | None]] = []
    for c in range(10):
        rows.append((f"C{c}-H", "county", f"C{c}", None))
        for t in range(30):
            rows.append((f"C{c}-T{t:02d}", "township", f"C{c}", None))
            rows += [(f"C{c}-T{t:02d}-V{v:02d}", "village", f"C{c}", f"C{c}-T{t:02d}") for v in range(20)]
    m = len(rows)
    inst = pa.table({
        "inst_id": [r[0] for r in rows], "name": [r[0] for r in rows], "tier": [r[1] for r in rows],
        "level": [2 if r[1] == "county" else 0 for r in rows], "kind": ["general"] * m,
        "consortium_id": [r[2] for r in rows], "parent_id": [r[3] for r in rows], "county_code": [COUNTY] * m,
        "lon": rng.uniform(104, 105, m), "lat": rng.uniform(32, 33, m)})
    cons = pa.table({"consortium_id": [f"C{c}" for c in range(10)], "name": [f"C{c}" for c in range(10)],
                     "county_code": [COUNTY] * 10, "lead_inst_id": [f"C{c}-H" for c in range(10)]})
    pid = pa.array([f"P{i:09d}" for i in range(n)])
    persons = pa.table({
        "person_id": pid, "id_number": pa.nulls(n, pa.string()),
        "sex": pa.repeat(pa.scalar("F"), n),
        "birth_date": pa.array(rng.integers(-20000, 20000, n).astype("datetime64[D]")).cast(pa.date32()),
        "household_id": pa.array([f"H{i // 3:09d}" for i in range(n)]),
        "insurance": pa.array(np.where(rng.random(n) < 0.2, "employee", "resident").astype(object), pa.string()),
        "county_code": pa.repeat(pa.scalar(COUNTY), n),
        "lon": rng.uniform(104, 105, n), "lat": rng.uniform(32, 33, n)})
    vil = [r for r in rows if r[1] == "village"]
    vil_id = pa.array([r[0] for r in vil])
    vil_town = pa.array([r[3] for r in vil])
    vil_cons = pa.array([r[2] for r in vil])
    k = n // 4
    pick = pa.array(rng.integers(0, len(vil), k))
    broken = pa.array(rng.integers(0, len(vil), k))
    towns = pc.if_else(pa.array(rng.random(k) < 0.05), vil_town.take(broken), vil_town.take(pick))
    start = np.datetime64("2025-09-20T00:00:00")
    choices = pa.table({
        "person_id": pid.take(pa.array(np.sort(rng.integers(0, n, k)))), "year": pa.repeat(pa.scalar(2026), k),
        "consortium_id": vil_cons.take(pick), "township_id": towns, "village_id": vil_id.take(pick),
        "chosen_at": pa.array(start + rng.integers(0, 110 * 86400, k).astype("timedelta64[s]"), pa.timestamp("s"))})
    k2 = n // 2
    pick2 = pa.array(rng.integers(0, len(vil), k2))
    designations = pa.table({
        "person_id": pid.take(pa.array(np.sort(rng.choice(n, k2, replace=False)))),
        "year": pa.repeat(pa.scalar(2025), k2), "consortium_id": vil_cons.take(pick2),
        "township_id": vil_town.take(pick2), "village_id": vil_id.take(pick2),
        "source": pa.repeat(pa.scalar("choice"), k2)})
    return DataFolder(Path("."), {"institutions": inst, "consortia": cons, "persons": persons, "choices": choices,
                                  "designations": designations})


def reference_on(data: DataFolder, s: int) -> tuple[dict[str, Designation], float]:
    persons = data["persons"].slice(0, s)
    ids = persons.column("person_id")
    mine = data["choices"].filter(pc.is_in(data["choices"].column("person_id"), value_set=ids.combine_chunks()))
    prev = data["designations"].filter(pc.is_in(data["designations"].column("person_id"),
                                                value_set=ids.combine_chunks()))
    registry = Registry.of(*registry_from_tables(data["institutions"], data["consortia"]))
    t0 = time.perf_counter()
    residents = [Resident(p["person_id"], p["household_id"], p["county_code"], p["lon"], p["lat"])
                 for p in persons.to_pylist()]
    choices = [Choice(c["person_id"], c["year"], c["consortium_id"], c["township_id"], c["village_id"],
                      c["chosen_at"]) for c in mine.to_pylist()]
    previous = [Designation(d["person_id"], d["year"], d["consortium_id"], d["township_id"], d["village_id"],
                            Source(d["source"])) for d in prev.to_pylist()]
    got = reference_designations(residents, choices, previous, registry=registry, year=2026,
                                 window=Policy().enrollment.window(2026))
    return got, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=3_000, help="persons for the plain-loop baseline (multiple of 3)")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    n, s = args.persons, args.sample - args.sample % 3
    policy = Policy()
    load_before = os.getloadavg()[0]
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as prog:
        task = prog.add_task(f"generating a county of {n:,} persons", total=None)
        data = county(n, args.seed)
        prog.update(task, completed=1, total=1)
        task = prog.add_task("enroll_data (DuckDB + k-d tree)", total=None)
        t0, c0 = time.perf_counter(), time.process_time()
        result = enroll_data(data, 2026, policy)
        t_enroll, c_enroll = time.perf_counter() - t0, time.process_time() - c0
        prog.update(task, completed=1, total=1)
        task = prog.add_task("head counts and movement", total=None)
        t0 = time.perf_counter()
        outputs = enrollment_outputs(data, result, policy)
        t_out = time.perf_counter() - t0
        prog.update(task, completed=1, total=1)
        task = prog.add_task(f"plain per-person loop on {s:,} persons", total=None)
        ref, t_ref = reference_on(data, s)
        prog.update(task, completed=1, total=1)
    engine = {r["person_id"]: r for r in result.designations.slice(0, s).to_pylist()}
    agree = all((d.consortium_id, d.township_id, d.village_id, d.source.value) == (
        engine[p]["consortium_id"], engine[p]["township_id"], engine[p]["village_id"], engine[p]["source"])
        for p, d in ref.items()) and len(ref) == s
    ref_total = t_ref * n / s
    table = Table(title=f"enrollment of {n:,} persons ({result.refused.num_rows:,} refused choices; "
                        f"{', '.join(f'{k} {v:,}' for k, v in result.by_source.items())})")
    for col in ("step", "wall s", "persons / s"):
        table.add_column(col, justify="left" if col == "step" else "right")
    table.add_row("enroll_data (engine)", f"{t_enroll:.2f} (CPU {c_enroll:.2f})", f"{n / t_enroll:,.0f}")
    table.add_row("head counts + movement", f"{t_out:.2f}", f"{n / t_out:,.0f}")
    table.add_row(f"plain loop, {s:,} persons (measured)", f"{t_ref:.2f}", f"{s / t_ref:,.0f}")
    table.add_row(f"plain loop, {n:,} persons (extrapolated)", f"{ref_total:,.0f}", "")
    console.print(table)
    console.print(f"head count rows {outputs.headcounts.num_rows:,}; load average before / after: {load_before:.1f}"
                  f" / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {datetime.now():%Y-%m-%d %H:%M}")
    console.print(f"engine vs plain loop: {ref_total / t_enroll:,.0f}x faster; sample answers agree: {agree}")
    if not agree:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
