"""Demo remote diagnosis orders (演示远程诊断数据): orders from the demo township to the centres at its lead county
hospital over the year, most reported (turnaround of hours to two days), some still open on the centre's worklist,
and repeats within validity recognised instead of read again. Deterministic; written only when no order exists."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yigongti.centres.domain import Kind, Party, Status
from yigongti.centres.store import DiagnosisEventRow, DiagnosisOrderRow
from yigongti.enrollment.store import DesignationRow

__all__ = ["seed_demo_orders"]

_QUESTIONS = {Kind.IMAGING: "胸部DR：咳嗽两周，排除肺炎", Kind.ECG: "心悸，排除心律失常",
              Kind.ULTRASOUND: "右上腹痛，胆囊超声", Kind.LAB: "糖化血红蛋白、血脂", Kind.PATHOLOGY: "宫颈细胞学"}
_REPORTS = {Kind.IMAGING: "双肺纹理增粗，未见明确实变影。", Kind.ECG: "窦性心律，偶发房性早搏。",
            Kind.ULTRASOUND: "胆囊多发结石，最大约0.8cm。", Kind.LAB: "HbA1c 7.8%，LDL-C 3.6 mmol/L。",
            Kind.PATHOLOGY: "未见上皮内病变或恶性细胞（NILM）。"}


def seed_demo_orders(s: Session, *, township_id: str, centre_id: str, year: int, now: datetime,
                     validity_days: dict[str, int], doctor: str = "doctor (clinician)",
                     centre: str = "hospital-doctor (clinician)") -> int:
    """Write the demo orders; the number written (0 when orders exist or the township has no designated person)."""
    if s.scalar(select(func.count()).select_from(DiagnosisOrderRow)):
        return 0
    persons = list(s.scalars(select(DesignationRow.person_id).where(
        DesignationRow.township_id == township_id, DesignationRow.year.in_((year, year + 1)))
        .distinct().order_by(DesignationRow.person_id).limit(200)))
    if len(persons) < 10:
        return 0
    rng = random.Random(20261205)
    kinds = [Kind.ECG, Kind.ECG, Kind.IMAGING, Kind.IMAGING, Kind.ULTRASOUND, Kind.LAB, Kind.LAB, Kind.PATHOLOGY]
    results: dict[tuple[str, str], tuple[int, datetime]] = {}
    n = 0
    at = datetime(year, 1, 3, 9, 0)
    while at < now - timedelta(hours=2):
        kind = rng.choice(kinds)
        person = persons[rng.randrange(len(persons))]
        earlier = results.get((person, kind.value))
        days = validity_days.get(kind.value, 0)
        valid = earlier is not None and days > 0 and at < earlier[1] + timedelta(days=days)
        age = now - at
        if valid:
            status = Status.RECOGNISED if rng.random() < 0.8 else Status.REPORTED
        elif age < timedelta(days=3):
            status = rng.choice((Status.ORDERED, Status.ACCEPTED))
        else:
            status = rng.choice((Status.REPORTED,) * 8 + (Status.REJECTED, Status.CANCELLED))
        hours = {Kind.ECG: 1, Kind.IMAGING: 6, Kind.ULTRASOUND: 4, Kind.LAB: 8, Kind.PATHOLOGY: 60}[kind]
        reported_at = at + timedelta(minutes=int(hours * 60 * (0.4 + rng.random() * 1.6)))
        if status == Status.REPORTED and reported_at > now:
            status = Status.ACCEPTED
        row = DiagnosisOrderRow(
            person_id=person, from_inst_id=township_id, to_inst_id=centre_id, kind=kind.value,
            question=_QUESTIONS[kind], status=status.value, repeat_of=earlier[0] if valid and earlier else None,
            repeat_reason="病情变化，需复查" if valid and status != Status.RECOGNISED else None,
            report=_REPORTS[kind] if status == Status.REPORTED else None,
            abnormal=(kind != Kind.PATHOLOGY) if status == Status.REPORTED else None, ordered_at=at,
            ordered_by=doctor, reported_at=reported_at if status == Status.REPORTED else None,
            reported_by=centre if status == Status.REPORTED else None,
            updated_at=reported_at if status == Status.REPORTED else at)
        s.add(row)
        s.flush()
        chain = {Status.RECOGNISED: [Status.RECOGNISED], Status.ORDERED: [Status.ORDERED],
                 Status.ACCEPTED: [Status.ORDERED, Status.ACCEPTED],
                 Status.REJECTED: [Status.ORDERED, Status.REJECTED],
                 Status.CANCELLED: [Status.ORDERED, Status.CANCELLED],
                 Status.REPORTED: [Status.ORDERED, Status.ACCEPTED, Status.REPORTED]}[status]
        prev: str | None = None
        for i, step in enumerate(chain):
            when = at if i == 0 else (reported_at if step == Status.REPORTED else at + timedelta(minutes=20))
            party = Party.REQUESTER if step in (Status.ORDERED, Status.RECOGNISED, Status.CANCELLED) else Party.CENTRE
            s.add(DiagnosisEventRow(order_id=row.order_id, at=when, actor=doctor if party is Party.REQUESTER
                                    else centre, party=party.value, from_status=prev, to_status=step.value))
            prev = step.value
        if status == Status.REPORTED:
            results[(person, kind.value)] = (row.order_id, reported_at)
        n += 1
        at += timedelta(hours=8 + rng.randrange(40))
    s.flush()
    return n
