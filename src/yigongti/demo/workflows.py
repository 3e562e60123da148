"""Demo data of the workflows (示例业务数据): infectious-disease report cards and the consortium's pharmacy, written
into the database of the demo county so that the pages have something to show.

``seed_workflows(session, policy=..., now=...)`` adds, deterministically (a fixed random seed; the same database and
``now`` give the same rows):

- report cards (传染病报告卡) of the year before ``now``: about 15 per 1,000 persons a year (at least 300), mostly
  Class B (viral hepatitis, tuberculosis, syphilis, pertussis...) and Class C (influenza, hand-foot-and-mouth disease,
  infectious diarrhoea, mumps), no Class A; each diagnosed at the person's village, township centre or the
  consortium's lead hospital by disease; about 92% reported on time, some late, a few missed or voided (some
  township centres worse than others); a handful diagnosed in the last day and a half still pending (due soon or
  overdue: the alert list); some with a second diagnosis joined to the same card;
- food-borne case reports (食源性疾病病例报告): about 1.5 per 1,000 persons a year (at least 30), most on time;
- the drug catalogue (统一药品目录: 35 common drugs, the codes illustrative, in the shape of the national insurance
  drug codes), stock at every member (a receipt eight weeks ago and weekly issues since, so that a few drugs are
  on the stock-out alert list), and shortages of village clinics in every state (registered, dispatched by the lead
  county hospital, delivered, cancelled), ``clinics`` first.

It adds nothing when the database already has report cards or drugs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from yigongti.core.policy import Policy
from yigongti.enrollment.store import DesignationRow, PersonRow
from yigongti.pharmacy.domain import ShortageStatus
from yigongti.pharmacy.store import DrugRow, ShortageRow, StockMoveRow, StockRow
from yigongti.public_health.domain import CardStatus, ClusterCase, deadline_of, find_clusters, normalize_icd, place_key
from yigongti.public_health.engine import load_catalogue, load_foodborne
from yigongti.public_health.store import CardRow, ClusterReportRow, DiagnosisRow, FoodborneCardRow
from yigongti.registry.domain import Tier
from yigongti.registry.store import ConsortiumRow, InstitutionRow

__all__ = ["DEMO_DISEASES", "DEMO_DRUGS", "SEED", "Seeded", "seed_workflows"]

SEED = 20_240_519
ACTOR = "system:demo"

# disease code, ICD-10 of the diagnosis, relative weight, where it is diagnosed (county, township, village shares)
DEMO_DISEASES: tuple[tuple[str, str, float, tuple[float, float, float]], ...] = (
    ("viral_hepatitis", "B18.1", 14.0, (0.75, 0.25, 0.0)),
    ("tuberculosis", "A15.0", 9.0, (0.9, 0.1, 0.0)),
    ("syphilis", "A53.9", 8.0, (0.8, 0.2, 0.0)),
    ("pertussis", "A37.9", 4.0, (0.6, 0.4, 0.0)),
    ("covid19", "U07.1", 4.0, (0.5, 0.5, 0.0)),
    ("gonorrhoea", "A54.9", 2.0, (0.8, 0.2, 0.0)),
    ("scarlet_fever", "A38", 1.5, (0.5, 0.5, 0.0)),
    ("brucellosis", "A23.9", 1.0, (0.9, 0.1, 0.0)),
    ("hiv", "B24", 0.8, (1.0, 0.0, 0.0)),
    ("dysentery", "A03.9", 0.7, (0.5, 0.5, 0.0)),
    ("influenza", "J11.1", 35.0, (0.3, 0.6, 0.1)),
    ("hfmd", "B08.4", 9.0, (0.4, 0.55, 0.05)),
    ("infectious_diarrhoea", "A09", 8.0, (0.3, 0.6, 0.1)),
    ("mumps", "B26.9", 2.5, (0.4, 0.55, 0.05)),
    ("haemorrhagic_conjunctivitis", "B30.3", 0.5, (0.5, 0.5, 0.0)),
)

# generic name, dosage form, strength, unit, essential medicine, ATC group (the code's second part), at villages
DEMO_DRUGS: tuple[tuple[str, str, str, str, bool, str, bool], ...] = (
    ("阿莫西林胶囊", "胶囊剂", "0.25g", "粒", True, "J01CA", True),
    ("头孢呋辛酯片", "片剂", "0.25g", "片", True, "J01DC", True),
    ("左氧氟沙星片", "片剂", "0.5g", "片", True, "J01MA", False),
    ("阿奇霉素片", "片剂", "0.25g", "片", True, "J01FA", True),
    ("注射用头孢曲松钠", "注射剂", "1.0g", "支", True, "J01DD", False),
    ("盐酸二甲双胍片", "片剂", "0.5g", "片", True, "A10BA", True),
    ("格列美脲片", "片剂", "2mg", "片", True, "A10BB", True),
    ("精蛋白生物合成人胰岛素注射液", "注射剂", "3ml:300IU", "支", True, "A10AC", False),
    ("达格列净片", "片剂", "10mg", "片", False, "A10BK", False),
    ("苯磺酸氨氯地平片", "片剂", "5mg", "片", True, "C08CA", True),
    ("硝苯地平缓释片", "缓释片", "20mg", "片", True, "C08CA", True),
    ("卡托普利片", "片剂", "25mg", "片", True, "C09AA", True),
    ("缬沙坦胶囊", "胶囊剂", "80mg", "粒", True, "C09CA", True),
    ("氢氯噻嗪片", "片剂", "25mg", "片", True, "C03AA", True),
    ("酒石酸美托洛尔片", "片剂", "25mg", "片", True, "C07AB", True),
    ("阿托伐他汀钙片", "片剂", "20mg", "片", True, "C10AA", True),
    ("瑞舒伐他汀钙片", "片剂", "10mg", "片", False, "C10AA", False),
    ("阿司匹林肠溶片", "肠溶片", "100mg", "片", True, "B01AC", True),
    ("硫酸氢氯吡格雷片", "片剂", "75mg", "片", True, "B01AC", False),
    ("奥美拉唑肠溶胶囊", "肠溶胶囊", "20mg", "粒", True, "A02BC", True),
    ("布洛芬缓释胶囊", "缓释胶囊", "0.3g", "粒", True, "M01AE", True),
    ("对乙酰氨基酚片", "片剂", "0.5g", "片", True, "N02BE", True),
    ("氯雷他定片", "片剂", "10mg", "片", True, "R06AX", True),
    ("硫酸沙丁胺醇吸入气雾剂", "气雾剂", "100μg/揿", "支", True, "R03AC", False),
    ("复方甘草片", "片剂", "复方", "片", True, "R05CA", True),
    ("蒙脱石散", "散剂", "3g", "袋", True, "A07BC", True),
    ("口服补液盐散(III)", "散剂", "5.125g", "袋", True, "A07CA", True),
    ("0.9%氯化钠注射液", "注射剂", "250ml:2.25g", "袋", True, "B05XA", False),
    ("5%葡萄糖注射液", "注射剂", "250ml:12.5g", "袋", True, "B05BA", False),
    ("利福平胶囊", "胶囊剂", "0.15g", "粒", True, "J04AB", False),
    ("异烟肼片", "片剂", "0.1g", "片", True, "J04AC", False),
    ("磷酸奥司他韦胶囊", "胶囊剂", "75mg", "粒", True, "J05AH", False),
    ("恩替卡韦片", "片剂", "0.5mg", "片", True, "J05AF", False),
    ("连花清瘟胶囊", "胶囊剂", "0.35g", "粒", False, "R05XA", True),
    ("甲钴胺片", "片剂", "0.5mg", "片", False, "B03BA", False),
)


def _drug_code(i: int, atc: str) -> str:
    """A code in the shape of the national insurance drug code (国家医保药品编码: X + ATC group + ...), illustrative."""
    return f"X{atc}A{i + 1:03d}A00101{i + 1:05d}"


@dataclass(frozen=True)
class Seeded:
    """What the seed added."""

    cards: int = 0
    foodborne: int = 0
    clusters: int = 0
    drugs: int = 0
    stock_lines: int = 0
    shortages: int = 0


def _hours_after(at: datetime, hours: float) -> datetime:
    return at + timedelta(minutes=int(hours * 60))


def seed_workflows(s: Session, *, policy: Policy, now: datetime, clinics: Sequence[str] = ()) -> Seeded:
    """Add the demo report cards and pharmacy to the database of ``s`` (the caller commits); nothing when either is
    already there."""
    if s.scalar(select(func.count()).select_from(CardRow)) or s.scalar(select(func.count()).select_from(DrugRow)):
        return Seeded()
    now = now.replace(second=0, microsecond=0)
    insts = list(s.scalars(select(InstitutionRow).order_by(InstitutionRow.inst_id)))
    if not insts:
        return Seeded()
    cards = _seed_cards(s, policy, now, insts)
    foodborne = _seed_foodborne(s, now)
    clusters, in_clusters = _seed_clusters(s, policy, now)
    drugs, lines, shortages = _seed_pharmacy(s, now, insts, clinics)
    return Seeded(cards, foodborne + in_clusters, clusters, drugs, lines, shortages)


def _seed_cards(s: Session, policy: Policy, now: datetime, insts: list[InstitutionRow]) -> int:
    rng = np.random.default_rng(SEED)
    persons = list(s.scalars(select(PersonRow.person_id).order_by(PersonRow.person_id)))
    if not persons:
        return 0
    catalogue = load_catalogue(policy.public_health)
    ph = policy.public_health
    year = max(s.scalar(select(func.max(DesignationRow.year))) or now.year, 0)
    where = {p: (c, t, v) for p, c, t, v in s.execute(
        select(DesignationRow.person_id, DesignationRow.consortium_id, DesignationRow.township_id,
               DesignationRow.village_id).where(DesignationRow.year == year))}
    lead = {c: i for c, i in s.execute(select(ConsortiumRow.consortium_id, ConsortiumRow.lead_inst_id))}
    by_tier = {t.value: [i.inst_id for i in insts if i.tier == t.value] for t in Tier}
    known = {i.inst_id for i in insts}
    # some township centres report worse than others (a late-and-missed multiplier per institution)
    laxity = {i.inst_id: float(rng.choice([0.5, 1.0, 1.0, 1.0, 2.0, 4.0])) for i in insts}

    n = max(300, round(len(persons) * 15 / 1000))
    weights = np.array([w for _, _, w, _ in DEMO_DISEASES])
    picks = rng.choice(len(DEMO_DISEASES), size=n, p=weights / weights.sum())
    who = rng.choice(len(persons), size=n)
    span_minutes = 362 * 24 * 60
    recent = 8  # the last ones: diagnosed within the last 36 hours, still pending
    cards: list[tuple[CardRow, list[tuple[str, datetime]]]] = []
    seen: dict[tuple[str, str], list[datetime]] = {}
    for k in range(n):
        code, icd, _, shares = DEMO_DISEASES[int(picks[k])]
        disease = catalogue.get(code)
        if disease is None or catalogue.match(icd) is not disease:
            continue
        if k >= n - recent:
            at = now - timedelta(minutes=int(rng.integers(20, 36 * 60)))
        else:
            at = now - timedelta(days=3) - timedelta(minutes=int(rng.integers(0, span_minutes)))
        at = at.replace(hour=8 + at.hour % 12)  # seen in the daytime
        if at > now:
            at -= timedelta(days=1)
        person = ""
        for j in range(len(persons)):  # another card of the person and disease only outside the episode window
            candidate = persons[(int(who[k]) + j * 7919) % len(persons)]
            if all(abs((at - other).days) > 2 * ph.episode_days + 21 for other in seen.get((candidate, code), [])):
                person = candidate
                break
        if not person:
            continue
        seen.setdefault((person, code), []).append(at)
        cons, township, village = where.get(person, ("", "", ""))
        tier = ("county", "township", "village")[int(rng.choice(3, p=np.array(shares) / sum(shares)))]
        inst = {"county": lead.get(cons, ""), "township": township, "village": village}[tier]
        if inst not in known:
            pool = by_tier.get(tier) or by_tier.get(Tier.COUNTY.value) or [insts[0].inst_id]
            inst = pool[int(rng.integers(len(pool)))]
        deadline = deadline_of(disease, at, class_a_hours=ph.class_a_hours, other_hours=ph.other_hours)
        allowed = (deadline - at).total_seconds() / 3600
        lax = laxity[inst]
        r = float(rng.random())
        submitted_at: datetime | None = None
        status, reason = CardStatus.SUBMITTED.value, None
        if k >= n - recent:
            status = CardStatus.PENDING.value
        elif r < 0.012 * lax:
            status = CardStatus.PENDING.value  # missed: never reported
        elif r < 0.012 * lax + 0.015:
            status, reason = CardStatus.VOIDED.value, "复核后排除诊断 / diagnosis revised on review"
        elif r < 0.012 * lax + 0.015 + 0.04 * lax:
            submitted_at = _hours_after(deadline, float(rng.uniform(0.5, 96)))  # late
        else:
            submitted_at = _hours_after(at, float(rng.uniform(0.05, 0.95)) * allowed)
        joined = status != CardStatus.VOIDED.value and k < n - recent and rng.random() < 0.08
        latest = _hours_after(at, float(rng.uniform(24, 24 * 20))) if joined else at
        if joined:
            latest = max(min(latest, now - timedelta(hours=1)), at)
        card = CardRow(person_id=person, inst_id=inst, disease_code=code, disease_class=disease.cls.value,
                       icd10=normalize_icd(icd), diagnosed_at=at, latest_at=latest, deadline=deadline,
                       diagnoses=2 if joined else 1, status=status, created_at=at, created_by=ACTOR,
                       submitted_at=submitted_at, submitted_by=ACTOR if submitted_at or reason else None,
                       void_reason=reason)
        second = lead.get(cons, "") if lead.get(cons, "") in known else inst
        cards.append((card, [(inst, at)] + ([(second, latest)] if joined else [])))
    s.add_all([c for c, _ in cards])
    s.flush()  # the cards' ids (autoincrement: a sequence on PostgreSQL)
    s.execute(insert(DiagnosisRow), [
        {"card_id": c.card_id, "person_id": c.person_id, "inst_id": i, "icd10": c.icd10, "at": when,
         "source_id": None, "recorded_at": when, "recorded_by": ACTOR} for c, ds in cards for i, when in ds])
    return len(cards)


# food-borne case code, ICD-10 of the diagnosis, relative weight
DEMO_FOODBORNE: tuple[tuple[str, str, float], ...] = (
    ("bacterial_intestinal", "A04.9", 30.0), ("viral_gastroenteritis", "A08.1", 25.0),
    ("bacterial_intoxication", "A05.9", 15.0), ("salmonellosis", "A02.0", 10.0),
    ("mushroom_poisoning", "T62.0", 12.0), ("noxious_food", "T62.9", 4.0), ("seafood_poisoning", "T61.2", 4.0),
)


def _seed_foodborne(s: Session, now: datetime) -> int:
    """About 1.5 food-borne case reports per 1,000 persons a year (at least 30), at the township centres and county
    hospitals; most reported on time, some late, a few missed; three of the last day still pending."""
    rng = np.random.default_rng(SEED + 2)
    cases = load_foodborne()
    persons = list(s.scalars(select(PersonRow.person_id).order_by(PersonRow.person_id)))
    insts = list(s.scalars(select(InstitutionRow.inst_id).where(InstitutionRow.tier.in_(
        [Tier.COUNTY.value, Tier.TOWNSHIP.value])).order_by(InstitutionRow.inst_id)))
    if not persons or not insts:
        return 0
    n = max(30, round(len(persons) * 1.5 / 1000))
    weights = np.array([w for _, _, w in DEMO_FOODBORNE])
    rows = []
    for k in range(n):
        code, icd, _ = DEMO_FOODBORNE[int(rng.choice(len(DEMO_FOODBORNE), p=weights / weights.sum()))]
        if cases.get(code) is None or cases.match(icd) is not cases.get(code):
            continue
        recent = k >= n - 3
        at = now - timedelta(minutes=int(rng.integers(30, 20 * 60) if recent else rng.integers(4 * 1440, 362 * 1440)))
        deadline = cases.deadline(at)
        r = float(rng.random())
        status, submitted = CardStatus.SUBMITTED.value, None
        if recent or r < 0.03:
            status = CardStatus.PENDING.value
        elif r < 0.11:
            submitted = _hours_after(deadline, float(rng.uniform(1, 72)))
        else:
            submitted = _hours_after(at, float(rng.uniform(0.05, 0.95)) * cases.report_hours)
        rows.append(FoodborneCardRow(person_id=persons[int(rng.integers(len(persons)))],
                                     inst_id=insts[int(rng.integers(len(insts)))], case_code=code,
                                     icd10=normalize_icd(icd), diagnosed_at=at, deadline=deadline, status=status,
                                     created_at=at, created_by=ACTOR, submitted_at=submitted,
                                     submitted_by=ACTOR if submitted else None))
    s.add_all(rows)
    s.flush()
    return len(rows)


# 聚集性病例: (place of eating, suspected food, case code, ICD-10, hours before now of the first onset, onsets (hours
# after the first), hours from onset to diagnosis, reported: hours after forming the cluster was reported, or None)
DEMO_CLUSTERS: tuple[tuple[str, str, str, str, float, tuple[float, ...], tuple[float, ...], float | None], ...] = (
    ("和平村王家婚宴", "凉拌卤肉、凉菜", "bacterial_intoxication", "A05.9", 24 * 97 + 6,
     (0, 1.5, 2, 3, 4.5, 7), (5, 3, 9, 6, 20, 30), 1.2),
    ("县第二中学学生食堂", "午餐炒饭", "viral_gastroenteritis", "A08.1", 14,
     (0, 2.5, 5), (12.2, 11.0, 8.5), None),
)


def _seed_clusters(s: Session, policy: Policy, now: datetime) -> tuple[int, int]:
    """Two food-borne clusters (聚集性病例): a wedding banquet three months ago (six cases at members across the
    county, the cluster reported on time) and a school canteen today (three cases in the last hours, the cluster
    not yet reported: due soon); their cases' reports as usual. (clusters, cases)."""
    rng = np.random.default_rng(SEED + 3)
    cases = load_foodborne()
    ph = policy.public_health
    persons = list(s.scalars(select(PersonRow.person_id).order_by(PersonRow.person_id)))
    insts = list(s.scalars(select(InstitutionRow.inst_id).where(InstitutionRow.tier.in_(
        [Tier.COUNTY.value, Tier.TOWNSHIP.value])).order_by(InstitutionRow.inst_id)))
    if not persons or not insts:
        return 0, 0
    reports = n = 0
    for place, food, code, icd, first, onsets, to_dx, reported in DEMO_CLUSTERS:
        if cases.get(code) is None or cases.match(icd) is not cases.get(code):
            continue
        start = now - timedelta(minutes=int(first * 60))
        home = int(rng.integers(len(insts)))
        rows = []
        for j, (o, d) in enumerate(zip(onsets, to_dx, strict=True)):
            onset = _hours_after(start, o)
            at = min(_hours_after(onset, d), now - timedelta(minutes=5))
            old = reported is not None
            rows.append(FoodborneCardRow(
                person_id=persons[int(rng.integers(len(persons)))],
                inst_id=insts[(home + (j % 3 == 2)) % len(insts)], case_code=code, icd10=normalize_icd(icd),
                diagnosed_at=at, deadline=cases.deadline(at),
                status=CardStatus.SUBMITTED.value if old else CardStatus.PENDING.value, created_at=at,
                created_by=ACTOR, submitted_at=_hours_after(at, 3) if old else None,
                submitted_by=ACTOR if old else None, onset_at=onset, exposure_place=place, suspected_food=food))
        s.add_all(rows)
        s.flush()
        n += len(rows)
        found = find_clusters([ClusterCase(r.card_id, place_key(place), r.onset_at or r.diagnosed_at,
                                           r.diagnosed_at) for r in rows],
                              min_cases=ph.foodborne_cluster_min_cases,
                              window_hours=ph.foodborne_cluster_window_hours,
                              report_hours=ph.foodborne_cluster_report_hours)
        for cl in found:
            reports += 1
            if reported is not None:
                s.add(ClusterReportRow(place_key=cl.place, first_case_id=cl.cluster_id,
                                       case_ids=",".join(str(i) for i in cl.case_ids), cases=len(cl.case_ids),
                                       first_at=cl.first_at, deadline=cl.deadline,
                                       submitted_at=_hours_after(cl.formed_at, reported), submitted_by=ACTOR))
    s.flush()
    return reports, n


