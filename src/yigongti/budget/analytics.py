"""The year's figures for the dashboards (年度数据): adjudicated claims and settlement of the loaded data folder.

Read side only: computed with the engine from the folder the platform was loaded from (``settle_year``, the
settlement ``yigongti settle`` and ``yigongti run`` write), then kept in memory. A consortium whose yearly budget
agreement for the year is signed in the database (年度总额预算协议, ``budget.agreement_service``) is settled on the
signed figure (it wins over a folder's ``budget_agreements`` row); the database's workforce of the year (reviews,
record checks, stationing, training, incomes: ``workforce.service.workforce_tables``) takes the place of the folder's
tables when it has rows (``workforce.engine.with_database``), so the appraisal the pages show follows the quality
workflow; the figures are computed again when the signed agreements or the workforce of the year change (two small
queries per use, in one read-only session). A resident's claims are explained one
by one with the single-claim path of
``benefits.domain`` (the reference the engine is tested against).

Last year's figures (上年数据, :meth:`FiguresCache.last_year`) are the same use case run on the same folder for
``year - 1`` (what ``yigongti settle --year`` and ``yigongti appraise --year`` compute for it), only when the folder's
claims cover every month of that year (:func:`whole_year`); otherwise there is no last year to compare with.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from yigongti.appraisal.service import AppraisalResult
from yigongti.benefits.domain import Claim, Decision, DesignatedCare, adjudicate_person
from yigongti.budget.agreement import SignedAgreement
from yigongti.budget.agreement_service import signed_agreements
from yigongti.budget.agreement_table import signed_from_table, with_agreements
from yigongti.budget.service import SettlementResult, settle_year
from yigongti.core.db import READ_ONLY_OPTION
from yigongti.core.policy import Policy
from yigongti.core.problems import InvalidInput
from yigongti.datafolder.folder import DataFolder, read_folder
from yigongti.enrollment.store import DesignationRow, PersonRow
from yigongti.registry.domain import Institution
from yigongti.registry.store import RegistryRepository
from yigongti.workforce.engine import with_database
from yigongti.workforce.service import workforce_stamp, workforce_tables
from yigongti.workforce.uow import WorkforceUnitOfWork

__all__ = ["FiguresCache", "FiguresPending", "YearFigures", "claims_of", "compute_year", "explain_claims",
           "formula_budget", "person_decisions", "referrals", "whole_year"]


@dataclass(frozen=True)
class YearFigures:
    year: int
    data: DataFolder
    adjudicated: pa.Table  # claim_id, person_id, inst_id, admit_date, fund_paid, rule, diagnosis, unreasonable
    settlement: SettlementResult
    appraisal: AppraisalResult | None = None
    appraisal_problem: str | None = None
    agreements: dict[str, SignedAgreement] = field(default_factory=dict)  # the signed figures settled on


def compute_year(folder: Path | DataFolder, year: int, policy: Policy,
                 signed: Mapping[str, SignedAgreement] | None = None,
                 workforce: Mapping[str, list[dict[str, object]]] | None = None) -> YearFigures:
    """Settlement and appraisal of ``year`` as ``yigongti settle`` computes them (the same use case): the P4P is
    paid by the appraisal's scores; an appraisal that cannot run leaves them to the policy and a scores table, and
    its reason is kept for the dashboards to show (``appraisal_problem``). ``signed``: the signed agreements of
    the year from the database; each wins over the folder's row of its consortium (``budget_agreements``).
    ``workforce``: the database's workforce tables of the year (``workforce.service.workforce_tables``: reviews,
    record checks, stationing, training, incomes), each in place of the folder's when it has rows
    (``workforce.engine.with_database``)."""
    data = folder if isinstance(folder, DataFolder) else read_folder(folder)
    if workforce is not None:
        data = with_database(data, workforce)
    agreements = {**signed_from_table(data.get("budget_agreements"), year), **(signed or {})}
    settled = with_agreements(data, agreements.values()) if signed else data
    result = settle_year(settled, year, policy, appraisal_errors="report")
    assert result.adjudicated is not None  # a folder read into memory settles in memory
    return YearFigures(year, data, result.adjudicated, result, result.appraisal, result.appraisal_problem,
                       agreements)


def whole_year(data: DataFolder, year: int) -> bool:
    """Whether the folder's claims have admissions in every month of ``year`` (the appraisal's rule for a year that
    can be compared with: a few weeks of lead-in claims are not a year)."""
    claims = data.get("claims")
    if claims is None or claims.num_rows == 0:
        return False
    dates = claims.column("admit_date")
    return len(pc.unique(pc.filter(pc.month(dates), pc.equal(pc.year(dates), year)))) == 12


def formula_budget(figures: YearFigures | None, consortium_id: str, year: int) -> int | None:
    """The consortium's formula budget (gross, fen) of ``year`` from the figures' settlement, signed agreement or
    not; None when the figures are of another year or the consortium has none (a proposal then needs an amount)."""
    if figures is None or figures.year != year:
        return None
    b = figures.settlement.formula_budgets.get(consortium_id)
    return None if b is None else int(b.gross)


def claims_of(figures: YearFigures, person_id: str) -> list[Claim]:
    """Every claim of the person in the folder (all years: a referral may cross the new year)."""
    table = figures.data.get("claims")
    if table is None:
        return []
    mine = table.filter(pc.equal(table.column("person_id"), person_id)).to_pylist()
    return [Claim(claim_id=r["claim_id"], person_id=r["person_id"], inst_id=r["inst_id"], setting=r["setting"],
                  admit_date=r["admit_date"], total_cost=int(r["total_cost"]), covered_cost=int(r["covered_cost"]),
                  emergency=bool(r.get("emergency")), discharge_date=r.get("discharge_date"),
                  referral_from=r.get("referral_from") or None, unreasonable=bool(r.get("unreasonable")),
                  diagnosis=r.get("diagnosis") or None)  # the two-disease benefit reads it
            for r in mine]


def explain_claims(figures: YearFigures, *, person_id: str, insurance: str, institutions: dict[str, Institution],
                   designations: dict[int, DesignatedCare], policy: Policy) -> list[Decision]:
    """The person's decisions of the figures' year, newest first, each explainable in plain words."""
    @dataclass(frozen=True)
    class _Insured:
        insurance: str

    decisions = adjudicate_person(claims_of(figures, person_id), person=_Insured(insurance),
                                  institutions=institutions, designations=designations, year=figures.year,
                                  policy=policy.benefits)
    return sorted(decisions, key=lambda d: d.claim.order_key, reverse=True)


def person_decisions(db: Session, figures: YearFigures | None, person: PersonRow, policy: Policy) -> list[Decision]:
    """:func:`explain_claims` with the registry and the person's designations of every year from the database."""
    if figures is None:
        return []
    designations: dict[int, DesignatedCare] = {d.year: d for d in db.scalars(
        select(DesignationRow).where(DesignationRow.person_id == person.person_id))}
    return explain_claims(figures, person_id=person.person_id, insurance=person.insurance,
                          institutions=RegistryRepository(db).get().institutions, designations=designations,
                          policy=policy)


