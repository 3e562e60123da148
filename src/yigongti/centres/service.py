"""Remote diagnosis use cases (远程诊断用例), one transaction each: place an order, move it (accept, reject, report,
cancel), read it, the worklists, the turnaround per centre and the export for the appraisal.

The requester is a clinician of a primary institution (township or village tier); the centre a county-tier member of
the same consortium (its imaging, ECG, ultrasound, lab or pathology centre). Anyone who is not a party of an order is
told it does not exist (404). Every change and every reading of an order writes the audit log (who, what, when,
which person) and every move one ``diagnosis_order_events`` row.

Mutual recognition (结果互认): when the person holds a result of the same kind, read by a centre of the ordering
institution's consortium and still inside ``policy.validity_days[kind]``, a new order is not sent for a new read: it
is recorded as ``recognised`` (the repeat avoided, counted) and points at that result. The clinician may still order
the repeat, with a reason: the order goes to the centre flagged as a repeat (``repeat_of``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from yigongti.centres.domain import (
    ConsultMoveNotAllowed,
    ConsultStatus,
    Kind,
    OrderMoveNotAllowed,
    Party,
    Status,
    check_consult_move,
    check_move,
    consult_moves_for,
    moves_for,
    percentile,
    turnaround_hours,
    valid_until,
)
from yigongti.centres.store import ConsultationEventRow, ConsultationRow, DiagnosisEventRow, DiagnosisOrderRow
from yigongti.centres.uow import CentresUnitOfWork
from yigongti.core.policy import ReferralPolicy
from yigongti.core.problems import InvalidRequest, NotAllowed, NotFound
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.audit import actor_of
from yigongti.platform.scope import consortia_in_scope
from yigongti.registry.domain import Tier
from yigongti.registry.store import InstitutionRow

__all__ = [
    "CONTRACT_COLUMNS",
    "ConsultationDetail",
    "ConsultationWork",
    "RequestConsultation",
    "consultation_detail",
    "consultation_worklist",
    "move_consultation",
    "request_consultation",
    "CentreFigures",
    "OrderDetail",
    "OrderWork",
    "PlaceOrder",
    "centre_figures",
    "centres_for",
    "move_order",
    "order_detail",
    "order_worklist",
    "place_order",
    "remote_diagnosis_rows",
]

CONTRACT_COLUMNS = ("request_id", "from_inst_id", "to_inst_id", "date", "kind")
"""The data contract's ``remote_diagnoses`` table (indicator 2.2 counts its rows)."""
_PRIMARY = (Tier.TOWNSHIP.value, Tier.VILLAGE.value)
_STAFF = (Role.CLINICIAN, Role.INSTITUTION_ADMIN)


def _audit(uow: CentresUnitOfWork, principal: Principal, action: str, person_id: str, at: datetime,
           detail: dict[str, Any]) -> None:
    uow.audit.add(actor=actor_of(principal), action=action, at=at, person_id=person_id, detail=detail)


def _event(uow: CentresUnitOfWork, principal: Principal, order_id: int, party: Party, at: datetime,
           from_status: str | None, to_status: str) -> None:
    uow.orders.add_event(DiagnosisEventRow(order_id=order_id, at=at, actor=actor_of(principal), party=party.value,
                                           from_status=from_status, to_status=to_status))


def _primary_to_county(uow: CentresUnitOfWork, person_id: str, from_inst_id: str, to_inst_id: str) -> InstitutionRow:
    """The requesting institution, when the person exists, it is a primary member of a consortium and ``to_inst_id``
    a county-tier member of the same consortium (a centre, a specialist's hospital); else raises."""
    if uow.persons.get(person_id) is None:
        raise NotFound(f"参保人 {person_id} 不存在 / no person {person_id}")
    src, dst = uow.orders.institution(from_inst_id), uow.orders.institution(to_inst_id)
    if src is None or src.tier not in _PRIMARY or not src.consortium_id:
        raise InvalidRequest("from_inst_id", "must be a township or village member of a consortium / "
                                             "申请机构须为医共体内的乡镇或村级机构")
    if dst is None or dst.tier != Tier.COUNTY or dst.consortium_id != src.consortium_id:
        raise InvalidRequest("to_inst_id", "must be a county-tier member of the same consortium / "
                                           "须为本医共体的县级机构")
    return src


