"""The shared health record (共享健康档案) across the members of a consortium, one view per person: encounters (the
claims of every member), diagnoses, results (remote diagnosis reports of the shared centres, follow-up readings),
prescriptions (the medicines recorded at follow-ups; the pharmacy keeps stock, not a person's dispensing), care plans
(the family doctor's follow-up plan, the care plans of down-referrals, tele-consultation opinions) and the person's
referrals.

Who may open it is ``shared.domain`` (a care relationship, or the own household); every opening and every refusal of
an existing person writes the audit log: who (the actor), whom (person_id), when (at), why (the basis, the contract
or referral it rests on, and the purpose the clinician gave). :func:`record_openings` lists them for the officials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import or_, select

from yigongti.care.store import ContractRow, FollowupRow, RegistryRow, TeamMemberRow, TeamRow
from yigongti.centres.domain import Status as OrderStatus
from yigongti.centres.store import ConsultationRow, DiagnosisOrderRow
from yigongti.core.audit import AuditRow
from yigongti.core.policy import ReferralPolicy
from yigongti.core.problems import NotAllowed
from yigongti.enrollment.store import PersonRow
from yigongti.platform import scope
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.audit import actor_of
from yigongti.referral.domain import ARRIVED, COMPLETED, InternalService, StatementLine, internal_statement
from yigongti.referral.store import ReferralRow
from yigongti.registry.domain import Tier
from yigongti.shared.domain import Basis, CareFacts, care_basis, referral_counts
from yigongti.shared.uow import RecordUnitOfWork

__all__ = [
    "OPENED",
    "REFUSED",
    "CarePlan",
    "Diagnosis",
    "Encounter",
    "HealthRecord",
    "Opening",
    "Prescription",
    "RecordRefused",
    "REMOTE_KINDS",
    "WorkflowFigures",
    "workflow_indicators",
    "claims_in",
    "Result",
    "internal_services",
    "member_statement",
    "open_record",
    "record_openings",
]

OPENED = "health record read"
REFUSED = "health record refused"


class RecordRefused(NotAllowed):
    """No care relationship with the person (403); the same answer whether the person exists or not."""


@dataclass(frozen=True)
class Encounter:
    """就诊 / a claim at any member: where, when, in- or outpatient, the diagnosis, the referring admission."""

    claim_id: str
    inst_id: str
    inst_name: str
    setting: str
    admit_date: date
    discharge_date: date | None
    diagnosis: str
    emergency: bool
    referral_from: str


@dataclass(frozen=True)
class Diagnosis:
    """诊断 / one diagnosis (ICD-10 code or chronic disease) and where it was seen, first and last."""

    code: str
    first_seen: date
    last_seen: date
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    """结果 / a result: a remote read of a shared centre (source ``remote``) or a follow-up reading (``followup``)."""

    source: str
    kind: str
    at: datetime
    inst_id: str
    inst_name: str
    text: str
    abnormal: bool | None
    ref: str


@dataclass(frozen=True)
class Prescription:
    """处方/用药 / the medicines recorded at a follow-up."""

    on: date
    inst_id: str
    inst_name: str
    disease: str
    medicines: str


@dataclass(frozen=True)
class CarePlan:
    """照护计划 / a plan: the family doctor's next follow-up (``followup``), a down-referral's care plan
    (``down_referral``), a tele-consultation's opinion (``consultation``)."""

    kind: str
    at: datetime
    inst_id: str
    inst_name: str
    text: str
    due: date | None
    ref: str


@dataclass(frozen=True)
class HealthRecord:
    person_id: str
    sex: str
    birth_date: date
    household_id: str | None
    basis: Basis
    basis_ref: int | None
    encounters: list[Encounter] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    prescriptions: list[Prescription] = field(default_factory=list)
    care_plans: list[CarePlan] = field(default_factory=list)
    referrals: list[ReferralRow] = field(default_factory=list)


