"""Care use cases (家庭医生与慢病用例), one transaction each: set up a family-doctor team, propose the team of a
person's designated village clinic, sign contracts (the GP's panel cap), register chronic patients (from claims'
diagnoses, at a screening, by hand), record a follow-up in one call, a person's chronic-disease status, the family
doctor's worklists, contract coverage by key population, long prescriptions.

Who acts is a :class:`~yigongti.platform.accounts.Principal`; every change writes the audit log (who, what, when,
which person). Whether a person is in the caller's scope is the adapter's check (``platform.deps.visible_person``);
lists over persons take the caller's scope condition.
"""

from __future__ import annotations

import datetime as _dt
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, select

from yigongti.care.domain import (
    Control,
    Disease,
    KeyPopulation,
    Reading,
    TeamRole,
    Worklist,
    add_months,
    check_panel,
    check_prescription,
    contract_end,
    control_status,
    disease_of_icd,
    key_populations,
    worklists,
)
from yigongti.care.schedules import (
    REGISTERED,
    SCHEDULED,
    Slot,
    SlotState,
    first_service,
    person_slots,
    slot_state,
)
from yigongti.care.store import (
    ContractRow,
    FollowupRow,
    KeyRegisterRow,
    KeyServiceRow,
    LongPrescriptionRow,
    RegistryRow,
    TeamMemberRow,
    TeamRow,
)
from yigongti.care.uow import CareUnitOfWork
from yigongti.core.policy import CarePolicy
from yigongti.core.problems import Conflict, InvalidRequest, NotAllowed, NotFound
from yigongti.core.stamps import bump_stamp, read_stamp
from yigongti.enrollment.store import PersonRow
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.audit import actor_of
from yigongti.registry.domain import Tier

if TYPE_CHECKING:
    import pyarrow as pa

    from yigongti.care.engine import GpPayRow, Measures

__all__ = [
    "GP_PAY_READERS",
    "Conflict",
    "CoverageRow",
    "DiseaseStatus",
    "InvalidRequest",
    "MemberIn",
    "NotAllowed",
    "NotFound",
    "RecordFollowup",
    "SignContract",
    "TeamView",
    "DoctorDay",
    "GpPayView",
    "PersonBrief",
    "WorklistEntry",
    "check_long_prescription",
    "issue_long_prescription",
    "long_prescription_counts",
    "long_prescriptions_of",
    "LongPrescriptionCount",
    "DutyCache",
    "db_gp_pay",
    "db_measures",
    "doctor_day",
    "followup_history",
    "gps_of",
    "person_brief",
    "coverage",
    "create_team",
    "person_status",
    "proposed_team",
    "record_followup",
    "register",
    "register_from_claims",
    "sign_contract",
    "teams_of",
    "worklist",
    "DutyFigures",
    "Duties",
    "KeyDay",
    "KeyDue",
    "KeySchedule",
    "RecordService",
    "RegisterKey",
    "duties",
    "duty_view",
    "DutyUnit",
    "DutyView",
    "followup",
    "key_worklist",
    "member",
    "person_schedule",
    "record_service",
    "register_key",
    "slots_of",
    "team",
    "team_consortium",
]

GP_PAY_READERS: tuple[Role, ...] = (Role.CONSORTIUM_ADMIN, Role.INSURANCE_BUREAU, Role.HEALTH_COMMISSION,
                                     Role.SYSTEM_ADMIN)
"""Who reads GP pay and the long prescriptions per GP (page and API alike): the consortium's management and the
county's officials, not the doctors themselves."""






def _audit(uow: CareUnitOfWork, principal: Principal | None, action: str, person_id: str | None, at: datetime,
           detail: dict[str, Any]) -> None:
    uow.audit.add(actor=actor_of(principal) if principal is not None else "system", action=action, at=at,
                  person_id=person_id, detail=detail)


# --------------------------------------------------------------------------------------------------- teams

@dataclass(frozen=True)
class MemberIn:
    role: str
    name: str
    inst_id: str
    username: str | None = None


@dataclass(frozen=True)
class TeamView:
    team: TeamRow
    members: tuple[TeamMemberRow, ...]


def create_team(uow: CareUnitOfWork, principal: Principal, *, inst_id: str, name: str,
                members: Sequence[MemberIn], now: datetime) -> TeamView:
    """A family-doctor team of a village clinic or township centre (the admin of the institution or of its
    consortium): at least one GP; a specialist comes from a county hospital."""
    with uow:
        inst = uow.care.institution(inst_id)
        if inst is None:
            raise NotFound(f"机构 {inst_id} 不存在 / no institution {inst_id}")
        own = principal.role is Role.INSTITUTION_ADMIN and principal.inst_id == inst_id
        consortium = (principal.role is Role.CONSORTIUM_ADMIN and inst.consortium_id is not None
                      and principal.consortium_id == inst.consortium_id)
        if not (own or consortium or principal.role is Role.SYSTEM_ADMIN):
            raise NotAllowed("仅本机构或所属医共体管理员可组建团队 / only the admin of the institution or its "
                             "consortium sets up its teams")
        if inst.tier not in (Tier.VILLAGE.value, Tier.TOWNSHIP.value):
            raise InvalidRequest("inst_id", "家庭医生团队设在村卫生室或乡镇卫生院 / a team belongs to a village "
                                            "clinic or township centre")
        roles = []
        for i, m in enumerate(members):
            try:
                role = TeamRole(m.role)
            except ValueError:
                raise InvalidRequest(f"members.{i}.role", "must be one of "
                                     + ", ".join(r.value for r in TeamRole)) from None
            member_inst = uow.care.institution(m.inst_id)
            if member_inst is None:
                raise InvalidRequest(f"members.{i}.inst_id", f"no institution {m.inst_id} / 机构不存在")
            if role is TeamRole.SPECIALIST and member_inst.tier != Tier.COUNTY.value:
                raise InvalidRequest(f"members.{i}.inst_id", "专科医生来自县级医院 / a specialist comes from a "
                                                           "county hospital")
            roles.append(role)
        if TeamRole.GP not in roles:
            raise InvalidRequest("members", "团队至少有一名全科医生 / a team has at least one GP")
        team = TeamRow(inst_id=inst_id, name=name, created_at=now, created_by=actor_of(principal))
        uow.care.add(team)
        rows = []
        for m, role in zip(members, roles, strict=True):
            row = TeamMemberRow(team_id=team.team_id, role=role.value, name=m.name, inst_id=m.inst_id,
                                username=m.username)
            uow.care.add(row)
            rows.append(row)
        _audit(uow, principal, "care.team", None, now, {"team_id": team.team_id, "inst_id": inst_id})
        uow.commit()
    return TeamView(team, tuple(rows))


def teams_of(uow: CareUnitOfWork, inst_id: str) -> list[TeamView]:
    """The teams of an institution with their members (no personal data)."""
    with uow:
        teams = uow.care.teams_of([inst_id])
        members = uow.care.members([t.team_id for t in teams])
    return [TeamView(t, tuple(m for m in members if m.team_id == t.team_id)) for t in teams]


def proposed_team(uow: CareUnitOfWork, person_id: str, year: int) -> TeamView | None:
    """The team proposed by default (默认推荐): the first team of the person's designated village clinic for
    ``year``, else of their township centre; None when neither has a team or the person has no designation."""
    with uow:
        des = uow.care.designation(person_id, year)
        if des is None:
            uow.commit()
            return None
        view = None
        for inst_id in (des.village_id, des.township_id):
            teams = uow.care.teams_of([inst_id])
            if teams:
                view = TeamView(teams[0], tuple(uow.care.members([teams[0].team_id])))
                break
        uow.commit()  # the caller's transaction: the audit of who looked
    return view


