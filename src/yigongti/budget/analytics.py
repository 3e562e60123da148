"""The year's figures for the dashboards (年度数据): adjudicated claims and settlement of the loaded data folder.

Read side only: computed once with the engine from the folder the platform was loaded from (``settle_year``, the
settlement ``yigongti settle`` and ``yigongti run`` write), then kept in memory. A resident's claims are explained one
by one with the single-claim path of
``benefits.domain`` (the reference the engine is tested against).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from yigongti.appraisal.service import AppraisalResult
from yigongti.benefits.domain import Claim, Decision, DesignatedCare, adjudicate_person
from yigongti.budget.service import SettlementResult, settle_year
from yigongti.core.policy import Policy
from yigongti.datafolder.folder import DataFolder, read_folder
from yigongti.enrollment.store import DesignationRow, PersonRow
from yigongti.registry.domain import Institution
from yigongti.registry.store import RegistryRepository

__all__ = ["FiguresCache", "YearFigures", "claims_of", "compute_year", "explain_claims", "person_decisions",
           "referrals"]


@dataclass(frozen=True)
class YearFigures:
    year: int
    data: DataFolder
    adjudicated: pa.Table  # claim_id, person_id, inst_id, admit_date, fund_paid, rule, diagnosis, unreasonable
    settlement: SettlementResult
    appraisal: AppraisalResult | None = None
    appraisal_problem: str | None = None


def compute_year(folder: Path, year: int, policy: Policy) -> YearFigures:
    """Settlement and appraisal of ``year`` as ``yigongti settle`` computes them (the same use case): the P4P is
    paid by the appraisal's scores; an appraisal that cannot run leaves them to the policy and a scores table, and
    its reason is kept for the dashboards to show (``appraisal_problem``)."""
    data = read_folder(folder)
    result = settle_year(data, year, policy, appraisal_errors="report")
    assert result.adjudicated is not None  # a folder read into memory settles in memory
    return YearFigures(year, data, result.adjudicated, result, result.appraisal, result.appraisal_problem)


def claims_of(figures: YearFigures, person_id: str) -> list[Claim]:
    """Every claim of the person in the folder (all years: a referral may cross the new year)."""
    table = figures.data.get("claims")
    if table is None:
        return []
    mine = table.filter(pc.equal(table.column("person_id"), person_id)).to_pylist()
    return [Claim(claim_id=r["claim_id"], person_id=r["person_id"], inst_id=r["inst_id"], setting=r["setting"],
                  admit_date=r["admit_date"], total_cost=int(r["total_cost"]), covered_cost=int(r["covered_cost"]),
                  emergency=bool(r.get("emergency")), discharge_date=r.get("discharge_date"),
                  referral_from=r.get("referral_from") or None, unreasonable=bool(r.get("unreasonable")))
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


class FiguresCache:
    """Computes the figures on first use (thread-safe) and keeps them."""

    def __init__(self, folder: Path | None, year: int | None, policy: Policy) -> None:
        self.folder, self.year, self.policy = folder, year, policy
        self._figures: YearFigures | None = None
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self.folder is not None and self.year is not None

    def get(self) -> YearFigures | None:
        if not self.available:
            return None
        with self._lock:
            if self._figures is None:
                assert self.folder is not None and self.year is not None
                self._figures = compute_year(self.folder, self.year, self.policy)
            return self._figures

    def warm(self) -> None:
        """Compute in a background thread now, so that the first dashboard does not wait."""
        if self.available:
            threading.Thread(target=self.get, name="figures", daemon=True).start()
