"""Care quality and training in the demo county (处方点评、病历质控、培训学时、人员收入), so that
``/workforce/quality`` and ``/workforce/training`` show a county at work:

- ``indicator_set.toml`` of the demo folder: the packaged national-2024 set with two monitoring indicators of care
  quality (``Q1`` mean prescription-review score, ``Q2`` mean medical-record score; weight 0, so no score or grade
  changes) that read the appraisal's quality measures (:data:`QUALITY_INDICATORS`);
- in the database (:func:`seed_quality`, after the staff registry of ``demo.readiness``): every quarter of the year
  so far, 12 prescriptions drawn per township centre and lead hospital (the last quarter partly scored, the rest
  scored 40-100 by the consortium's quality centre), 6 medical records checked per institution against the shipped
  checklist, training sessions of the township and village staff (some below the policy's hours), and every
  person's income of the year (the lead hospitals' higher than the township's and village's).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yigongti.appraisal.indicator_sets import INDICATOR_SET_FILE, packaged_set_text
from yigongti.core.codes import Tier
from yigongti.core.policy import Policy
from yigongti.registry.store import ConsortiumRow, InstitutionRow
from yigongti.workforce.engine import load_checklist
from yigongti.workforce.store import RecordCheckRow, ReviewRow, StaffIncomeRow, StaffRow, TrainingRow

__all__ = ["QUALITY_INDICATORS", "seed_quality", "write_quality_indicator_set"]

SEED = 20_261_219
ACTOR = "system:demo"
QUALITY_INDICATORS = '''
[[groups]]
id = "Q"
name_zh = "医疗质量（院内质控）"
name_en = "Care quality (internal quality control)"

[[indicator]]
id = "Q1"
group = "Q"
name_zh = "处方点评平均得分"
name_en = "Mean prescription-review score"
numerator = "prescription_points"
denominator = "prescriptions_reviewed"
unit = "ratio"
target = 85
scopes = ["consortium", "institution"]
source = "处方点评（workforce）"
note = "Monitoring only (weight 0): the mean score of the prescriptions reviewed in the year."

[[indicator]]
id = "Q2"
group = "Q"
name_zh = "病历质控平均得分"
name_en = "Mean medical-record score"
numerator = "record_points"
denominator = "records_checked"
unit = "ratio"
target = 85
scopes = ["consortium", "institution"]
source = "病历质控（workforce）"
note = "Monitoring only (weight 0): the mean checklist score of the records checked in the year."
'''
"""Two quality indicators appended to a set (TOML): a county gives them a weight to let quality move the scores."""


def write_quality_indicator_set(folder: Path) -> Path | None:
    """``folder/indicator_set.toml``: the national-2024 set and :data:`QUALITY_INDICATORS` (a folder that has its own
    set keeps it: None)."""
    path = Path(folder) / INDICATOR_SET_FILE
    if path.exists():
        return None
    path.write_text(packaged_set_text() + QUALITY_INDICATORS, encoding="utf-8")
    return path


def seed_quality(s: Session, *, policy: Policy, now: datetime) -> dict[str, int]:
    """Reviews, record checks, training and incomes of the year for the demo staff (the caller commits); nothing
    when there are reviews already or no staff. What was added."""
    if s.scalar(select(func.count()).select_from(ReviewRow)) or not s.scalar(select(func.count())
                                                                            .select_from(StaffRow)):
        return {}
    rng = np.random.default_rng(SEED)
    now = now.replace(second=0, microsecond=0)
    year = now.year
    leads = set(s.scalars(select(ConsortiumRow.lead_inst_id)))
    insts = {i.inst_id: i for i in s.scalars(select(InstitutionRow).where(InstitutionRow.consortium_id.is_not(None)))}
    staff = list(s.scalars(select(StaffRow).order_by(StaffRow.staff_id)))
    doctors: dict[str, list[StaffRow]] = {}
    for p in staff:
        if p.profession == "doctor":
            doctors.setdefault(p.works_at_id, []).append(p)
    reviewed = [i for i in sorted(insts) if (i in leads or insts[i].tier == Tier.TOWNSHIP.value) and doctors.get(i)]
    quarters = [q for q in range(1, 5) if date(year, 3 * q - 2, 1) <= now.date()]
    reviews = checks = 0
    items = load_checklist(policy.workforce).items
    for inst_id in reviewed:
        bias = float(rng.uniform(-12, 8))  # some institutions prescribe better than others
        for q in quarters:
            drawn_at = min(now, datetime(year, 3 * q, 28, 10))
            for n in range(12):
                doc = doctors[inst_id][int(rng.integers(len(doctors[inst_id])))]
                pending = q == quarters[-1] and n >= 8
                score = None if pending else int(np.clip(rng.normal(84 + bias, 9), 40, 100))
                s.add(ReviewRow(inst_id=inst_id, period=f"{year}-Q{q}",
                                prescription_id=f"RX{year}Q{q}-{inst_id}-{n:03d}", staff_id=doc.staff_id,
                                seed=f"{inst_id}:{year}-Q{q}", drawn_at=drawn_at, score=score,
                                note=None if score is None or score >= 80 else "用药适应证不明确 / indication unclear",
                                reviewed_at=None if score is None else drawn_at + timedelta(days=3),
                                reviewed_by=None if score is None else ACTOR))
                reviews += 1
        for n in range(6):
            doc = doctors[inst_id][int(rng.integers(len(doctors[inst_id])))]
            passed = [it for it in items if rng.random() < 0.88 + bias / 100]
            weight = sum(it.weight for it in items)
            score = round(100 * sum(it.weight for it in passed) / weight)
            s.add(RecordCheckRow(inst_id=inst_id, record_id=f"MR{year}-{inst_id}-{n:03d}", staff_id=doc.staff_id,
                                 passed=",".join(sorted(it.code for it in passed)), score=score,
                                 checked_at=now - timedelta(days=int(rng.integers(1, 200))), checked_by=ACTOR))
            checks += 1
    sessions = 0
    for p in staff:
        inst = insts.get(p.works_at_id)
        if inst is None:
            continue
        if inst.tier in (Tier.TOWNSHIP.value, Tier.VILLAGE.value):
            for _ in range(int(rng.integers(1, 9))):
                day = date(year, 1, 1) + timedelta(days=int(rng.integers(0, max(1, now.timetuple().tm_yday - 1))))
                s.add(TrainingRow(staff_id=p.staff_id, date=day, minutes=int(rng.choice([120, 240, 480])),
                                  course=str(rng.choice(["基本公共卫生服务规范", "合理用药", "慢病管理", "急诊急救",
                                                         "传染病防控"]))))
                sessions += 1
        base = 160_000 if p.works_at_id in leads else 90_000 if inst.tier == Tier.TOWNSHIP.value else 60_000
        s.add(StaffIncomeRow(staff_id=p.staff_id, year=year, income=int(base * float(rng.uniform(0.8, 1.3))) * 100))
    s.flush()
    return {"reviews": reviews, "record_checks": checks, "training": sessions, "incomes": len(staff)}
