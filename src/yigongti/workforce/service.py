"""Workforce use cases (人员与质控用例), one transaction each: the staff registry, income, stationing, training, the
stationing rules judged per township centre and consortium, prescription review and medical-record checks.

Who may do what: the consortium admin (医共体管理中心: its human-resources and quality-control centres) registers
staff employed by or working at its members and city experts, records stints at its members, incomes, reviews and
record checks, and sees its consortium; an institution admin registers and trains its own staff and sees its
institution (the stationing rules: its consortium); the health commission and the system admin see every consortium.
A clinician, a resident or the insurance bureau is refused (403); an id outside the caller's scope is not found (404).
Every change is audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from yigongti.core.policy import WorkforcePolicy
from yigongti.core.problems import Conflict, InvalidRequest, NotAllowed, NotFound
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.audit import actor_of
from yigongti.registry.domain import Tier
from yigongti.registry.store import InstitutionRow
from yigongti.workforce.domain import (
    TEAM_DUTIES,
    TEAM_KINDS,
    Checklist,
    ChecklistError,
    Profession,
    ScoreSummary,
    Title,
    draw_sample,
    summarise_scores,
    training_met,
)
from yigongti.workforce.engine import CoverageRow, coverage_rows, training_rows
from yigongti.workforce.store import (
    EmergencyTeamRow,
    RecordCheckRow,
    ReviewRow,
    StaffRow,
    StintRow,
    TeamMemberRow,
    TrainingRow,
)
from yigongti.workforce.uow import WorkforceUnitOfWork

__all__ = [
    "QualitySummary",
    "Staff",
    "StaffIncome",
    "TeamView",
    "TrainingAssessment",
    "add_team_member",
    "put_team",
    "teams",
    "add_stint",
    "add_training",
    "check_record",
    "draw_reviews",
    "export_tables",
    "quality_summary",
    "put_staff",
    "set_income",
    "score_review",
    "staff_incomes",
    "staff_list",
    "stationing_coverage",
    "reviews_of_year",
    "training_assessment",
    "training_hours",
    "workforce_stamp",
    "workforce_tables",
]

_READERS = (Role.CONSORTIUM_ADMIN, Role.INSTITUTION_ADMIN, Role.HEALTH_COMMISSION, Role.SYSTEM_ADMIN)


@dataclass(frozen=True)
class Staff:
    """人员 / one person of the registry, as the use cases take and give it."""

    staff_id: str
    name: str
    title: str
    employer_id: str
    works_at_id: str | None = None
    profession: str = Profession.DOCTOR.value
    department: str | None = None


def _staff(row: StaffRow) -> Staff:
    return Staff(row.staff_id, row.name, row.title, row.employer_id, row.works_at_id, row.profession, row.department)


def _audit(uow: WorkforceUnitOfWork, principal: Principal, action: str, now: datetime, **detail: object) -> None:
    uow.audit.add(actor=actor_of(principal), action=action, at=now, detail=detail)


def _scope(uow: WorkforceUnitOfWork, principal: Principal, *, consortium_wide: bool = False) -> list[InstitutionRow]:
    """The member institutions the principal oversees (consortium_wide: an institution admin sees its consortium)."""
    repo = uow.workforce
    if principal.role is Role.SYSTEM_ADMIN:
        return repo.institutions()
    if principal.role is Role.HEALTH_COMMISSION:
        return [i for i in repo.institutions() if principal.county_code in (None, i.county_code)]
    if principal.role is Role.CONSORTIUM_ADMIN and principal.consortium_id:
        return repo.institutions(principal.consortium_id)
    if principal.role is Role.INSTITUTION_ADMIN and principal.inst_id:
        own = repo.institution(principal.inst_id)
        if own is None:
            return []
        if consortium_wide and own.consortium_id:
            return repo.institutions(own.consortium_id)
        return [own]
    raise NotAllowed("仅医共体管理中心、机构管理员和卫健局可查看 / consortium admin, institution admin and health "
                     "commission only")


def _writer(uow: WorkforceUnitOfWork, principal: Principal, inst_ids: Iterable[str], what: str) -> None:
    """The consortium admin of a member among ``inst_ids``, or the admin of one of them (else 403)."""
    ids = set(inst_ids)
    if principal.role is Role.INSTITUTION_ADMIN and principal.inst_id in ids:
        return
    if principal.role is Role.CONSORTIUM_ADMIN and principal.consortium_id:
        rows = [uow.workforce.institution(i) for i in ids]
        if any(r is not None and r.consortium_id == principal.consortium_id for r in rows):
            return
    raise NotAllowed(f"无权{what} / not allowed to {what}")


def _consortium_admin(principal: Principal) -> str:
    if principal.role is not Role.CONSORTIUM_ADMIN or not principal.consortium_id:
        raise NotAllowed("仅医共体管理中心可操作 / the consortium admin only")
    return principal.consortium_id


def _member(uow: WorkforceUnitOfWork, consortium_id: str, inst_id: str) -> InstitutionRow:
    inst = uow.workforce.institution(inst_id)
    if inst is None or inst.consortium_id != consortium_id:
        raise NotFound(f"机构 {inst_id} 不存在或不属于本医共体 / no institution {inst_id} in your consortium")
    return inst


def put_staff(uow: WorkforceUnitOfWork, principal: Principal, staff: Staff, *, now: datetime) -> None:
    """登记人员 / Add or change a person of the registry: the consortium admin for staff employed by or working at its
    members (or employed outside the consortia: city experts), an institution admin for its own employees."""
    if staff.title not in set(Title):
        raise InvalidRequest("title", f"one of {', '.join(Title)} / 职称代码无效")
    if staff.profession not in set(Profession):
        raise InvalidRequest("profession", f"one of {', '.join(Profession)} / 专业类别无效")
    works_at = staff.works_at_id or staff.employer_id
    with uow:
        employer = uow.workforce.institution(staff.employer_id)
        if employer is None:
            raise InvalidRequest("employer_id", f"{staff.employer_id} is not a known institution / 机构不存在")
        if uow.workforce.institution(works_at) is None:
            raise InvalidRequest("works_at_id", f"{works_at} is not a known institution / 机构不存在")
        outside = employer.tier == Tier.OUTSIDE.value
        if not (outside and principal.role is Role.CONSORTIUM_ADMIN):
            _writer(uow, principal, {staff.employer_id, works_at} if principal.role is Role.CONSORTIUM_ADMIN
                    else {staff.employer_id}, "登记该人员 / register this person")
        old = uow.workforce.staff(staff.staff_id)
        if old is not None and principal.role is Role.INSTITUTION_ADMIN and old.employer_id != principal.inst_id:
            raise NotFound(f"人员 {staff.staff_id} 不存在或无权查看 / no staff {staff.staff_id} in your scope")
        uow.workforce.put_staff(StaffRow(staff_id=staff.staff_id, name=staff.name, title=staff.title,
                                         profession=staff.profession, department=staff.department or None,
                                         employer_id=staff.employer_id, works_at_id=works_at, updated_at=now))
        _audit(uow, principal, "staff put", now, staff_id=staff.staff_id)
        uow.commit()


def staff_list(uow: WorkforceUnitOfWork, principal: Principal) -> list[Staff]:
    """人员名单 / Staff employed by or working at the institutions the principal oversees, by id."""
    with uow:
        insts = [i.inst_id for i in _scope(uow, principal)]
        return [_staff(r) for r in uow.workforce.staff_at(insts)]


def _known_staff(uow: WorkforceUnitOfWork, staff_id: str) -> StaffRow:
    row = uow.workforce.staff(staff_id)
    if row is None:
        raise NotFound(f"人员 {staff_id} 不存在 / no staff {staff_id}")
    return row


def add_stint(uow: WorkforceUnitOfWork, principal: Principal, *, staff_id: str, to_inst_id: str, start: date,
              end: date | None, now: datetime) -> int:
    """派驻 / The consortium admin records a person stationed at one of its members; the stint's id."""
    cid = _consortium_admin(principal)
    if end is not None and end < start:
        raise InvalidRequest("end_date", "before start_date / 结束日期早于开始日期")
    with uow:
        _member(uow, cid, to_inst_id)
        _known_staff(uow, staff_id)
        row = StintRow(staff_id=staff_id, to_inst_id=to_inst_id, start_date=start, end_date=end, recorded_at=now,
                       recorded_by=actor_of(principal))
        uow.workforce.add(row)
        _audit(uow, principal, "staff stint added", now, staff_id=staff_id, to_inst_id=to_inst_id,
               start=start.isoformat(), end=end.isoformat() if end else None)
        uow.commit()
    return row.stint_id


