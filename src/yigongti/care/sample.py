"""Demo family-doctor, chronic-disease and key-population data (家庭医生、慢病与重点人群演示数据) for a loaded
county, deterministic.

``seed_demo_care(session, today=..., policy=..., seed=1)`` fills the care tables of a database that holds persons,
institutions and designations (the demo county ``yigongti serve`` loads, or any data folder) and whose care tables
are empty; the same database, ``today`` and seed give the same rows.

* a family-doctor team per village clinic and township centre (a GP per about 600 contracted residents, a nurse, the
  township's public-health doctor, a specialist of the consortium's lead county hospital);
* yearly contracts with the residents designated there, active ``today``: 85% of people aged 65+, 80% of chronic
  patients, 70% of children 0-6, 35% of the others (capped at the policy's panel cap);
* prevalence among adults (18+) rising with age: hypertension about 25%, type 2 diabetes about 12% (China's adult
  figures: 27.5% and 11-12%); registered (建档) lower than prevalent: 65% and 60% of them, on a date in the last
  six years at the designated institution;
* follow-ups from January of last year to ``today`` for the registered: 62% about every 3 months, 20% about every 5
  months, 10% stopped 12 to 20 months ago (lost to follow-up), 8% registered at a screening in the last 2 months;
  readings around each patient's own level (about half controlled), the medicines they take, the next date
  (3 months ahead when controlled, 2-4 weeks when not, as the national norm asks).

``seed_demo_keypops(session, today=..., policy=..., seed=1)`` then fills the key-population registers and services
(重点人群; empty tables only):

* registers: about 1.2% of women aged 18-45 pregnant in the last 10 months (delivered after 39-40 weeks when that
  is past), about 0.12% of people aged 15+ on a tuberculosis treatment begun in the last 9 months, about 0.45% of
  adults with a severe mental disorder registered in the last 5 years;
* services in the windows of the schedules since January of last year, at the person's designated institution:
  done for about 70% of the elderly's yearly checks, 85% of the child visits, 80% of the prenatal visits, 90% of
  the tuberculosis and 80% of the mental follow-ups (an open window less often, as part of it has yet to come).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from yigongti.care.domain import Control, Disease, Reading, TeamRole, add_months, contract_end, control_status
from yigongti.care.schedules import REGISTERED, person_slots
from yigongti.care.store import (
    ContractRow,
    FollowupRow,
    KeyRegisterRow,
    KeyServiceRow,
    RegistryRow,
    TeamMemberRow,
    TeamRow,
)
from yigongti.core.policy import CarePolicy
from yigongti.enrollment.store import DesignationRow, PersonRow
from yigongti.registry.store import ConsortiumRow, InstitutionRow

__all__ = ["DemoCare", "DemoKeyPops", "link_doctor", "p_diabetes", "p_hypertension", "seed_demo_care",
           "seed_demo_keypops"]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ("建国", "秀英", "志强", "丽华", "国庆", "桂兰", "海燕", "明", "静", "伟", "芳", "军", "敏", "勇", "霞", "超",
         "红梅", "春生", "玉兰", "文斌")
HT_MEDICINES = ("氨氯地平片 5mg 每日1次", "缬沙坦胶囊 80mg 每日1次", "硝苯地平缓释片 20mg 每日2次",
                "厄贝沙坦片 150mg 每日1次", "氢氯噻嗪片 12.5mg 每日1次")
DM_MEDICINES = ("二甲双胍片 0.5g 每日3次", "格列美脲片 2mg 每日1次", "阿卡波糖片 50mg 每日3次",
                "二甲双胍缓释片 0.5g 每日2次")
PANEL_TARGET = 600  # contracted residents per GP when the demo staffs a team
ACTOR = "demo"


@dataclass(frozen=True)
class DemoCare:
    """What was written."""

    teams: int
    gps: int
    contracts: int
    adults: int
    hypertension: int  # prevalent (not all registered)
    diabetes: int
    registered: int  # registry entries
    followups: int


def _name(rng: np.random.Generator) -> str:
    return str(SURNAMES[int(rng.integers(len(SURNAMES)))]) + GIVEN[int(rng.integers(len(GIVEN)))]


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def p_hypertension(age: int) -> float:
    """Adult hypertension prevalence by age (China Hypertension Survey 2012-2015 shape; about 25% overall)."""
    if age < 18:
        return 0.0
    return min(0.55, 0.03 + 0.0083 * max(0, age - 25))


def p_diabetes(age: int) -> float:
    """Adult diabetes prevalence by age (about 12% overall)."""
    if age < 18:
        return 0.0
    return min(0.23, 0.017 + 0.0039 * max(0, age - 25))


def _designated(session: Session, today: date) -> dict[str, tuple[str, date]]:
    """person_id -> (the designated village clinic, else township centre, of the latest year up to next year;
    birth date)."""
    rows = session.execute(
        select(DesignationRow.person_id, DesignationRow.year, DesignationRow.township_id, DesignationRow.village_id,
               PersonRow.birth_date)
        .join(PersonRow, PersonRow.person_id == DesignationRow.person_id)
        .where(DesignationRow.year <= today.year + 1)
        .order_by(DesignationRow.person_id, DesignationRow.year))
    out: dict[str, tuple[str, date]] = {}
    for pid, _year, township, village, birth in rows:
        out[pid] = (village or township, birth)
    return out


def seed_demo_care(session: Session, *, today: date, policy: CarePolicy, seed: int = 1) -> DemoCare | None:
    """Fill the empty care tables (see the module's docstring); None when teams exist already (nothing written).
    The caller commits."""
    if session.scalar(select(func.count()).select_from(TeamRow)):
        return None
    rng = np.random.default_rng([seed, today.toordinal(), 18])
    now = datetime.combine(today, time(8, 0))
    insts = {i.inst_id: i for i in session.scalars(select(InstitutionRow).order_by(InstitutionRow.inst_id))}
    leads = {c.consortium_id: c.lead_inst_id for c in session.scalars(select(ConsortiumRow))}
    home = _designated(session, today)
    by_inst: dict[str, list[str]] = {}
    for pid in sorted(home):
        by_inst.setdefault(home[pid][0], []).append(pid)

    # prevalence, registration
    pids = sorted(home)
    ages = np.array([_age(home[p][1], today) for p in pids], dtype=np.int64)
    u_ht, u_dm = rng.random(len(pids)), rng.random(len(pids))
    ht = u_ht < np.array([p_hypertension(int(a)) for a in ages])
    dm = u_dm < np.array([p_diabetes(int(a)) for a in ages])
    reg_ht = ht & (rng.random(len(pids)) < 0.65)
    reg_dm = dm & (rng.random(len(pids)) < 0.60)
    chronic = reg_ht | reg_dm | ht | dm
    p_contract = np.where(ages >= 65, 0.85, np.where(chronic, 0.80, np.where(ages <= 6, 0.70, 0.35)))
    contracted = rng.random(len(pids)) < p_contract
    index = {p: i for i, p in enumerate(pids)}

    teams = gps = n_contracts = 0
    contract_rows: list[dict[str, object]] = []
    for inst_id in sorted(i for i, r in insts.items() if r.tier in ("village", "township") and r.consortium_id):
        inst = insts[inst_id]
        members = [p for p in by_inst.get(inst_id, []) if contracted[index[p]]]
        team = TeamRow(inst_id=inst_id, name=f"{inst.name}家庭医生团队", created_at=now, created_by=ACTOR)
        session.add(team)
        session.flush()
        teams += 1
        n_gp = max(1, math.ceil(len(members) / PANEL_TARGET))
        gp_ids = []
        for _ in range(n_gp):
            gp = TeamMemberRow(team_id=team.team_id, role=TeamRole.GP.value, name=_name(rng) + "医生",
                               inst_id=inst_id)
            session.add(gp)
            session.flush()
            gp_ids.append(gp.member_id)
        gps += n_gp
        public_health_at = inst.parent_id if inst.tier == "village" and inst.parent_id in insts else inst_id
        extra = [TeamMemberRow(team_id=team.team_id, role=TeamRole.NURSE.value, name=_name(rng) + "护士",
                               inst_id=inst_id),
                 TeamMemberRow(team_id=team.team_id, role=TeamRole.PUBLIC_HEALTH.value, name=_name(rng) + "医生",
                               inst_id=public_health_at)]
        lead = leads.get(inst.consortium_id or "")
        if lead in insts:
            extra.append(TeamMemberRow(team_id=team.team_id, role=TeamRole.SPECIALIST.value,
                                       name=_name(rng) + "主任", inst_id=lead))
        session.add_all(extra)
        for k, pid in enumerate(members):
            gp_id = gp_ids[k % n_gp]
            if k // n_gp >= policy.panel_cap:
                break
            start = today - timedelta(days=int(rng.integers(0, 365)))
            contract_rows.append({"person_id": pid, "team_id": team.team_id, "gp_member_id": gp_id,
                                  "start_date": start, "end_date": contract_end(start, policy), "household_id": None,
                                  "pregnant": False, "conditions": "", "signed_at": datetime.combine(start, time(9)),
                                  "signed_by": ACTOR})
        n_contracts += min(len(members), policy.panel_cap * n_gp)
    if contract_rows:
        session.execute(insert(ContractRow), contract_rows)

    registry_rows: list[dict[str, object]] = []
    followup_rows: list[dict[str, object]] = []
    start_of_data = date(today.year - 1, 1, 1)
    for i, pid in enumerate(pids):
        inst_id = home[pid][0]
        if inst_id not in insts:
            continue
        for disease, registered in ((Disease.HYPERTENSION, reg_ht[i]), (Disease.DIABETES, reg_dm[i])):
            if not registered:
                continue
            kind = rng.choice(4, p=[0.62, 0.20, 0.10, 0.08])
            if kind == 3:  # registered at a screening follow-up in the last 2 months
                on = today - timedelta(days=int(rng.integers(1, 61)))
                source = "screening"
            else:
                on = today - timedelta(days=int(rng.integers(60, 6 * 365)))
                source = "manual"
            registry_rows.append({"person_id": pid, "disease": disease.value, "registered_on": on,
                                  "inst_id": inst_id, "source": source, "claim_id": None, "created_at": now})
            followup_rows += _followups(rng, pid, inst_id, disease, int(kind), on, max(on, start_of_data), today,
                                        policy)
    if registry_rows:
        session.execute(insert(RegistryRow), registry_rows)
    if followup_rows:
        session.execute(insert(FollowupRow), followup_rows)
    session.flush()
    return DemoCare(teams=teams, gps=gps, contracts=n_contracts, adults=int((ages >= 18).sum()),
                    hypertension=int(ht.sum()), diabetes=int(dm.sum()), registered=len(registry_rows),
                    followups=len(followup_rows))


def _followups(rng: np.random.Generator, pid: str, inst_id: str, disease: Disease, kind: int, registered_on: date,
               first: date, today: date, policy: CarePolicy) -> list[dict[str, object]]:
    """One patient's follow-ups, newest first drawn backwards from the last one (see the module's docstring)."""
    if kind == 0:
        interval, jitter = 91, 12
        last = today - timedelta(days=int(rng.integers(0, 100)))
    elif kind == 1:
        interval, jitter = 150, 35
        last = today - timedelta(days=int(rng.integers(0, 200)))
    elif kind == 2:
        interval, jitter = 91, 15
        last = add_months(today, -12) - timedelta(days=int(rng.integers(1, 240)))
    else:
        interval, jitter = 91, 10
        last = registered_on
    dates: list[date] = []
    d = last
    while d >= first and d >= registered_on and d <= today:
        dates.append(d)
        d -= timedelta(days=interval + int(rng.integers(-jitter, jitter + 1)))
    if not dates and kind != 2 and registered_on <= today:
        dates.append(max(registered_on, first))
    # the patient's own level: about half controlled
    sys0 = float(rng.normal(141, 11))
    dia0 = float(rng.normal(86, 7))
    glu0 = float(rng.normal(7.1, 1.2))
    medicines = (HT_MEDICINES if disease is Disease.HYPERTENSION else DM_MEDICINES)[
        int(rng.integers(len(HT_MEDICINES if disease is Disease.HYPERTENSION else DM_MEDICINES)))]
    out: list[dict[str, object]] = []
    for k, d in enumerate(sorted(dates)):
        trend = -1.5 * k  # management works a little
        systolic = int(np.clip(round(sys0 + trend + rng.normal(0, 8)), 95, 210))
        diastolic = int(np.clip(round(dia0 + trend / 2 + rng.normal(0, 5)), 55, min(130, systolic - 20)))
        glucose: Decimal | None = None
        hba1c: Decimal | None = None
        if disease is Disease.DIABETES:
            glucose = Decimal(str(round(float(np.clip(glu0 - 0.1 * k + rng.normal(0, 0.8), 3.9, 18.0)), 1)))
            if rng.random() < 0.3:
                hba1c = Decimal(str(round(float(np.clip(5.2 + 0.35 * float(glucose) + rng.normal(0, 0.4), 5.0,
                                                        13.0)), 1)))
        control = control_status(disease, Reading(systolic, diastolic, glucose, hba1c), policy)
        ahead = 91 if control is Control.CONTROLLED else int(rng.integers(14, 29))
        out.append({"person_id": pid, "disease": disease.value, "inst_id": inst_id, "date": d,
                    "systolic": systolic, "diastolic": diastolic, "fasting_glucose": glucose, "hba1c": hba1c,
                    "medicines": medicines, "next_date": d + timedelta(days=ahead), "control": control.value,
                    "recorded_at": datetime.combine(d, time(10, 0)), "recorded_by": ACTOR})
    return out


def link_doctor(session: Session, username: str, inst_ids: Sequence[str]) -> int | None:
    """Give the account ``username`` the GP seat of the first team of the first of ``inst_ids`` that has one
    without an account (the demo family doctor's panel); the member's id, or None."""
    for inst_id in inst_ids:
        member = session.scalar(select(TeamMemberRow).join(TeamRow, TeamRow.team_id == TeamMemberRow.team_id)
                                .where(TeamRow.inst_id == inst_id, TeamMemberRow.role == TeamRole.GP.value,
                                       TeamMemberRow.username.is_(None))
                                .order_by(TeamMemberRow.member_id).limit(1))
        if member is not None:
            session.execute(update(TeamMemberRow).where(TeamMemberRow.member_id == member.member_id)
                            .values(username=username))
            return member.member_id
    return None


DONE_SHARE = {"elderly": 0.70, "child": 0.85, "pregnant": 0.80, "tuberculosis": 0.90, "mental": 0.80}
"""Share of the demo's scheduled key-population services done (the duty lists' completion)."""


@dataclass(frozen=True)
class DemoKeyPops:
    """What was written."""

    pregnant: int
    tuberculosis: int
    mental: int
    services: int


def seed_demo_keypops(session: Session, *, today: date, policy: CarePolicy, seed: int = 1) -> DemoKeyPops | None:
    """Fill the empty key-population tables (see the module's docstring); None when they hold rows already. The
    caller commits."""
    if session.scalar(select(func.count()).select_from(KeyRegisterRow)) or session.scalar(
            select(func.count()).select_from(KeyServiceRow)):
        return None
    rng = np.random.default_rng([seed, today.toordinal(), 6])
    now = datetime.combine(today, time(8, 0))
    kp = policy.key_populations
    insts = set(session.scalars(select(InstitutionRow.inst_id)))
    home = _designated(session, today)
    sexes = {pid: sex for pid, sex in session.execute(select(PersonRow.person_id, PersonRow.sex))}
    registers: list[dict[str, object]] = []
    episodes: dict[str, list[tuple[str, date, date | None]]] = {}

    def add(pid: str, population: str, start: date, end: date | None) -> None:
        registers.append({"person_id": pid, "population": population, "inst_id": home[pid][0], "start_date": start,
                          "end_date": end, "created_at": now, "created_by": ACTOR})
        episodes.setdefault(pid, []).append((population, start, end))

    for pid in sorted(home):
        inst_id, birth = home[pid]
        if inst_id not in insts:
            continue
        age = _age(birth, today)
        u = rng.random(3)
        if sexes.get(pid) == "F" and 18 <= age <= 45 and u[0] < 0.012:
            lmp = today - timedelta(days=int(rng.integers(0, 300)))
            birth_day = lmp + timedelta(days=int(rng.integers(273, 287)))
            add(pid, "pregnant", lmp, birth_day if birth_day <= today else None)
        if age >= 15 and u[1] < 0.0012:
            start = today - timedelta(days=int(rng.integers(0, 270)))
            done = add_months(start, kp.tb_treatment_months)
            add(pid, "tuberculosis", start, done if done <= today else None)
        if age >= 18 and u[2] < 0.0045:
            add(pid, "mental", today - timedelta(days=int(rng.integers(60, 5 * 365))), None)
    if registers:
        session.execute(insert(KeyRegisterRow), registers)

    first = date(today.year - 1, 1, 1)
    services: list[dict[str, object]] = []
    old, young = date(today.year - kp.elderly_age, 12, 31), date(today.year - kp.child_max_age - 2, 1, 1)
    for pid in sorted(home):
        inst_id, birth = home[pid]
        if inst_id not in insts or not (birth <= old or birth >= young or pid in episodes):
            continue
        for slot in person_slots(birth, episodes.get(pid, []), years=[today.year - 1, today.year], until=today,
                                 policy=kp):
            if slot.end < first or slot.start > today:
                continue
            last = min(slot.end, today)
            open_share = ((last - slot.start).days + 1) / ((slot.end - slot.start).days + 1)
            if rng.random() >= DONE_SHARE[slot.population.value] * open_share:
                continue
            on = slot.start + timedelta(days=int(rng.integers(0, (last - slot.start).days + 1)))
            services.append({"person_id": pid, "population": slot.population.value, "inst_id": inst_id, "date": on,
                             "note": "", "recorded_at": datetime.combine(on, time(10, 30)), "recorded_by": ACTOR})
    if services:
        session.execute(insert(KeyServiceRow), services)
    session.flush()
    counts = {p.value: sum(1 for r in registers if r["population"] == p.value) for p in REGISTERED}
    return DemoKeyPops(pregnant=counts["pregnant"], tuberculosis=counts["tuberculosis"], mental=counts["mental"],
                       services=len(services))
