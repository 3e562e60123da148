"""Benchmark: ``yigongti check`` on a large Parquet folder against a hand-written DuckDB scan of the same files.

    python benchmarks/bench_check_scale.py DIR [DIR ...] [--memory-limit 2GB]

``DIR`` is a folder of ``yigongti demo --no-run --persons N`` (``benchmarks/bench_check.py --keep`` makes one under
benchmarks/data/). Each step runs in its own process under ``/usr/bin/time -v`` (wall seconds, peak RSS):

- baseline: one DuckDB connection (``threads=2``) that does, over the same files, what ``check`` does without naming
  rows: counts the empty required cells of persons and claims, recomputes the ID numbers' check digit (GB 11643) and
  birth date, counts enum values outside their lists, covered cost above total, discharge before admission, counts
  duplicate keys (persons, claims, designations) and claims, choices and designations of unknown persons;
- ``yigongti check DIR`` as a user types it (problems named by file, row and column);
- with ``--before SRC``, the same command with ``PYTHONPATH=SRC`` first (another checkout's sources, e.g. main's).

Rows/s is all rows of all tables over the wall seconds of ``check`` (and over its CPU seconds,
user + system); the ratio is check's seconds over the baseline's.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

BASELINE = r"""
import sys, duckdb
folder = sys.argv[1]
con = duckdb.connect()
con.execute("SET threads=2")
con.execute("SET enable_progress_bar=false")
def pq(name):
    return f"read_parquet('{folder}/{name}/*.parquet')"
weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
weighted = " + ".join(f"{w} * (ascii(id_number[{k + 1}]) - 48)" for k, w in enumerate(weights))
persons = con.execute(f'''
    SELECT count(*),
           count(*) FILTER (WHERE person_id IS NULL OR person_id = ''),
           count(*) FILTER (WHERE sex NOT IN ('M', 'F') OR birth_date IS NULL),
           count(*) FILTER (WHERE id_number <> '' AND (NOT regexp_full_match(id_number, '[0-9]{{17}}[0-9Xx]')
               OR substr('10X98765432', (({weighted}) % 11) + 1, 1) <> upper(id_number[18])
               OR try_strptime(substr(id_number, 7, 8), '%Y%m%d')::DATE IS DISTINCT FROM birth_date
               OR (ascii(id_number[17]) % 2 = 1) <> (sex = 'M'))),
           count(*) FILTER (WHERE lon NOT BETWEEN 73 AND 135.5 OR lat NOT BETWEEN 3 AND 54),
           count(*) - count(DISTINCT person_id),
           count(id_number) FILTER (WHERE id_number <> '') - count(DISTINCT nullif(id_number, ''))
    FROM {pq('persons')}''').fetchone()
claims = con.execute(f'''
    SELECT count(*),
           count(*) FILTER (WHERE claim_id IS NULL OR person_id IS NULL OR inst_id IS NULL OR admit_date IS NULL
                            OR total_cost IS NULL OR covered_cost IS NULL),
           count(*) FILTER (WHERE setting NOT IN ('outpatient', 'inpatient', 'pharmacy')),
           count(*) FILTER (WHERE covered_cost > total_cost OR discharge_date < admit_date OR total_cost < 0),
           count(*) - count(DISTINCT claim_id)
    FROM {pq('claims')}''').fetchone()
unknown = [con.execute(f'''SELECT count(*) FROM {pq(name)} t ANTI JOIN {pq('persons')} p USING (person_id)''')
           .fetchone()[0] for name in ("claims", "choices", "designations")]
dup = con.execute(f"SELECT count(*) - count(DISTINCT (person_id, year)) FROM {pq('designations')}").fetchone()
print(persons, claims, unknown, dup)
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS MB, CPU seconds user+system as text) of a command under /usr/bin/time -v."""
    res = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env, check=False)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", res.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
    assert wall and rss, res.stderr[-2000:]
    parts = [float(p) for p in wall.group(1).split(":")]
    seconds = parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) > 2 else 0)
    cpu = sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): (\S+)", res.stderr))
    return seconds, int(rss.group(1)) // 1024, f"{cpu:.1f}"


def count_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    total = 0
    for entry in folder.iterdir():
        if entry.is_dir():
            total += sum(pq.ParquetFile(p).metadata.num_rows for p in entry.glob("*.parquet"))
        elif entry.suffix == ".parquet":
            total += pq.ParquetFile(entry).metadata.num_rows
        elif entry.suffix == ".csv":
            with entry.open("rb") as f:
                total += max(sum(1 for _ in f) - 1, 0)
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--memory-limit", default=None, help="YIGONGTI_CHECK_MEMORY for check (default: its own)")
    ap.add_argument("--before", type=Path, default=None, help="sources of the code to compare with (PYTHONPATH)")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.memory_limit:
        env["YIGONGTI_CHECK_MEMORY"] = args.memory_limit
    yigongti = str(Path(sys.executable).parent / "yigongti")
    print("| folder | rows | step | wall s | CPU s | peak RSS MB | rows/s (wall) | rows per CPU s "
          "| vs baseline (wall) |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for folder in args.folders:
        rows = count_rows(folder)
        base_s, base_mb, base_out = timed([sys.executable, "-c", BASELINE, str(folder)], env)
        print(f"| {folder.name} | {rows:,} | DuckDB baseline | {base_s:.1f} | {base_out} | {base_mb:,} "
              f"| {rows / base_s:,.0f} | {rows / float(base_out):,.0f} | |")
        if args.before:
            old = {**env, "PYTHONPATH": f"{args.before.resolve()}{os.pathsep}{env.get('PYTHONPATH', '')}"}
            old_s, old_mb, old_out = timed([yigongti, "check", str(folder)], old)
            print(f"| {folder.name} | {rows:,} | `yigongti check` before ({args.before}) | {old_s:.1f} | {old_out} "
                  f"| {old_mb:,} | {rows / old_s:,.0f} | {rows / float(old_out):,.0f} | {old_s / base_s:.1f}x |")
        check_s, check_mb, check_out = timed([yigongti, "check", str(folder)], env)
        print(f"| {folder.name} | {rows:,} | `yigongti check` | {check_s:.1f} | {check_out} | {check_mb:,} "
              f"| {rows / check_s:,.0f} | {rows / float(check_out):,.0f} | {check_s / base_s:.1f}x |")
    print(f"load average {os.getloadavg()[0]:.1f} at the end (2 cores, shared)")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
