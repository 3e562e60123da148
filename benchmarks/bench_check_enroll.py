"""Benchmark: the check and enroll steps of ``yigongti run`` on a province alone, repeated in one process (issue 21
item 1): their CPU seconds (user + system, this process's threads) and wall seconds per repetition.

    PYTHONPATH=src python benchmarks/bench_check_enroll.py DIR OUT [--reps 3] [--year 2026]

``DIR``: a folder of ``yigongti demo --out DIR --persons 1000000 --counties 50 --format parquet --no-run``. Each
repetition runs what the streamed run (``budget.year._run_streamed_steps``) runs before the adjudication, with the
same engine settings: ``_check_parking`` (the tables, the parked ones on another thread, the claims' verdict), the
policy and opening balances, then the enrollment step (``_enrolled``: designations, the enrollment's files into
``OUT``, every year's designations) and ``_drop_enrollment_inputs``. Steadier figures than the whole run's steps
(``bench_run_memory.py``): no module imports in the first step, no other step's memory, and the median of the
repetitions after the first (which pays the lazy imports: pandas, matplotlib) is printed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from yigongti.benefits.service import designations_for, folder_designations, parquet_claims_path
from yigongti.budget import year as run
from yigongti.budget.opening_service import resolve_opening
from yigongti.core.engine import arrow_system_pool, connect, release_memory
from yigongti.core.policy_files import resolve_policy
from yigongti.enrollment.report import enrollment_outputs, write_enrollment
from yigongti.enrollment.service import enroll_data


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def enroll_step(data: object, year: int, policy: object, out: Path) -> object:
    """``_enrolled`` where the tree has it (h20/enroll on), else the steps it stands for."""
    if hasattr(run, "_enrolled"):
        return run._enrolled(data, year, policy, out)  # type: ignore[arg-type]
    enrolled = None
    if folder_designations(data, year) is None:  # type: ignore[arg-type]
        result = enroll_data(data, year, policy)  # type: ignore[arg-type]
        write_enrollment(enrollment_outputs(data, result, policy), out)  # type: ignore[arg-type]
        enrolled = result.designations
        del result
    return designations_for(data, year, policy, enrolled=enrolled)  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--year", type=int, default=2026)
    args = ap.parse_args()
    claims_path = parquet_claims_path(args.folder)
    assert claims_path is not None, "Parquet claims expected (a province's folder)"
    policy = resolve_policy(args.folder, None)
    rows: list[tuple[float, float]] = []
    with arrow_system_pool():
        for rep in range(args.reps):
            spill = Path(tempfile.mkdtemp(prefix="bench-check-enroll-"))
            con = connect("duckdb", joins_as_written=True, memory_limit=run.ENGINE_MEMORY,
                          temp_directory=str(spill), allocator_background_threads=True)
            shutil.rmtree(args.out, ignore_errors=True)
            c0, w0 = cpu(), time.perf_counter()
            data, _parked, claims_checked = run._check_parking(args.folder, spill, claims_path)
            resolve_opening(data, args.year, None)
            claims_checked()
            release_memory()
            c1, w1 = cpu(), time.perf_counter()
            designations = enroll_step(data, args.year, policy, args.out)
            run._drop_enrollment_inputs(data)
            release_memory()
            c2, w2 = cpu(), time.perf_counter()
            rows.append((c1 - c0, c2 - c1))
            print(f"rep {rep}: check {c1 - c0:.2f} CPU s ({w1 - w0:.1f} wall)  enroll {c2 - c1:.2f} CPU s "
                  f"({w2 - w1:.1f} wall)  both {c2 - c0:.2f}  load {os.getloadavg()[0]:.2f}", flush=True)
            del data, designations
            con.disconnect()
            shutil.rmtree(spill, ignore_errors=True)
    later = rows[1:] or rows
    print(f"median of reps {'2..' if len(rows) > 1 else '1'}: check {statistics.median(r[0] for r in later):.2f}  "
          f"enroll {statistics.median(r[1] for r in later):.2f}  both {statistics.median(sum(r) for r in later):.2f}")


if __name__ == "__main__":
    main()
