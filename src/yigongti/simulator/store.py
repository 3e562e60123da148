"""The simulation runs' table (平台上的模拟运行): one row per run started on the web platform.

Any worker process shows any run: the parameters, status (queued, running, done, failed), the last progress text,
the heartbeat the running worker writes, the result rows (money in integer fen, as JSON text) and the error. The rows
of a run are written by the worker thread that runs it, each step in a short transaction of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, defer, mapped_column

from yigongti.core.db import Base

__all__ = ["RunRecord", "SimulationRunRepository", "SimulationRunRow"]


class SimulationRunRow(Base):
    """模拟运行 / a simulation run started on the platform."""

    __tablename__ = "simulation_runs"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    parameters: Mapped[str] = mapped_column(Text)  # JSON: scenarios (their definitions), years, replicates, seed
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[str] = mapped_column(String(200), default="")
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    results: Mapped[str | None] = mapped_column(Text)  # JSON: the result rows (fen), None until done
    error: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True)
class RunRecord:
    """A run as stored (``results`` still JSON text)."""

    run_id: int
    requested_by: str
    requested_at: datetime
    parameters: str
    status: str
    progress: str
    heartbeat_at: datetime
    finished_at: datetime | None
    results: str | None
    error: str


def _record(r: SimulationRunRow, *, with_results: bool = True) -> RunRecord:
    return RunRecord(r.run_id, r.requested_by, r.requested_at, r.parameters, r.status, r.progress or "",
                     r.heartbeat_at, r.finished_at, r.results if with_results else None, r.error or "")


class SimulationRunRepository:
    """Add, read and move on the runs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, requested_by: str, at: datetime, parameters: str) -> int:
        row = SimulationRunRow(requested_by=requested_by, requested_at=at, parameters=parameters, status="queued",
                               progress="", heartbeat_at=at, error="")
        self.session.add(row)
        self.session.flush()
        return row.run_id

    def get(self, run_id: int) -> RunRecord | None:
        row = self.session.get(SimulationRunRow, run_id)
        return None if row is None else _record(row)

    def latest(self, limit: int) -> list[RunRecord]:
        """The latest runs first, without their results."""
        rows = self.session.scalars(select(SimulationRunRow).options(defer(SimulationRunRow.results))
                                    .order_by(SimulationRunRow.run_id.desc()).limit(limit))
        return [_record(r, with_results=False) for r in rows]

    def set(self, run_id: int, **values: object) -> None:
        """Update a run's status, progress, heartbeat, results or error."""
        self.session.execute(update(SimulationRunRow).where(SimulationRunRow.run_id == run_id).values(**values))