# ----------------------------------------------------------------------------------------------- contracts

@dataclass(frozen=True)
class SignContract:
    person_ids: tuple[str, ...]
    team_id: int
    gp_member_id: int
    start_date: date
    household_id: str | None = None
    pregnant: frozenset[str] = frozenset()
    conditions: dict[str, tuple[str, ...]] = field(default_factory=dict)


_DECLARED = (KeyPopulation.TUBERCULOSIS.value, KeyPopulation.MENTAL.value)


def sign_contract(uow: CareUnitOfWork, principal: Principal, cmd: SignContract, *, policy: CarePolicy,
                  now: datetime) -> list[ContractRow]:
    """Sign a yearly contract (签约) for each person (one person, or a household at once) with the team and its GP,
    by a clinician or the admin of the team's institution (or of the township centre above it). Refused: a person
    already under contract in the period (:class:`Conflict`), a GP whose panel would exceed ``panel_cap``
    (:class:`~yigongti.care.domain.PanelFull`)."""
    if not cmd.person_ids:
        raise InvalidRequest("person_ids", "at least one person / 至少一人")
    for pid, conds in cmd.conditions.items():
        bad = [c for c in conds if c not in _DECLARED]
        if bad:
            raise InvalidRequest("conditions", f"{pid}: {', '.join(bad)} not among {', '.join(_DECLARED)}")
    end = contract_end(cmd.start_date, policy)
    with uow:
        team = uow.care.team(cmd.team_id)
        if team is None:
            raise NotFound(f"团队 {cmd.team_id} 不存在 / no team {cmd.team_id}")
        inst = uow.care.institution(team.inst_id)
        allowed = {team.inst_id} | ({inst.parent_id} if inst is not None and inst.parent_id else set())
        if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) or principal.inst_id not in allowed:
            raise NotAllowed("仅团队所在机构的医生或管理员可签约 / only a clinician or the admin of the team's "
                             "institution signs its contracts")
        gp = uow.care.member(cmd.gp_member_id)
        if gp is None or gp.team_id != team.team_id or gp.role != TeamRole.GP.value:
            raise InvalidRequest("gp_member_id", "不是本团队的全科医生 / not a GP of this team")
        for pid in cmd.person_ids:
            if uow.care.person(pid) is None:
                raise NotFound(f"无此人员 / no person {pid}")
        taken = uow.care.overlapping(list(cmd.person_ids), cmd.start_date, end)
        if taken:
            ids = ", ".join(sorted({c.person_id for c in taken}))
            raise Conflict(f"已有签约 / already under contract in this period: {ids}")
        current = uow.care.panel_size(gp.member_id, cmd.start_date, lock=True)
        check_panel(current, len(cmd.person_ids), policy, gp=gp.name)
        rows = []
        for pid in cmd.person_ids:
            row = ContractRow(person_id=pid, team_id=team.team_id, gp_member_id=gp.member_id,
                              start_date=cmd.start_date, end_date=end, household_id=cmd.household_id,
                              pregnant=pid in cmd.pregnant, conditions=",".join(cmd.conditions.get(pid, ())),
                              signed_at=now, signed_by=actor_of(principal))
            uow.care.add(row)
            rows.append(row)
            _audit(uow, principal, "care.contract", pid, now, {"contract_id": row.contract_id,
                                                               "team_id": team.team_id, "end_date": str(end)})
        uow.commit()
    return rows


# ------------------------------------------------------------------------------------------------ registry

def _register(uow: CareUnitOfWork, person_id: str, disease: Disease, on: date, inst_id: str, source: str,
              claim_id: str | None, now: datetime) -> tuple[RegistryRow, bool]:
    """The registry entry, created when missing, moved to the earlier of (date, institution), so that the order the
    sources come in does not matter (as in the measures' engine); (entry, created)."""
    entry = uow.care.registry_entry(person_id, disease.value)
    if entry is None:
        entry = RegistryRow(person_id=person_id, disease=disease.value, registered_on=on, inst_id=inst_id,
                            source=source, claim_id=claim_id, created_at=now)
        uow.care.add(entry)
        return entry, True
    if (on, inst_id) < (entry.registered_on, entry.inst_id):
        entry.registered_on, entry.inst_id, entry.source, entry.claim_id = on, inst_id, source, claim_id
    return entry, False


def register(uow: CareUnitOfWork, principal: Principal, *, person_id: str, disease: str, on: date,
             now: datetime) -> RegistryRow:
    """Register a chronic patient by hand (a clinician, at their institution)."""
    if principal.role is not Role.CLINICIAN or principal.inst_id is None:
        raise NotAllowed("仅医生可登记慢病患者 / only a clinician registers chronic patients")
    try:
        dis = Disease(disease)
    except ValueError:
        raise InvalidRequest("disease", "must be hypertension or diabetes") from None
    with uow:
        if uow.care.person(person_id) is None:
            raise NotFound(f"无此人员 / no person {person_id}")
        entry, _ = _register(uow, person_id, dis, on, principal.inst_id, "manual", None, now)
        _audit(uow, principal, "care.register", person_id, now, {"disease": dis.value, "on": str(on)})
        uow.commit()
    return entry


def register_from_claims(uow: CareUnitOfWork, claims: Iterable[tuple[str, str, str, date, str | None]], *,
                         policy: CarePolicy, now: datetime) -> int:
    """Register the patients whose claims (claim_id, person_id, inst_id, admit_date, diagnosis) carry a diagnosis in
    the policy's ICD-10 ranges, at the claim's date and institution (the earliest one wins); returns how many
    entries were created. Persons not in the database are skipped."""
    created = 0
    with uow:
        for claim_id, person_id, inst_id, on, diagnosis in claims:
            dis = disease_of_icd(diagnosis, policy) if diagnosis else None
            if dis is None or uow.care.person(person_id) is None:
                continue
            _, new = _register(uow, person_id, dis, on, inst_id, "claim", claim_id, now)
            if new:
                created += 1
                _audit(uow, None, "care.register", person_id, now, {"disease": dis.value, "claim_id": claim_id})
        uow.commit()
    return created


# ----------------------------------------------------------------------------------------------- follow-ups

@dataclass(frozen=True)
class RecordFollowup:
    person_id: str
    disease: str
    date: _dt.date
    systolic: int | None = None
    diastolic: int | None = None
    fasting_glucose: Decimal | None = None
    hba1c: Decimal | None = None
    medicines: str = ""
    next_date: _dt.date | None = None


@dataclass(frozen=True)
class RecordedFollowup:
    followup: FollowupRow
    control: Control
    registered_now: bool


