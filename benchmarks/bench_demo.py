"""Demo generation rate (示例县生成速度): persons/s and claims/s, against writing the same rows with pyarrow.

    python benchmarks/bench_demo.py [--size 174000 --size 1000000] [--seed 1]

For each size, ``generate_demo`` writes a folder under benchmarks/data/ (CSV below 1M persons, Parquet folders from
there on, as ``--format auto``); the baseline then reads those tables into memory and times only writing the same
rows again with pyarrow in the same format (the I/O floor a generator cannot beat). The ratio is generation time /
baseline time. The folders are deleted afterwards.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yigongti.demo import generate_demo

DATA = Path(__file__).resolve().parent / "data"
STREAMED = ("persons", "choices", "designations", "claims")
console = Console(width=150)


def _read(folder: Path, name: str) -> list[pa.Table]:
    if (folder / name).is_dir():
        return [pq.read_table(p) for p in sorted((folder / name).glob("*.parquet"))]
    return [pacsv.read_csv(folder / f"{name}.csv")]


def _write_only(src: Path, dst: Path) -> float:
    """Seconds to write the streamed tables of ``src`` again, from memory, in the same format."""
    tables = {name: _read(src, name) for name in STREAMED}
    dst.mkdir(parents=True)
    t0 = time.perf_counter()
    for name, parts in tables.items():
        if (src / name).is_dir():
            (dst / name).mkdir()
            for i, part in enumerate(parts):
                pq.write_table(part, dst / name / f"part-{i:05d}.parquet", compression="zstd")
        else:
            pacsv.write_csv(parts[0], dst / f"{name}.csv",
                            write_options=pacsv.WriteOptions(quoting_style="needed"))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, action="append", help="persons (repeatable); default 174000 and 1000000")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sizes = args.size or [174_000, 1_000_000]
    results = Table(title="yigongti demo: generation rate / 生成速度")
    for col in ("persons", "format", "claims", "generate s", "CPU s", "persons/s", "claims/s", "peak RSS MiB",
                "write-only s", "ratio gen/write"):
        results.add_column(col, justify="right")
    for size in sizes:
        out = DATA / f"demo-bench-{size}"
        copy = DATA / f"demo-bench-{size}-write"
        for p in (out, copy):
            shutil.rmtree(p, ignore_errors=True)
        with Progress(TextColumn(f"{size:,} persons"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("gen", total=size)
            t0, c0 = time.perf_counter(), time.process_time()
            s = generate_demo(out, persons=size, seed=args.seed,
                              progress=lambda done, total, task=task: bar.update(task, completed=done))
            gen, cpu = time.perf_counter() - t0, time.process_time() - c0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        base = _write_only(out, copy)
        results.add_row(f"{size:,}", s.fmt, f"{s.claims:,}", f"{gen:.2f}", f"{cpu:.2f}", f"{size / gen:,.0f}",
                        f"{s.claims / gen:,.0f}", f"{rss:,.0f}", f"{base:.2f}", f"{gen / base:.2f}x")
        console.print(f"{size:,} persons: generate {gen:.2f} s wall, {cpu:.2f} s CPU ({size / gen:,.0f} persons/s, "
                      f"{s.claims / gen:,.0f} claims/s); write-only baseline {base:.2f} s; ratio {gen / base:.2f}x; "
                      f"visits/person {s.visits_per_person:.2f}, admissions/100 {s.admissions_per_100:.1f}, "
                      f"primary {s.primary_visit_share:.1%}, in-county admissions {s.county_admission_share:.1%}, "
                      f"outside covered {s.outside_covered_share:.1%}")
        for p in (out, copy):
            shutil.rmtree(p, ignore_errors=True)
    console.print(results)


if __name__ == "__main__":
    main()
