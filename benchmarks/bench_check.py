"""Benchmark: ``yigongti check`` on a demo county (checking rate in rows/s, peak memory), against the previous code.

    python benchmarks/bench_check.py [--persons 1000000] [--keep] [--no-baseline]

Generates ``yigongti demo --no-run --persons N`` under benchmarks/data/ (git-ignored; Parquet folders from 1,000,000
persons; deleted afterwards unless --keep), then runs, each in its own process (peak RSS of that process):
- baseline: ``check_folder`` of the previous implementation (``store/datafolder.py`` and ``store/crosschecks.py`` at
  commit ``BASELINE``, loaded from git into a scratch package; per-row ID numbers in Python, floats via ``repr``);
- ``check_folder`` now (what ``read_folder`` does: every typed table kept);
- ``scan_folder`` now (what ``yigongti check`` does: tables read part by part, only the columns the checks across
  tables need are kept).
Then the same three on a copy of the folder with errors in it (ID numbers with a wrong check digit, birth date or sex
digit; claims of unknown persons; covered cost above total cost), and compares the problems found: the current code
must report the same file:row:column: message as the previous one (plus the part file and record it names). The
current code runs with ``limit=None`` (every problem listed, as the previous code did; ``yigongti check`` lists the
first 1,000 per file and column unless ``--all``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
DATA = ROOT / "data"
BASELINE = "ccf48436377b1aea679c1ff2b6ab5119ed6f7129"  # the last commit before the columnar check
console = Console(width=150)

CHILD = r"""
import json, resource, sys, time
mode, folder, out = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "previous":
    sys.path.insert(0, sys.argv[4])
    from _prev_store.datafolder import check_folder
    run = lambda: check_folder(folder)[1]
elif mode == "check_folder":
    from yigongti.datafolder.folder import check_folder
    run = lambda: check_folder(folder, limit=None)[1]
else:
    from yigongti.datafolder.folder import scan_folder
    run = lambda: scan_folder(folder, limit=None).problems