def record_followup(uow: CareUnitOfWork, principal: Principal, cmd: RecordFollowup, *, policy: CarePolicy,
                    now: datetime) -> RecordedFollowup:
    """Record a follow-up in one call (一次录入): readings, medicines, the next date; its control status from the
    policy's thresholds. A person not yet registered for the disease is registered by this screening (筛查登记)."""
    if principal.role is not Role.CLINICIAN or principal.inst_id is None:
        raise NotAllowed("仅医生可录入随访 / only a clinician records follow-ups")
    try:
        dis = Disease(cmd.disease)
    except ValueError:
        raise InvalidRequest("disease", "must be hypertension or diabetes") from None
    if cmd.date > now.date():
        raise InvalidRequest("date", "随访日期不能晚于今天 / a follow-up is not in the future")
    if cmd.next_date is not None and cmd.next_date <= cmd.date:
        raise InvalidRequest("next_date", "下次随访须晚于本次 / the next follow-up comes after this one")
    if (cmd.systolic is None) != (cmd.diastolic is None):
        raise InvalidRequest("diastolic", "血压需同时录入收缩压与舒张压 / blood pressure needs both figures")
    if cmd.systolic is not None and cmd.diastolic is not None and cmd.systolic <= cmd.diastolic:
        raise InvalidRequest("systolic", "收缩压须高于舒张压 / systolic must be above diastolic")
    reading = Reading(cmd.systolic, cmd.diastolic, cmd.fasting_glucose, cmd.hba1c)
    control = control_status(dis, reading, policy)
    with uow:
        if uow.care.person(cmd.person_id) is None:
            raise NotFound(f"无此人员 / no person {cmd.person_id}")
        _, created = _register(uow, cmd.person_id, dis, cmd.date, principal.inst_id, "screening", None, now)
        row = FollowupRow(person_id=cmd.person_id, disease=dis.value, inst_id=principal.inst_id, date=cmd.date,
                          systolic=cmd.systolic, diastolic=cmd.diastolic, fasting_glucose=cmd.fasting_glucose,
                          hba1c=cmd.hba1c, medicines=cmd.medicines, next_date=cmd.next_date, control=control.value,
                          recorded_at=now, recorded_by=actor_of(principal))
        uow.care.add(row)
        _audit(uow, principal, "care.followup", cmd.person_id, now,
               {"followup_id": row.followup_id, "disease": dis.value, "control": control.value})
        uow.commit()
    return RecordedFollowup(row, control, created)


@dataclass(frozen=True)
class DiseaseStatus:
    disease: str
    registered_on: date
    inst_id: str
    source: str
    last_date: date | None
    next_date: date | None
    control: str | None
    lists: tuple[str, ...]


def _statuses(entries: Sequence[RegistryRow], last: dict[tuple[str, str], FollowupRow], today: date,
              policy: CarePolicy) -> list[DiseaseStatus]:
    out = []
    for e in entries:
        f = last.get((e.person_id, e.disease))
        lists = worklists(today, since=e.registered_on, last_followup=f.date if f else None,
                          next_date=f.next_date if f else None, last_control=Control(f.control) if f else None,
                          policy=policy)
        out.append(DiseaseStatus(e.disease, e.registered_on, e.inst_id, e.source, f.date if f else None,
                                 f.next_date if f else None, f.control if f else None,
                                 tuple(w.value for w in Worklist if w in lists)))
    return out


def person_status(uow: CareUnitOfWork, person_id: str, *, today: date,
                  policy: CarePolicy) -> tuple[list[DiseaseStatus], ContractRow | None]:
    """A person's chronic diseases (registration, the control status of the last reading, the worklists they are on)
    and their active contract."""
    with uow:
        entries = uow.care.registry_of([person_id])
        last = uow.care.last_followups([person_id])
        contract = uow.care.active_contract(person_id, today)
        uow.commit()  # the caller's transaction: the audit of who looked
    return _statuses(entries, last, today, policy), contract


@dataclass(frozen=True)
class WorklistEntry:
    person_id: str
    status: DiseaseStatus


def worklist(uow: CareUnitOfWork, principal: Principal, *, gp_member_id: int | None, today: date,
             policy: CarePolicy, condition: ColumnElement[bool]) -> dict[str, list[WorklistEntry]]:
    """The worklists of a family doctor (工作清单): the registered chronic patients under contract with the GP
    (``gp_member_id``, else the GP whose account is the caller's) and in the caller's scope, by list."""
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN):
        raise NotAllowed("仅家庭医生或机构管理员可查看工作清单 / clinicians and institution admins only")
    with uow:
        if gp_member_id is None:
            gp = uow.session.scalar(select(TeamMemberRow).where(TeamMemberRow.username == principal.username,
                                                                TeamMemberRow.role == TeamRole.GP.value).limit(1))
        else:
            gp = uow.care.member(gp_member_id)
        if gp is None or gp.role != TeamRole.GP.value:
            raise NotFound("无此全科医生 / no such GP")
        team = uow.care.team(gp.team_id)
        if principal.inst_id not in (team.inst_id if team else None, gp.inst_id):
            raise NotFound("无此全科医生 / no such GP")
        ids = [c.person_id for c in uow.care.contracts_of_gp(gp.member_id, today)]
        visible = set(uow.session.scalars(select(PersonRow.person_id).where(PersonRow.person_id.in_(ids),
                                                                            condition))) if ids else set()
        ids = [i for i in ids if i in visible]
        entries = uow.care.registry_of(ids)
        last = uow.care.last_followups(ids)
    out: dict[str, list[WorklistEntry]] = {w.value: [] for w in Worklist}
    for s, e in zip(_statuses(entries, last, today, policy), entries, strict=True):
        for name in s.lists:
            out[name].append(WorklistEntry(e.person_id, s))
    return out


# ------------------------------------------------------------------------------------------------ coverage

@dataclass(frozen=True)
class CoverageRow:
    population: str
    persons: int | None  # None: the population is only known from contracts (pregnant, tuberculosis, mental)
    contracted: int


def coverage(uow: CareUnitOfWork, *, on: date, condition: ColumnElement[bool]) -> list[CoverageRow]:
    """Contract coverage by key population (重点人群签约覆盖) among the persons in the caller's scope, ``on``: the
    population (65+, children 0-6 from the birth date; hypertension, diabetes from the registry; pregnant women,
    tuberculosis and severe mental disorders from their registers, open ``on``, with those declared at signing)
    and how many of them are under an active contract; a population without any open register episode is known
    only as declared at signing (``persons`` None). Counts only: no person is shown."""
    with uow:
        people = list(uow.session.execute(select(PersonRow.person_id, PersonRow.birth_date).where(condition)))
        contracted = uow.care.contracted_ids(on)
        registered = uow.care.registered_ids()
        declared = uow.care.declared(on)
        episodes = uow.care.key_registers(since=on, until=on)
    in_scope = {pid for pid, _ in people}
    members: dict[KeyPopulation, set[str]] = {k: set() for k in KeyPopulation}
    for pid, birth in people:
        conds = [d for d in (Disease.HYPERTENSION.value, Disease.DIABETES.value) if pid in registered.get(d, ())]
        for k in key_populations(birth, on, conditions=conds):
            members[k].add(pid)
    for c in declared:
        if c.person_id not in in_scope:
            continue
        if c.pregnant:
            members[KeyPopulation.PREGNANT].add(c.person_id)
        for x in c.conditions.split(","):
            if x:
                members[KeyPopulation(x)].add(c.person_id)
    kept = {KeyPopulation(r.population) for r in episodes}  # populations the county keeps a register of
    for r in episodes:
        if r.person_id in in_scope:
            members[KeyPopulation(r.population)].add(r.person_id)
    known = (KeyPopulation.ELDERLY, KeyPopulation.CHILD, KeyPopulation.HYPERTENSION, KeyPopulation.DIABETES, *kept)
    rows = [CoverageRow("all", len(in_scope), len(in_scope & contracted))]
    for k in KeyPopulation:
        rows.append(CoverageRow(k.value, len(members[k]) if k in known else None, len(members[k] & contracted)))
    return rows