def set_income(uow: WorkforceUnitOfWork, principal: Principal, *, staff_id: str, year: int, income: int,
               now: datetime) -> None:
    """人员收入 / A person's total income of a year (fen), by the consortium admin of their employer or workplace."""
    if income < 0:
        raise InvalidRequest("income", "must be >= 0 / 收入不能为负")
    cid = _consortium_admin(principal)
    with uow:
        row = _known_staff(uow, staff_id)
        if not any(_in(uow, i, cid) for i in (row.employer_id, row.works_at_id)):
            raise NotFound(f"人员 {staff_id} 不存在或无权查看 / no staff {staff_id} in your scope")
        uow.workforce.put_income(staff_id, year, income)
        _audit(uow, principal, "staff income set", now, staff_id=staff_id, year=year)
        uow.commit()


def _in(uow: WorkforceUnitOfWork, inst_id: str, consortium_id: str) -> bool:
    inst = uow.workforce.institution(inst_id)
    return inst is not None and inst.consortium_id == consortium_id


def add_training(uow: WorkforceUnitOfWork, principal: Principal, *, staff_id: str, on: date, minutes: int,
                 course: str = "", now: datetime) -> int:
    """培训记录 / A training session a person attended (the admin of their workplace or employer, or the consortium
    admin); the record's id."""
    if not 1 <= minutes <= 1440:
        raise InvalidRequest("hours", "between 0 and 24 hours / 学时须在 0-24 之间")
    with uow:
        row = _known_staff(uow, staff_id)
        _writer(uow, principal, {row.employer_id, row.works_at_id}, "记录培训 / record training")
        t = TrainingRow(staff_id=staff_id, date=on, minutes=minutes, course=course or None)
        uow.workforce.add(t)
        _audit(uow, principal, "staff training added", now, staff_id=staff_id, minutes=minutes)
        uow.commit()
    return t.training_id


