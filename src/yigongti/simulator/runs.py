"""Use cases of the simulator on the web platform (平台上的试点模拟): offer the scenarios, start a run, follow it,
read its result.

A run is a row of ``simulation_runs`` (``store``), so that every worker process shows every run. It is executed in a
background thread of the worker process that took the request, at most one per process at a time (a second start
while one runs is refused, :class:`RunBusy`, 409: nothing queues up without bound). The thread writes its progress and
a heartbeat every :data:`HEARTBEAT_SECONDS`; a run still queued or running whose heartbeat is older than
:data:`STALE_AFTER` is shown as failed: the worker that ran it stopped. The run is ``service.run_simulation`` on the
platform's loaded county folder, with the numbers the command gives for the same parameters; its rows are kept in
integer fen. Only the officials who see the county's money start and read runs (:data:`RUN_ROLES`); every start is
written to the audit log with its parameters.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from yigongti.core.audit import AuditRepository
from yigongti.core.engine import duckdb_threads_here
from yigongti.core.policy_files import folder_policy
from yigongti.core.problems import Conflict, InvalidInput, InvalidRequest, NotAllowed, NotFound
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.audit import actor_of
from yigongti.simulator.domain import ConsortiumYear, CountyYear, Scenario, SimulationResult
from yigongti.simulator.service import read_scenarios, run_simulation
from yigongti.simulator.store import RunRecord, SimulationRunRepository

__all__ = [
    "FOLDER_SCENARIOS",
    "HEARTBEAT_SECONDS",
    "MAX_REPLICATES",
    "MAX_RUN_SIZE",
    "MAX_YEARS",
    "RUN_ROLES",
    "SHIPPED_SCENARIOS",
    "STALE_AFTER",
    "Offered",
    "RunBusy",
    "RunParameters",
    "RunView",
    "decode_result",
    "encode_result",
    "is_busy",
    "offered_scenarios",
    "parse_run_request",
    "recent_runs",
    "run_of",
    "start_run",
]

log = logging.getLogger(__name__)

RUN_ROLES = frozenset({Role.INSURANCE_BUREAU, Role.HEALTH_COMMISSION, Role.SYSTEM_ADMIN})
"""Who may start and read simulation runs: the officials who see the county's money."""
SHIPPED_SCENARIOS = Path(__file__).resolve().parent / "pilots" / "scenarios.toml"
FOLDER_SCENARIOS = "scenarios.toml"
"""A data folder's own scenarios, offered after the shipped ones (one of the same name replaces the shipped one)."""
MAX_YEARS = 10
MAX_REPLICATES = 20
MAX_RUN_SIZE = 200
"""At most this many scenario-years x replicates in a run started on a page (the command has no such cap)."""
RUN_THREADS = 1
"""DuckDB threads of a page's run (the worker's other cores serve its requests meanwhile; the numbers are the same)."""
HEARTBEAT_SECONDS = 30.0
STALE_AFTER = timedelta(minutes=5)
"""A queued or running run whose heartbeat is older than this is failed: its worker process stopped."""
WORKER_STOPPED = "运行该模拟的工作进程已停止 / the worker stopped"


class RunBusy(Conflict):
    """A run is going on in this worker process (409)."""


@dataclass(frozen=True)
class Offered:
    """A scenario offered on the page: where it comes from (``shipped`` or ``folder``) and what it changes."""

    scenario: Scenario
    source: str

    def changes(self, lang: str = "zh") -> str:
        return "; ".join(self.scenario.changes(lang))


def offered_scenarios(folder: Path | None) -> tuple[list[Offered], str]:
    """The shipped scenarios and the folder's own (``scenarios.toml`` in it), validated against the folder's policy;
    and the problems of the folder's file, if any ("" when none: a bad file is reported, the shipped ones stay)."""
    policy = folder_policy(folder) if folder is not None else None
    offered = {s.name: Offered(s, "shipped") for s in read_scenarios(SHIPPED_SCENARIOS, base=policy)}
    problem = ""
    own = folder / FOLDER_SCENARIOS if folder is not None else None
    if own is not None and own.is_file():
        try:
            offered.update({s.name: Offered(s, "folder") for s in read_scenarios(own, base=policy)})
        except InvalidInput as exc:
            problem = "; ".join(f"{p.column}: {p.message}" if p.column else p.message for p in exc.problems)
    return list(offered.values()), problem