@dataclass(frozen=True)
class PlaceOrder:
    person_id: str
    from_inst_id: str
    to_inst_id: str
    kind: str
    question: str
    repeat_reason: str | None = None


def place_order(uow: CentresUnitOfWork, principal: Principal, cmd: PlaceOrder, *, policy: ReferralPolicy,
                now: datetime) -> DiagnosisOrderRow:
    """A clinician of a primary institution orders a remote diagnosis of a person (whose scope the adapter has
    checked) from a county-tier centre of the same consortium. A still-valid result of the kind makes it a
    ``recognised`` order (no new read) unless ``repeat_reason`` is given: then it is sent, flagged as a repeat."""
    if principal.role is not Role.CLINICIAN or principal.inst_id != cmd.from_inst_id:
        raise NotAllowed("仅申请机构的医生可申请远程诊断 / only a clinician of from_inst_id orders")
    try:
        kind = Kind(cmd.kind)
    except ValueError:
        raise InvalidRequest("kind", f"must be one of {', '.join(k.value for k in Kind)}") from None
    with uow:
        src = _primary_to_county(uow, cmd.person_id, cmd.from_inst_id, cmd.to_inst_id)
        days = policy.validity_days.get(kind.value, 0)
        previous = None
        if days > 0:
            previous = uow.orders.latest_result(cmd.person_id, kind.value, uow.orders.members(src.consortium_id or ""),
                                                now - timedelta(days=days))
        reason = (cmd.repeat_reason or "").strip() or None
        status = Status.RECOGNISED if previous is not None and reason is None else Status.ORDERED
        row = uow.orders.add(DiagnosisOrderRow(
            person_id=cmd.person_id, from_inst_id=cmd.from_inst_id, to_inst_id=cmd.to_inst_id, kind=kind.value,
            question=cmd.question, status=status.value, repeat_of=previous.order_id if previous else None,
            repeat_reason=reason if previous is not None else None, ordered_at=now, ordered_by=actor_of(principal),
            updated_at=now))
        _event(uow, principal, row.order_id, Party.REQUESTER, now, None, status.value)
        _audit(uow, principal, f"diagnosis order {status.value}", cmd.person_id, now, {"order_id": row.order_id})
        uow.commit()
    return row


def _party(principal: Principal, row: DiagnosisOrderRow) -> Party | None:
    if principal.inst_id == row.from_inst_id and principal.role is Role.CLINICIAN:
        return Party.REQUESTER
    if principal.inst_id == row.to_inst_id and principal.role in _STAFF:
        return Party.CENTRE
    return None


def _order_for(uow: CentresUnitOfWork, principal: Principal, order_id: int) -> tuple[DiagnosisOrderRow, Party]:
    row = uow.orders.get(order_id)
    party = _party(principal, row) if row is not None else None
    if row is None or party is None:
        raise NotFound(f"申请单 {order_id} 不存在或无权查看 / no order {order_id} in your scope")
    return row, party


def move_order(uow: CentresUnitOfWork, principal: Principal, order_id: int, target: str, *, now: datetime,
               report: str | None = None, abnormal: bool | None = None) -> Status:
    """Move an order along the workflow; ``reported`` needs the report text (who and when are recorded)."""
    with uow:
        row, party = _order_for(uow, principal, order_id)
        new = check_move(row.status, target, party)
        values: dict[str, object] = {}
        if new is Status.REPORTED:
            if not (report or "").strip():
                raise InvalidRequest("report", "a report needs its text / 报告内容不能为空")
            values = {"report": (report or "").strip(), "abnormal": abnormal, "reported_at": now,
                      "reported_by": actor_of(principal)}
        if not uow.orders.move(order_id, from_status=row.status, to_status=new.value, at=now, **values):
            raise OrderMoveNotAllowed(row.status, target)  # moved by someone else meanwhile
        _event(uow, principal, order_id, party, now, row.status, new.value)
        _audit(uow, principal, f"diagnosis order {new.value}", row.person_id, now, {"order_id": order_id})
        uow.commit()
    return new


