"""The rules of the consortium's one pharmacy (药品统一管理规则), pure.

A drug of the catalogue (统一药品目录) is named by its national insurance drug code (国家医保药品编码), with its generic
name, dosage form, strength and whether it is on the essential-medicines list (基本药物). Quantities are integer
smallest units (片、支、袋), never fractions.

Stock (库存) never goes negative: an issue larger than what is on hand is refused (:class:`InsufficientStock`).

Shortage (缺药登记) and dispatch (配送), a small state machine::

    registered 已登记 -> dispatched 已发出 -> delivered 已送达
    registered 已登记 -> cancelled 已取消

Stock-out alert (断货预警): the usage rate is what was issued in the last ``usage_weeks`` weeks, per day; the stock
lasts ``on_hand / rate`` days; below ``alert_days`` it is on the alert list (no usage: no alert).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from yigongti.core.problems import Conflict

__all__ = [
    "MOVE_LABELS",
    "RX_LABELS",
    "SHORTAGE_LABELS",
    "TRANSITIONS",
    "Drug",
    "InsufficientStock",
    "ShortageStatus",
    "TransitionNotAllowed",
    "check_transition",
    "days_left",
    "needs_alert",
    "stock_after",
]


@dataclass(frozen=True)
class Drug:
    """药品 / one entry of the consortium's drug catalogue."""

    drug_code: str
    generic_name: str
    form: str
    strength: str
    essential: bool = False
    unit: str = "片"


class InsufficientStock(Conflict, ValueError):
    """An issue larger than the stock on hand (库存不足)."""

    def __init__(self, on_hand: int, quantity: int) -> None:
        self.on_hand, self.quantity = on_hand, quantity
        super().__init__(f"库存不足：现有 {on_hand}，需发出 {quantity} / insufficient stock: {on_hand} on hand, "
                         f"{quantity} asked")


def stock_after(on_hand: int, delta: int) -> int:
    """The stock after a receipt (``delta`` > 0) or an issue (< 0); never negative."""
    after = on_hand + delta
    if after < 0:
        raise InsufficientStock(on_hand, -delta)
    return after


class ShortageStatus(StrEnum):
    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


SHORTAGE_LABELS: Mapping[str, str] = {"registered": "已登记 / registered", "dispatched": "已发出 / dispatched",
                                      "delivered": "已送达 / delivered", "cancelled": "已取消 / cancelled"}

TRANSITIONS: Mapping[ShortageStatus, frozenset[ShortageStatus]] = {
    ShortageStatus.REGISTERED: frozenset({ShortageStatus.DISPATCHED, ShortageStatus.CANCELLED}),
    ShortageStatus.DISPATCHED: frozenset({ShortageStatus.DELIVERED}),
    ShortageStatus.DELIVERED: frozenset(),
    ShortageStatus.CANCELLED: frozenset(),
}


class TransitionNotAllowed(Conflict, ValueError):
    """A move the shortage workflow does not have (409)."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"缺药登记不能从 {current} 变为 {target} / a shortage cannot move from {current} to {target}")


def check_transition(current: str, target: str) -> ShortageStatus:
    try:
        cur, new = ShortageStatus(current), ShortageStatus(target)
    except ValueError:
        raise TransitionNotAllowed(current, target) from None
    if new not in TRANSITIONS[cur]:
        raise TransitionNotAllowed(current, target)
    return new


def days_left(on_hand: int, issued: int, usage_weeks: int) -> Decimal | None:
    """Days the stock lasts at the rate of ``issued`` units over ``usage_weeks`` weeks (None: no usage), to the day
    below (a display and alert figure)."""
    if issued <= 0:
        return None
    rate = Decimal(issued) / Decimal(usage_weeks * 7)
    return (Decimal(on_hand) / rate).quantize(Decimal(1), rounding=ROUND_FLOOR)


def needs_alert(on_hand: int, issued: int, usage_weeks: int, alert_days: int) -> bool:
    """On the stock-out alert list: the stock lasts fewer than ``alert_days`` days at the recent rate."""
    left = days_left(on_hand, issued, usage_weeks)
    return left is not None and left < alert_days


RX_LABELS: Mapping[str, str] = {"written": "待取药 / to dispense", "dispensed": "已发药 / dispensed",
                                "cancelled": "已作废 / cancelled"}
"""处方 (prescription) states: written 待取药 -> dispensed 已发药 (once, at any member of the consortium), or
cancelled 已作废 by the writing institution before it is dispensed."""

MOVE_LABELS: Mapping[str, str] = {"receipt": "入库 / receipt", "issue": "发药 / issue",
                                  "dispatch": "配送发出 / dispatched", "delivery": "配送入库 / delivered"}