@dataclass(frozen=True)
class RunParameters:
    """What a run was asked for."""

    scenarios: tuple[Scenario, ...]
    years: int
    replicates: int
    seed: int

    def to_json(self) -> str:
        """As JSON; each scenario with the keys it sets only (so that it tells again what it changes)."""
        return json.dumps({"scenarios": [s.model_dump(mode="json", exclude_unset=True) for s in self.scenarios],
                           "years": self.years, "replicates": self.replicates, "seed": self.seed},
                          ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunParameters:
        raw = json.loads(text)
        return cls(tuple(Scenario.model_validate(s) for s in raw["scenarios"]), int(raw["years"]),
                   int(raw["replicates"]), int(raw["seed"]))

    @property
    def size(self) -> int:
        return len(self.scenarios) * self.years * self.replicates


def _whole(field: str, text: str, low: int, high: int) -> int:
    t = text.strip()
    if not t.isascii() or not t.isdigit() or len(t) > 9:
        raise InvalidRequest(field, f"应为 {low} 至 {high} 的整数 / a whole number from {low} to {high}")
    value = int(t)
    if not low <= value <= high:
        raise InvalidRequest(field, f"应为 {low} 至 {high} 的整数 / a whole number from {low} to {high}")
    return value


def parse_run_request(offered: Sequence[Offered], scenarios: Sequence[str], years: str, replicates: str,
                      seed: str) -> RunParameters:
    """The form's fields checked: at least two known scenarios, years 1-10, replicates 1-20, a seed >= 0, and no more
    than :data:`MAX_RUN_SIZE` scenario-years x replicates. Raises InvalidRequest naming the field (422)."""
    known = {o.scenario.name: o.scenario for o in offered}
    chosen = list(dict.fromkeys(s.strip() for s in scenarios if s.strip()))
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise InvalidRequest("scenario", f"没有这个情景 / no such scenario: {', '.join(unknown)[:200]}")
    if len(chosen) < 2:
        raise InvalidRequest("scenario", "请选择至少两个情景 / tick two scenarios or more")
    params = RunParameters(tuple(known[s] for s in chosen), _whole("years", years, 1, MAX_YEARS),
                           _whole("replicates", replicates, 1, MAX_REPLICATES), _whole("seed", seed, 0, 2**31 - 1))
    if params.size > MAX_RUN_SIZE:
        raise InvalidRequest("replicates", f"情景数 x 年数 x 重复次数 = {params.size}，页面上最多 {MAX_RUN_SIZE}；"
                                           f"请减少，或用命令 yigongti simulate / scenarios x years x replicates = "
                                           f"{params.size}, at most {MAX_RUN_SIZE} on a page; ask for less, or use "
                                           "the command")
    return params


def _may_run(principal: Principal) -> None:
    if principal.role not in RUN_ROLES:
        raise NotAllowed("模拟仅限卫健局、医保局与系统管理员 / simulation runs are for the health commission, the "
                         "insurance bureau and administrators")


# --------------------------------------------------------------------------------------------- results as JSON

def encode_result(result: SimulationResult) -> str:
    """A run's rows as JSON (money in integer fen; every field in the order of its dataclass)."""
    return json.dumps({"counties": result.counties, "rows": [astuple(r) for r in result.rows],
                       "consortia": [astuple(c) for c in result.consortia],
                       "observed": [astuple(o) for o in result.observed]}, ensure_ascii=False)


def decode_result(text: str, params: RunParameters) -> SimulationResult:
    raw = json.loads(text)
    return SimulationResult(list(params.scenarios), list(raw["counties"]), params.years, params.replicates,
                            params.seed, [CountyYear(*r) for r in raw["rows"]],
                            [ConsortiumYear(*c) for c in raw["consortia"]], [CountyYear(*o) for o in raw["observed"]])


# --------------------------------------------------------------------------------------------- the runs

@dataclass(frozen=True)
class RunView:
    """A run as the pages show it: the status is ``failed`` for a run whose worker stopped."""

    run_id: int
    requested_by: str
    requested_at: datetime
    parameters: RunParameters
    status: str
    progress: str
    heartbeat_at: datetime
    finished_at: datetime | None
    error: str
    result: SimulationResult | None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


def _view(r: RunRecord, now: datetime) -> RunView:
    params = RunParameters.from_json(r.parameters)
    status, error = r.status, r.error
    if status in ("queued", "running") and now - r.heartbeat_at > STALE_AFTER:
        status, error = "failed", WORKER_STOPPED
    result = decode_result(r.results, params) if status == "done" and r.results else None
    return RunView(r.run_id, r.requested_by, r.requested_at, params, status, r.progress, r.heartbeat_at,
                   r.finished_at, error, result)


def recent_runs(db: Session, principal: Principal, *, now: datetime, limit: int = 50) -> list[RunView]:
    """The latest runs, newest first (without their result rows)."""
    _may_run(principal)
    return [_view(r, now) for r in SimulationRunRepository(db).latest(limit)]


def run_of(db: Session, principal: Principal, run_id: int, *, now: datetime) -> RunView:
    """One run with its result; NotFound (404) when there is none."""
    _may_run(principal)
    r = SimulationRunRepository(db).get(run_id)
    if r is None:
        raise NotFound(f"没有这次模拟 / no such simulation run: {run_id}")
    return _view(r, now)


_BUSY = threading.Lock()
"""Held while this process runs a simulation: one at a time per process."""


def is_busy() -> bool:
    """Whether this process is running a simulation now."""
    return _BUSY.locked()


def start_run(db: Session, sessions: sessionmaker[Session], principal: Principal, folder: Path | None,
              params: RunParameters, *, clock: Callable[[], datetime]) -> int:
    """Record the run (queued) and its audit row, commit them, and start the run in a background thread of this
    process; returns the run's id. RunBusy (409) while this process runs another; NotFound when the platform has
    no data folder loaded. ``clock``: now, for the record and the heartbeat."""
    _may_run(principal)
    if folder is None:
        raise NotFound("平台未加载数据目录 / no data folder is loaded")
    if not _BUSY.acquire(blocking=False):
        raise RunBusy("本工作进程正在运行另一次模拟，请等它结束后再试 / a simulation is running in this worker "
                      "process: wait for it to finish, then start again")
    try:
        now = clock()
        run_id = SimulationRunRepository(db).add(requested_by=actor_of(principal), at=now,
                                                 parameters=params.to_json())
        AuditRepository(db).add(actor=actor_of(principal), action="simulation run started", at=now, detail={
            "run_id": run_id, "scenarios": [s.name for s in params.scenarios], "years": params.years,
            "replicates": params.replicates, "seed": params.seed, "folder": folder.name})
        db.commit()
        threading.Thread(target=_execute, args=(sessions, run_id, folder, params, clock), daemon=True,
                         name=f"simulation-run-{run_id}").start()
    except BaseException:
        _BUSY.release()
        raise
    return run_id


def _set(sessions: sessionmaker[Session], run_id: int, **values: Any) -> None:
    with sessions.begin() as s:
        SimulationRunRepository(s).set(run_id, **values)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, InvalidInput):
        return "; ".join(f"{p.file}: {p.column}: {p.message}" if p.column else f"{p.file}: {p.message}"
                         for p in exc.problems)[:4000]
    return f"{type(exc).__name__}: {exc}"[:4000]