start = time.perf_counter()
problems = run()
took = time.perf_counter() - start
json.dump([str(p) for p in problems], open(out, "w"), ensure_ascii=False)
print(json.dumps({"seconds": took, "problems": len(problems),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def previous_package(into: Path) -> Path:
    """The previous datafolder/crosschecks as package ``_prev_store`` under ``into``."""
    pkg = into / "_prev_store"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for name in ("datafolder", "crosschecks"):
        src = subprocess.run(["git", "show", f"{BASELINE}:src/yigongti/store/{name}.py"], cwd=REPO, check=True,
                             capture_output=True, text=True).stdout
        (pkg / f"{name}.py").write_text(src.replace("yigongti.datafolder.crosschecks", "_prev_store.crosschecks"))
    return into


def run_child(mode: str, folder: Path, out: Path, prev: Path) -> dict[str, float]:
    cmd = [sys.executable, "-c", CHILD, mode, str(folder), str(out), str(prev)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{res.stderr[-3000:]}")
    result: dict[str, float] = json.loads(res.stdout.strip().splitlines()[-1])
    return result


def count_rows(folder: Path) -> int:
    total = 0
    for entry in folder.iterdir():
        if entry.is_dir() and any(entry.glob("*.parquet")):
            total += sum(pq.ParquetFile(p).metadata.num_rows for p in entry.glob("*.parquet"))
        elif entry.suffix == ".parquet":
            total += pq.ParquetFile(entry).metadata.num_rows
        elif entry.suffix == ".csv":
            with entry.open("rb") as f:
                total += max(sum(1 for _ in f) - 1, 0)
    return total


def with_errors(folder: Path, into: Path) -> Path:
    """A copy of ``folder`` (links for untouched files) with cross-check errors in one part of persons and claims."""
    into.mkdir()
    for entry in folder.iterdir():
        if entry.name in ("persons", "claims"):
            (into / entry.name).mkdir()
            for part in sorted(entry.glob("*.parquet")):
                os.link(part, into / entry.name / part.name)
        elif entry.is_dir():
            shutil.copytree(entry, into / entry.name, copy_function=os.link)
        else:
            os.link(entry, into / entry.name)
    persons_part = sorted((into / "persons").glob("*.parquet"))[3]
    t = pq.read_table(persons_part)
    rows = t.to_pylist()
    for k, r in enumerate(rows[:3000]):
        number = r["id_number"]
        if not number:
            continue
        if k % 3 == 0:
            r["id_number"] = number[:17] + ("0" if number[17] != "0" else "1")  # check digit
        elif k % 3 == 1:
            r["sex"] = "M" if r["sex"] == "F" else "F"  # sex digit
        else:
            r["birth_date"] = r["birth_date"].replace(day=1 if r["birth_date"].day != 1 else 2)  # birth date
    persons_part.unlink()
    pq.write_table(pa.Table.from_pylist(rows, schema=t.schema), persons_part)
    claims_part = sorted((into / "claims").glob("*.parquet"))[7]
    t = pq.read_table(claims_part)
    person = t.column("person_id").to_pylist()
    for k in range(0, 2000, 10):
        person[k] = f"NOBODY-{k}"
    t = t.set_column(t.column_names.index("person_id"), "person_id", pa.array(person, pa.string()))
    covered = t.column("covered_cost")
    over = pc.if_else(pc.equal(pc.bit_wise_and(pa.array(range(t.num_rows), pa.int64()), 127), 5),
                      pc.add(pc.cast(t.column("total_cost"), pa.decimal128(14, 2)),
                             pa.scalar(1, pa.decimal128(14, 2))), covered)
    t = t.set_column(t.column_names.index("covered_cost"), "covered_cost", pc.cast(over, covered.type))
    claims_part.unlink()
    pq.write_table(t, claims_part)
    return into


_PART = re.compile(r" \(part-\d+\.parquet record \d+ / 第\d+条\)$")


def same_problems(previous: Path, now: Path) -> tuple[bool, int]:
    old = json.loads(previous.read_text())
    new = [_PART.sub("", p) for p in json.loads(now.read_text())]
    return sorted(old) == sorted(new), len(new)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the generated folders")
    ap.add_argument("--no-baseline", action="store_true", help="skip the previous implementation")
    args = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    folder = DATA / f"check-{args.persons}"
    scratch = Path(tempfile.mkdtemp(prefix="bench-check-", dir=DATA))
    modes = (["previous"] if not args.no_baseline else []) + ["check_folder", "scan_folder"]
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console) as bar:
            if not folder.exists():
                task = bar.add_task(f"yigongti demo --no-run --persons {args.persons:,}")
                subprocess.run([str(Path(sys.executable).parent / "yigongti"), "demo", "--out", str(folder),
                                "--persons",
                                str(args.persons), "--no-run"], check=True, capture_output=True)
                bar.update(task, completed=1, total=1)
            rows = count_rows(folder)
            prev = previous_package(scratch / "prev")
            bad = with_errors(folder, scratch / "with-errors")
            results: dict[tuple[str, str], dict[str, float]] = {}
            for label, target in (("clean", folder), ("with errors", bad)):
                for mode in modes:
                    task = bar.add_task(f"{label}: {mode}")
                    results[(label, mode)] = run_child(mode, target, scratch / f"{label}-{mode}.json", prev)
                    bar.update(task, completed=1, total=1)
        console.print(f"folder: {folder.name}, {rows:,} rows in all tables; load average "
                      f"{os.getloadavg()[0]:.1f} at the end (2 cores, shared)")
        console.print("| folder | code | seconds | rows/s | peak RSS MB | problems | vs previous |")
        console.print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for (label, mode), r in results.items():
            base = results.get((label, "previous"))
            ratio = f"{base['seconds'] / r['seconds']:.1f}x faster" if base and mode != "previous" else ""
            console.print(f"| {label} | {mode} | {r['seconds']:.1f} | {rows / r['seconds']:,.0f} | "
                          f"{r['peak_mb']:,.0f} | {int(r['problems']):,} | {ratio} |")
        if not args.no_baseline:
            for label in ("clean", "with errors"):
                for mode in ("check_folder", "scan_folder"):
                    ok, n = same_problems(scratch / f"{label}-previous.json", scratch / f"{label}-{mode}.json")
                    console.print(f"{label}, {mode}: {n:,} problems, same as the previous code: {ok}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    console.print(f"total {time.perf_counter() - start:.0f} s")