def referrals(folder: Path | None) -> dict[str, frozenset[str]]:
    """Institution -> persons with a referred claim there (a claim naming a referring admission, 转诊), from the
    folder's claims; a clinician's scope includes them."""
    if folder is None:
        return {}
    claims = read_folder(folder, tables=["claims"]).get("claims")
    if claims is None or "referral_from" not in claims.column_names:
        return {}
    referred = claims.filter(pc.invert(pc.or_kleene(pc.is_null(claims.column("referral_from")),
                                                    pc.equal(claims.column("referral_from"), ""))))
    out: dict[str, set[str]] = {}
    for inst, person in zip(referred.column("inst_id").to_pylist(), referred.column("person_id").to_pylist(),
                            strict=True):
        out.setdefault(inst, set()).add(person)
    return {k: frozenset(v) for k, v in out.items()}


class FiguresPending(Exception):  # noqa: N818 - a state, not an error: the page says 正在计算
    """正在计算 / The year's figures are being computed (the first use after a start, or after a signed agreement
    changed them) and were not ready within the cache's ``wait``: the page says so instead of waiting longer."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"正在计算本年度数据，请 {seconds:g} 秒后刷新 / the year's figures are being computed: "
                         f"reload in {seconds:g} s")
        self.retry_after = max(1, round(seconds))


class FiguresCache:
    """Computes the figures on first use (thread-safe) and keeps them while the year's signed agreements in the
    database (``sessions``; None: none) stay the same.

    ``wait`` (seconds; None: as long as it takes): how long a caller waits for figures being computed. The computing
    is done in a thread of its own, one at a time; a caller that has waited ``wait`` gets :class:`FiguresPending`
    (the computing goes on, and the next caller finds the figures), so that no request hangs on the computation or
    its lock."""

    def __init__(self, folder: Path | None, year: int | None, policy: Policy,
                 sessions: sessionmaker[Session] | None = None, *, wait: float | None = None) -> None:
        self.folder, self.year, self.policy, self.sessions = folder, year, policy, sessions
        self.wait = wait
        self._figures: YearFigures | None = None
        self._last: YearFigures | None = None
        self._last_signed: dict[str, SignedAgreement] | None = None
        self.last_problem: str | None = None  # why last year's figures could not be computed
        self._data: DataFolder | None = None
        self._whole: bool | None = None  # whether the folder's claims cover every month of last year
        self._signed: dict[str, SignedAgreement] = {}
        self._stamp: tuple[object, ...] | None = None  # the database's workforce of the year the figures read
        self._last_stamp: tuple[object, ...] | None = None
        self._lock = threading.Lock()
        self._running: dict[str, Future[YearFigures | None]] = {}  # what is being computed now, by name
        self._running_lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self.folder is not None and self.year is not None

    def _state_now(self, year: int) -> tuple[dict[str, SignedAgreement], tuple[object, ...] | None]:
        """What the year's figures depend on in the database now: the signed agreements and a stamp of the
        workforce (``workforce_stamp``: a few counts), read in one short read-only session."""
        if self.sessions is None:
            return {}, None
        with self.sessions() as s:  # a reader: never waits for (nor holds up) a request that writes
            s.connection(execution_options={READ_ONLY_OPTION: True})
            signed = signed_agreements(s, year)
            return signed, workforce_stamp(WorkforceUnitOfWork(s), year=year)

    def _workforce(self, year: int) -> dict[str, list[dict[str, object]]] | None:
        """The database's workforce tables of ``year``, which the appraisal reads in place of the folder's."""
        if self.sessions is None:
            return None
        return workforce_tables(WorkforceUnitOfWork(self.sessions, read_only=True), year=year)

    def _awaited(self, name: str, compute: Callable[[], YearFigures | None]) -> YearFigures | None:
        """``compute()`` in the caller's thread (``wait`` None), else in a thread of its own (one per ``name`` at a
        time), waited for at most ``wait`` seconds."""
        if self.wait is None:
            return compute()
        future = self._started(name, compute)
        try:
            return future.result(timeout=self.wait)
        except FutureTimeout:
            raise FiguresPending(self.wait) from None

    def _started(self, name: str, compute: Callable[[], YearFigures | None]) -> Future[YearFigures | None]:
        """``compute()`` running in a thread of its own (one per ``name`` at a time: the one running already)."""
        with self._running_lock:
            future = self._running.get(name)
            if future is None or future.done():
                future = Future()
                self._running[name] = future

                def run(target: Future[YearFigures | None] = future) -> None:
                    try:
                        target.set_result(compute())
                    except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                        target.set_exception(exc)

                threading.Thread(target=run, name=f"figures-{name}", daemon=True).start()
        return future

    def current(self) -> tuple[YearFigures | None, bool]:
        """The year's figures without waiting: (figures, fresh). When the signed agreements or the database's
        workforce changed since they were computed (a review scored, a record checked...), computing them again
        starts in the background and the figures computed before come back with ``fresh`` False (None before the
        first); a page shows them as being updated instead of waiting."""
        if not self.available:
            return None, True
        assert self.year is not None
        signed, stamp = self._state_now(self.year)
        figures = self._figures
        if figures is not None and signed == self._signed and stamp == self._stamp:
            return figures, True
        self._started("year", lambda: self._year_now(signed, stamp))
        return figures, False

    def get(self) -> YearFigures | None:
        if not self.available:
            return None
        assert self.folder is not None and self.year is not None
        signed, stamp = self._state_now(self.year)
        figures = self._figures
        if figures is not None and signed == self._signed and stamp == self._stamp:
            return figures  # computed and current: no lock, no thread
        for _ in range(3):  # a computation already running may be of an older state: then once more
            figures = self._awaited("year", lambda: self._year_now(signed, stamp))
            if signed == self._signed and stamp == self._stamp:
                break
        return figures

    def _year_now(self, signed: dict[str, SignedAgreement], stamp: tuple[object, ...] | None) -> YearFigures | None:
        assert self.folder is not None and self.year is not None
        with self._lock:
            if self._figures is None or signed != self._signed or stamp != self._stamp:
                if self._data is None:
                    self._data = read_folder(self.folder)
                self._figures = compute_year(self._data, self.year, self.policy, signed,
                                             self._workforce(self.year))
                self._signed, self._stamp = signed, stamp
            return self._figures

    def last_year(self) -> YearFigures | None:
        """The figures of ``year - 1`` from the same folder (the settlement and appraisal the command line computes
        for it), kept like :meth:`get`; None when the folder's claims do not cover every month of that year, or
        its settlement cannot run (``last_problem`` says why)."""
        if not self.available:
            return None
        assert self.folder is not None and self.year is not None
        year = self.year - 1
        if self._whole is False:
            return None
        signed, stamp = self._state_now(year)
        if self._whole and self._last_signed == signed and self._last_stamp == stamp:
            return self._last
        return self._awaited("last_year", lambda: self._last_year_now(year, signed, stamp))

    def _last_year_now(self, year: int, signed: dict[str, SignedAgreement],
                       stamp: tuple[object, ...] | None = None) -> YearFigures | None:
        assert self.folder is not None
        with self._lock:
            if self._data is None:
                self._data = read_folder(self.folder)
            if self._whole is None:
                self._whole = whole_year(self._data, year)
            if not self._whole:
                return None
            if self._last_signed != signed or self._last_stamp != stamp:
                self._last_signed, self._last_stamp = signed, stamp
                try:
                    self._last, self.last_problem = compute_year(self._data, year, self.policy, signed,
                                                                 self._workforce(year)), None
                except InvalidInput as exc:
                    self._last, self.last_problem = None, str(exc)
            return self._last

    def warm(self) -> None:
        """Compute in a background thread now (the year, then last year), so that the first dashboard does not
        wait."""
        if self.available:
            threading.Thread(target=self._warm, name="figures", daemon=True).start()

    def _warm(self) -> None:
        """The year's figures, then last year's, however long they take: FiguresPending only says that ``wait``
        ran out while the computation goes on (it ended the warm-up thread with a traceback in the log, and last
        year's figures were then never warmed)."""
        for step in (self.get, self.last_year):
            while True:
                try:
                    step()
                    break
                except FiguresPending:
                    continue