def _facts(uow: RecordUnitOfWork, principal: Principal, person: PersonRow, *, policy: ReferralPolicy,
           now: datetime) -> CareFacts:
    s = uow.session
    if principal.role is Role.RESIDENT:
        return CareFacts(same_household=bool(principal.household_id)
                         and person.household_id == principal.household_id)
    if principal.role is not Role.CLINICIAN or not principal.inst_id:
        return CareFacts()
    designated = scope.visible(s, person.person_id, scope.person_condition(s, principal, year=now.year)) is not None
    today = now.date()
    teams = select(TeamRow.team_id).where(or_(
        TeamRow.inst_id == principal.inst_id,
        TeamRow.team_id.in_(select(TeamMemberRow.team_id).where(TeamMemberRow.username == principal.username))))
    contract = s.scalar(select(ContractRow.contract_id).where(
        ContractRow.person_id == person.person_id, ContractRow.start_date <= today, ContractRow.end_date >= today,
        ContractRow.team_id.in_(teams)).order_by(ContractRow.contract_id.desc()).limit(1))
    refs = s.execute(select(ReferralRow.referral_id, ReferralRow.status, ReferralRow.updated_at).where(
        ReferralRow.person_id == person.person_id,
        or_(ReferralRow.from_inst_id == principal.inst_id, ReferralRow.to_inst_id == principal.inst_id))
        .order_by(ReferralRow.referral_id.desc())).all()
    live = tuple(r.referral_id for r in refs if referral_counts(r.status, r.updated_at, now, policy.record_days))
    return CareFacts(designated=designated, contract_id=contract, referral_ids=live)


def claims_in(figures: Any) -> pa.Table | None:
    """The claims of the app's year figures (``budget.analytics.YearFigures``; the platform holds them as Any), or
    None when no data folder is loaded."""
    claims = figures.data.get("claims") if figures is not None else None
    return claims if isinstance(claims, pa.Table) else None


def _claims_of(claims: pa.Table | None, person_id: str) -> list[dict[str, Any]]:
    if claims is None or "person_id" not in claims.column_names:
        return []
    mine = claims.filter(pc.equal(claims.column("person_id"), person_id))
    return list(mine.to_pylist())


def _as_date(v: Any) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


def open_record(uow: RecordUnitOfWork, principal: Principal, person_id: str, *, claims: pa.Table | None,
                policy: ReferralPolicy, now: datetime, purpose: str = "",
                referral_id: int | None = None) -> HealthRecord:
    """The person's shared record for a clinician with a care relationship or a resident of the household (audited
    with the basis); :class:`RecordRefused` (403) for anyone else, the refusal audited when the person exists."""
    with uow:
        person = uow.session.get(PersonRow, person_id)
        facts = _facts(uow, principal, person, policy=policy, now=now) if person is not None else CareFacts()
        found = care_basis(principal.role.value, facts, referral_id=referral_id)
        detail: dict[str, Any] = {"purpose": purpose[:200]} if purpose else {}
        if person is None or found is None:
            if person is not None:
                uow.audit.add(actor=actor_of(principal), action=REFUSED, at=now, person_id=person_id,
                              detail=detail | {"basis": None})
                uow.commit()
            raise RecordRefused("无诊疗关系，不能查看共享健康档案 / no care relationship with this person: the shared "
                                "health record is not yours to open")
        basis, ref = found
        detail |= {"basis": basis.value} | ({f"{basis.value}_id": ref} if ref is not None else {})
        uow.audit.add(actor=actor_of(principal), action=OPENED, at=now, person_id=person_id, detail=detail)
        record = _assemble(uow, person, basis, ref, _claims_of(claims, person_id))
        uow.commit()
    return record