# ------------------------------------------------------------------------------------------- prescriptions

def _disease(disease: str) -> Disease:
    try:
        return Disease(disease)
    except ValueError:
        raise InvalidRequest("disease", "must be hypertension or diabetes") from None


def _prescription_check(uow: CareUnitOfWork, person_id: str, dis: Disease, days: int, today: date,
                        policy: CarePolicy) -> ContractRow | None:
    """Inside the caller's transaction: :func:`check_prescription` on what the database holds; the active contract."""
    contract = uow.care.active_contract(person_id, today)
    registered = uow.care.registry_entry(person_id, dis.value) is not None
    last = uow.care.last_followups([person_id]).get((person_id, dis.value))
    check_prescription(days, contracted=contract is not None, registered=registered,
                       last_control=Control(last.control) if last else None, policy=policy)
    return contract


def check_long_prescription(uow: CareUnitOfWork, *, person_id: str, disease: str, days: int, today: date,
                            policy: CarePolicy) -> None:
    """Allow a prescription of ``days`` for the person's chronic disease, or raise
    :class:`~yigongti.care.domain.PrescriptionRefused` with the reason (长处方: contracted, registered, stable)."""
    dis = _disease(disease)
    with uow:
        try:
            _prescription_check(uow, person_id, dis, days, today, policy)
        finally:
            uow.commit()  # the caller's transaction: the audit of who asked


def issue_long_prescription(uow: CareUnitOfWork, principal: Principal, *, person_id: str, disease: str, days: int,
                            today: date, now: datetime, policy: CarePolicy) -> LongPrescriptionRow:
    """Issue a long prescription (开具长处方, more than 30 days) to a stable contracted chronic patient and record it
    for the count of their family doctor (the GP of the contract in force ``today``), audited, in one transaction.
    Refused (:class:`~yigongti.care.domain.PrescriptionRefused`, with the reason): nothing is recorded but the audit
    of who asked."""
    if principal.role is not Role.CLINICIAN or not principal.inst_id:
        raise NotAllowed("仅医生可开具处方 / only a clinician prescribes")
    dis = _disease(disease)
    if days <= 30:
        raise InvalidRequest("days", "a long prescription is more than 30 days / 长处方须超过 30 天")
    with uow:
        try:
            contract = _prescription_check(uow, person_id, dis, days, today, policy)
        except InvalidRequest:
            uow.commit()  # the audit of who asked, no prescription
            raise
        assert contract is not None  # checked: a long prescription needs a contract
        row = LongPrescriptionRow(person_id=person_id, disease=dis.value, days=days,
                                  gp_member_id=contract.gp_member_id, inst_id=principal.inst_id, issued_at=now,
                                  issued_by=actor_of(principal))
        uow.care.add(row)
        _audit(uow, principal, "care.long_prescription", person_id, now,
               {"disease": dis.value, "days": days, "gp_member_id": contract.gp_member_id})
        uow.commit()
        return row


def long_prescriptions_of(uow: CareUnitOfWork, person_id: str) -> list[LongPrescriptionRow]:
    """The person's long prescriptions (长处方记录), the latest first (the adapter checks the person's scope)."""
    with uow:
        return list(uow.session.scalars(select(LongPrescriptionRow).where(LongPrescriptionRow.person_id == person_id)
                                        .order_by(LongPrescriptionRow.issued_at.desc(),
                                                  LongPrescriptionRow.rx_id.desc())))


@dataclass(frozen=True)
class LongPrescriptionCount:
    """A family doctor's long prescriptions in a year (家庭医生长处方数): how many, and their days."""

    gp_member_id: int
    name: str
    inst_id: str
    consortium_id: str
    prescriptions: int
    days: int


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1), datetime(year + 1, 1, 1)


def long_prescription_counts(uow: CareUnitOfWork, *, year: int,
                             consortia: Iterable[str]) -> list[LongPrescriptionCount]:
    """The long prescriptions issued in ``year`` per family doctor (GP seat) of an institution of ``consortia``,
    the most first."""
    from yigongti.registry.store import InstitutionRow

    mine = set(consortia)
    with uow:
        counts = uow.care.long_prescription_counts(*_year_bounds(year))
        if not counts:
            return []
        seats = uow.session.execute(
            select(TeamMemberRow.member_id, TeamMemberRow.name, TeamMemberRow.inst_id, InstitutionRow.consortium_id)
            .join(InstitutionRow, InstitutionRow.inst_id == TeamMemberRow.inst_id)
            .where(TeamMemberRow.member_id.in_(list(counts)))).all()
    out = [LongPrescriptionCount(gp, name, inst, cons or "", *counts[gp])
           for gp, name, inst, cons in seats if cons in mine]
    return sorted(out, key=lambda c: (-c.prescriptions, c.gp_member_id))


# ------------------------------------------------------------------------------------ what the pages read

@dataclass(frozen=True)
class PersonBrief:
    person_id: str
    sex: str
    birth_date: date


@dataclass(frozen=True)
class DoctorDay:
    """The family doctor's day (家庭医生的一天): their GP seat and team, the worklists of their panel (contracted,
    registered, in the caller's scope), who the persons are, and the last follow-up of each (person, disease)."""

    gp: TeamMemberRow
    team: TeamRow | None
    lists: dict[str, list[WorklistEntry]]
    persons: dict[str, PersonBrief]
    last: dict[tuple[str, str], FollowupRow]
    panel: int
    patients: int


def gps_of(uow: CareUnitOfWork, principal: Principal) -> list[TeamMemberRow]:
    """The GPs of the teams of the caller's institution (an institution admin picks whose worklists to see)."""
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) or not principal.inst_id:
        raise NotAllowed("仅家庭医生或机构管理员可查看工作清单 / clinicians and institution admins only")
    with uow:
        teams = uow.care.teams_of([principal.inst_id])
        return [m for m in uow.care.members([t.team_id for t in teams]) if m.role == TeamRole.GP.value]


def _gp_seat(uow: CareUnitOfWork, principal: Principal,
             gp_member_id: int | None) -> tuple[TeamMemberRow, TeamRow | None]:
    """The GP seat whose panel the caller reads (inside the caller's transaction): ``gp_member_id`` of the caller's
    institution, else the caller's own; a doctor reads their own panel only (NotFound otherwise)."""
    if gp_member_id is None:
        gp = uow.session.scalar(select(TeamMemberRow).where(TeamMemberRow.username == principal.username,
                                                            TeamMemberRow.role == TeamRole.GP.value)
                                .order_by(TeamMemberRow.member_id).limit(1))
    else:
        gp = uow.care.member(gp_member_id)
    if gp is None or gp.role != TeamRole.GP.value:
        raise NotFound("您还不是家庭医生团队的全科医生 / no GP seat of a family-doctor team is yours")
    team = uow.care.team(gp.team_id)
    if principal.inst_id not in (team.inst_id if team else None, gp.inst_id):
        raise NotFound("无此全科医生 / no such GP")
    if principal.role is Role.CLINICIAN and gp.username not in (None, principal.username):
        raise NotFound("无此全科医生 / no such GP")  # a doctor sees their own panel only
    return gp, team


