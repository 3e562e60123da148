"""``/api/persons/{person_id}/claims``: a person's claims of the data year with the benefit decision (待遇) of each,
explained in plain words (Chinese and English), from the single-claim path of ``benefits.domain``."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from yigongti.budget.analytics import person_decisions
from yigongti.core.money import format_yuan
from yigongti.platform.deps import ContextDep, DbSession, ScopedPerson

__all__ = ["router"]

router = APIRouter(prefix="/api/persons", tags=["claims 就医与报销"])


class DecisionOut(BaseModel):
    claim_id: str
    inst_id: str
    setting: str
    admit_date: str
    emergency: bool
    total_cost: str
    covered_cost: str
    network_status: str
    deductible: str
    fund_paid: str
    patient_paid: str
    rule: str
    explanation_zh: str
    explanation_en: str


@router.get("/{person_id}/claims", response_model=list[DecisionOut],
            responses={404: {"description": "not in your scope"}})
def person_claims(ctx: ContextDep, db: DbSession, person: ScopedPerson) -> list[DecisionOut]:
    """Newest first; amounts in yuan with 2 decimals."""
    decisions = person_decisions(db, ctx.figures.get(), person, ctx.policy)
    return [DecisionOut(claim_id=d.claim.claim_id, inst_id=d.claim.inst_id, setting=d.claim.setting,
                        admit_date=d.claim.admit_date.isoformat(), emergency=d.claim.emergency,
                        total_cost=format_yuan(d.claim.total_cost), covered_cost=format_yuan(d.claim.covered_cost),
                        network_status=d.network_status.value, deductible=format_yuan(d.deductible),
                        fund_paid=format_yuan(d.fund_paid), patient_paid=format_yuan(d.patient_paid),
                        rule=d.rule.value, explanation_zh=d.explanation_zh, explanation_en=d.explanation_en)
            for d in decisions]
