"""Benchmark: the engine's check of a folder's Parquet claims (``check_parquet_claims``'s scans, the heaviest
statements of ``yigongti settle``'s check), alone, in one process (issue 21 items 2 and 4).

    python benchmarks/bench_claims_check.py FOLDER [--runs 4] [--full]

Reads the folder's persons and institutions as ``settle`` does, compiles ``bad_claims_count`` (ids looked up as
written) over ``FOLDER/claims/*.parquet`` as its first look (what valid claims cost), or with ``--full`` as the full
scan (what runs after a first look that found something), and runs it ``--runs`` times; prints the CPU seconds
(every thread, DuckDB's included) and wall seconds of each run. ``YIGONGTI_DUCKDB_THREADS=1`` gives steadier CPU
figures on a loaded machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from yigongti.benefits.service import bad_claims_count
from yigongti.core.engine import connect, read_parquet, register_arrow
from yigongti.datafolder.folder import read_folder


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", type=Path)
    p.add_argument("--runs", type=int, default=4)
    p.add_argument("--full", action="store_true", help="the full scan, not the first look")
    args = p.parse_args()
    data = read_folder(args.folder, tables=["persons", "institutions", "consortia"])
    con = connect("duckdb", keep_order=False, joins_as_written=True)
    persons = register_arrow(con, data["persons"].select(["person_id"]), "chk_persons")
    institutions = register_arrow(con, data["institutions"].select(["inst_id"]), "chk_institutions")
    claims = read_parquet(con, str(args.folder / "claims" / "*.parquet"))
    expr = bad_claims_count(claims, persons=persons, institutions=institutions, as_written=True,
                            first_look=not args.full)
    assert expr is not None
    sql = con.compile(expr)
    for _ in range(args.runs):
        cpu, wall = time.process_time(), time.perf_counter()
        row = con.raw_sql(sql).fetchall()[0]
        print(f"check: {time.process_time() - cpu:.2f} CPU s, {time.perf_counter() - wall:.2f} s wall "
              f"(bad claims {row[0]}, padded {row[1]})")


if __name__ == "__main__":
    main()