def _panel(uow: CareUnitOfWork, gp: TeamMemberRow, today: date,
           condition: ColumnElement[bool]) -> dict[str, PersonBrief]:
    """The persons under an active contract with the GP ``today`` and in the caller's scope."""
    ids = [c.person_id for c in uow.care.contracts_of_gp(gp.member_id, today)]
    if not ids:
        return {}
    found = {pid: PersonBrief(pid, sex, birth) for pid, sex, birth in uow.session.execute(
        select(PersonRow.person_id, PersonRow.sex, PersonRow.birth_date)
        .where(PersonRow.person_id.in_(ids), condition))}
    return {pid: found[pid] for pid in ids if pid in found}


def doctor_day(uow: CareUnitOfWork, principal: Principal, *, gp_member_id: int | None, today: date,
               policy: CarePolicy, condition: ColumnElement[bool]) -> DoctorDay:
    """The worklists of :func:`worklist` with what the page shows beside them, in one transaction."""
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN):
        raise NotAllowed("仅家庭医生或机构管理员可查看工作清单 / clinicians and institution admins only")
    with uow:
        gp, team = _gp_seat(uow, principal, gp_member_id)
        persons = _panel(uow, gp, today, condition)
        ids = list(persons)
        entries = uow.care.registry_of(ids)
        last = uow.care.last_followups(sorted({e.person_id for e in entries}))
    lists: dict[str, list[WorklistEntry]] = {w.value: [] for w in Worklist}
    for s, e in zip(_statuses(entries, last, today, policy), entries, strict=True):
        for name in s.lists:
            lists[name].append(WorklistEntry(e.person_id, s))
    for entries_of in lists.values():  # the longest waiting first
        entries_of.sort(key=lambda w: (w.status.last_date or w.status.registered_on, w.person_id))
    shown = {e.person_id for es in lists.values() for e in es}
    return DoctorDay(gp, team, lists, {k: v for k, v in persons.items() if k in shown}, last, len(ids),
                     len({e.person_id for e in entries}))


def followup_history(uow: CareUnitOfWork, person_id: str, *, limit: int = 60) -> list[FollowupRow]:
    """A person's follow-ups, oldest first (the last ``limit``); the adapter has checked the scope."""
    with uow:
        return list(reversed(uow.care.followups(person_id, limit=limit)))


def person_brief(uow: CareUnitOfWork, person_id: str) -> PersonBrief | None:
    with uow:
        p = uow.care.person(person_id)
        return PersonBrief(p.person_id, p.sex, p.birth_date) if p is not None else None


_MEASURES: dict[tuple[str, int, str], tuple[tuple[object, ...], Measures]] = {}


