"""The rules of remote diagnosis (远程诊断规则), pure: the order's workflow, who may move it, the validity of a result
(结果互认) and the turnaround figures.

Workflow (申请单流程)::

    ordered 已申请 -> accepted 已接收 | rejected 已退回 | cancelled 已撤销
    accepted 已接收 -> reported 已出报告 | cancelled
    recognised 已互认: placed when a valid result of the same kind exists for the person (no new read)

Tele-consultation (远程会诊), requested by a primary clinician of a county specialist for a patient::

    requested 已申请 -> scheduled 已排期 (the centre sets the time) | declined 已拒绝 | cancelled 已撤销
    scheduled 已排期 -> held 已会诊 | cancelled
    held 已会诊      -> concluded 已出意见 (the specialist's opinion)

The requester (申请方) is a clinician of the ordering primary institution; the centre (中心) a clinician or the admin
of the centre's institution. A move the workflow does not have is :class:`OrderMoveNotAllowed` (409); one it has
but not for that party :class:`OrderPartyNotAllowed` (403).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from yigongti.core import workflow
from yigongti.core.workflow import MoveNotAllowed, PartyMoveNotAllowed

__all__ = [
    "CONSULT_LABELS",
    "CONSULT_TRANSITIONS",
    "ConsultMoveNotAllowed",
    "ConsultPartyNotAllowed",
    "ConsultStatus",
    "check_consult_move",
    "consult_moves_for",
    "KIND_LABELS",
    "STATUS_LABELS",
    "TRANSITIONS",
    "Kind",
    "OrderMoveNotAllowed",
    "OrderPartyNotAllowed",
    "Party",
    "Status",
    "check_move",
    "moves_for",
    "percentile",
    "turnaround_hours",
    "valid_until",
    "within_validity",
]


class Kind(StrEnum):
    IMAGING = "imaging"
    ECG = "ecg"
    ULTRASOUND = "ultrasound"
    LAB = "lab"
    PATHOLOGY = "pathology"


class Status(StrEnum):
    ORDERED = "ordered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REPORTED = "reported"
    CANCELLED = "cancelled"
    RECOGNISED = "recognised"


class Party(StrEnum):
    REQUESTER = "requester"
    CENTRE = "centre"


KIND_LABELS: dict[str, str] = {Kind.IMAGING: "影像 / imaging", Kind.ECG: "心电 / ECG",
                               Kind.ULTRASOUND: "超声 / ultrasound", Kind.LAB: "检验 / lab",
                               Kind.PATHOLOGY: "病理 / pathology"}
STATUS_LABELS: dict[str, str] = {Status.ORDERED: "已申请 / ordered", Status.ACCEPTED: "已接收 / accepted",
                                 Status.REJECTED: "已退回 / rejected", Status.REPORTED: "已出报告 / reported",
                                 Status.CANCELLED: "已撤销 / cancelled",
                                 Status.RECOGNISED: "结果互认（未重复检查）/ recognised, not repeated"}

_R, _C = Party.REQUESTER, Party.CENTRE
TRANSITIONS: Mapping[Status, Mapping[Status, frozenset[Party]]] = {
    Status.ORDERED: {Status.ACCEPTED: frozenset({_C}), Status.REJECTED: frozenset({_C}),
                     Status.CANCELLED: frozenset({_R})},
    Status.ACCEPTED: {Status.REPORTED: frozenset({_C}), Status.CANCELLED: frozenset({_R, _C})},
}
"""current status -> next status -> the parties that may make that move."""


class OrderMoveNotAllowed(MoveNotAllowed):
    """The workflow has no move from ``current`` to ``target`` (409)."""

    noun_zh, noun_en, labels = "申请单", "an order", STATUS_LABELS


class OrderPartyNotAllowed(PartyMoveNotAllowed):
    """The move exists but this party may not make it (403)."""

    noun_zh, noun_en = "申请单", "an order"


def check_move(current: str, target: str, party: Party) -> Status:
    """The new status when ``party`` may move an order from ``current`` to ``target``; else raises."""
    return workflow.check_move(TRANSITIONS, Status, current, target, party, refused=OrderMoveNotAllowed,
                               party_refused=OrderPartyNotAllowed)


def moves_for(current: str, party: Party) -> list[Status]:
    """The moves ``party`` may make from ``current`` (the page's buttons)."""
    return workflow.moves_for(TRANSITIONS, Status, current, party)


def valid_until(reported_at: datetime, days: int) -> datetime | None:
    """The end of a result's validity (``days`` after its report); None when the kind is never recognised (0)."""
    return reported_at + timedelta(days=days) if days > 0 else None


def within_validity(reported_at: datetime, now: datetime, days: int) -> bool:
    """Whether a result reported at ``reported_at`` is still recognised at ``now``."""
    until = valid_until(reported_at, days)
    return until is not None and reported_at <= now < until


def turnaround_hours(ordered_at: datetime, reported_at: datetime) -> Decimal:
    """Hours from the order to the report, to one decimal (half up)."""
    seconds = Decimal(int((reported_at - ordered_at).total_seconds()))
    return (seconds / 3600).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def percentile(values: Sequence[Decimal], p: int) -> Decimal | None:
    """The ``p``-th percentile by nearest rank (the smallest value with at least p% of the values at or below it);
    None for no value. ``percentile(v, 50)`` is the (lower) median."""
    if not values:
        return None
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in 1..100: {p}")
    ordered = sorted(values)
    rank = -(-p * len(ordered) // 100)
    return ordered[max(rank, 1) - 1]


# ------------------------------------------------------------------------------------------------ tele-consultation

class ConsultStatus(StrEnum):
    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    DECLINED = "declined"
    HELD = "held"
    CONCLUDED = "concluded"
    CANCELLED = "cancelled"


CONSULT_LABELS: dict[str, str] = {ConsultStatus.REQUESTED: "已申请 / requested",
                                  ConsultStatus.SCHEDULED: "已排期 / scheduled",
                                  ConsultStatus.DECLINED: "已拒绝 / declined", ConsultStatus.HELD: "已会诊 / held",
                                  ConsultStatus.CONCLUDED: "已出意见 / concluded",
                                  ConsultStatus.CANCELLED: "已撤销 / cancelled"}
CONSULT_TRANSITIONS: Mapping[ConsultStatus, Mapping[ConsultStatus, frozenset[Party]]] = {
    ConsultStatus.REQUESTED: {ConsultStatus.SCHEDULED: frozenset({_C}), ConsultStatus.DECLINED: frozenset({_C}),
                              ConsultStatus.CANCELLED: frozenset({_R})},
    ConsultStatus.SCHEDULED: {ConsultStatus.HELD: frozenset({_C}), ConsultStatus.CANCELLED: frozenset({_R, _C})},
    ConsultStatus.HELD: {ConsultStatus.CONCLUDED: frozenset({_C})},
}
"""current status -> next status -> the parties that may make that move (a consultation)."""


class ConsultMoveNotAllowed(MoveNotAllowed):
    """The consultation workflow has no such move (409)."""

    noun_zh, noun_en, labels = "会诊申请", "a consultation", CONSULT_LABELS


class ConsultPartyNotAllowed(PartyMoveNotAllowed):
    """The move exists but this party may not make it (403)."""

    noun_zh, noun_en = "会诊申请", "a consultation"


def check_consult_move(current: str, target: str, party: Party) -> ConsultStatus:
    """The new status when ``party`` may move a consultation from ``current`` to ``target``; else raises."""
    return workflow.check_move(CONSULT_TRANSITIONS, ConsultStatus, current, target, party,
                               refused=ConsultMoveNotAllowed, party_refused=ConsultPartyNotAllowed)


def consult_moves_for(current: str, party: Party) -> list[ConsultStatus]:
    """The moves ``party`` may make on a consultation from ``current``."""
    return workflow.moves_for(CONSULT_TRANSITIONS, ConsultStatus, current, party)