@dataclass(frozen=True)
class OrderDetail:
    """The order with every move, the recognised or repeated result, and when the result stops being valid."""

    order: DiagnosisOrderRow
    party: Party
    events: list[DiagnosisEventRow]
    earlier: DiagnosisOrderRow | None
    valid_until: datetime | None


def order_detail(uow: CentresUnitOfWork, principal: Principal, order_id: int, *, policy: ReferralPolicy,
                 now: datetime) -> OrderDetail:
    """An order for a party of it (audited); the requester also reads the result it recognised or repeats."""
    with uow:
        row, party = _order_for(uow, principal, order_id)
        earlier = uow.orders.get(row.repeat_of) if row.repeat_of else None
        shown = earlier if row.status == Status.RECOGNISED else row
        until = (valid_until(shown.reported_at, policy.validity_days.get(shown.kind, 0))
                 if shown is not None and shown.reported_at else None)
        detail = OrderDetail(row, party, uow.orders.events(order_id), earlier, until)
        _audit(uow, principal, "diagnosis order read", row.person_id, now, {"order_id": order_id})
        uow.commit()
    return detail


@dataclass(frozen=True)
class OrderWork:
    order: DiagnosisOrderRow
    party: Party
    moves: tuple[Status, ...]


@dataclass(frozen=True)
class Worklist:
    incoming: list[OrderWork]
    outgoing: list[OrderWork]
    names: dict[str, str]
    centres: list[tuple[str, str]] = field(default_factory=list)


def centres_for(uow: CentresUnitOfWork, inst_id: str) -> list[tuple[str, str]]:
    """(inst_id, name) of the county-tier members of ``inst_id``'s consortium: the centres it may order from."""
    with uow:
        src = uow.orders.institution(inst_id)
        if src is None or not src.consortium_id or src.tier not in _PRIMARY:
            return []
        out = []
        for member in uow.orders.members(src.consortium_id):
            inst = uow.orders.institution(member)
            if inst is not None and inst.tier == Tier.COUNTY:
                out.append((inst.inst_id, inst.name))
        return sorted(out)


def order_worklist(uow: CentresUnitOfWork, principal: Principal, *, now: datetime) -> Worklist:
    """The orders placed (outgoing) and received (incoming, the centre's worklist) by the principal's institution,
    newest first; the persons shown are audited."""
    if principal.role not in _STAFF or not principal.inst_id:
        raise NotAllowed("仅医生和机构管理员可查看申请单 / clinicians and institution admins only")
    centres = centres_for(uow, principal.inst_id) if principal.role is Role.CLINICIAN else []
    incoming: list[OrderWork] = []
    outgoing: list[OrderWork] = []
    with uow:
        rows = uow.orders.of_institution(principal.inst_id)
        for r in rows:
            party = _party(principal, r)
            if party is None:
                continue
            item = OrderWork(r, party, tuple(moves_for(r.status, party)))
            (incoming if party is Party.CENTRE else outgoing).append(item)
        ids = {r.from_inst_id for r in rows} | {r.to_inst_id for r in rows} | {principal.inst_id}
        names = {i: (inst.name if (inst := uow.orders.institution(i)) else i) for i in ids}
        for person_id in sorted({r.person_id for r in rows}):
            _audit(uow, principal, "diagnosis worklist", person_id, now, {})
        uow.commit()
    return Worklist(incoming, outgoing, names, centres)