def _inst_dict(i: InstitutionRow) -> dict[str, object]:
    return {"inst_id": i.inst_id, "name": i.name, "tier": i.tier, "level": i.level,
            "consortium_id": i.consortium_id, "county_code": i.county_code}


def stationing_coverage(uow: WorkforceUnitOfWork, principal: Principal, *, year: int,
                        policy: WorkforcePolicy) -> list[CoverageRow]:
    """派驻达标 / The stationing rules judged day by day for ``year`` in the consortia the principal oversees: one row
    per consortium (city experts) and per township centre (lead-hospital attending doctor)."""
    with uow:
        scope = _scope(uow, principal, consortium_wide=True)
        cids = {i.consortium_id for i in scope if i.consortium_id}
        consortia = [{"consortium_id": c.consortium_id, "name": c.name, "lead_inst_id": c.lead_inst_id}
                     for c in uow.workforce.consortia() if c.consortium_id in cids]
        members = [i.inst_id for i in scope if i.consortium_id in cids]
        stints = uow.workforce.stints_to(members, year)
        staff = uow.workforce.staff_by_ids(s.staff_id for s in stints)
        return coverage_rows(
            [_inst_dict(i) for i in uow.workforce.institutions()], consortia,
            [{"staff_id": s.staff_id, "employer_id": s.employer_id, "title": s.title, "profession": s.profession}
             for s in staff],
            [{"staff_id": s.staff_id, "to_inst_id": s.to_inst_id, "start_date": s.start_date, "end_date": s.end_date}
             for s in stints], year, policy)