def _db_tables(uow: CareUnitOfWork, year: int, policy: CarePolicy) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(followups of ``year`` and the year before, the registry as the claims that registered the patients,
    institutions) from the database, as the care engine reads them."""
    import pyarrow as pa  # noqa: F811 - the module's own is for type checking only

    from yigongti.registry.store import InstitutionRow

    with uow:
        s = uow.session
        f = s.execute(select(FollowupRow.person_id, FollowupRow.inst_id, FollowupRow.date, FollowupRow.disease,
                             FollowupRow.control, FollowupRow.systolic, FollowupRow.diastolic,
                             FollowupRow.fasting_glucose)
                      .where(FollowupRow.date >= date(year - 1, 1, 1), FollowupRow.date <= date(year, 12, 31))).all()
        r = s.execute(select(RegistryRow.person_id, RegistryRow.inst_id, RegistryRow.registered_on,
                             RegistryRow.disease)).all()
        i = s.execute(select(InstitutionRow.inst_id, InstitutionRow.tier, InstitutionRow.parent_id,
                             InstitutionRow.consortium_id, InstitutionRow.county_code)).all()
    followups = pa.table({
        "person_id": pa.array([x[0] for x in f], pa.string()), "inst_id": pa.array([x[1] for x in f], pa.string()),
        "date": pa.array([x[2] for x in f], pa.date32()), "disease": pa.array([x[3] for x in f], pa.string()),
        "controlled": pa.array([x[4] == Control.CONTROLLED.value for x in f], pa.bool_()),
        "systolic": pa.array([x[5] for x in f], pa.int64()), "diastolic": pa.array([x[6] for x in f], pa.int64()),
        "fasting_glucose": pa.array([float(x[7]) if x[7] is not None else None for x in f], pa.float64())})
    icd = {Disease.HYPERTENSION.value: policy.hypertension_icd[0].split("-")[0],
           Disease.DIABETES.value: policy.diabetes_icd[0].split("-")[0]}
    claims = pa.table({  # the registry as the diagnoses that registered the patients
        "person_id": pa.array([x[0] for x in r], pa.string()), "inst_id": pa.array([x[1] for x in r], pa.string()),
        "admit_date": pa.array([x[2] for x in r], pa.date32()),
        "diagnosis": pa.array([icd[x[3]] for x in r], pa.string())})
    institutions = pa.table({k: pa.array([x[n] for x in i], pa.string()) for n, k in enumerate(
        ("inst_id", "tier", "parent_id", "consortium_id", "county_code"))})
    return followups, claims, institutions


def _stamp(uow: CareUnitOfWork) -> tuple[object, ...]:
    """What changes when a follow-up, a registration or a contract is added."""
    with uow:
        s = uow.session
        return (*s.execute(select(func.count(), func.max(FollowupRow.followup_id)).select_from(FollowupRow)).one(),
                *s.execute(select(func.count(), func.max(RegistryRow.entry_id)).select_from(RegistryRow)).one(),
                *s.execute(select(func.count(), func.max(ContractRow.contract_id)).select_from(ContractRow)).one())


def db_measures(uow: CareUnitOfWork, *, year: int, policy: CarePolicy) -> Measures:
    """The monthly measures of ``year`` (``care.engine.measures``) from the database's registry and follow-ups:
    a patient is registered on the registry's date and institution. Kept while the follow-ups and the registry are
    unchanged (a new follow-up is in the next answer)."""
    from yigongti.care.engine import measures

    stamp = _stamp(uow)
    with uow:
        key = (str(uow.session.get_bind().engine.url), year, policy.model_dump_json())
    hit = _MEASURES.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    followups, claims, institutions = _db_tables(uow, year, policy)
    result = measures(followups, institutions, year, policy, claims=claims)
    _MEASURES[key] = (stamp, result)
    return result


@dataclass(frozen=True)
class GpPayView:
    """A GP's pay for the year (:class:`~yigongti.care.engine.GpPayRow`) with the GP's name and consortium."""

    row: GpPayRow
    name: str
    consortium_id: str
    long_prescriptions: int = 0
    """long prescriptions issued in the year whose family doctor is this GP (长处方数)"""


def db_gp_pay(uow: CareUnitOfWork, *, year: int, policy: CarePolicy) -> list[GpPayView]:
    """Every GP's pay for ``year`` (家庭医生薪酬, ``care.engine.gp_pay_rows``) from the database: the contracts in
    force on some day of the year by GP (their team member id), the GP's own institution, the registry and the
    follow-ups for the quality score."""
    import pyarrow as pa  # noqa: F811 - the module's own is for type checking only

    from yigongti.care.engine import gp_pay_rows, patients_at_year_end

    with uow:
        c = uow.session.execute(
            select(ContractRow.person_id, TeamMemberRow.inst_id, ContractRow.start_date, ContractRow.end_date,
                   ContractRow.gp_member_id, TeamMemberRow.name)
            .join(TeamMemberRow, TeamMemberRow.member_id == ContractRow.gp_member_id)
            .where(ContractRow.start_date <= date(year, 12, 31), ContractRow.end_date >= date(year, 1, 1))).all()
        long_rx = {str(gp): n for gp, (n, _d) in uow.care.long_prescription_counts(*_year_bounds(year)).items()}
    contracts = pa.table({
        "person_id": pa.array([x[0] for x in c], pa.string()), "inst_id": pa.array([x[1] for x in c], pa.string()),
        "start_date": pa.array([x[2] for x in c], pa.date32()), "end_date": pa.array([x[3] for x in c], pa.date32()),
        "gp_id": pa.array([str(x[4]) for x in c], pa.string())})
    names = {str(x[4]): x[5] for x in c}
    followups, claims, institutions = _db_tables(uow, year, policy)
    patients = patients_at_year_end(followups, year, policy, claims=claims)
    consortium = dict(zip(institutions.column("inst_id").to_pylist(), institutions.column("consortium_id").to_pylist(),
                          strict=True))
    return [GpPayView(r, names.get(r.gp_id, ""), consortium.get(r.inst_id) or "", long_rx.get(r.gp_id, 0))
            for r in gp_pay_rows(contracts, institutions, patients, year, policy.gp_pay)]


# ------------------------------------------------------------------------------------------- key populations

@dataclass(frozen=True)
class RegisterKey:
    """A register episode (重点人群登记): a pregnancy from its last menstrual period to the delivery, a tuberculosis
    treatment from its start to the day it stopped, a severe mental disorder from registration to deregistration."""

    person_id: str
    population: str
    start_date: date
    end_date: date | None = None


def _population(value: str, allowed: Sequence[KeyPopulation]) -> KeyPopulation:
    try:
        pop = KeyPopulation(value)
    except ValueError:
        pop = None
    if pop is None or pop not in allowed:
        raise InvalidRequest("population", "must be one of " + ", ".join(p.value for p in allowed))
    return pop


def register_key(uow: CareUnitOfWork, principal: Principal, cmd: RegisterKey, *, now: datetime) -> KeyRegisterRow:
    """Put a person on a key population's register (a clinician, at their institution), or close their episode
    (the same ``start_date`` with an ``end_date``). Refused: a start in the future, an end before the start, a
    pregnancy of a man (422); an episode overlapping another of the same population (409)."""
    if principal.role is not Role.CLINICIAN or principal.inst_id is None:
        raise NotAllowed("仅医生可登记重点人群 / only a clinician registers key populations")
    pop = _population(cmd.population, REGISTERED)
    if cmd.start_date > now.date():
        raise InvalidRequest("start_date", "开始日期不能晚于今天 / the start is not in the future")
    if cmd.end_date is not None and cmd.end_date < cmd.start_date:
        raise InvalidRequest("end_date", "结束日期不能早于开始日期 / the end is not before the start")
    with uow:
        person = uow.care.person(cmd.person_id)
        if person is None:
            raise NotFound(f"无此人员 / no person {cmd.person_id}")
        if pop is KeyPopulation.PREGNANT and person.sex != "F":
            raise InvalidRequest("population", "孕产妇登记仅限女性 / a pregnancy is registered for a woman")
        row = uow.care.key_register(cmd.person_id, pop.value, cmd.start_date)
        for other in uow.care.key_registers([cmd.person_id], since=cmd.start_date,
                                            until=cmd.end_date or date.max):
            if other.population == pop.value and other is not row:
                raise Conflict(f"与 {other.start_date} 起的登记重叠 / overlaps the episode from {other.start_date}")
        if row is None:
            row = KeyRegisterRow(person_id=cmd.person_id, population=pop.value, inst_id=principal.inst_id,
                                 start_date=cmd.start_date, end_date=cmd.end_date, created_at=now,
                                 created_by=actor_of(principal))
            uow.care.add(row)
        else:
            row.end_date = cmd.end_date
            DutyCache.touch(uow.session)  # an episode closed in place: no count of the tables changes
        _audit(uow, principal, "care.key_register", cmd.person_id, now,
               {"population": pop.value, "start_date": str(cmd.start_date), "end_date": str(cmd.end_date or "")})
        uow.commit()
    return row


@dataclass(frozen=True)
class RecordService:
    """A service given to a person of a key population (重点人群服务): a health check, a child health visit, a
    prenatal visit, a follow-up."""

    person_id: str
    population: str
    date: _dt.date
    note: str = ""


def _age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def record_service(uow: CareUnitOfWork, principal: Principal, cmd: RecordService, *, policy: CarePolicy,
                   now: datetime) -> tuple[KeyServiceRow, bool]:
    """Record a key-population service at the clinician's institution; the same person, population and day again
    answers the service recorded (``created`` False). Refused (422): a date in the future, a person not of the
    population on that day (the age for 65+ and children 0-6, the register for the others)."""
    if principal.role is not Role.CLINICIAN or principal.inst_id is None:
        raise NotAllowed("仅医生可录入服务 / only a clinician records services")
    pop = _population(cmd.population, SCHEDULED)
    kp = policy.key_populations
    if cmd.date > now.date():
        raise InvalidRequest("date", "服务日期不能晚于今天 / a service is not in the future")
    with uow:
        person = uow.care.person(cmd.person_id)
        if person is None:
            raise NotFound(f"无此人员 / no person {cmd.person_id}")
        age = _age_on(person.birth_date, cmd.date)
        if pop is KeyPopulation.ELDERLY and age < kp.elderly_age:
            raise InvalidRequest("population", f"服务当日未满 {kp.elderly_age} 岁 / not {kp.elderly_age} yet that day")
        if pop is KeyPopulation.CHILD and not 0 <= age <= kp.child_max_age:
            raise InvalidRequest("population", f"服务当日不在 0-{kp.child_max_age} 岁 / not a child 0-"
                                               f"{kp.child_max_age} that day")
        if pop in REGISTERED and not any(
                r.population == pop.value for r in uow.care.key_registers([cmd.person_id], since=cmd.date,
                                                                          until=cmd.date)):
            raise InvalidRequest("population", "服务当日不在该重点人群登记中 / not on that register that day")
        row = uow.care.key_service(cmd.person_id, pop.value, cmd.date)
        if row is not None:
            uow.commit()
            return row, False
        row = KeyServiceRow(person_id=cmd.person_id, population=pop.value, inst_id=principal.inst_id, date=cmd.date,
                            note=cmd.note, recorded_at=now, recorded_by=actor_of(principal))
        uow.care.add(row)
        _audit(uow, principal, "care.key_service", cmd.person_id, now,
               {"service_id": row.service_id, "population": pop.value, "date": str(cmd.date)})
        uow.commit()
    return row, True


def slots_of(birth: date, registers: Iterable[KeyRegisterRow], *, years: Sequence[int], until: date,
             policy: CarePolicy) -> list[Slot]:
    """Every scheduled service of a person born on ``birth`` with these register episodes
    (:func:`~yigongti.care.schedules.person_slots`)."""
    return person_slots(birth, [(r.population, r.start_date, r.end_date) for r in registers], years=years,
                        until=until, policy=policy.key_populations)


@dataclass(frozen=True)
class KeyDue:
    """A scheduled service open for a person (due, or overdue but still to be made up)."""

    person_id: str
    slot: Slot
    state: SlotState


@dataclass(frozen=True)
class KeyDay:
    """The family doctor's key-population worklist (重点人群服务清单): the open services of their panel."""

    gp: TeamMemberRow
    team: TeamRow | None
    entries: list[KeyDue]
    persons: dict[str, PersonBrief]
    panel: int