def _assemble(uow: RecordUnitOfWork, person: PersonRow, basis: Basis, ref: int | None,
              claims: list[dict[str, Any]]) -> HealthRecord:
    s = uow.session
    pid = person.person_id
    names = {i.inst_id: i.name for i in uow.registry.get().institutions.values()}

    def name(inst: str) -> str:
        return names.get(inst, inst)

    encounters = sorted((Encounter(
        claim_id=str(c["claim_id"]), inst_id=str(c["inst_id"]), inst_name=name(str(c["inst_id"])),
        setting=str(c.get("setting") or ""), admit_date=_as_date(c.get("admit_date")) or date.min,
        discharge_date=_as_date(c.get("discharge_date")), diagnosis=str(c.get("diagnosis") or ""),
        emergency=bool(c.get("emergency")), referral_from=str(c.get("referral_from") or "")) for c in claims),
        key=lambda e: (e.admit_date, e.claim_id), reverse=True)
    referrals = list(s.scalars(select(ReferralRow).where(ReferralRow.person_id == pid)
                               .order_by(ReferralRow.requested_at.desc(), ReferralRow.referral_id.desc())))
    orders = list(s.scalars(select(DiagnosisOrderRow).where(
        DiagnosisOrderRow.person_id == pid, DiagnosisOrderRow.status == OrderStatus.REPORTED.value)
        .order_by(DiagnosisOrderRow.reported_at.desc())))
    followups = list(s.scalars(select(FollowupRow).where(FollowupRow.person_id == pid)
                               .order_by(FollowupRow.date.desc(), FollowupRow.followup_id.desc()).limit(200)))
    registry = list(s.scalars(select(RegistryRow).where(RegistryRow.person_id == pid)))
    consults = list(s.scalars(select(ConsultationRow).where(ConsultationRow.person_id == pid)
                              .order_by(ConsultationRow.requested_at.desc())))

    seen: dict[str, tuple[date, date, set[str]]] = {}

    def saw(code: str, on: date, source: str) -> None:
        if not code:
            return
        first, last, sources = seen.get(code, (on, on, set()))
        seen[code] = (min(first, on), max(last, on), sources | {source})

    for e in encounters:
        saw(e.diagnosis, e.admit_date, "claim")
    for r in registry:
        saw(r.disease, r.registered_on, "registry")
    for rf in referrals:
        saw(rf.diagnosis, rf.requested_at.date(), "referral")
    diagnoses = sorted((Diagnosis(code, first, last, tuple(sorted(src))) for code, (first, last, src) in seen.items()),
                       key=lambda d: (d.last_seen, d.code), reverse=True)

    results = [Result("remote", o.kind, o.reported_at or o.ordered_at, o.to_inst_id, name(o.to_inst_id),
                      o.report or "", o.abnormal, f"D{o.order_id}") for o in orders]
    for f in followups:
        readings = []
        if f.systolic is not None and f.diastolic is not None:
            readings.append(f"BP {f.systolic}/{f.diastolic} mmHg")
        if f.fasting_glucose is not None:
            readings.append(f"FPG {f.fasting_glucose} mmol/L")
        if f.hba1c is not None:
            readings.append(f"HbA1c {f.hba1c}%")
        if readings:
            results.append(Result("followup", f.disease, datetime.combine(f.date, datetime.min.time()), f.inst_id,
                                  name(f.inst_id), "; ".join(readings), None if f.control == "unknown"
                                  else f.control == "uncontrolled", f"F{f.followup_id}"))
    results.sort(key=lambda r: r.at, reverse=True)

    prescriptions = [Prescription(f.date, f.inst_id, name(f.inst_id), f.disease, f.medicines)
                     for f in followups if f.medicines.strip()]
    plans: list[CarePlan] = []
    latest: dict[str, FollowupRow] = {}
    for f in followups:
        latest.setdefault(f.disease, f)
    for disease, f in sorted(latest.items()):
        if f.next_date is not None:
            plans.append(CarePlan("followup", datetime.combine(f.date, datetime.min.time()), f.inst_id,
                                  name(f.inst_id), disease, f.next_date, f"F{f.followup_id}"))
    for rf in referrals:
        if rf.care_plan:
            plans.append(CarePlan("down_referral", rf.updated_at, rf.to_inst_id if rf.direction == "down"
                                  else rf.from_inst_id, name(rf.to_inst_id if rf.direction == "down"
                                                             else rf.from_inst_id), rf.care_plan, None,
                                  f"R{rf.referral_id}"))
    for c in consults:
        if c.opinion:
            plans.append(CarePlan("consultation", c.concluded_at or c.updated_at, c.to_inst_id, name(c.to_inst_id),
                                  c.opinion, None, f"C{c.consultation_id}"))
    plans.sort(key=lambda p: p.at, reverse=True)
    return HealthRecord(pid, person.sex, person.birth_date, person.household_id, basis, ref, encounters, diagnoses,
                        results, prescriptions, plans, referrals)