def training_hours(uow: WorkforceUnitOfWork, principal: Principal, *, year: int) -> list[dict[str, object]]:
    """基层人员培训学时 / Training of the year per person working at a township or village institution the principal
    oversees (``engine.TRAINING_COLUMNS``)."""
    with uow:
        scope = _scope(uow, principal)
        staff = uow.workforce.staff_at(i.inst_id for i in scope)
        training = [{"staff_id": t.staff_id, "date": t.date, "hours": Decimal(t.minutes) / 60}
                    for t in uow.workforce.training([s.staff_id for s in staff], year)]
        return training_rows([_inst_dict(i) for i in uow.workforce.institutions()],
                             [{"staff_id": s.staff_id, "name": s.name, "title": s.title, "profession": s.profession,
                               "employer_id": s.employer_id, "works_at_id": s.works_at_id} for s in staff],
                             training, year)


@dataclass(frozen=True)
class TrainingAssessment:
    """培训学时达标 / Training of the year against ``workforce.training_hours_required`` (0: not assessed, every
    ``met`` None): ``people`` are the rows of :func:`training_hours` with ``met``; ``institutions`` one row per
    township or village institution: ``inst_id``, ``staff``, ``met`` (how many met; None when not assessed),
    ``hours`` (their total)."""

    year: int
    required: Decimal
    people: list[dict[str, object]]
    institutions: list[dict[str, object]]


def training_assessment(uow: WorkforceUnitOfWork, principal: Principal, *, year: int,
                        policy: WorkforcePolicy) -> TrainingAssessment:
    """:func:`training_hours` judged against the policy's required hours, per person and per institution."""
    required = policy.training_hours_required
    people = [r | {"met": training_met(Decimal(str(r["hours"])), required)}
              for r in training_hours(uow, principal, year=year)]
    by_inst: dict[str, dict[str, object]] = {}
    for r in people:
        inst = by_inst.setdefault(str(r["works_at_id"]), {"inst_id": r["works_at_id"], "tier": r["tier"],
                                                            "staff": 0, "met": None if required <= 0 else 0,
                                                            "hours": Decimal(0)})
        inst["staff"] = int(str(inst["staff"])) + 1
        inst["hours"] = Decimal(str(inst["hours"])) + Decimal(str(r["hours"]))
        if r["met"]:
            inst["met"] = int(str(inst["met"])) + 1
    return TrainingAssessment(year, required, people, [by_inst[k] for k in sorted(by_inst)])


def reviews_of_year(uow: WorkforceUnitOfWork, principal: Principal, *, year: int) -> list[ReviewRow]:
    """处方点评清单 / The prescriptions drawn for review in ``year`` at the institutions the principal oversees,
    scored or not, by institution and id."""
    since, until = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    with uow:
        insts = [i.inst_id for i in _scope(uow, principal)]
        return uow.workforce.reviews(insts, since=since, until=until)


def draw_reviews(uow: WorkforceUnitOfWork, principal: Principal, *, inst_id: str, period: str,
                 prescriptions: list[tuple[str, str | None]], seed: str | None, policy: WorkforcePolicy,
                 now: datetime) -> list[ReviewRow]:
    """处方点评抽样 / The consortium admin draws the prescriptions of ``inst_id`` for ``period`` to review, at random
    and reproducibly (seed: given, else ``inst_id:period``; rate and minimum from ``policy``); those drawn before are
    not drawn again. 409 when the period was drawn already."""
    cid = _consortium_admin(principal)
    if len({p for p, _ in prescriptions}) != len(prescriptions):
        raise InvalidRequest("prescriptions", "a prescription appears twice / 处方重复")
    doctors = {s for _, s in prescriptions if s}
    with uow:
        _member(uow, cid, inst_id)
        if any(r.period == period for r in uow.workforce.reviews([inst_id])):
            raise Conflict(f"{inst_id} {period} 已抽样 / already drawn")
        known = {s.staff_id for s in uow.workforce.staff_by_ids(doctors)}
        if doctors - known:
            raise InvalidRequest("prescriptions", f"unknown staff {', '.join(sorted(doctors - known)[:5])} / "
                                                  "开方医师不在人员库中")
        by_id = dict(prescriptions)
        fresh = set(by_id) - uow.workforce.drawn(inst_id, by_id)
        seed = seed or f"{inst_id}:{period}"
        rows = [ReviewRow(inst_id=inst_id, period=period, prescription_id=p, staff_id=by_id[p] or None, seed=seed,
                          drawn_at=now)
                for p in draw_sample(fresh, rate_bp=policy.review_rate, minimum=policy.review_min, seed=seed)]
        for r in rows:
            uow.workforce.add(r)
        _audit(uow, principal, "prescriptions drawn for review", now, inst_id=inst_id, period=period,
               population=len(fresh), drawn=len(rows), seed=seed)
        uow.commit()
    return rows