def _open_slots(persons: dict[str, PersonBrief], registers: Sequence[KeyRegisterRow],
                services: dict[tuple[str, str], list[date]], today: date, policy: CarePolicy) -> list[KeyDue]:
    by_person: dict[str, list[KeyRegisterRow]] = {}
    for r in registers:
        by_person.setdefault(r.person_id, []).append(r)
    out = []
    for pid, p in persons.items():
        for slot in slots_of(p.birth_date, by_person.get(pid, ()), years=[today.year], until=today, policy=policy):
            state = slot_state(slot, services.get((pid, slot.population.value), []), today)
            if state in (SlotState.DUE, SlotState.OVERDUE):
                out.append(KeyDue(pid, slot, state))
    out.sort(key=lambda e: (e.state is not SlotState.OVERDUE, e.slot.due, e.person_id))
    return out


def key_worklist(uow: CareUnitOfWork, principal: Principal, *, gp_member_id: int | None, today: date,
                 policy: CarePolicy, condition: ColumnElement[bool]) -> KeyDay:
    """The services due and overdue today for the key populations of a family doctor's panel (the contracted
    persons in the caller's scope): overdue first, then by due date. A doctor reads their own panel, an
    institution admin any GP of the institution."""
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN):
        raise NotAllowed("仅家庭医生或机构管理员可查看工作清单 / clinicians and institution admins only")
    with uow:
        gp, team = _gp_seat(uow, principal, gp_member_id)
        persons = _panel(uow, gp, today, condition)
        ids = list(persons)
        registers = uow.care.key_registers(ids, since=add_months(today, -24), until=today)
        services = uow.care.key_services(ids, since=add_months(today, -24), until=today)
    entries = _open_slots(persons, registers, services, today, policy)
    shown = {e.person_id for e in entries}
    return KeyDay(gp, team, entries, {k: v for k, v in persons.items() if k in shown}, len(ids))


@dataclass(frozen=True)
class KeySchedule:
    """A person's key-population schedule: every slot of the last and this year with its state and service."""

    slot: Slot
    state: SlotState
    service: date | None


def person_schedule(uow: CareUnitOfWork, person_id: str, *, today: date, policy: CarePolicy) -> list[KeySchedule]:
    """The scheduled services of a person whose window ends from last January on (the adapter checked the
    scope), with their registers' episodes."""
    since = date(today.year - 1, 1, 1)
    with uow:
        p = uow.care.person(person_id)
        if p is None:
            raise NotFound(f"无此人员 / no person {person_id}")
        registers = uow.care.key_registers([person_id], since=since, until=today)
        services = uow.care.key_services([person_id], since=add_months(since, -12), until=today)
        uow.commit()  # the caller's transaction: the audit of who looked
    out = []
    for slot in slots_of(p.birth_date, registers, years=[today.year - 1, today.year], until=today, policy=policy):
        if slot.end < since:
            continue
        dates = services.get((person_id, slot.population.value), [])
        out.append(KeySchedule(slot, slot_state(slot, dates, today), first_service(slot, dates)))
    return out


@dataclass(frozen=True)
class DutyFigures:
    """One institution's duty for one key population in a year (公共卫生责任清单): ``persons`` with a service
    scheduled in the year, ``counted`` services closed or done, ``done``, ``open`` (due now, not yet done)."""

    persons: int = 0
    counted: int = 0
    done: int = 0
    open: int = 0

    def __add__(self, other: DutyFigures) -> DutyFigures:
        return DutyFigures(self.persons + other.persons, self.counted + other.counted, self.done + other.done,
                           self.open + other.open)


@dataclass(frozen=True)
class Duties:
    """The duty lists of ``year`` as of ``today``: (kind, id) -> population -> figures, kind ``consortium``,
    ``township`` (its own designated persons and its village clinics'), ``village``."""

    year: int
    today: date
    units: dict[tuple[str, str], dict[str, DutyFigures]]


def duties(uow: CareUnitOfWork, *, year: int, today: date, policy: CarePolicy,
           consortia: Iterable[str]) -> Duties:
    """Each member's public-health duty list with its completion (公共卫生责任清单完成率): the key populations of the
    persons designated for ``year`` to the member (65+ and children 0-6 from the birth date, the others from the
    registers), the services scheduled in the year (a service counts in the year its window closes), done or not,
    as of ``today``. Counts only: no person is named."""
    from yigongti.enrollment.store import DesignationRow

    kp = policy.key_populations
    wanted = sorted(set(consortia))
    first, last = date(year, 1, 1), date(year, 12, 31)
    asof = min(today, last)
    with uow:
        regs = uow.care.key_registers(since=add_months(first, -12), until=last)
        reg_ids = {r.person_id for r in regs}
        rows = uow.session.execute(
            select(DesignationRow.person_id, DesignationRow.consortium_id, DesignationRow.township_id,
                   DesignationRow.village_id, PersonRow.birth_date)
            .join(PersonRow, PersonRow.person_id == DesignationRow.person_id)
            .where(DesignationRow.year == year, DesignationRow.consortium_id.in_(wanted))).all() if wanted else []
        services = uow.care.key_services(since=add_months(first, -12), until=asof)
    by_person: dict[str, list[KeyRegisterRow]] = {}
    for r in regs:
        by_person.setdefault(r.person_id, []).append(r)
    young = date(year - kp.child_max_age - 1, 1, 1)
    old = date(year - kp.elderly_age, 12, 31)
    units: dict[tuple[str, str], dict[str, DutyFigures]] = {}
    for pid, consortium_id, township_id, village_id, birth in rows:
        if not (birth >= young or birth <= old or pid in reg_ids):
            continue
        mine: dict[str, DutyFigures] = {}
        for slot in slots_of(birth, by_person.get(pid, ()), years=[year], until=last, policy=policy):
            if slot.end.year != year:
                continue
            state = slot_state(slot, services.get((pid, slot.population.value), []), asof)
            f = mine.get(slot.population.value, DutyFigures(persons=1))
            mine[slot.population.value] = f + DutyFigures(
                counted=int(state in (SlotState.DONE, SlotState.MISSED)), done=int(state is SlotState.DONE),
                open=int(state in (SlotState.DUE, SlotState.OVERDUE)))
        if not mine:
            continue
        keys = [("consortium", consortium_id), ("township", township_id)]
        if village_id:
            keys.append(("village", village_id))
        for key in keys:
            unit = units.setdefault(key, {})
            for pop, f in mine.items():
                unit[pop] = unit.get(pop, DutyFigures()) + f
    return Duties(year, asof, units)


def _duty_stamp(uow: CareUnitOfWork, year: int) -> tuple[Any, ...]:
    """A cheap version of what the duty lists of ``year`` are computed from: the count and the last id of the key
    registers, key services and the year's designations, the closed episodes, and the database's stamp of
    changes made in place (:meth:`DutyCache.touch`: seen by every worker process)."""
    from yigongti.enrollment.store import DesignationRow

    s = uow.session
    regs = s.execute(select(func.count(), func.max(KeyRegisterRow.register_id), func.count(KeyRegisterRow.end_date),
                            func.max(KeyRegisterRow.end_date))).one()
    services = s.execute(select(func.count(), func.max(KeyServiceRow.service_id))).one()
    designations = s.execute(select(func.count(), func.max(DesignationRow.designation_id))
                             .where(DesignationRow.year == year)).one()
    return (*regs, *services, *designations, read_stamp(s, DUTY_STAMP))


