"""Benchmark: ``yigongti nhsa import`` of the platform's settlement records (records/s, peak memory).

    python benchmarks/bench_nhsa.py [--persons 134000] [--keep] [--modes read,rows,columnar]

Writes ``yigongti demo --format nhsa --persons N`` under benchmarks/data/ (git-ignored; 134,000 persons give about
1.9 M settlement records, 2.0 M with the list rows, ``--copies 2`` 3.9 M; one GB18030 CSV with Chinese labels, and
the inpatient claims' settlement lists, 4101 JSON lines), then imports both in a process of its own per mode and
reports wall and CPU time, records/s and that process's peak RSS (the demo is written in a process of its own too: a
child's peak RSS counts its parent's before ``exec``). Modes: ``read``, the floor of any import (pyarrow's CSV
reader alone, transcoding included); ``rows``, every record mapped one by one (``vectorised=False``, the path before
the columnar one); ``columnar``, the import as shipped (the plainly clean records mapped by Arrow compute, the rest
one by one).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"

CHILD = r"""
import json, resource, sys, time
mode, folder, out, copies = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
from pathlib import Path
extra = [Path(folder) / "nhsa" / f"copy{k}.csv" for k in range(1, copies)]
t0, c0 = time.perf_counter(), time.process_time()
if mode in ("rows", "columnar"):
    from yigongti.interop.nhsa.service import import_records
    s = import_records(Path(folder), [Path(folder) / "nhsa" / "setlinfo.csv", *extra], Path(out),
                       settlement_lists=[Path(folder) / "nhsa" / "setl_list.jsonl"], vectorised=mode == "columnar")
    n = s.records
else:
    import pyarrow as pa, pyarrow.csv as pacsv
    n = 0
    for b in pacsv.open_csv(Path(folder) / "nhsa" / "setlinfo.csv", read_options=pacsv.ReadOptions(encoding="gb18030")):
        n += b.num_rows
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"records": n, "wall": wall, "cpu": cpu,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(mode: str, folder: Path, out: Path, copies: int = 1) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHILD, mode, str(folder), str(out), str(copies)], check=True,
                          capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _copies(folder: Path, copies: int) -> None:
    """copy1.csv ... : the records again, each setl_id suffixed (so settlements and cancellations stay paired)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    src = folder / "nhsa" / "setlinfo.csv"
    for k in range(1, copies):
        dest = folder / "nhsa" / f"copy{k}.csv"
        if dest.exists():
            continue
        names = pacsv.open_csv(src, read_options=pacsv.ReadOptions(encoding="gb18030")).schema.names
        reader = pacsv.open_csv(src, read_options=pacsv.ReadOptions(encoding="gb18030"),
                                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                                     strings_can_be_null=False))
        writer = None
        for batch in reader:
            t = pa.Table.from_batches([batch])
            i = t.column_names.index("结算ID")
            t = t.set_column(i, "结算ID", pc.binary_join_element_wise(t.column(i), pa.scalar(f"-{k}"), ""))
            if writer is None:
                writer = pacsv.CSVWriter(dest, t.schema)
            writer.write_table(t)
        if writer is not None:
            writer.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=134_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--modes", default="read,rows,columnar")
    parser.add_argument("--copies", type=int, default=1, help="import the records this many times over (copies "
                        "with their setl_id suffixed, UTF-8): more records against the same registry")
    args = parser.parse_args()
    folder = DATA / f"nhsa-{args.persons}"
    if not (folder / "nhsa" / "setlinfo.csv").exists():  # in a process of its own: its peak stays out of the figures
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sys; from yigongti.cli import main; sys.argv[0] = 'yigongti'; "
                        "main()", "demo", "--out", str(folder), "--persons", str(args.persons), "--format", "nhsa"],
                       check=True, capture_output=True)
        print(f"demo --format nhsa: {time.perf_counter() - t0:.1f} s")
    size = (folder / "nhsa" / "setlinfo.csv").stat().st_size / 2**20
    out = DATA / f"nhsa-{args.persons}-out"
    names = {"read": "pyarrow CSV read alone (floor)", "rows": "`nhsa import`, row by row (before)",
             "columnar": "`nhsa import`, columnar path (now)"}
    _copies(folder, args.copies)
    runs = [(m, _child(m, folder, out, args.copies)) for m in args.modes.split(",")]
    print(f"records {runs[-1][1]['records']:,.0f} (settlement records and list rows), file {size:,.0f} MiB")
    print("| step | wall s | CPU s | records/s (wall) | records/s (CPU) | peak RSS MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for mode, r in runs:
        print(f"| {names[mode]} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['records'] / r['wall']:,.0f} | "
              f"{r['records'] / r['cpu']:,.0f} | {r['rss_mib']:,.0f} |")
    by = dict(runs)
    if "rows" in by and "columnar" in by:
        print(f"columnar / rows: CPU {by['rows']['cpu'] / by['columnar']['cpu']:.2f}x faster, wall "
              f"{by['rows']['wall'] / by['columnar']['wall']:.2f}x")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