def _seed_pharmacy(s: Session, now: datetime, insts: list[InstitutionRow],
                   clinics: Sequence[str]) -> tuple[int, int, int]:
    rng = np.random.default_rng(SEED + 1)
    drugs = [{"drug_code": _drug_code(i, atc), "generic_name": g, "form": f, "strength": st, "unit": u,
              "essential": e} for i, (g, f, st, u, e, atc, _) in enumerate(DEMO_DRUGS)]
    s.execute(insert(DrugRow), drugs)
    at_village = {_drug_code(i, d[5]) for i, d in enumerate(DEMO_DRUGS) if d[6]}
    stock: list[dict[str, object]] = []
    moves: list[dict[str, object]] = []
    received = now - timedelta(weeks=8)
    scale = {Tier.COUNTY.value: 120.0, Tier.TOWNSHIP.value: 20.0, Tier.VILLAGE.value: 2.0}
    for inst in insts:
        if inst.tier not in scale:
            continue
        low_share = 0.0 if inst.tier == Tier.COUNTY.value else 0.05
        for d in drugs:
            code = str(d["drug_code"])
            if inst.tier == Tier.VILLAGE.value and code not in at_village:
                continue
            weekly = max(1, int(rng.gamma(2.0, scale[inst.tier] * 3)))
            days = float(rng.uniform(2, 12)) if rng.random() < low_share else float(rng.uniform(25, 120))
            on_hand = int(weekly / 7 * days)
            stock.append({"inst_id": inst.inst_id, "drug_code": code, "on_hand": on_hand})
            moves.append({"inst_id": inst.inst_id, "drug_code": code, "kind": "receipt",
                          "quantity": on_hand + 4 * weekly, "at": received, "actor": ACTOR, "shortage_id": None})
            for w in range(4):
                moves.append({"inst_id": inst.inst_id, "drug_code": code, "kind": "issue", "quantity": weekly,
                              "at": now - timedelta(days=7 * w + 3), "actor": ACTOR, "shortage_id": None})
    if stock:
        s.execute(insert(StockRow), stock)
        s.execute(insert(StockMoveRow), moves)
    return len(drugs), len(stock), _seed_shortages(s, now, insts, drugs, at_village, clinics, rng)