DUTY_STAMP = "care.duties"  # the core.stamps name of the duty lists


class DutyCache:
    """The duty lists (:func:`duties`) kept per year, day and set of consortia (公共卫生责任清单缓存) while what they
    are computed from stays the same: a request first reads :func:`_duty_stamp` (a few counts and the database's
    stamp of changes made in place) and recomputes only when it changed or the policy changed. One cache per worker
    process, validated against the database on every use, so a write through any worker is seen by all.
    Thread-safe; at most ``size`` lists are kept (the oldest dropped first)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.computed = 0  # how many times the lists were computed (tests and benchmarks read it)
        self._lock = threading.Lock()
        self._kept: dict[tuple[int, date, tuple[str, ...]], tuple[tuple[Any, ...], CarePolicy, Duties]] = {}

    @staticmethod
    def touch(session: Any) -> None:
        """A write the counts cannot see (an end date changed in place), in ``session``'s transaction: bumps the
        database's stamp, so every process's cache recomputes once the write is committed."""
        bump_stamp(session, DUTY_STAMP)

    @staticmethod
    def of(engine: Any) -> DutyCache:
        """The cache of a database (one per engine, for the life of the app; the pages and the API share it)."""
        cache = _DUTY_CACHES.get(engine)
        if cache is None:
            cache = _DUTY_CACHES.setdefault(engine, DutyCache())
        return cache

    def get(self, uow: CareUnitOfWork, *, year: int, today: date, policy: CarePolicy,
            consortia: Iterable[str]) -> Duties:
        key = (year, today, tuple(sorted(set(consortia))))
        with uow:
            stamp = _duty_stamp(uow, year)
        kept = self._kept.get(key)
        if kept is not None and kept[0] == stamp and kept[1] == policy:
            return kept[2]
        d = duties(uow, year=year, today=today, policy=policy, consortia=key[2])
        with self._lock:
            self.computed += 1
            self._kept.pop(key, None)
            self._kept[key] = (stamp, policy, d)
            while len(self._kept) > self.size:
                self._kept.pop(next(iter(self._kept)))
        return d


_DUTY_CACHES: weakref.WeakKeyDictionary[Any, DutyCache] = weakref.WeakKeyDictionary()


def followup(uow: CareUnitOfWork, followup_id: int) -> FollowupRow | None:
    """A follow-up by its id (the adapter checks the person's scope)."""
    with uow:
        return uow.care.session.get(FollowupRow, followup_id)


def team(uow: CareUnitOfWork, team_id: int) -> TeamView | None:
    """A team with its members (no personal data of residents), with its institution's consortium checked by the
    adapter."""
    with uow:
        row = uow.care.team(team_id)
        if row is None:
            return None
        return TeamView(row, tuple(uow.care.members([team_id])))


def team_consortium(uow: CareUnitOfWork, inst_id: str) -> str | None:
    """The consortium of an institution (where a team or a member belongs)."""
    with uow:
        inst = uow.care.institution(inst_id)
        return inst.consortium_id if inst is not None else None


def member(uow: CareUnitOfWork, member_id: int) -> TeamMemberRow | None:
    with uow:
        return uow.care.member(member_id)


@dataclass(frozen=True)
class DutyUnit:
    """A row of the duty page: a consortium, township centre or village clinic and its figures by population."""

    kind: str
    scope: str
    name: str
    township: str
    figures: dict[str, DutyFigures]


@dataclass(frozen=True)
class DutyView:
    """The duty lists at one level of the drill-down: the figures of the level (``totals``) and of its units."""

    year: int
    asof: date
    level: str  # county (the caller's consortia), consortium, township, village
    title: str
    crumbs: list[tuple[str, str]]  # (name, query string)
    totals: dict[str, DutyFigures]
    units: list[DutyUnit]


def _sum_units(units: Iterable[dict[str, DutyFigures]]) -> dict[str, DutyFigures]:
    out: dict[str, DutyFigures] = {}
    for u in units:
        for pop, f in u.items():
            out[pop] = out.get(pop, DutyFigures()) + f
    return out


def duty_view(uow: CareUnitOfWork, principal: Principal, *, year: int, today: date, policy: CarePolicy,
              consortium: str | None, inst: str | None, cache: DutyCache | None = None) -> DutyView:
    """The duty lists (:func:`duties`) drilled down for an official: their consortia; a consortium (its township
    centres and village clinics); a township centre (its village clinics); a village clinic. NotFound for a
    consortium or member outside the caller's scope, or a future year. ``cache``: the lists kept between requests
    (:class:`DutyCache`); None computes them."""
    from yigongti.platform.scope import consortia_in_scope
    from yigongti.registry import service as registry

    if year > today.year:
        raise NotFound("没有该年度的数据 / no figures for a future year")
    with uow:
        mine = consortia_in_scope(uow.session, principal)
        cons = [c for c in registry.consortia(uow.session) if c.consortium_id in mine]
        members = registry.institutions(uow.session, consortium_id=consortium) if consortium else []
    ids = [c.consortium_id for c in cons]
    d = (cache.get(uow, year=year, today=today, policy=policy, consortia=ids) if cache is not None
         else duties(uow, year=year, today=today, policy=policy, consortia=ids))

    def figures(kind: str, scope: str) -> dict[str, DutyFigures]:
        return d.units.get((kind, scope), {})

    top = "全部医共体 / all consortia"
    if consortium is None:
        units = [DutyUnit("consortium", c.consortium_id, c.name, "", figures("consortium", c.consortium_id))
                 for c in cons]
        return DutyView(year, d.today, "county", top, [], _sum_units(u.figures for u in units), units)
    chosen = next((c for c in cons if c.consortium_id == consortium), None)
    if chosen is None:
        raise NotFound("不在您的权限范围内 / no such consortium in your scope")
    names = {i.inst_id: i.name for i in members}
    towns = [i for i in members if i.tier == "township"]
    villages = [i for i in members if i.tier == "village"]
    crumbs = [(top, "")]
    if inst is None:
        units = [DutyUnit("township", i.inst_id, i.name, "", figures("township", i.inst_id)) for i in towns]
        units += [DutyUnit("village", i.inst_id, i.name, names.get(i.parent_id or "", ""),
                           figures("village", i.inst_id)) for i in villages]
        return DutyView(year, d.today, "consortium", chosen.name, crumbs, figures("consortium", consortium), units)
    member_row = next((i for i in towns + villages if i.inst_id == inst), None)
    if member_row is None:
        raise NotFound("该医共体无此基层机构 / no such primary-care member")
    crumbs.append((chosen.name, f"consortium={consortium}"))
    if member_row.tier == "township":
        units = [DutyUnit("village", i.inst_id, i.name, member_row.name, figures("village", i.inst_id))
                 for i in villages if i.parent_id == inst]
        return DutyView(year, d.today, "township", member_row.name, crumbs, figures("township", inst), units)
    if member_row.parent_id in names:
        crumbs.append((names[member_row.parent_id or ""], f"consortium={consortium}&inst={member_row.parent_id}"))
    return DutyView(year, d.today, "village", member_row.name, crumbs, figures("village", inst), [])
