"""Referral flows for officials (转诊流向与预留号源使用): how patients moved between the tiers in a year and how the
places reserved for referred patients were used, for the consortia in the official's scope.

- flows by month: referrals requested up and down the tiers each month, and how many of them reached the receiving
  institution (arrived, completed or returned);
- flows by tier pair: from-tier -> to-tier (village -> township, township -> county, county -> township, ...);
- reserved capacity per receiving institution (预留号源使用): over the slots starting in the year, the places, the
  reserved ones, the places booked by referred patients, the reserved places that went to others after their release
  (释放), the places booked without a referral, and the reserve left unused.

Counts and places of institutions, not personal data: nothing here is audited per person.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select

from yigongti.core.problems import NotAllowed
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.scope import consortia_in_scope
from yigongti.referral.domain import ARRIVED, Direction
from yigongti.referral.store import ReferralRow, SlotRow
from yigongti.referral.uow import ReferralUnitOfWork
from yigongti.registry.store import InstitutionRow

__all__ = ["FLOW_ROLES", "CapacityUse", "Flows", "MonthFlow", "TierFlow", "flows", "slot_use"]

FLOW_ROLES = frozenset({Role.CONSORTIUM_ADMIN, Role.INSURANCE_BUREAU, Role.HEALTH_COMMISSION})
"""Who sees the flows: the consortium's management centre, the insurance bureau and the health commission."""

_ARRIVED = frozenset(s.value for s in ARRIVED)


@dataclass(frozen=True)
class MonthFlow:
    month: str
    up: int = 0
    down: int = 0
    up_arrived: int = 0
    down_arrived: int = 0


@dataclass(frozen=True)
class TierFlow:
    from_tier: str
    to_tier: str
    direction: str
    referrals: int
    arrived: int


@dataclass
class CapacityUse:
    """预留号源使用 / one receiving institution's slots starting in the year."""

    inst_id: str
    name: str
    slots: int = 0
    capacity: int = 0
    reserved: int = 0
    booked: int = 0
    referred: int = 0
    released: int = 0
    booked_open: int = 0
    reserve_unused: int = 0


@dataclass
class Flows:
    year: int
    months: list[MonthFlow] = field(default_factory=list)
    tiers: list[TierFlow] = field(default_factory=list)
    capacity: list[CapacityUse] = field(default_factory=list)
    total: int = 0


def slot_use(capacity: int, reserved: int, booked: int, booked_open: int) -> tuple[int, int, int]:
    """(reserved places taken by referred patients, reserved places released to others, reserve left unused) of one
    slot: a referred patient counts on the reserve first; a booking without a referral beyond the open places
    (``capacity - reserved``) can only have taken a released reserved place."""
    referred = booked - booked_open
    used = min(referred, reserved)
    released = max(0, booked_open - (capacity - reserved))
    return used, released, reserved - used - released


def flows(uow: ReferralUnitOfWork, principal: Principal, *, year: int) -> Flows:
    """The referral flows and the reserved-capacity use of ``year`` for the consortia in the official's scope
    (referrals sent or received by one of their institutions; slots of one of their institutions)."""
    if principal.role not in FLOW_ROLES:
        raise NotAllowed("仅医共体管理中心、医保局和卫健局可查看转诊流向 / consortium, bureau and commission only")
    start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    out = Flows(year)
    with uow:
        mine = consortia_in_scope(uow.session, principal)
        insts = {i.inst_id: i for i in uow.session.scalars(select(InstitutionRow))}
        ours = sorted(i for i, row in insts.items() if row.consortium_id in mine)
        if not ours:
            return out
        rows = uow.session.execute(
            select(ReferralRow.requested_at, ReferralRow.direction, ReferralRow.status, ReferralRow.from_inst_id,
                   ReferralRow.to_inst_id)
            .where(ReferralRow.requested_at >= start, ReferralRow.requested_at < end,
                   or_(ReferralRow.from_inst_id.in_(ours), ReferralRow.to_inst_id.in_(ours)))).all()
        slots = uow.session.execute(
            select(SlotRow.inst_id, SlotRow.capacity, SlotRow.reserved, SlotRow.booked, SlotRow.booked_open)
            .where(SlotRow.start >= start, SlotRow.start < end, SlotRow.inst_id.in_(ours))).all()
    by_month: dict[str, Counter[str]] = {f"{year}-{m:02d}": Counter() for m in range(1, 13)}
    pairs: Counter[tuple[str, str, str]] = Counter()
    pairs_arrived: Counter[tuple[str, str, str]] = Counter()

    def tier(inst_id: str) -> str:
        row = insts.get(inst_id)
        return row.tier if row is not None else "outside"

    for at, direction, status, src, dst in rows:
        month = by_month[f"{at:%Y-%m}"]
        arrived = status in _ARRIVED
        month[direction] += 1
        month[direction + "_arrived"] += arrived
        key = (tier(src), tier(dst), direction)
        pairs[key] += 1
        pairs_arrived[key] += arrived
    out.total = len(rows)
    out.months = [MonthFlow(m, c[Direction.UP], c[Direction.DOWN], c["up_arrived"], c["down_arrived"])
                  for m, c in by_month.items()]
    out.tiers = [TierFlow(f, t, d, n, pairs_arrived[(f, t, d)]) for (f, t, d), n in
                 sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))]
    use: dict[str, CapacityUse] = {}
    for inst_id, capacity, reserved, booked, booked_open in slots:
        u = use.setdefault(inst_id, CapacityUse(inst_id, insts[inst_id].name))
        used, released, unused = slot_use(capacity, reserved, booked, booked_open)
        u.slots += 1
        u.capacity += capacity
        u.reserved += reserved
        u.booked += booked
        u.referred += booked - booked_open
        u.released += released
        u.booked_open += booked_open
        u.reserve_unused += unused
    out.capacity = [use[i] for i in sorted(use)]
    return out