@dataclass(frozen=True)
class Opening:
    """查阅记录 / one opening (or refusal) of a person's shared record: who, when, why."""

    at: datetime
    actor: str
    action: str
    detail: Mapping[str, Any]


def record_openings(uow: RecordUnitOfWork, person_id: str) -> list[Opening]:
    """Every opening and refusal of the person's shared record, newest first (the adapter checks who may list
    them: the officials of the person's scope, the person's household)."""
    import json

    with uow:
        rows = uow.session.scalars(select(AuditRow).where(AuditRow.person_id == person_id,
                                                          AuditRow.action.in_((OPENED, REFUSED)))
                                   .order_by(AuditRow.at.desc(), AuditRow.audit_id.desc()).limit(1000))
        return [Opening(r.at, r.actor, r.action, json.loads(r.detail) if r.detail else {}) for r in rows]


# ------------------------------------------------------------------------------------------------ internal statement

def internal_services(uow: RecordUnitOfWork, year: int) -> list[InternalService]:
    """The year's priced services between institutions recorded by the platform's workflows: referrals completed in
    the year (``up_referral``/``down_referral``, by completion), remote reads reported in the year (their kind, by the
    report; a recognised result is not read again and not priced) and tele-consultations concluded in the year
    (``consultation``)."""
    start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    s = uow.session
    out = [InternalService(f"{r.direction}_referral", f"{r.completed_at:%Y-%m}", r.from_inst_id, r.to_inst_id)
           for r in s.scalars(select(ReferralRow).where(ReferralRow.completed_at >= start,
                                                         ReferralRow.completed_at < end))
           if r.completed_at is not None and r.status in ("completed", "returned")]
    out += [InternalService(o.kind, f"{o.reported_at:%Y-%m}", o.from_inst_id, o.to_inst_id)
            for o in s.scalars(select(DiagnosisOrderRow).where(
                DiagnosisOrderRow.status == OrderStatus.REPORTED.value, DiagnosisOrderRow.reported_at >= start,
                DiagnosisOrderRow.reported_at < end)) if o.reported_at is not None]
    out += [InternalService("consultation", f"{c.concluded_at:%Y-%m}", c.from_inst_id, c.to_inst_id)
            for c in s.scalars(select(ConsultationRow).where(
                ConsultationRow.status == "concluded", ConsultationRow.concluded_at >= start,
                ConsultationRow.concluded_at < end)) if c.concluded_at is not None]
    return out


def member_statement(uow: RecordUnitOfWork, year: int, policy: ReferralPolicy,
                     consortia: Sequence[str] | None = None) -> tuple[list[StatementLine], int]:
    """成员单位内部结算单 / Each member's monthly internal statement for ``year`` from the database: referrals,
    remote reads and tele-consultations between members of one consortium, priced by ``policy.prices``; each
    consortium's month sums to zero. ``consortia``: only these (an official's scope). Returns the lines and how many
    services were left out (between consortia, or without a price)."""
    with uow:
        services = internal_services(uow, year)
        consortium_of = {i.inst_id: i.consortium_id for i in uow.registry.get().institutions.values()}
    lines, skipped = internal_statement(services, consortium_of, policy.prices)
    if consortia is not None:
        wanted = set(consortia)
        lines = [ln for ln in lines if ln.consortium_id in wanted]
    return lines, skipped


# ------------------------------------------------------------------------------------------------ indicators

