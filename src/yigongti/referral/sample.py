"""Demo referrals (演示转诊数据): slots at the lead county hospital (and a few at the township centre) over the year,
and referrals up and down in every state of the workflow, with their moves and bookings, so that the clinicians'
worklist and the officials' flows are not empty on ``make run``. Deterministic (a fixed seed); written only into a
database that holds no referral yet.

The slots' counters agree with their bookings: a referred patient's booking takes a place of the slot (the reserve
first), a few bookings without a referral fill the open places, and on some past slots the reserve released before
the start went to others too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yigongti.core.policy import ReferralPolicy
from yigongti.enrollment.store import DesignationRow
from yigongti.referral.domain import Direction, Party, SlotKind, Status, reserved_places
from yigongti.referral.store import BookingRow, ReferralEventRow, ReferralRow, SlotRow

__all__ = ["DemoReferrals", "seed_demo_referrals"]

_CHAINS: dict[Status, tuple[Status, ...]] = {
    Status.REQUESTED: (Status.REQUESTED,),
    Status.ACCEPTED: (Status.REQUESTED, Status.ACCEPTED),
    Status.DECLINED: (Status.REQUESTED, Status.DECLINED),
    Status.CANCELLED: (Status.REQUESTED, Status.CANCELLED),
    Status.EXPIRED: (Status.REQUESTED, Status.EXPIRED),
    Status.BOOKED: (Status.REQUESTED, Status.ACCEPTED, Status.BOOKED),
    Status.ARRIVED: (Status.REQUESTED, Status.ACCEPTED, Status.BOOKED, Status.ARRIVED),
    Status.COMPLETED: (Status.REQUESTED, Status.ACCEPTED, Status.BOOKED, Status.ARRIVED, Status.COMPLETED),
    Status.RETURNED: (Status.REQUESTED, Status.ACCEPTED, Status.BOOKED, Status.ARRIVED, Status.COMPLETED,
                      Status.RETURNED),
}
_PARTY = {Status.REQUESTED: Party.SENDER, Status.ACCEPTED: Party.RECEIVER, Status.DECLINED: Party.RECEIVER,
          Status.CANCELLED: Party.SENDER, Status.EXPIRED: Party.SYSTEM, Status.BOOKED: Party.SENDER,
          Status.ARRIVED: Party.RECEIVER, Status.COMPLETED: Party.RECEIVER, Status.RETURNED: Party.RECEIVER}
_UP_DIAGNOSES = (("I63.9", "疑似脑梗死，需CT及专科诊治"), ("I21.9", "胸痛，心电图提示ST段抬高"),
                 ("K80.2", "胆囊结石伴反复腹痛，拟手术"), ("J18.9", "肺炎，乡镇院治疗3天无好转"),
                 ("E11.9", "糖尿病血糖控制不佳，调整方案"), ("I10", "高血压多药联用仍未达标"),
                 ("S72.0", "股骨颈骨折，需手术"))
_DOWN_DIAGNOSES = (("I63.9", "脑梗死恢复期，回基层康复"), ("I10", "高血压已稳定，回家庭医生随访"),
                   ("E11.9", "糖尿病方案已调整，回基层管理"))


@dataclass(frozen=True)
class DemoReferrals:
    slots: int
    referrals: int
    bookings: int


def _slot_starts(year: int, now: datetime) -> list[datetime]:
    """Tuesday and Thursday mornings from the first week of the year to four weeks after ``now``."""
    day = datetime(year, 1, 1, 8, 30)
    end = now + timedelta(weeks=4)
    out = []
    while day <= end:
        if day.weekday() in (1, 3):
            out.append(day)
        day += timedelta(days=1)
    return out


def seed_demo_referrals(s: Session, *, township_id: str, lead_inst_id: str, year: int, now: datetime,
                        policy: ReferralPolicy, doctor: str = "doctor (clinician)",
                        hospital_doctor: str = "hospital-doctor (clinician)",
                        hospital_admin: str = "hospital (institution_admin)") -> DemoReferrals | None:
    """Write the demo slots and referrals between ``township_id`` and its lead hospital ``lead_inst_id`` for
    ``year`` up to ``now``; None (nothing written) when the database already holds referrals or the township has no
    designated person."""
    if s.scalar(select(func.count()).select_from(ReferralRow)):
        return None
    persons = list(s.scalars(select(DesignationRow.person_id).where(
        DesignationRow.township_id == township_id, DesignationRow.year.in_((year, year + 1)))
        .distinct().order_by(DesignationRow.person_id).limit(400)))
    if len(persons) < 20:
        return None
    rng = random.Random(20260917)
    slots: dict[str, list[SlotRow]] = {lead_inst_id: [], township_id: []}
    for start in _slot_starts(year, now):
        for inst, kind, capacity in ((lead_inst_id, SlotKind.SPECIALIST, 10), (lead_inst_id, SlotKind.BED, 5),
                                     (lead_inst_id, SlotKind.EXAM, 8), (township_id, SlotKind.SPECIALIST, 5)):
            if inst == township_id and start.weekday() != 1:
                continue
            published = SlotRow(inst_id=inst, kind=kind.value, start=start, capacity=capacity,
                                reserved=reserved_places(capacity, policy.reserved_share), booked=0, booked_open=0,
                                created_at=start - timedelta(days=14), created_by=hospital_admin)
            s.add(published)
            slots[inst].append(published)
    s.flush()
    bookings = 0
    holders: dict[int, set[str]] = {}

    def book(slot: SlotRow, person_id: str, referral_id: int | None, at: datetime, actor: str) -> None:
        nonlocal bookings
        slot.booked += 1
        if referral_id is None:
            slot.booked_open += 1
        holders.setdefault(slot.slot_id, set()).add(person_id)
        s.add(BookingRow(slot_id=slot.slot_id, person_id=person_id, referral_id=referral_id, referral_from=None,
                         status="booked", booked_at=at, booked_by=actor))
        bookings += 1

    # referrals: about six a month up, two down, the recent ones still open
    n = 0
    last_month = now.month if now.year == year else 12
    moments: list[tuple[datetime, bool]] = []
    for month in range(1, last_month + 1):
        for k in range(8):
            day = 1 + rng.randrange(27)
            moments.append((datetime(year, month, day, 9 + rng.randrange(8), rng.randrange(60)), k < 6))
    # always a few fresh ones on the worklists: two waiting for the hospital, one for the township
    moments += [(now - timedelta(hours=5), True), (now - timedelta(days=1, hours=2), True),
                (now - timedelta(hours=20), False)]
    for requested, up in moments:
        if requested >= now or requested.year != year:
            continue
        age = (now - requested).days
        if age < 1:
            final = Status.REQUESTED
        elif age <= 3:
            final = rng.choice((Status.REQUESTED, Status.REQUESTED, Status.ACCEPTED))
        elif age <= 14:
            final = rng.choice((Status.ACCEPTED, Status.BOOKED, Status.BOOKED, Status.DECLINED))
        else:
            final = rng.choice((Status.RETURNED, Status.RETURNED, Status.COMPLETED, Status.ARRIVED,
                                Status.CANCELLED, Status.EXPIRED, Status.DECLINED, Status.RETURNED))
        if not up and final in (Status.RETURNED,):
            final = Status.COMPLETED
        diagnosis, reason = rng.choice(_UP_DIAGNOSES if up else _DOWN_DIAGNOSES)
        src, dst = (township_id, lead_inst_id) if up else (lead_inst_id, township_id)
        sender, receiver = (doctor, hospital_doctor) if up else (hospital_doctor, doctor)
        person = persons[rng.randrange(len(persons))]
        chain = _CHAINS[final]
        slot: SlotRow | None = None
        if Status.BOOKED in chain:
            open_slots = [x for x in slots[dst] if x.start > requested + timedelta(days=3)
                          and x.booked < x.capacity and person not in holders.get(x.slot_id, set())
                          and (x.kind != SlotKind.BED or up)]
            if final == Status.BOOKED:
                open_slots = [x for x in open_slots if x.start > now]
            elif final in (Status.ARRIVED, Status.COMPLETED, Status.RETURNED):
                open_slots = [x for x in open_slots if x.start <= now]
            if not open_slots:
                continue
            slot = open_slots[min(rng.randrange(3), len(open_slots) - 1)]
        times = [requested]
        for step in chain[1:]:
            gap = timedelta(hours=2 + rng.randrange(30))
            if step == Status.ARRIVED and slot is not None:
                times.append(slot.start + timedelta(minutes=30))
            elif step == Status.EXPIRED:
                times.append(requested + timedelta(days=policy.expire_days or 30))
            else:
                times.append(times[-1] + gap)
        if times[-1] > now:
            continue
        completed = times[chain.index(Status.COMPLETED)] if Status.COMPLETED in chain else None
        plan = "每周随访血压/血糖，一月后复诊；如有加重及时上转" if final == Status.RETURNED else None
        row = ReferralRow(person_id=person, from_inst_id=src, to_inst_id=dst,
                          direction=(Direction.UP if up else Direction.DOWN).value, diagnosis=diagnosis,
                          reason=reason, from_claim_id=None, status=final.value,
                          slot_id=slot.slot_id if slot else None, care_plan=plan, requested_at=requested,
                          requested_by=sender, updated_at=times[-1], completed_at=completed)
        s.add(row)
        s.flush()
        n += 1
        prev: Status | None = None
        for step, at in zip(chain, times, strict=True):
            party = _PARTY[step]
            actor = {Party.SENDER: sender, Party.RECEIVER: receiver, Party.SYSTEM: "system"}[party]
            s.add(ReferralEventRow(referral_id=row.referral_id, at=at, actor=actor, party=party.value,
                                   from_status=prev.value if prev else None, to_status=step.value,
                                   note=plan if step == Status.RETURNED else None))
            if step == Status.BOOKED and slot is not None:
                book(slot, person, row.referral_id, at, sender)
            prev = step
    # bookings without a referral: the open places of most slots, and on some past slots the released reserve
    for inst_slots in slots.values():
        for slot in inst_slots:
            released = slot.start <= now and rng.random() < 0.3
            room = slot.capacity - slot.booked if released else slot.capacity - slot.reserved - slot.booked_open
            want = min(room, rng.randrange(slot.capacity - slot.reserved + 1) + (2 if released else 0))
            for _ in range(max(0, want)):
                free = [p for p in persons[:120] if p not in holders.get(slot.slot_id, set())]
                if not free or slot.booked >= slot.capacity:
                    break
                book(slot, free[rng.randrange(len(free))], None, slot.start - timedelta(days=2), doctor)
    s.flush()
    return DemoReferrals(sum(len(v) for v in slots.values()), n, bookings)
