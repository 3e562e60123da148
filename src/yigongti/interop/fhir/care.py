"""Family-doctor care as FHIR R4 (家庭医生与慢病管理的 FHIR 表达): the readings of a follow-up as ``Observation``, a
person's care plans as ``CarePlan``, a family-doctor team as ``CareTeam`` and its members as ``Practitioner``.

* ``Observation/F{followup_id}-bp`` (blood pressure panel, LOINC 85354-9, systolic 8480-6 and diastolic 8462-4 in
  mm[Hg]), ``-glucose`` (fasting glucose, LOINC 14771-0, mmol/L) and ``-hba1c`` (LOINC 4548-4, %), each with the
  control status of the reading as its interpretation; ``Observation?patient={person_id}`` lists a person's
  readings as a searchset Bundle (the last 60 follow-ups).
* ``CarePlan/{person_id}.{plan}``: ``plan`` a chronic disease of the registry (hypertension, diabetes: the
  follow-up plan, registered on, the next follow-up) or a key population with a schedule (elderly, child, pregnant,
  tuberculosis, mental: each scheduled service of last and this year with its window and state);
  ``CarePlan?patient={person_id}`` lists them all.
* ``CareTeam/{team_id}`` and ``Practitioner/{member_id}``: not residents' personal data; read by the staff and
  officials of the team institution's consortium (anyone else 404).

Person-level resources go through the same scope check and audit as the rest of the API (``visible_person``: 404
outside it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import Response
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.careteam import CareTeam
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.practitioner import Practitioner

from yigongti.care.domain import (
    CONTROL_LABELS,
    DISEASE_LABELS,
    POPULATION_LABELS,
    ROLE_LABELS,
    Control,
    Disease,
    KeyPopulation,
    TeamRole,
)
from yigongti.care.schedules import SlotState
from yigongti.care.service import (
    DiseaseStatus,
    KeySchedule,
    TeamView,
    followup,
    followup_history,
    member,
    person_schedule,
    person_status,
    team,
    team_consortium,
)
from yigongti.care.uow import CareUnitOfWork
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession, ScopeDep, visible_person
from yigongti.platform.scope import consortia_in_scope

__all__ = ["care_plans", "care_team", "observations", "practitioner", "router"]

router = APIRouter(prefix="/api/fhir", tags=["FHIR"])
FHIR_JSON = "application/fhir+json"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
MEMBER_SYSTEM = "urn:yigongti:care-team-member"
ROLE_SYSTEM = "urn:yigongti:care-team-role"
PLAN_SYSTEM = "urn:yigongti:care-plan"
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "not found or not in your scope"}}
_OBS_ID = Path(pattern=r"^F[0-9]{1,10}-(bp|glucose|hba1c)$")
_PLAN_ID = Path(min_length=3, max_length=80, pattern=r"^[A-Za-z0-9\-.]{1,64}\.[a-z]{3,16}$")
_ACTIVITY = {SlotState.DONE: "completed", SlotState.UPCOMING: "not-started", SlotState.DUE: "scheduled",
             SlotState.OVERDUE: "scheduled", SlotState.MISSED: "stopped"}
_SCHEDULED_PLANS = ("elderly", "child", "pregnant", "tuberculosis", "mental")


def _fhir(resource: Any) -> Response:
    return Response(resource.model_dump_json(exclude_none=True), media_type=FHIR_JSON)


def _interpretation(control: str) -> list[dict[str, Any]]:
    code = {Control.CONTROLLED.value: "N", Control.UNCONTROLLED.value: "H"}.get(control)
    text = CONTROL_LABELS[Control(control)]
    return [{"coding": [{"system": INTERPRETATION, "code": code}] if code else None, "text": text}]


def observations(f: Any) -> list[Observation]:
    """The readings of one follow-up (a row of ``care_followups``) as Observations: BP, fasting glucose, HbA1c."""
    base: dict[str, Any] = {
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs"}]}],
        "subject": {"reference": f"Patient/{f.person_id}"},
        "effectiveDateTime": f.date.isoformat(),
        "performer": [{"reference": f"Organization/{f.inst_id}"}],
        "note": [{"text": f"{DISEASE_LABELS[Disease(f.disease)]} 随访 / follow-up"}],
    }
    out = []
    if f.systolic is not None and f.diastolic is not None:
        out.append(Observation.model_validate(base | {
            "id": f"F{f.followup_id}-bp",
            "code": {"coding": [{"system": LOINC, "code": "85354-9", "display": "Blood pressure panel"}],
                     "text": "血压 / blood pressure"},
            "interpretation": _interpretation(f.control) if f.disease == Disease.HYPERTENSION.value else None,
            "component": [
                {"code": {"coding": [{"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}]},
                 "valueQuantity": {"value": f.systolic, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
                {"code": {"coding": [{"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}]},
                 "valueQuantity": {"value": f.diastolic, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}}]}))
    if f.fasting_glucose is not None:
        out.append(Observation.model_validate(base | {
            "id": f"F{f.followup_id}-glucose",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory"}]}],
            "code": {"coding": [{"system": LOINC, "code": "14771-0",
                                 "display": "Fasting glucose [Moles/volume] in Serum or Plasma"}],
                     "text": "空腹血糖 / fasting glucose"},
            "interpretation": _interpretation(f.control) if f.disease == Disease.DIABETES.value else None,
            "valueQuantity": {"value": Decimal(f.fasting_glucose), "unit": "mmol/L", "system": UCUM,
                              "code": "mmol/L"}}))
    if f.hba1c is not None:
        out.append(Observation.model_validate(base | {
            "id": f"F{f.followup_id}-hba1c",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory"}]}],
            "code": {"coding": [{"system": LOINC, "code": "4548-4",
                                 "display": "Hemoglobin A1c/Hemoglobin.total in Blood"}],
                     "text": "糖化血红蛋白 / HbA1c"},
            "valueQuantity": {"value": Decimal(f.hba1c), "unit": "%", "system": UCUM, "code": "%"}}))
    return out


def care_plans(person_id: str, diseases: list[DiseaseStatus], schedule: list[KeySchedule], *,
               team_id: int | None) -> list[CarePlan]:
    """A person's care plans: one per chronic disease registered (the follow-up plan) and one per key population
    with a schedule (its services of last and this year)."""
    team_ref = [{"reference": f"CareTeam/{team_id}"}] if team_id is not None else None
    out = []
    for d in diseases:
        out.append(CarePlan.model_validate({
            "id": f"{person_id}.{d.disease}",
            "identifier": [{"system": PLAN_SYSTEM, "value": f"{person_id}.{d.disease}"}],
            "status": "active", "intent": "plan",
            "category": [{"coding": [{"system": PLAN_SYSTEM, "code": d.disease}],
                          "text": DISEASE_LABELS[Disease(d.disease)]}],
            "title": f"{DISEASE_LABELS[Disease(d.disease)]} 随访管理 / follow-up",
            "subject": {"reference": f"Patient/{person_id}"},
            "period": {"start": d.registered_on.isoformat()},
            "author": {"reference": f"Organization/{d.inst_id}"},
            "careTeam": team_ref,
            "activity": [{"detail": {
                "kind": "Appointment", "code": {"text": "面对面随访 / face-to-face follow-up"},
                "status": "scheduled" if d.next_date else "not-started",
                "scheduledString": d.next_date.isoformat() if d.next_date else None,
                "description": ("上次 / last " + d.last_date.isoformat()) if d.last_date else "尚无随访 / none yet"}}],
        }))
    by_population: dict[str, list[KeySchedule]] = {}
    for s in schedule:
        by_population.setdefault(s.slot.population.value, []).append(s)
    for pop, rows in by_population.items():
        label = POPULATION_LABELS[KeyPopulation(pop)]
        out.append(CarePlan.model_validate({
            "id": f"{person_id}.{pop}",
            "identifier": [{"system": PLAN_SYSTEM, "value": f"{person_id}.{pop}"}],
            "status": "active", "intent": "plan",
            "category": [{"coding": [{"system": PLAN_SYSTEM, "code": pop}], "text": label}],
            "title": f"{label} 服务计划 / service schedule",
            "subject": {"reference": f"Patient/{person_id}"},
            "period": {"start": rows[0].slot.start.isoformat(), "end": rows[-1].slot.end.isoformat()},
            "careTeam": team_ref,
            "activity": [{"detail": {
                "code": {"text": r.slot.label}, "status": _ACTIVITY[r.state],
                "scheduledPeriod": {"start": r.slot.start.isoformat(), "end": r.slot.end.isoformat()},
                "description": f"应于 / due {r.slot.due.isoformat()}"
                               + (f"；完成于 / done {r.service.isoformat()}" if r.service else "")}}
                for r in rows],
        }))
    return out


def care_team(v: TeamView) -> CareTeam:
    return CareTeam.model_validate({
        "id": str(v.team.team_id), "status": "active", "name": v.team.name,
        "category": [{"coding": [{"system": "http://loinc.org", "code": "LA27976-2",
                                  "display": "Longitudinal care-coordination focused care team"}],
                      "text": "家庭医生团队 / family-doctor team"}],
        "participant": [{"role": [{"coding": [{"system": ROLE_SYSTEM, "code": m.role}],
                                   "text": ROLE_LABELS[TeamRole(m.role)]}],
                         "member": {"reference": f"Practitioner/{m.member_id}", "display": m.name},
                         "onBehalfOf": {"reference": f"Organization/{m.inst_id}"}} for m in v.members],
        "managingOrganization": [{"reference": f"Organization/{v.team.inst_id}"}],
    })


def practitioner(m: Any) -> Practitioner:
    return Practitioner.model_validate({
        "id": str(m.member_id), "identifier": [{"system": MEMBER_SYSTEM, "value": str(m.member_id)}],
        "active": True, "name": [{"text": m.name}],
        "qualification": [{"code": {"coding": [{"system": ROLE_SYSTEM, "code": m.role}],
                                    "text": ROLE_LABELS[TeamRole(m.role)]},
                           "issuer": {"reference": f"Organization/{m.inst_id}"}}],
    })


def _bundle(resources: list[Any]) -> Response:
    bundle = Bundle.model_validate({"type": "searchset", "total": len(resources), "entry": [
        {"fullUrl": f"{r.get_resource_type()}/{r.id}", "resource": r, "search": {"mode": "match"}}
        for r in resources]})
    return _fhir(bundle)


# ---------------------------------------------------------------------------------------------------- routes

@router.get("/Observation/{obs_id}", responses=_NOT_FOUND, response_class=Response)
def read_observation(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                     obs_id: Annotated[str, _OBS_ID]) -> Response:
    """A reading of a follow-up (血压、空腹血糖、糖化血红蛋白) of a person in your scope (audited)."""
    f = followup(CareUnitOfWork(db), int(obs_id[1:].split("-")[0]))
    if f is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such observation / 无此观察")
    visible_person(request, ctx, db, person_scope, f.person_id)
    found = next((o for o in observations(f) if o.id == obs_id), None)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such observation / 无此观察")
    return _fhir(found)


@router.get("/Observation", responses=_NOT_FOUND, response_class=Response)
def search_observations(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                        patient: Annotated[str, Query(min_length=1, max_length=64,
                                                      pattern=r"^(Patient/)?[A-Za-z0-9\-.]{1,64}$")]) -> Response:
    """The readings of a person in your scope, oldest first (the last 60 follow-ups), as a searchset Bundle."""
    person = visible_person(request, ctx, db, person_scope, patient.removeprefix("Patient/"))
    rows = followup_history(CareUnitOfWork(db), person.person_id)
    return _bundle([o for f in rows for o in observations(f)])


def _plans(ctx: Any, db: Any, person_id: str) -> list[CarePlan]:
    today = ctx.clock.today()
    diseases, contract = person_status(CareUnitOfWork(db), person_id, today=today, policy=ctx.policy.care)
    schedule = person_schedule(CareUnitOfWork(db), person_id, today=today, policy=ctx.policy.care)
    return care_plans(person_id, diseases, schedule, team_id=contract.team_id if contract else None)


@router.get("/CarePlan/{plan_id}", responses=_NOT_FOUND, response_class=Response)
def read_care_plan(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                   plan_id: Annotated[str, _PLAN_ID]) -> Response:
    """``{person_id}.{plan}``: a chronic disease's follow-up plan or a key population's service schedule."""
    person_id, _, plan = plan_id.rpartition(".")
    if plan not in (*(d.value for d in Disease), *_SCHEDULED_PLANS):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such care plan / 无此计划")
    person = visible_person(request, ctx, db, person_scope, person_id)
    found = next((p for p in _plans(ctx, db, person.person_id) if p.id == plan_id), None)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such care plan / 无此计划")
    return _fhir(found)


@router.get("/CarePlan", responses=_NOT_FOUND, response_class=Response)
def search_care_plans(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                      patient: Annotated[str, Query(min_length=1, max_length=72,
                                                    pattern=r"^(Patient/)?[A-Za-z0-9\-.]{1,64}$")]) -> Response:
    """Every care plan of a person in your scope, as a searchset Bundle."""
    person = visible_person(request, ctx, db, person_scope, patient.removeprefix("Patient/"))
    return _bundle(list(_plans(ctx, db, person.person_id)))


def _in_scope(db: Any, principal: Any, inst_id: str) -> bool:
    consortium_id = team_consortium(CareUnitOfWork(db), inst_id)
    return consortium_id is not None and consortium_id in consortia_in_scope(db, principal)


@router.get("/CareTeam/{team_id}", responses=_NOT_FOUND, response_class=Response)
def read_care_team(db: DbSession, principal: CurrentPrincipal,
                   team_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    """A family-doctor team (家庭医生团队) of your consortium (staff and officials; residents 404)."""
    view = team(CareUnitOfWork(db), team_id)
    if view is None or not _in_scope(db, principal, view.team.inst_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such care team in your scope / 无此团队或无权查看")
    return _fhir(care_team(view))


@router.get("/Practitioner/{member_id}", responses=_NOT_FOUND, response_class=Response)
def read_practitioner(db: DbSession, principal: CurrentPrincipal,
                      member_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    """A member of a family-doctor team of your consortium (GP, nurse, public-health doctor, specialist)."""
    m = member(CareUnitOfWork(db), member_id)
    team_view = team(CareUnitOfWork(db), m.team_id) if m is not None else None
    if m is None or team_view is None or not _in_scope(db, principal, team_view.team.inst_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such practitioner in your scope / 无此人员或无权查看")
    return _fhir(practitioner(m))

