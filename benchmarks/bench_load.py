"""Benchmark: loading a demo county into the database, and submitting choices.

    python benchmarks/bench_load.py [--persons 174000] [--choices 300] [--keep]

Generates a demo county under benchmarks/data/ (git-ignored; deleted afterwards unless --keep), then measures on a
SQLite file and on PostgreSQL (the local test server, a scratch schema dropped afterwards):
- reading and validating the loaded tables of the folder;
- ``load_data`` into an empty database, and again (idempotent reload), and again computing the designations for
  the year from the whole database (``--year``);
- the baseline in the same run: the persons table written with SQLAlchemy Core ``executemany`` of dicts (the
  straightforward way), against the persons step of ``upsert_table`` (COPY / raw executemany);
- ``submit_choice`` one after another (choices per second), household choices included.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import insert, text

from yigongti.core.bulk import upsert_table
from yigongti.core.db import make_engine
from yigongti.core.policy import Policy
from yigongti.datafolder.folder import DataFolder, read_folder
from yigongti.enrollment.choices import SubmitChoice, submit_choice
from yigongti.enrollment.loading import HEAD_COLUMN, LOADED_TABLES, load_data
from yigongti.enrollment.store import PersonRow
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.platform.migrations import upgrade

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
console = Console(width=150)
PERSON_COLUMNS = ["person_id", "id_number", "sex", "birth_date", "household_id", HEAD_COLUMN, "insurance",
                  "county_code", "lon", "lat"]


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def persons_table(data: DataFolder) -> pa.Table:
    return data["persons"].select(PERSON_COLUMNS)  # household_head: the reader's default (false)


def write_persons(url: str, schema: str | None, data: DataFolder, *, baseline: bool) -> float:
    """Seconds to write the persons into an empty table: ``upsert_table``, or the baseline (SQLAlchemy Core
    ``executemany`` of dicts, 5,000 rows a statement). The table is emptied afterwards."""
    table = persons_table(data)
    rows = table.to_pylist() if baseline else []
    engine = make_engine(url, schema=schema)
    try:
        uow = SqlAlchemyUnitOfWork(engine)
        with uow:
            start = time.perf_counter()
            if baseline:
                for n in range(0, len(rows), 5000):
                    uow.session.execute(insert(PersonRow), rows[n:n + 5000])
            else:
                upsert_table(uow.session, PersonRow, table, key=["person_id"])
            uow.commit()
            took = time.perf_counter() - start
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM persons"))
    finally:
        engine.dispose()
    return took


def choices_per_second(url: str, schema: str | None, data: DataFolder, n: int) -> float:
    persons = data["persons"].slice(0, n).column("person_id").to_pylist()
    villages = data["institutions"].filter(pc.equal(data["institutions"].column("tier"), "village"))
    vil = villages.select(["inst_id", "parent_id", "consortium_id"]).to_pylist()
    engine = make_engine(url, schema=schema)
    try:
        uow = SqlAlchemyUnitOfWork(engine)
        year = 2026
        base = datetime(year - 1, 11, 1, 8, 0)
        start = time.perf_counter()
        for k, pid in enumerate(persons):
            v = vil[k % len(vil)]
            submit_choice(SubmitChoice(pid, year, v["consortium_id"], v["parent_id"], v["inst_id"],
                                       base + timedelta(seconds=k)), uow, now=base)
        return n / (time.perf_counter() - start)
    finally:
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=174_000)
    ap.add_argument("--choices", type=int, default=300)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    folder = DATA / f"demo-{args.persons}"
    made = False
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("demo county / 生成示例县", total=None)
        if not (folder / "persons.csv").is_file() and not (folder / "persons").is_dir():
            exe = Path(sys.executable).parent / "yigongti"
            subprocess.run([str(exe), "demo", "--out", str(folder), "--persons", str(args.persons)], check=True,
                           capture_output=True)
            made = True
        progress.update(task, description="reading / 读取")
        data, t_read = timed(read_folder, folder, tables=LOADED_TABLES)
        rows = {k: v.num_rows for k, v in data.tables.items()}
        results: list[tuple[str, float, float, float, float, float, float]] = []
        for kind in ("sqlite", "postgresql"):
            progress.update(task, description=f"{kind}: load / 导入")
            if kind == "sqlite":
                path = DATA / f"bench-{uuid.uuid4().hex[:8]}.sqlite"
                url, schema = f"sqlite:///{path}", None
            else:
                url, schema = PG, f"bench_{uuid.uuid4().hex[:8]}"
                with make_engine(PG).begin() as conn:
                    conn.execute(text(f"CREATE SCHEMA {schema}"))
            try:
                upgrade(url, schema=schema)
                progress.update(task, description=f"{kind}: persons baseline / 基线")
                t_base = write_persons(url, schema, data, baseline=True)
                t_fast = write_persons(url, schema, data, baseline=False)
                progress.update(task, description=f"{kind}: load twice / 导入两次")
                uow = SqlAlchemyUnitOfWork(url, schema=schema)
                _, t_first = timed(load_data, data, uow, policy=Policy())
                _, t_again = timed(load_data, data, uow, policy=Policy())
                _, t_year = timed(load_data, data, uow, policy=Policy(), year=2026)
                uow.dispose()
                progress.update(task, description=f"{kind}: submit_choice")
                cps = choices_per_second(url, schema, data, args.choices)
                results.append((kind, t_first, t_again, t_year, t_base, t_fast, cps))
            finally:
                if kind == "sqlite":
                    for p in path.parent.glob(path.name + "*"):
                        p.unlink()
                else:
                    with make_engine(PG).begin() as conn:
                        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    if made and not args.keep:
        shutil.rmtree(folder)
    console.print(f"folder: {', '.join(f'{k} {v:,}' for k, v in rows.items())}; read + validate {t_read:.2f} s")
    for kind, t_first, t_again, t_year, t_base, t_fast, cps in results:
        console.print(
            f"{kind:10s} load {t_first:6.2f} s ({rows['persons'] / t_first:,.0f} persons/s), reload {t_again:6.2f} s, "
            f"reload --year 2026 {t_year:6.2f} s; "
            f"persons table: upsert_table {t_fast:5.2f} s vs Core executemany baseline {t_base:5.2f} s "
            f"= {t_base / t_fast:.1f}x faster; submit_choice {cps:,.0f} choices/s")


if __name__ == "__main__":
    main()
