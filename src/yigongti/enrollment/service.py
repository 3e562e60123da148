"""Use case: designations for a year from a data folder (批量定点), docs/en/rules.md A.

``enroll_data`` is what ``yigongti enroll`` runs, and what adjudication and settlement call when a folder has no
designations for the year yet.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from yigongti.core.engine import Backend, connect, partition_by_county
from yigongti.core.policy import Policy
from yigongti.datafolder.folder import DataFolder
from yigongti.enrollment.domain import PRECEDENCE
from yigongti.enrollment.engine import enroll_tables

__all__ = ["ENROLL_MEMORY", "MEMORY_ENV", "EnrollmentResult", "enroll_data", "limited_duckdb"]

# DuckDB's memory for the enrollment's joins and sorts (its default, 80% of the machine, let a province's 10 M persons
# take 13 GB); past it DuckDB spills to a temporary folder. YIGONGTI_ENROLL_MEMORY overrides it
ENROLL_MEMORY = "2GB"
MEMORY_ENV = "YIGONGTI_ENROLL_MEMORY"


@dataclass(frozen=True)
class EnrollmentResult:
    """Designations for ``year`` and what was refused or could not be designated.

    ``designations``: CONTRACT columns (person_id, year, consortium_id, township_id, village_id, source), one row per
    designated person, sorted by person_id. ``refused``: CONTRACT columns (person_id, year, chosen_at, reason) where
    ``reason`` is the stable refusal code, plus ``message`` (中文 / English), ``fields`` and the choice's ids.
    ``unassigned``: persons whose insured county has no consortium (no designation possible).
    ``stale_carried``: designations of year-1 no longer valid under the registry (not carried over).
    """

    year: int
    window: tuple[date, date]
    designations: pa.Table
    refused: pa.Table
    unassigned: pa.Table
    stale_carried: pa.Table
    by_source: dict[str, int] = field(default_factory=dict)

    @property
    def persons(self) -> int:
        """Designated persons."""
        return int(self.designations.num_rows)


def enroll_data(data: DataFolder, year: int, policy: Policy, *, con: Backend | None = None,
                backend: str = "duckdb") -> EnrollmentResult:
    """Designate every insured person of ``data`` for ``year`` (a validated folder from ``read_folder``).

    ``con``: an engine connection (e.g. ``connect("spark")``); by default a fresh one of ``backend`` (an in-memory
    DuckDB, closed after; or the process's Spark session, kept).
    """
    window = policy.enrollment.window(year)
    with _engine(con, backend) as engine:
        partition_by_county(engine, data["persons"])  # Spark: choices spread by the person's county
        t = enroll_tables(engine, persons=data["persons"], institutions=data["institutions"],
                          consortia=data["consortia"], choices=data.get("choices"),
                          designations=data.get("designations"), year=year, window=window)
    counts = pc.value_counts(t.designations.column("source")).to_pylist() if t.designations.num_rows else []
    found = {c["values"]: int(c["counts"]) for c in counts}
    by_source = {s.value: found.get(s.value, 0) for s in PRECEDENCE}
    return EnrollmentResult(year, window, t.designations, t.refused, t.unassigned, t.stale_carried, by_source)


@contextmanager
def _engine(con: Backend | None, backend: str) -> Iterator[Backend]:
    """``con`` as given (kept open); else DuckDB bounded in memory (closed after), or the process's Spark session."""
    if con is not None:
        yield con
    elif backend == "duckdb":
        with limited_duckdb() as own:
            yield own
    else:
        engine = connect(backend)
        try:
            yield engine
        finally:
            if engine.name != "pyspark":
                engine.disconnect()


@contextmanager
def limited_duckdb() -> Iterator[Backend]:
    """An in-memory DuckDB connection bounded by :data:`ENROLL_MEMORY` (``$YIGONGTI_ENROLL_MEMORY``), spilling into
    a temporary folder removed with the connection."""
    spill = Path(tempfile.mkdtemp(prefix="yigongti-enroll-"))
    try:
        con = connect("duckdb", memory_limit=os.environ.get(MEMORY_ENV) or ENROLL_MEMORY,
                      temp_directory=str(spill / "spill"))
        try:
            yield con
        finally:
            con.disconnect()
    finally:
        shutil.rmtree(spill, ignore_errors=True)
