"""Demo remote diagnosis orders (演示远程诊断数据): orders from the demo township to the centres at its lead county
hospital over the year, most reported (turnaround of hours to two days), some still open on the centre's worklist,
and repeats within validity recognised instead of read again. Deterministic; written only when no order exists."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yigongti.centres.domain import ConsultStatus, Kind, Party, Status
from yigongti.centres.store import ConsultationEventRow, ConsultationRow, DiagnosisEventRow, DiagnosisOrderRow
from yigongti.enrollment.store import DesignationRow

__all__ = ["seed_demo_consultations", "seed_demo_orders"]

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


_CONSULTS = (("心内科", "高血压合并胸闷，调整降压方案", "建议加用β受体阻滞剂，两周后复查心电图，家庭医生随访血压。"),
             ("内分泌科", "2型糖尿病血糖控制不佳", "二甲双胍加量至1.0g bid，加用DPP-4抑制剂；三个月后复查HbA1c。"),
             ("神经内科", "脑梗死后遗症康复评估", "继续抗血小板与他汀治疗，乡镇卫生院康复训练，每月随访。"),
             ("呼吸科", "慢阻肺急性加重后稳定期管理", "规律吸入长效支气管扩张剂，接种流感疫苗，出现气促加重及时转诊。"))


def seed_demo_consultations(s: Session, *, township_id: str, centre_id: str, year: int, now: datetime,
                            doctor: str = "doctor (clinician)",
                            centre: str = "hospital-doctor (clinician)") -> int:
    """Write the demo tele-consultations (the township asks the lead hospital's specialists): most concluded with an
    opinion over the year, one held, one scheduled tomorrow, one waiting to be scheduled. Written only when none
    exists; the number written."""
    if s.scalar(select(func.count()).select_from(ConsultationRow)):
        return 0
    persons = list(s.scalars(select(DesignationRow.person_id).where(
        DesignationRow.township_id == township_id, DesignationRow.year.in_((year, year + 1)))
        .distinct().order_by(DesignationRow.person_id).limit(60)))
    if len(persons) < 10:
        return 0
    rng = random.Random(20261206)
    plan: list[tuple[datetime, ConsultStatus]] = []
    at = datetime(year, 1, 10, 10, 0)
    while at < now - timedelta(days=10):
        plan.append((at, ConsultStatus.CONCLUDED))
        at += timedelta(days=14 + rng.randrange(14))
    plan += [(now - timedelta(days=3), ConsultStatus.HELD), (now - timedelta(days=2), ConsultStatus.SCHEDULED),
             (now - timedelta(hours=5), ConsultStatus.REQUESTED)]
    chains = {ConsultStatus.REQUESTED: [ConsultStatus.REQUESTED],
              ConsultStatus.SCHEDULED: [ConsultStatus.REQUESTED, ConsultStatus.SCHEDULED],
              ConsultStatus.HELD: [ConsultStatus.REQUESTED, ConsultStatus.SCHEDULED, ConsultStatus.HELD],
              ConsultStatus.CONCLUDED: [ConsultStatus.REQUESTED, ConsultStatus.SCHEDULED, ConsultStatus.HELD,
                                        ConsultStatus.CONCLUDED]}
    for i, (asked, status) in enumerate(plan):
        specialty, question, opinion = _CONSULTS[i % len(_CONSULTS)]
        when = asked + timedelta(days=3, hours=4)
        if status is ConsultStatus.SCHEDULED:
            when = now + timedelta(days=1)
        elif status is ConsultStatus.HELD:
            when = asked + timedelta(days=1)
        done = when + timedelta(hours=1)
        row = ConsultationRow(
            person_id=persons[rng.randrange(len(persons))], from_inst_id=township_id, to_inst_id=centre_id,
            specialty=specialty, question=question, status=status.value,
            scheduled_at=when if status is not ConsultStatus.REQUESTED else None,
            opinion=opinion if status is ConsultStatus.CONCLUDED else None, requested_at=asked, requested_by=doctor,
            concluded_at=done if status is ConsultStatus.CONCLUDED else None,
            concluded_by=centre if status is ConsultStatus.CONCLUDED else None,
            updated_at=done if status is ConsultStatus.CONCLUDED else asked)
        s.add(row)
        s.flush()
        prev: str | None = None
        for step in chains[status]:
            moved = {ConsultStatus.REQUESTED: asked, ConsultStatus.SCHEDULED: asked + timedelta(hours=2),
                     ConsultStatus.HELD: when, ConsultStatus.CONCLUDED: done}[step]
            party = Party.REQUESTER if step is ConsultStatus.REQUESTED else Party.CENTRE
            s.add(ConsultationEventRow(consultation_id=row.consultation_id, at=min(moved, now),
                                       actor=doctor if party is Party.REQUESTER else centre, party=party.value,
                                       from_status=prev, to_status=step.value))
            prev = step.value
    s.flush()
    return len(plan)