def _seed_shortages(s: Session, now: datetime, insts: list[InstitutionRow], drugs: list[dict[str, object]],
                    at_village: set[str], clinics: Sequence[str], rng: np.random.Generator) -> int:
    leads = {c: i for c, i in s.execute(select(ConsortiumRow.consortium_id, ConsortiumRow.lead_inst_id))}
    lead_tier = {i.inst_id: i.tier for i in insts}
    villages = [i for i in insts if i.tier == Tier.VILLAGE.value and i.consortium_id
                and lead_tier.get(leads.get(i.consortium_id, "")) == Tier.COUNTY.value]
    first = [v for c in clinics for v in villages if v.inst_id == c]
    villages = first + [v for v in villages if v not in first]
    codes = sorted(at_village)
    states = (ShortageStatus.DELIVERED, ShortageStatus.DISPATCHED, ShortageStatus.REGISTERED,
              ShortageStatus.DELIVERED, ShortageStatus.CANCELLED, ShortageStatus.REGISTERED,
              ShortageStatus.DISPATCHED, ShortageStatus.DELIVERED)
    n = 0
    for k, (village, state) in enumerate(zip(villages, states, strict=False)):
        code = codes[int(rng.integers(len(codes)))]
        quantity = int(rng.integers(2, 20)) * 10
        registered = now - timedelta(days=int(rng.integers(1, 10)), hours=int(rng.integers(0, 8)))
        dispatched = registered + timedelta(hours=int(rng.integers(3, 30))) \
            if state in (ShortageStatus.DISPATCHED, ShortageStatus.DELIVERED) else None
        delivered = dispatched + timedelta(hours=int(rng.integers(2, 20))) \
            if dispatched is not None and state is ShortageStatus.DELIVERED else None
        src = leads.get(village.consortium_id or "") if dispatched is not None else None
        row = ShortageRow(inst_id=village.inst_id, drug_code=code, quantity=quantity, status=state.value,
                          note="库存将尽，请中心药房配送 / running out" if k % 2 == 0 else None,
                          registered_at=registered, registered_by=ACTOR, from_inst_id=src,
                          tracking=f"PS{now:%Y%m}{k + 1:04d}" if dispatched is not None else None,
                          dispatched_at=dispatched, delivered_at=delivered,
                          updated_at=delivered or dispatched or registered)
        s.add(row)
        s.flush()
        if src is not None and dispatched is not None:
            s.execute(update(StockRow).where(StockRow.inst_id == src, StockRow.drug_code == code,
                                             StockRow.on_hand >= quantity)
                      .values(on_hand=StockRow.on_hand - quantity))
            s.add(StockMoveRow(inst_id=src, drug_code=code, kind="dispatch", quantity=quantity, at=dispatched,
                               actor=ACTOR, shortage_id=row.shortage_id))
        if delivered is not None:
            s.execute(update(StockRow).where(StockRow.inst_id == village.inst_id, StockRow.drug_code == code)
                      .values(on_hand=StockRow.on_hand + quantity))
            s.add(StockMoveRow(inst_id=village.inst_id, drug_code=code, kind="delivery", quantity=quantity,
                               at=delivered, actor=ACTOR, shortage_id=row.shortage_id))
        n += 1
    s.flush()
    return n
