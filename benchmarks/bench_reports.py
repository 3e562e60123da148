"""Benchmark: the settlement reports of a province (issue 21 item 2): ``write_reports(result, folder, workers=W)``
for every consortium of one settlement, timed alone (the settlement is computed once and pickled).

    python benchmarks/bench_reports.py --folder P [--year 2026] [--pickle S.pkl] [--workers 1,2] [--out O]

``--folder``: a province (``yigongti demo --out P --counties 50 --persons 200000 --format parquet --no-run``: 100
consortia); its settlement is computed once (``settle_year``) and kept in ``--pickle`` (default
``P/settlement-<year>.pkl``), so that two trees (main and a branch) time their reports on the same settlement.
Each ``--workers`` figure runs in a fresh process (so imports and the workers' start-up are counted): wall
seconds, CPU seconds (user + system of the process and its children: the spawned workers), files and bytes written.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _render(pkl: Path, out: Path, workers: int) -> None:
    """One timed run (in its own process): load the settlement, write the reports, print one line."""
    wall, cpu = time.perf_counter(), _cpu()
    from yigongti.budget.report import write_reports

    with pkl.open("rb") as fh:
        result = pickle.load(fh)  # noqa: S301 - our own file, written by this script
    loaded_wall, loaded_cpu = time.perf_counter() - wall, _cpu() - cpu
    files = write_reports(result, out, workers=workers)
    wall, cpu = time.perf_counter() - wall - loaded_wall, _cpu() - cpu - loaded_cpu
    size = sum(f.stat().st_size for f in files)
    print(f"workers={workers} consortia={len(result.consortia)} files={len(files)} bytes={size:,} "
          f"wall_s={wall:.2f} cpu_s={cpu:.2f} (import+load: wall {loaded_wall:.2f} cpu {loaded_cpu:.2f}) "
          f"load={os.getloadavg()[0]:.2f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", type=Path, required=True)
    ap.add_argument("--year", type=int, default=2026)
    ap.add_argument("--pickle", type=Path)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--render", action="store_true", help=argparse.SUPPRESS)  # the timed child
    args = ap.parse_args()
    pkl = args.pickle or args.folder / f"settlement-{args.year}.pkl"
    out = args.out or args.folder.parent / "reports-bench-out"
    if args.render:
        _render(pkl, out, int(args.workers))
        return
    if not pkl.exists():
        from yigongti.budget.service import settle_year

        t = time.perf_counter()
        result = settle_year(args.folder, args.year)
        with pkl.open("wb") as fh:
            pickle.dump(result, fh)
        print(f"settled {len(result.consortia)} consortia in {time.perf_counter() - t:.1f} s -> {pkl}", flush=True)
    for w in (int(x) for x in args.workers.split(",")):
        subprocess.run([sys.executable, __file__, "--folder", str(args.folder), "--year", str(args.year),
                        "--pickle", str(pkl), "--workers", str(w), "--out", str(out / f"w{w}"), "--render"],
                       check=True)


if __name__ == "__main__":
    main()
