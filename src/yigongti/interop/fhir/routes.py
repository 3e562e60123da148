"""``/api/fhir/...``: FHIR read endpoints. Person-level resources go through the same scope check and audit as the
rest of the API (``deps.visible_person``); answers are ``application/fhir+json``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.responses import Response

from yigongti.benefits.domain import Decision
from yigongti.budget.analytics import person_decisions
from yigongti.enrollment.readmodel import designation_of
from yigongti.interop.fhir import mapping
from yigongti.platform.deps import (
    ContextDep,
    CurrentPrincipal,
    DbSession,
    ScopeDep,
    ScopedPerson,
    visible_person,
)
from yigongti.platform.scope import consortia_in_scope
from yigongti.registry.service import consortium, institution

__all__ = ["router"]

router = APIRouter(prefix="/api/fhir", tags=["FHIR"])
FHIR_JSON = "application/fhir+json"
_ID = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-.]{1,64}$")
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "not found or not in your scope"}}


def _fhir(resource: Any) -> Response:
    return Response(resource.model_dump_json(exclude_none=True), media_type=FHIR_JSON)


@router.get("/Patient/{person_id}", responses=_NOT_FOUND, response_class=Response)
def read_patient(person: ScopedPerson, principal: CurrentPrincipal) -> Response:
    return _fhir(mapping.patient(person_id=person.person_id, sex=person.sex, birth_date=person.birth_date,
                                 id_number=person.id_number, county_code=person.county_code,
                                 household_id=person.household_id, show_id_number=principal.sees_id_numbers))


@router.get("/Organization/{org_id}", responses=_NOT_FOUND, response_class=Response)
def read_organization(db: DbSession, _p: CurrentPrincipal, org_id: Annotated[str, _ID]) -> Response:
    """An institution, or a consortium (医共体) by its id. Not personal data."""
    inst = institution(db, org_id)
    if inst is not None:
        return _fhir(mapping.organization(inst_id=inst.inst_id, name=inst.name, tier=inst.tier, kind=inst.kind,
                                          consortium_id=inst.consortium_id, parent_id=inst.parent_id))
    cons = consortium(db, org_id)
    if cons is not None:
        return _fhir(mapping.consortium_organization(consortium_id=cons.consortium_id, name=cons.name,
                                                     lead_inst_id=cons.lead_inst_id))
    raise HTTPException(status.HTTP_404_NOT_FOUND, "no such organization / 无此机构")


@router.get("/Coverage/{person_id}-{year}", responses=_NOT_FOUND, response_class=Response)
def read_coverage(db: DbSession, person: ScopedPerson, year: Annotated[int, Path(ge=1900, le=2200)]) -> Response:
    """The person's designation (定点) for ``year``."""
    d = designation_of(db, person.person_id, year)
    if d is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no designation for that year / 该年度无定点")
    return _fhir(mapping.coverage(person_id=person.person_id, year=year, insurance=person.insurance,
                                  consortium_id=d.consortium_id, township_id=d.township_id, village_id=d.village_id,
                                  source=d.source))


def _decision(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep, claim_id: str) -> Decision:
    figures = ctx.figures.get()
    claims = figures.data.get("claims") if figures is not None else None
    if figures is None or claims is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no claims loaded / 无就医数据")
    import pyarrow.compute as pc

    hit = claims.filter(pc.equal(claims.column("claim_id"), claim_id)).column("person_id").to_pylist()
    if not hit:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such claim in your scope / 无此结算单或无权查看")
    person = visible_person(request, ctx, db, person_scope, hit[0])
    found = next((d for d in person_decisions(db, figures, person, ctx.policy) if d.claim.claim_id == claim_id), None)
    if found is None:  # a claim of another year than the data year
        raise HTTPException(status.HTTP_404_NOT_FOUND, "claim not in the data year / 非数据年度的结算单")
    return found


@router.get("/Claim/{claim_id}", responses=_NOT_FOUND, response_class=Response)
def read_claim(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
               claim_id: Annotated[str, _ID]) -> Response:
    figures = ctx.figures.get()
    decision = _decision(request, ctx, db, person_scope, claim_id)
    return _fhir(mapping.claim(decision, year=figures.year if figures else 0))


@router.get("/ClaimResponse/{claim_id}", responses=_NOT_FOUND, response_class=Response)
def read_claim_response(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                        claim_id: Annotated[str, _ID]) -> Response:
    """The adjudication (待遇结算) of the claim, with its explanation as the disposition."""
    return _fhir(mapping.claim_response(_decision(request, ctx, db, person_scope, claim_id)))


@router.get("/MeasureReport/{scope_id}", responses=_NOT_FOUND, response_class=Response)
def read_measure_report(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                        scope_id: Annotated[str, _ID]) -> Response:
    """The indicators of a consortium in your scope, or of the county (county-wide roles)."""
    figures = ctx.figures.get()
    result = figures.appraisal if figures is not None else None
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no appraisal available / 无考核结果")
    rows = [r for r in result.indicators.to_pylist() if r["scope"] == scope_id]
    allowed = consortia_in_scope(db, principal) | ({principal.county_code} if principal.county_code else set())
    if not rows or scope_id not in allowed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such scope in your scope / 无此考核对象或无权查看")
    names = {i.id: f"{i.name_zh} / {i.name_en}" for i in result.indicator_set.indicators}
    return _fhir(mapping.measure_report(scope=scope_id, year=result.year, values=[
        (r["indicator"], names.get(r["indicator"], r["indicator"]), r["value"] if r["status"] == "ok" else None,
         r["unit"]) for r in rows]))
