"""Benchmark: ``yigongti run`` on a province, each step's peak RSS and CPU seconds (issue 21 item 1).

    PYTHONPATH=src python benchmarks/bench_run_memory.py DIR OUT [--year 2026] [--check-only] [--stop-at STEP]

``DIR`` is a folder of ``yigongti demo --out DIR --persons 1000000 --counties 50 --format parquet --no-run``. Runs
``resolve_policy`` + ``run_year`` (what ``yigongti run --data DIR --year 2026 --out OUT`` runs, reports included) in
this process; a thread samples VmRSS every 0.1 s. Per step (check, enroll, adjudicate, appraise, settle, and the
writing of the settlement after the last one): peak RSS, RSS when the step ends, CPU seconds (user + system) and the
Arrow pool's bytes when it ends, and its wall seconds (the two cores' overlap shows as CPU s over wall s). CPU
seconds count the processes that render reports once they have ended (the appraisal's workbook is built by one while
the settlement runs: its seconds show in the step it ends in); the peak of this process's RSS and its children's
together (sampled at the same moments) is printed apart. ``1 thread s``: the most CPU seconds one thread of this
process spent in the step (threads sampled every 0.1 s): the step's serial part, its wall on an idle machine at least
(on a loaded one wall says little).
``--check-only``: the check of the streamed run alone (``_check_parking`` and ``check_claims_files``: since
h19/check10m the second within the first, beside the parked tables' thread), then what stays resident once it is
over (after ``release_memory``).
"""

from __future__ import annotations

import argparse
import gc
import inspect
import os
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa


def status_mb(key: str = "VmRSS") -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mb() -> float:
    return status_mb()


def children_rss_mb() -> float:
    """The RSS of this process's child processes (those that render reports), with theirs."""
    def kids(pid: str) -> list[str]:
        found: list[str] = []
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    found += f.read().split()
        except OSError:
            return []
        return found

    total, todo = 0.0, kids(str(os.getpid()))
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/status") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0) / 1024
        except OSError:
            continue
        todo += kids(pid)
    return total


def cpu() -> float:
    """This process's CPU seconds and its finished children's (processes that render reports)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                   resource.getrusage(resource.RUSAGE_CHILDREN)))


def thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of each live thread of this process, by thread id."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        found[task] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return found


class Sampler:
    def __init__(self) -> None:
        self.peak = 0.0
        self.together = 0.0  # this process and its children at the same moment
        self.threads: dict[str, float] = {}  # each thread's CPU seconds when last seen (an ended one: its last)
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop:
            own = rss_mb()
            self.peak = max(self.peak, own)
            self.together = max(self.together, own + children_rss_mb())
            self.threads.update(thread_cpu())
            time.sleep(0.1)

    def busiest(self, since: dict[str, float]) -> float:
        """The most CPU seconds one thread spent since ``since`` (the threads' seconds then): on an idle machine a
        step takes at least that long, whatever the other threads do (the step's serial part)."""
        self.threads.update(thread_cpu())
        return max((secs - since.get(tid, 0.0) for tid, secs in self.threads.items()), default=0.0)

    def take(self) -> float:
        peak, self.peak = max(self.peak, rss_mb()), rss_mb()
        return peak


class _Stopped(Exception):
    """Raised by the step callback at ``--stop-at``."""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--year", type=int, default=2026)
    ap.add_argument("--check-only", action="store_true")
    ap.add_argument("--stop-at", metavar="STEP", help="end the run when STEP (e.g. adjudicate) begins: the steps "
                                                       "before it alone, their outputs written")
    args = ap.parse_args()
    rows: list[tuple[str, float, float, float, float, float, float]] = []
    sampler = Sampler()
    state = {"name": "start", "cpu": cpu(), "wall": time.perf_counter()}
    threads_then = dict(sampler.threads)

    def step(name: str) -> None:
        nonlocal threads_then
        now, wall_now = cpu(), time.perf_counter()
        peak = sampler.take()
        busiest = sampler.busiest(threads_then)
        rows.append((state["name"], peak, rss_mb(), now - state["cpu"], pa.total_allocated_bytes() / 2**20,
                     wall_now - state["wall"], busiest))
        threads_then = dict(sampler.threads)
        state.update(name=name, cpu=now, wall=wall_now)
        if name == args.stop_at:
            raise _Stopped

    started = time.time()
    if args.check_only:
        import tempfile

        from yigongti.benefits.service import check_claims_files, parquet_claims_path
        from yigongti.budget.year import ENGINE_MEMORY, _check_parking
        from yigongti.core import engine
        from yigongti.core.engine import connect, release_memory

        if hasattr(engine, "arrow_system_pool"):  # as _run_streamed allocates (h15/checkmem on)
            pa.set_memory_pool(pa.system_memory_pool())
        spill = Path(tempfile.mkdtemp(prefix="bench-check-"))
        con = connect("duckdb", joins_as_written=True, memory_limit=ENGINE_MEMORY, temp_directory=str(spill),
                      allocator_background_threads=True)
        step("check")
        if "claims_path" in inspect.signature(_check_parking).parameters:  # h19/check10m on: the claims checked
            data, _parked, claims_checked = _check_parking(args.folder, spill, parquet_claims_path(args.folder))
            step("check claims")  # (with the other tables: their verdict alone here)
            claims_checked()
        elif "con" in inspect.signature(check_claims_files).parameters:  # main before h15/checkmem
            data, _parked = _check_parking(args.folder, spill)  # type: ignore[call-arg,misc]
            step("check claims")
            check_claims_files(con, data, parquet_claims_path(args.folder))  # type: ignore[call-arg]
        else:
            data, _parked = _check_parking(args.folder, spill)  # type: ignore[call-arg,misc]
            step("check claims")
            check_claims_files(data, parquet_claims_path(args.folder))
        release_memory()
        step("after (released)")
        time.sleep(2)
        gc.collect()
        release_memory()
        step("end")
        held = sum(t.nbytes for t in data.tables.values()) / 2**20
        print(f"tables held after the check: {held:,.0f} MB in Arrow ({', '.join(sorted(data.tables))})")
        con.disconnect()
        shutil.rmtree(spill, ignore_errors=True)
    else:
        from yigongti.budget.year import run_year
        from yigongti.core.policy_files import resolve_policy

        shutil.rmtree(args.out, ignore_errors=True)
        policy = resolve_policy(args.folder, None)
        try:
            run_year(args.folder, args.year, args.out, policy=policy, step=step)
            step("end")
        except _Stopped:
            pass
    wall = time.time() - started
    print(f"{'step':<18} {'peak MB':>9} {'RSS at end':>11} {'CPU s':>8} {'wall s':>8} {'Arrow MB':>9} "
          f"{'1 thread s':>10}")
    for name, peak, end, secs, arrow, walls, busiest in rows[1:]:
        print(f"{name:<18} {peak:>9,.0f} {end:>11,.0f} {secs:>8.1f} {walls:>8.1f} {arrow:>9,.0f} {busiest:>10.1f}")
    total = sum(r[3] for r in rows[1:])
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"total CPU s {total:.1f} (of which child processes {child.ru_utime + child.ru_stime:.1f}), "
          f"wall {wall:.1f} s, VmHWM {status_mb('VmHWM'):,.0f} MB, with the child processes' RSS at the same "
          f"moment {sampler.together:,.0f} MB, pid {os.getpid()}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