def _review_in_scope(uow: WorkforceUnitOfWork, principal: Principal, review_id: int) -> ReviewRow:
    cid = _consortium_admin(principal)
    row = uow.workforce.review(review_id)
    if row is None or not _in(uow, row.inst_id, cid):
        raise NotFound(f"点评 {review_id} 不存在或无权查看 / no review {review_id} in your scope")
    return row


def score_review(uow: WorkforceUnitOfWork, principal: Principal, review_id: int, *, score: int, note: str = "",
                 now: datetime) -> None:
    """点评打分 / The consortium admin scores a drawn prescription (0-100); 409 when it was scored already."""
    if not 0 <= score <= 100:
        raise InvalidRequest("score", "between 0 and 100 / 得分须在 0-100 之间")
    with uow:
        _review_in_scope(uow, principal, review_id)
        if not uow.workforce.score_review(review_id, score=score, note=note or None, at=now, by=actor_of(principal)):
            raise Conflict(f"点评 {review_id} 已打分 / review {review_id} was scored already")
        _audit(uow, principal, "prescription reviewed", now, review_id=review_id, score=score)
        uow.commit()


def check_record(uow: WorkforceUnitOfWork, principal: Principal, *, inst_id: str, record_id: str,
                 staff_id: str | None, passed: list[str], checklist: Checklist, now: datetime) -> int:
    """病历质控 / The consortium admin checks a medical record against the checklist; its score (0-100). 409 when
    the record was checked already; 422 naming an item not on the checklist."""
    cid = _consortium_admin(principal)
    try:
        score = checklist.score(passed)
    except ChecklistError as exc:
        raise InvalidRequest("passed", str(exc)) from None
    with uow:
        _member(uow, cid, inst_id)
        if staff_id is not None:
            _known_staff(uow, staff_id)
        if uow.workforce.record_check(inst_id, record_id) is not None:
            raise Conflict(f"病历 {record_id} 已质控 / record {record_id} was checked already")
        uow.workforce.add(RecordCheckRow(inst_id=inst_id, record_id=record_id, staff_id=staff_id,
                                         passed=",".join(sorted(set(passed))), score=score, checked_at=now,
                                         checked_by=actor_of(principal)))
        _audit(uow, principal, "medical record checked", now, inst_id=inst_id, record_id=record_id, score=score)
        uow.commit()
    return score


@dataclass(frozen=True)
class QualitySummary:
    """处方点评与病历质控汇总 / scores of the year per doctor and per institution."""

    reviews_by_doctor: dict[str, ScoreSummary]
    reviews_by_institution: dict[str, ScoreSummary]
    records_by_doctor: dict[str, ScoreSummary]
    records_by_institution: dict[str, ScoreSummary]
    pending_reviews: int


def quality_summary(uow: WorkforceUnitOfWork, principal: Principal, *, year: int,
                    policy: WorkforcePolicy) -> QualitySummary:
    """Scores of ``year`` in the institutions the principal oversees: reviewed prescriptions (drawn in the year) and
    checked records, summed per doctor and per institution; ``pending_reviews`` drawn but not yet scored."""
    since, until = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    with uow:
        insts = [i.inst_id for i in _scope(uow, principal)]
        reviews = uow.workforce.reviews(insts, since=since, until=until)
        checks = uow.workforce.record_checks(insts, since=since, until=until)
    scored = [r for r in reviews if r.score is not None]
    p = policy.review_pass_score
    return QualitySummary(
        summarise_scores(((r.staff_id, int(r.score or 0)) for r in scored if r.staff_id), p),
        summarise_scores(((r.inst_id, int(r.score or 0)) for r in scored), p),
        summarise_scores(((c.staff_id, c.score) for c in checks if c.staff_id), p),
        summarise_scores(((c.inst_id, c.score) for c in checks), p),
        len(reviews) - len(scored))