def _execute(sessions: sessionmaker[Session], run_id: int, folder: Path, params: RunParameters,
             clock: Callable[[], datetime]) -> None:
    """The run, in its thread: running, progress and heartbeat, then done with the rows or failed with the error;
    the process's run lock is released at the end whatever happens."""
    stop = threading.Event()
    steps = [0]

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                _set(sessions, run_id, heartbeat_at=clock())
            except Exception:  # noqa: BLE001 - a missed heartbeat is retried at the next one
                log.warning("simulation run %s: heartbeat not written", run_id, exc_info=True)

    def progress(text: str) -> None:
        steps[0] += 1
        _set(sessions, run_id, progress=f"{steps[0]}: {text}"[:200], heartbeat_at=clock())

    ticker = threading.Thread(target=beat, daemon=True, name=f"simulation-heartbeat-{run_id}")
    try:
        _set(sessions, run_id, status="running", heartbeat_at=clock())
        ticker.start()
        with duckdb_threads_here(RUN_THREADS):  # the worker's other core stays with its requests
            result = run_simulation(folder, list(params.scenarios), years=params.years,
                                    replicates=params.replicates, seed=params.seed, progress=progress)
        _set(sessions, run_id, status="done", results=encode_result(result), finished_at=clock(),
             heartbeat_at=clock())
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded with its error, never lost
        log.exception("simulation run %s failed", run_id)
        try:
            _set(sessions, run_id, status="failed", error=_error_text(exc), finished_at=clock(), heartbeat_at=clock())
        except Exception:  # noqa: BLE001 - the heartbeat stops: the run is shown failed after STALE_AFTER
            log.exception("simulation run %s: failure not recorded", run_id)
    finally:
        stop.set()
        _BUSY.release()