@dataclass
class CentreFigures:
    """一个中心的年度数据 / one centre's year: orders received, reported, turnaround (hours, order to report: median
    and 90th percentile), repeats flagged (ordered anyway within validity) and repeats avoided (recognised)."""

    centre_id: str
    name: str
    orders: int = 0
    reported: int = 0
    median_hours: Decimal | None = None
    p90_hours: Decimal | None = None
    repeats_flagged: int = 0
    repeats_avoided: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def centre_figures(uow: CentresUnitOfWork, principal: Principal, *, year: int) -> list[CentreFigures]:
    """Every centre's figures for ``year`` (orders placed in the year): for officials, the centres of the consortia
    in their scope; for a clinician or admin of an institution, the centres their institution orders from or is."""
    start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    if principal.role is Role.RESIDENT or principal.role is Role.SYSTEM_ADMIN:
        raise NotAllowed("当前角色无权查看 / not allowed for your role")
    with uow:
        mine = consortia_in_scope(uow.session, principal)
        members = sorted({m for c in mine for m in uow.orders.members(c)})
        rows = uow.orders.between(start, end, members)
        names = {i: (inst.name if (inst := uow.orders.institution(i)) else i) for i in {r.to_inst_id for r in rows}}
    hours: dict[str, list[Decimal]] = defaultdict(list)
    out: dict[str, CentreFigures] = {}
    for r in rows:
        f = out.setdefault(r.to_inst_id, CentreFigures(r.to_inst_id, names[r.to_inst_id]))
        if r.status == Status.RECOGNISED:
            f.repeats_avoided += 1
            continue
        f.orders += 1
        f.by_kind[r.kind] = f.by_kind.get(r.kind, 0) + 1
        if r.repeat_of is not None:
            f.repeats_flagged += 1
        if r.status == Status.REPORTED and r.reported_at is not None:
            f.reported += 1
            hours[r.to_inst_id].append(turnaround_hours(r.ordered_at, r.reported_at))
    for centre, f in out.items():
        f.median_hours, f.p90_hours = percentile(hours[centre], 50), percentile(hours[centre], 90)
    return [out[c] for c in sorted(out)]


def remote_diagnosis_rows(uow: CentresUnitOfWork) -> list[dict[str, str]]:
    """Every reported order as a row of the data contract's ``remote_diagnoses`` table (date: the report's): what
    ``yigongti centres export`` writes for indicator 2.2 (remote diagnoses per 10,000 residents)."""
    with uow:
        rows = uow.orders.reported()
    return [{"request_id": f"D{r.order_id}", "from_inst_id": r.from_inst_id, "to_inst_id": r.to_inst_id,
             "date": (r.reported_at or r.ordered_at).date().isoformat(), "kind": r.kind} for r in rows]


# ------------------------------------------------------------------------------------------------ tele-consultation

@dataclass(frozen=True)
class RequestConsultation:
    person_id: str
    from_inst_id: str
    to_inst_id: str
    specialty: str
    question: str


def request_consultation(uow: CentresUnitOfWork, principal: Principal, cmd: RequestConsultation, *,
                         now: datetime) -> ConsultationRow:
    """申请远程会诊 / A clinician of a primary institution requests a tele-consultation with a county specialist of
    the same consortium for a person (whose scope the adapter has checked)."""
    if principal.role is not Role.CLINICIAN or principal.inst_id != cmd.from_inst_id:
        raise NotAllowed("仅申请机构的医生可申请会诊 / only a clinician of from_inst_id requests")
    if not cmd.question.strip():
        raise InvalidRequest("question", "the clinical question is needed / 会诊问题不能为空")
    with uow:
        _primary_to_county(uow, cmd.person_id, cmd.from_inst_id, cmd.to_inst_id)
        row = uow.orders.add_consultation(ConsultationRow(
            person_id=cmd.person_id, from_inst_id=cmd.from_inst_id, to_inst_id=cmd.to_inst_id,
            specialty=cmd.specialty.strip(), question=cmd.question.strip(), status=ConsultStatus.REQUESTED.value,
            requested_at=now, requested_by=actor_of(principal), updated_at=now))
        uow.orders.add_consultation_event(ConsultationEventRow(
            consultation_id=row.consultation_id, at=now, actor=actor_of(principal), party=Party.REQUESTER.value,
            from_status=None, to_status=ConsultStatus.REQUESTED.value))
        _audit(uow, principal, "consultation requested", cmd.person_id, now,
               {"consultation_id": row.consultation_id})
        uow.commit()
    return row