def workforce_tables(uow: WorkforceUnitOfWork, *, year: int) -> dict[str, list[dict[str, object]]]:
    """The database's workforce as data-folder tables for ``year`` (read only, no audit): ``staff`` (with the year's
    income), ``stationing`` (stints touching the year), ``training`` (of the year), ``prescription_reviews`` (drawn
    in the year and scored) and ``record_checks`` (of the year). What the platform's appraisal reads in place of the
    folder's tables (``budget.analytics``) and ``yigongti workforce export`` writes."""
    with uow:
        return _tables(uow, year)


def _tables(uow: WorkforceUnitOfWork, year: int) -> dict[str, list[dict[str, object]]]:
    """:func:`workforce_tables` in the unit of work's open transaction."""
    since, until = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    insts = [i.inst_id for i in uow.workforce.institutions()]
    incomes = uow.workforce.incomes(year)
    staff = uow.workforce.staff_at(None)
    return {
        "staff": [{"staff_id": s.staff_id, "name": s.name, "title": s.title, "profession": s.profession,
                   "department": s.department, "employer_id": s.employer_id, "works_at_id": s.works_at_id,
                   "income": incomes.get(s.staff_id)} for s in staff],
        "stationing": [{"staff_id": s.staff_id, "to_inst_id": s.to_inst_id, "start_date": s.start_date,
                        "end_date": s.end_date} for s in uow.workforce.stints_to(insts, year)],
        "training": [{"staff_id": t.staff_id, "date": t.date,
                      "hours": (Decimal(t.minutes) / 60).quantize(Decimal("0.01")), "course": t.course}
                     for t in uow.workforce.training([s.staff_id for s in staff], year)],
        "prescription_reviews": [{"prescription_id": r.prescription_id, "inst_id": r.inst_id,
                                  "staff_id": r.staff_id, "date": (r.reviewed_at or r.drawn_at).date(),
                                  "score": r.score}
                                 for r in uow.workforce.reviews(insts, since=since, until=until)
                                 if r.score is not None],
        "record_checks": [{"record_id": c.record_id, "inst_id": c.inst_id, "staff_id": c.staff_id,
                           "date": c.checked_at.date(), "score": c.score}
                          for c in uow.workforce.record_checks(insts, since=since, until=until)]}


def workforce_stamp(uow: WorkforceUnitOfWork, *, year: int) -> tuple[object, ...]:
    """A cheap version of :func:`workforce_tables` (a few counts, sums and last ids): it changes whenever a person,
    an income, a stint, a training session, a review (drawn or scored) or a record check of ``year`` is written, so a
    cache of figures computed from those tables knows when to compute them again."""
    with uow:
        return uow.workforce.stamp(year)


def export_tables(uow: WorkforceUnitOfWork, *, year: int, now: datetime) -> dict[str, list[dict[str, object]]]:
    """:func:`workforce_tables` for ``yigongti workforce export`` (the system's move, audited)."""
    with uow:
        out = _tables(uow, year)
        uow.audit.add(actor="system:cli", action="workforce exported", at=now,
                      detail={"year": year} | {k: len(v) for k, v in out.items()})
        uow.commit()
    return out


@dataclass(frozen=True)
class StaffIncome:
    """人员收入 / one person's income of a year (fen; None: not recorded) with where they work."""

    staff: Staff
    income: int | None


def staff_incomes(uow: WorkforceUnitOfWork, principal: Principal, *, year: int, now: datetime) -> list[StaffIncome]:
    """人员收入（指标 2.3）/ The income of ``year`` of every person employed by or working at the consortium admin's
    members (personal data: only that consortium admin may read it, 403 for everyone else; every read audited)."""
    cid = _consortium_admin(principal)
    with uow:
        insts = [i.inst_id for i in uow.workforce.institutions(cid)]
        staff = uow.workforce.staff_at(insts)
        incomes = uow.workforce.incomes(year)
        _audit(uow, principal, "staff incomes read", now, consortium_id=cid, year=year, staff=len(staff))
        uow.commit()
    return [StaffIncome(_staff(s), incomes.get(s.staff_id)) for s in staff]


# --- Emergency teams (应急队伍, seed 002 十) ---


