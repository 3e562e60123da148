"""Demo data of readiness and prescriptions (示例监测、应急与处方数据), written into the demo county's database so that
``/public-health/surveillance``, ``/public-health/stockpile``, ``/workforce/teams`` and ``/pharmacy/prescriptions``
have something to show.

``seed_readiness(session, policy=..., now=...)`` adds, deterministically (a fixed random seed):

- weekly syndromic counts (症状监测) of the last 12 weeks: a fever clinic at every county-tier member and a sentinel
  site at every township centre, every syndrome of the policy, Poisson counts around a per-site level; a few sites see
  a jump in the latest weeks (influenza-like illness, diarrhoea), so the page has warnings; each consortium's last
  sentinel site has only two weeks (the fixed thresholds);
- the emergency stockpile (应急物资储备) of every county-tier member and township centre: protective equipment,
  disinfectants, test kits, medicines; a few lines below minimum, expired or expiring;
- a staff registry (人员) for the workforce page: twelve doctors and two nurses at every consortium's lead hospital,
  four staff at every township centre, a village doctor at every village clinic, and the lead hospital's attending
  doctors stationed at the township centres for the whole year (派驻), the last township of each consortium only until
  June (so the page shows the rule met and not met);
- an epidemic-response and an emergency-rescue team per consortium (应急队伍) with a leader, a deputy and members
  from its lead hospital and township centres (people of the staff registry);
- prescriptions (处方) of the last days written at village clinics: most dispensed at their township centre or the
  lead hospital, some still waiting to be dispensed (``clinics`` first).

It adds nothing when the database already has surveillance counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from yigongti.core.policy import Policy
from yigongti.demo.quality import seed_quality
from yigongti.enrollment.store import DesignationRow
from yigongti.pharmacy.store import PrescriptionLineRow, PrescriptionRow, StockMoveRow, StockRow
from yigongti.public_health.domain import week_start
from yigongti.public_health.store import StockpileRow, SurveillanceCountRow
from yigongti.registry.domain import Tier
from yigongti.registry.store import ConsortiumRow, InstitutionRow
from yigongti.workforce.store import EmergencyTeamRow, StaffRow, StintRow, TeamMemberRow

__all__ = ["DEMO_STOCKPILE", "seed_readiness"]

SEED = 20_241_001
ACTOR = "system:demo"
WEEKS = 12
# syndrome code -> weekly level at a county fever clinic (a township sentinel sees about a fifth)
LEVELS = {"ili": 18.0, "fever": 25.0, "diarrhoea": 8.0, "rash": 1.0, "jaundice": 0.5}
# item code, name, category, unit, minimum at a county member (a township keeps a fifth)
DEMO_STOCKPILE: tuple[tuple[str, str, str, str, int], ...] = (
    ("PPE-N95", "医用防护口罩（N95）", "防护用品", "只", 2000),
    ("PPE-SUIT", "医用一次性防护服", "防护用品", "套", 500),
    ("PPE-GOG", "护目镜", "防护用品", "副", 200),
    ("PPE-GLV", "医用检查手套", "防护用品", "副", 5000),
    ("DIS-CL", "含氯消毒片", "消杀用品", "瓶", 300),
    ("DIS-ALC", "75%乙醇消毒液", "消杀用品", "瓶", 400),
    ("KIT-FLU", "流感病毒抗原检测试剂", "检测试剂", "人份", 1000),
    ("KIT-NOV", "诺如病毒检测试剂", "检测试剂", "人份", 200),
    ("MED-OSE", "磷酸奥司他韦胶囊", "药品", "盒", 300),
    ("MED-ORS", "口服补液盐散(III)", "药品", "袋", 1000),
    ("EQ-AED", "自动体外除颤器", "急救设备", "台", 2),
    ("EQ-O2", "医用氧气瓶", "急救设备", "瓶", 20),
)
NAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "华")


def seed_readiness(s: Session, *, policy: Policy, now: datetime, clinics: Sequence[str] = ()) -> dict[str, int]:
    """Add the demo surveillance counts, stockpile, teams and prescriptions (the caller commits); what was added."""
    if s.scalar(select(func.count()).select_from(SurveillanceCountRow)):
        return {}
    now = now.replace(second=0, microsecond=0)
    insts = list(s.scalars(select(InstitutionRow).order_by(InstitutionRow.inst_id)))
    if not insts:
        return {}
    rng = np.random.default_rng(SEED)
    staff = _staff(s, now, insts, rng)
    return {"counts": _counts(s, policy, now, insts, rng), "stockpile": _stockpile(s, now, insts, rng),
            "staff": len(staff), "teams": _teams(s, now, insts, staff),
            "prescriptions": _prescriptions(s, now, insts, clinics, rng),
            **seed_quality(s, policy=policy, now=now)}


def _counts(s: Session, policy: Policy, now: datetime, insts: list[InstitutionRow], rng: np.random.Generator) -> int:
    this_week = week_start(now.date())
    sites = [(i.inst_id, "fever_clinic", 1.0) for i in insts if i.tier == Tier.COUNTY.value] + \
        [(i.inst_id, "sentinel", 0.2) for i in insts if i.tier == Tier.TOWNSHIP.value]
    newest = {i.consortium_id: i.inst_id for i in insts if i.tier == Tier.TOWNSHIP.value}
    newest = {v: v for v in newest.values()}
    rows: list[dict[str, object]] = []
    for k, (inst_id, kind, scale) in enumerate(sites):
        level = {code: LEVELS.get(code, 2.0) * scale * float(rng.uniform(0.6, 1.4)) for code in policy.public_health
                 .syndromes}
        weeks = 2 if inst_id in newest else WEEKS  # a consortium's newest sentinel: two weeks (fixed thresholds)
        for w in range(weeks):
            week = this_week - timedelta(weeks=w)
            for code, lam in level.items():
                jump = 3.0 if (k % 7 == 1 and code == "ili" and w <= 1) or (k % 9 == 4 and code == "diarrhoea"
                                                                           and w == 0) else 1.0
                rows.append({"inst_id": inst_id, "site_kind": kind, "syndrome": code, "week": week,
                             "cases": int(rng.poisson(lam * jump)), "recorded_at": now - timedelta(days=7 * w),
                             "recorded_by": ACTOR})
    if rows:
        s.execute(insert(SurveillanceCountRow), rows)
    return len(rows)


def _stockpile(s: Session, now: datetime, insts: list[InstitutionRow], rng: np.random.Generator) -> int:
    today = now.date()
    rows: list[dict[str, object]] = []
    for inst in insts:
        if inst.tier not in (Tier.COUNTY.value, Tier.TOWNSHIP.value):
            continue
        share = 1 if inst.tier == Tier.COUNTY.value else 5
        for code, item, category, unit, minimum in DEMO_STOCKPILE:
            low = max(1, minimum // share)
            r = float(rng.random())
            quantity = int(low * float(rng.uniform(0.3, 0.9))) if r < 0.08 else int(low * float(rng.uniform(1.1, 2.5)))
            expires: date | None = None
            if category in ("药品", "检测试剂", "消杀用品", "防护用品"):
                days = int(rng.integers(-20, 30)) if r > 0.95 else int(rng.integers(120, 900))
                expires = today + timedelta(days=days)
            rows.append({"inst_id": inst.inst_id, "item_code": code, "item_name": item, "category": category,
                         "unit": unit, "batch": f"{today:%Y}{int(rng.integers(1, 99)):02d}", "quantity": quantity,
                         "minimum": low, "expires_on": expires, "updated_at": now - timedelta(days=int(rng.integers(
                             1, 60))), "updated_by": ACTOR})
    if rows:
        s.execute(insert(StockpileRow), rows)
    return len(rows)


def _person(rng: np.random.Generator) -> str:
    return NAMES[int(rng.integers(len(NAMES)))] + GIVEN[int(rng.integers(len(GIVEN)))]


def _staff(s: Session, now: datetime, insts: list[InstitutionRow], rng: np.random.Generator) -> list[StaffRow]:
    """The demo staff registry and the stationing of the lead hospitals' attending doctors (nothing when the registry
    already has people)."""
    if s.scalar(select(func.count()).select_from(StaffRow)):
        return []
    leads = {c: i for c, i in s.execute(select(ConsortiumRow.consortium_id, ConsortiumRow.lead_inst_id))}
    rows: list[StaffRow] = []

    def add(inst: InstitutionRow, title: str, profession: str, department: str) -> StaffRow:
        row = StaffRow(staff_id=f"S{len(rows) + 1:05d}", name=_person(rng), title=title, profession=profession,
                       department=department, employer_id=inst.inst_id, works_at_id=inst.inst_id, updated_at=now)
        rows.append(row)
        return row

    lead_titles = ("senior", "senior", "associate_senior", "associate_senior", "associate_senior", "intermediate",
                   "intermediate", "intermediate", "intermediate", "intermediate", "junior", "junior")
    departments = ("内科", "外科", "感染科", "急诊科", "儿科", "全科")
    for inst in insts:
        if inst.inst_id in leads.values():
            for n, title in enumerate(lead_titles):
                add(inst, title, "doctor", departments[n % len(departments)])
            add(inst, "intermediate", "nurse", "护理部")
            add(inst, "junior", "nurse", "急诊科")
        elif inst.tier == Tier.TOWNSHIP.value:
            add(inst, "intermediate", "doctor", "全科")
            add(inst, "junior", "doctor", "全科")
            add(inst, "junior", "nurse", "护理")
            add(inst, "junior", "pharmacist", "药房")
        elif inst.tier == Tier.VILLAGE.value:
            add(inst, "junior", "doctor", "乡村医生")
    s.add_all(rows)
    s.flush()
    year = now.year
    by_inst: dict[str, list[StaffRow]] = {}
    for r in rows:
        by_inst.setdefault(r.employer_id, []).append(r)
    for consortium_id, lead in leads.items():
        attending = [r for r in by_inst.get(lead or "", []) if r.profession == "doctor" and r.title != "junior"]
        townships = [i for i in insts if i.consortium_id == consortium_id and i.tier == Tier.TOWNSHIP.value]
        for k, t in enumerate(townships):
            if not attending:
                break
            doctor = attending[k % len(attending)]
            end = date(year, 6, 30) if k == len(townships) - 1 else date(year, 12, 31)
            s.add(StintRow(staff_id=doctor.staff_id, to_inst_id=t.inst_id, start_date=date(year, 1, 1),
                           end_date=end, recorded_at=now, recorded_by=ACTOR))
    s.flush()
    return rows


def _teams(s: Session, now: datetime, insts: list[InstitutionRow], staff: list[StaffRow]) -> int:
    by_inst: dict[str, list[StaffRow]] = {}
    for r in staff:
        by_inst.setdefault(r.works_at_id, []).append(r)
    n = 0
    for c in s.scalars(select(ConsortiumRow).order_by(ConsortiumRow.consortium_id)):
        lead = c.lead_inst_id
        townships = [i.inst_id for i in insts if i.consortium_id == c.consortium_id and i.tier == Tier.TOWNSHIP.value]
        doctors = [r for r in by_inst.get(lead or "", []) if r.profession in ("doctor", "nurse")]
        if not lead or len(doctors) < 6:
            continue
        for kind, name, picks in (("epidemic", "传染病防控应急小分队", (0, 3, 2, 6, 12)),
                                  ("rescue", "紧急医学救援队", (1, 4, 3, 7, 13))):
            team = EmergencyTeamRow(consortium_id=c.consortium_id, name=name, kind=kind, base_inst_id=lead,
                                    updated_at=now)
            s.add(team)
            s.flush()
            roster = [(doctors[p], "leader" if k == 0 else "deputy" if k == 1 else "member")
                      for k, p in enumerate(picks) if p < len(doctors)]
            roster += [(by_inst[t][0], "member") for t in townships[:4] if by_inst.get(t)]
            for person, duty in roster:
                s.add(TeamMemberRow(team_id=team.team_id, staff_id=person.staff_id, name=person.name,
                                    title=person.title, inst_id=person.works_at_id, duty=duty,
                                    speciality=person.department, added_at=now))
            n += 1
    s.flush()
    return n


def _prescriptions(s: Session, now: datetime, insts: list[InstitutionRow], clinics: Sequence[str],
                   rng: np.random.Generator) -> int:
    by_id = {i.inst_id: i for i in insts}
    leads = {c: i for c, i in s.execute(select(ConsortiumRow.consortium_id, ConsortiumRow.lead_inst_id))}
    villages = [i for i in insts if i.tier == Tier.VILLAGE.value and i.consortium_id and i.parent_id in by_id]
    first = [v for c in clinics for v in villages if v.inst_id == c]
    villages = first + [v for v in villages if v not in first][:30]
    n = 0
    for v in villages:
        stock = [str(c) for c in s.scalars(select(StockRow.drug_code).where(StockRow.inst_id == v.inst_id)
                                            .order_by(StockRow.drug_code))]
        persons = [str(p) for p in s.scalars(select(DesignationRow.person_id)
                                             .where(DesignationRow.village_id == v.inst_id)
                                             .order_by(DesignationRow.designation_id).limit(40))]
        if not stock or not persons:
            continue
        for k in range(4):
            written = now - timedelta(hours=int(rng.integers(2, 24 * 6)))
            codes = sorted({stock[int(rng.integers(len(stock)))] for _ in range(int(rng.integers(1, 3)))})
            where = [v.parent_id, leads.get(v.consortium_id or "")][k % 2] if k < 3 else None
            rx = PrescriptionRow(person_id=persons[int(rng.integers(len(persons)))],
                                 consortium_id=v.consortium_id or "", written_inst_id=v.inst_id, written_by=ACTOR,
                                 written_at=written, status="written")
            s.add(rx)
            s.flush()
            for line_no, code in enumerate(codes, start=1):
                q = int(rng.integers(1, 4)) * 7
                s.add(PrescriptionLineRow(rx_id=rx.rx_id, line_no=line_no, drug_code=code, quantity=q))
                if where is not None:
                    took = s.execute(update(StockRow).where(StockRow.inst_id == where, StockRow.drug_code == code,
                                                            StockRow.on_hand >= q)
                                     .values(on_hand=StockRow.on_hand - q))
                    if took.rowcount:  # type: ignore[attr-defined]
                        s.add(StockMoveRow(inst_id=where, drug_code=code, kind="issue", quantity=q,
                                           at=written + timedelta(hours=1), actor=ACTOR))
                    else:
                        where = None
            if where is not None:
                rx.status, rx.dispensed_inst_id, rx.dispensed_by = "dispensed", where, ACTOR
                rx.dispensed_at = written + timedelta(hours=1)
            n += 1
    s.flush()
    return n