REMOTE_KINDS = ("imaging", "ecg", "ultrasound")
"""The kinds indicator 2.2 counts (the 2024 set's ``remote_kinds``: lab and pathology are not counted)."""


@dataclass
class WorkflowFigures:
    """转诊与远程诊断指标（来自业务流程）/ one institution's or consortium's year from the platform's workflows, by the
    rules the appraisal applies to the exported ``referrals`` and ``remote_diagnoses`` tables, counted for the
    sending (requesting) institution: up- and down-referrals requested in the year whose patient arrived (S3, S4),
    down-referrals sent by county-tier units (S5's numerator), referrals completed in the year (S4b), remote reads of
    ``REMOTE_KINDS`` reported in the year (2.2's numerator) and repeats avoided (orders of the year answered by a
    recognised result, 避免重复检查)."""

    scope: str
    scope_kind: str  # institution / consortium
    up_referrals: int = 0
    down_referrals: int = 0
    down_referrals_from_county: int = 0
    referrals_completed: int = 0
    remote_diagnoses: int = 0
    repeats_avoided: int = 0

    def add(self, other: WorkflowFigures) -> None:
        for name in ("up_referrals", "down_referrals", "down_referrals_from_county", "referrals_completed",
                     "remote_diagnoses", "repeats_avoided"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def workflow_indicators(uow: RecordUnitOfWork, year: int,
                        consortia: Sequence[str] | None = None) -> list[WorkflowFigures]:
    """The referral and remote-diagnosis figures of ``year`` from the database, per sending institution and per
    consortium (``consortia``: only these; an official's scope), the same numerators as ``yigongti appraise`` gives
    from the tables ``yigongti referral export`` and ``yigongti centres export`` write. Counts of institutions, not
    personal data."""
    start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    came, done = {s.value for s in ARRIVED}, {s.value for s in COMPLETED}
    with uow:
        s = uow.session
        insts = uow.registry.get().institutions
        per: dict[str, WorkflowFigures] = {}

        def of(inst_id: str) -> WorkflowFigures:
            return per.setdefault(inst_id, WorkflowFigures(inst_id, "institution"))

        for r in s.scalars(select(ReferralRow).where(or_(
                (ReferralRow.requested_at >= start) & (ReferralRow.requested_at < end),
                (ReferralRow.completed_at >= start) & (ReferralRow.completed_at < end)))):
            f = of(r.from_inst_id)
            if start <= r.requested_at < end and r.status in came:
                if r.direction == "up":
                    f.up_referrals += 1
                else:
                    f.down_referrals += 1
                    sender = insts.get(r.from_inst_id)
                    f.down_referrals_from_county += sender is not None and sender.tier == Tier.COUNTY.value
            if r.status in done and r.completed_at is not None and start <= r.completed_at < end:
                f.referrals_completed += 1
        for o in s.scalars(select(DiagnosisOrderRow).where(
                DiagnosisOrderRow.status == OrderStatus.REPORTED.value, DiagnosisOrderRow.reported_at >= start,
                DiagnosisOrderRow.reported_at < end, DiagnosisOrderRow.kind.in_(REMOTE_KINDS))):
            of(o.from_inst_id).remote_diagnoses += 1
        for o in s.scalars(select(DiagnosisOrderRow).where(
                DiagnosisOrderRow.status == OrderStatus.RECOGNISED.value, DiagnosisOrderRow.ordered_at >= start,
                DiagnosisOrderRow.ordered_at < end)):
            of(o.from_inst_id).repeats_avoided += 1
    wanted = set(consortia) if consortia is not None else None
    out: list[WorkflowFigures] = []
    totals: dict[str, WorkflowFigures] = {}
    for inst_id in sorted(per):
        inst = insts.get(inst_id)
        cid = inst.consortium_id if inst is not None else None
        if cid is None or (wanted is not None and cid not in wanted):
            continue
        out.append(per[inst_id])
        totals.setdefault(cid, WorkflowFigures(cid, "consortium")).add(per[inst_id])
    return [totals[c] for c in sorted(totals)] + out