def put_team(uow: WorkforceUnitOfWork, principal: Principal, *, name: str, kind: str, base_inst_id: str,
             now: datetime) -> int:
    """组建应急队伍 / The consortium admin forms a team based at a member; the team's id (a team of the same name is
    kept, its kind and base changed)."""
    consortium_id = _consortium_admin(principal)
    if kind not in TEAM_KINDS:
        raise InvalidRequest("kind", f"{kind!r}: one of {', '.join(TEAM_KINDS)} / 未知队伍类别")
    if not name.strip() or len(name) > 100:
        raise InvalidRequest("name", "required, at most 100 characters / 必填，至多 100 个字符")
    with uow:
        _member(uow, consortium_id, base_inst_id)
        row = next((t for t in uow.workforce.teams([consortium_id]) if t.name == name.strip()), None)
        if row is None:
            row = EmergencyTeamRow(consortium_id=consortium_id, name=name.strip(), kind=kind,
                                   base_inst_id=base_inst_id, updated_at=now)
            uow.workforce.add_team(row)
        else:
            row.kind, row.base_inst_id, row.updated_at = kind, base_inst_id, now
        uow.session.flush()
        team_id = row.team_id
        _audit(uow, principal, "emergency team put", now, team_id=team_id, name=name.strip())
        uow.commit()
    return team_id


def add_team_member(uow: WorkforceUnitOfWork, principal: Principal, *, team_id: int, staff_id: str, name: str,
                    title: str, inst_id: str, duty: str, speciality: str = "", now: datetime) -> None:
    """A person joins a team's roster (the team's consortium admin); once per team (409 otherwise)."""
    consortium_id = _consortium_admin(principal)
    if duty not in TEAM_DUTIES:
        raise InvalidRequest("duty", f"{duty!r}: one of {', '.join(TEAM_DUTIES)} / 未知职责")
    if title not in {t.value for t in Title}:
        raise InvalidRequest("title", f"{title!r}: one of {', '.join(t.value for t in Title)} / 未知职称")
    for field_name, value in (("staff_id", staff_id), ("name", name)):
        if not value.strip() or len(value) > 64:
            raise InvalidRequest(field_name, "required, at most 64 characters / 必填，至多 64 个字符")
    with uow:
        team = uow.workforce.team(team_id)
        if team is None or team.consortium_id != consortium_id:
            raise NotFound(f"应急队伍 {team_id} 不存在 / no team {team_id} in your consortium")
        _member(uow, consortium_id, inst_id)
        if uow.workforce.member(team_id, staff_id.strip()) is not None:
            raise Conflict(f"{staff_id} 已在队伍 {team_id} / {staff_id} is already on team {team_id}")
        uow.workforce.add_team(TeamMemberRow(team_id=team_id, staff_id=staff_id.strip(), name=name.strip(),
                                             title=title, inst_id=inst_id, duty=duty,
                                             speciality=speciality.strip() or None, added_at=now))
        _audit(uow, principal, "emergency team member added", now, team_id=team_id, staff_id=staff_id.strip())
        uow.commit()


@dataclass(frozen=True)
class TeamView:
    """An emergency team with its roster, leader first."""

    team: EmergencyTeamRow
    members: tuple[TeamMemberRow, ...]

    @property
    def has_leader(self) -> bool:
        return any(m.duty == "leader" for m in self.members)


def teams(uow: WorkforceUnitOfWork, principal: Principal) -> list[TeamView]:
    """The emergency teams of the consortia in scope (an institution admin: its consortium's), with rosters."""
    order = {d: i for i, d in enumerate(TEAM_DUTIES)}
    with uow:
        insts = _scope(uow, principal, consortium_wide=True)
        consortia = None if principal.role in (Role.SYSTEM_ADMIN, Role.HEALTH_COMMISSION) and \
            principal.county_code is None else sorted({i.consortium_id for i in insts if i.consortium_id})
        rows = uow.workforce.teams(consortia)
        members = uow.workforce.members([t.team_id for t in rows])
    by_team: dict[int, list[TeamMemberRow]] = {}
    for m in members:
        by_team.setdefault(m.team_id, []).append(m)
    return [TeamView(t, tuple(sorted(by_team.get(t.team_id, []), key=lambda m: (order.get(m.duty, 9), m.name))))
            for t in rows]