def _consultation_for(uow: CentresUnitOfWork, principal: Principal,
                      consultation_id: int) -> tuple[ConsultationRow, Party]:
    row = uow.orders.consultation(consultation_id)
    party = None
    if row is not None:
        if principal.inst_id == row.from_inst_id and principal.role is Role.CLINICIAN:
            party = Party.REQUESTER
        elif principal.inst_id == row.to_inst_id and principal.role in _STAFF:
            party = Party.CENTRE
    if row is None or party is None:
        raise NotFound(f"会诊申请 {consultation_id} 不存在或无权查看 / no consultation {consultation_id} in your scope")
    return row, party


def move_consultation(uow: CentresUnitOfWork, principal: Principal, consultation_id: int, target: str, *,
                      now: datetime, scheduled_at: datetime | None = None,
                      opinion: str | None = None) -> ConsultStatus:
    """Move a consultation: the centre schedules it (``scheduled_at``, not in the past), declines it, holds it and
    concludes it with the specialist's ``opinion``; either side cancels it before it is held."""
    with uow:
        row, party = _consultation_for(uow, principal, consultation_id)
        new = check_consult_move(row.status, target, party)
        values: dict[str, object] = {}
        if new is ConsultStatus.SCHEDULED:
            if scheduled_at is None:
                raise InvalidRequest("scheduled_at", "scheduling needs a time / 排期须指定会诊时间")
            if scheduled_at < now:
                raise InvalidRequest("scheduled_at", "must not be in the past / 会诊时间不能早于现在")
            values["scheduled_at"] = scheduled_at
        elif new is ConsultStatus.CONCLUDED:
            if not (opinion or "").strip():
                raise InvalidRequest("opinion", "a conclusion needs the opinion / 会诊意见不能为空")
            values = {"opinion": (opinion or "").strip(), "concluded_at": now, "concluded_by": actor_of(principal)}
        if not uow.orders.move_consultation(consultation_id, from_status=row.status, to_status=new.value, at=now,
                                            **values):
            raise ConsultMoveNotAllowed(row.status, target)  # moved by someone else meanwhile
        uow.orders.add_consultation_event(ConsultationEventRow(
            consultation_id=consultation_id, at=now, actor=actor_of(principal), party=party.value,
            from_status=row.status, to_status=new.value))
        _audit(uow, principal, f"consultation {new.value}", row.person_id, now, {"consultation_id": consultation_id})
        uow.commit()
    return new


@dataclass(frozen=True)
class ConsultationDetail:
    consultation: ConsultationRow
    party: Party
    events: list[ConsultationEventRow]


def consultation_detail(uow: CentresUnitOfWork, principal: Principal, consultation_id: int, *,
                        now: datetime) -> ConsultationDetail:
    """A consultation with every move, for a party of it (audited); anyone else 404."""
    with uow:
        row, party = _consultation_for(uow, principal, consultation_id)
        detail = ConsultationDetail(row, party, uow.orders.consultation_events(consultation_id))
        _audit(uow, principal, "consultation read", row.person_id, now, {"consultation_id": consultation_id})
        uow.commit()
    return detail


@dataclass(frozen=True)
class ConsultationWork:
    consultation: ConsultationRow
    party: Party
    moves: tuple[ConsultStatus, ...]


def consultation_worklist(uow: CentresUnitOfWork, principal: Principal, *,
                          now: datetime) -> tuple[list[ConsultationWork], list[ConsultationWork]]:
    """The consultations received (the county specialist's worklist) and requested by the principal's institution,
    newest first; the persons shown are audited."""
    if principal.role not in _STAFF or not principal.inst_id:
        raise NotAllowed("仅医生和机构管理员可查看会诊 / clinicians and institution admins only")
    incoming: list[ConsultationWork] = []
    outgoing: list[ConsultationWork] = []
    with uow:
        rows = uow.orders.consultations_of(principal.inst_id)
        for r in rows:
            try:
                _, party = _consultation_for(uow, principal, r.consultation_id)
            except NotFound:
                continue
            item = ConsultationWork(r, party, tuple(consult_moves_for(r.status, party)))
            (incoming if party is Party.CENTRE else outgoing).append(item)
        for person_id in sorted({r.person_id for r in rows}):
            _audit(uow, principal, "consultation worklist", person_id, now, {})
        uow.commit()
    return incoming, outgoing
