"""The rules of family-doctor care and chronic disease (家庭医生签约与慢病管理规则), pure: no I/O.

Anchors: China's national basic public-health service norms (国家基本公共卫生服务规范, 第三版): hypertension and type 2
diabetes patients are followed up face to face at least 4 times a year; blood pressure is controlled below 140/90 mmHg,
fasting glucose below 7.0 mmol/L. The worklists follow Simple (simple.org): overdue (no follow-up in the last 3
months), due this week, uncontrolled at the last visit, lost to follow-up (none in 12 months). Every threshold is the
policy's ``[care]`` section (:class:`~yigongti.core.policy.CarePolicy`).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from yigongti.core.icd import icd_matches
from yigongti.core.money import BP
from yigongti.core.policy import CarePolicy, GpPayPolicy
from yigongti.core.problems import Conflict, InvalidRequest

__all__ = [
    "CONTROL_LABELS",
    "DISEASE_LABELS",
    "POPULATION_LABELS",
    "ROLE_LABELS",
    "WORKLIST_LABELS",
    "Control",
    "Disease",
    "GpPay",
    "KeyPopulation",
    "PanelFull",
    "PrescriptionRefused",
    "Reading",
    "TeamRole",
    "Worklist",
    "add_months",
    "check_panel",
    "check_prescription",
    "contract_end",
    "control_status",
    "disease_of_icd",
    "gp_pay",
    "quality_score",
    "icd_matches",
    "key_populations",
    "worklists",
]


class Disease(StrEnum):
    HYPERTENSION = "hypertension"
    DIABETES = "diabetes"


class Control(StrEnum):
    CONTROLLED = "controlled"
    UNCONTROLLED = "uncontrolled"
    UNKNOWN = "unknown"  # the reading the disease needs was not taken


class Worklist(StrEnum):
    OVERDUE = "overdue"
    DUE = "due"
    UNCONTROLLED = "uncontrolled"
    LOST = "lost"


class TeamRole(StrEnum):
    GP = "gp"
    NURSE = "nurse"
    PUBLIC_HEALTH = "public_health"
    SPECIALIST = "specialist"


class KeyPopulation(StrEnum):
    ELDERLY = "elderly"
    CHILD = "child"
    PREGNANT = "pregnant"
    HYPERTENSION = "hypertension"
    DIABETES = "diabetes"
    TUBERCULOSIS = "tuberculosis"
    MENTAL = "mental"


DISEASE_LABELS = {Disease.HYPERTENSION: "高血压 / hypertension", Disease.DIABETES: "2型糖尿病 / diabetes"}
CONTROL_LABELS = {Control.CONTROLLED: "控制满意 / controlled", Control.UNCONTROLLED: "控制不满意 / uncontrolled",
                  Control.UNKNOWN: "未测 / not measured"}
WORKLIST_LABELS = {Worklist.OVERDUE: "逾期未随访 / overdue", Worklist.DUE: "本周应随访 / due this week",
                   Worklist.UNCONTROLLED: "上次未控制 / uncontrolled at the last visit",
                   Worklist.LOST: "失访 / lost to follow-up"}
ROLE_LABELS = {TeamRole.GP: "全科医生 / GP", TeamRole.NURSE: "护士 / nurse",
               TeamRole.PUBLIC_HEALTH: "公卫医生 / public-health doctor",
               TeamRole.SPECIALIST: "县医院专科医生 / county-hospital specialist"}
POPULATION_LABELS = {KeyPopulation.ELDERLY: "65岁及以上老年人 / aged 65+",
                     KeyPopulation.CHILD: "0-6岁儿童 / children 0-6", KeyPopulation.PREGNANT: "孕产妇 / pregnant women",
                     KeyPopulation.HYPERTENSION: "高血压患者 / hypertension",
                     KeyPopulation.DIABETES: "2型糖尿病患者 / diabetes",
                     KeyPopulation.TUBERCULOSIS: "肺结核患者 / tuberculosis",
                     KeyPopulation.MENTAL: "严重精神障碍患者 / severe mental disorders"}


class PanelFull(Conflict, ValueError):
    """The GP's panel is full (签约人数已满): the policy's ``care.panel_cap`` would be exceeded."""


class PrescriptionRefused(InvalidRequest):
    """A prescription longer than the policy allows for this patient (长处方不允许), with the reason (422 on
    ``days``)."""

    def __init__(self, message: str) -> None:
        self.field = "days"
        ValueError.__init__(self, message)  # the reason alone, as the person reads it


@dataclass(frozen=True)
class Reading:
    """One follow-up's readings: blood pressure (mmHg), fasting glucose and HbA1c (mmol/L, %), any may be absent."""

    systolic: int | None = None
    diastolic: int | None = None
    fasting_glucose: Decimal | None = None
    hba1c: Decimal | None = None


def control_status(disease: Disease | str, reading: Reading, policy: CarePolicy) -> Control:
    """Controlled (控制满意) when BP < systolic_below/diastolic_below for hypertension (both figures needed), fasting
    glucose < glucose_below for diabetes; UNKNOWN when the figure the disease needs is missing."""
    if Disease(disease) is Disease.HYPERTENSION:
        if reading.systolic is None or reading.diastolic is None:
            return Control.UNKNOWN
        ok = reading.systolic < policy.systolic_below and reading.diastolic < policy.diastolic_below
    else:
        if reading.fasting_glucose is None:
            return Control.UNKNOWN
        ok = Decimal(reading.fasting_glucose) < policy.glucose_below
    return Control.CONTROLLED if ok else Control.UNCONTROLLED


def disease_of_icd(code: str, policy: CarePolicy) -> Disease | None:
    """The chronic disease of the registry a diagnosis puts a person in (I10-I15 hypertension, E10-E14 diabetes)."""
    if icd_matches(code, policy.hypertension_icd):
        return Disease.HYPERTENSION
    if icd_matches(code, policy.diabetes_icd):
        return Disease.DIABETES
    return None


def add_months(d: date, months: int) -> date:
    """``d`` moved by ``months`` calendar months (negative: back), the day clipped to the month's end."""
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def worklists(today: date, *, since: date, last_followup: date | None, next_date: date | None,
              last_control: Control | None, policy: CarePolicy) -> frozenset[Worklist]:
    """The family doctor's worklists a registered patient is on, ``today``.

    ``since``: the registration date (a patient never followed up counts from it). LOST: no follow-up for
    ``lost_months`` (the last one on or before ``today`` - lost_months); OVERDUE: none for ``overdue_months`` but not
    yet lost (the lists do not overlap); DUE: the next follow-up planned from today to ``due_days`` - 1 days ahead;
    UNCONTROLLED: the last reading was not controlled."""
    anchor = last_followup if last_followup is not None else since
    out: set[Worklist] = set()
    if anchor <= add_months(today, -policy.lost_months):
        out.add(Worklist.LOST)
    elif anchor <= add_months(today, -policy.overdue_months):
        out.add(Worklist.OVERDUE)
    if next_date is not None and today <= next_date < today + timedelta(days=policy.due_days):
        out.add(Worklist.DUE)
    if last_control is Control.UNCONTROLLED:
        out.add(Worklist.UNCONTROLLED)
    return frozenset(out)


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def key_populations(birth_date: date, on: date, *, pregnant: bool = False,
                    conditions: Iterable[str] = ()) -> frozenset[KeyPopulation]:
    """The key populations (重点人群) a person belongs to ``on``: 65+, children 0-6, pregnant women, and the
    conditions named (hypertension, diabetes, tuberculosis, mental)."""
    out: set[KeyPopulation] = set()
    age = _age(birth_date, on)
    if age >= 65:
        out.add(KeyPopulation.ELDERLY)
    if 0 <= age <= 6:
        out.add(KeyPopulation.CHILD)
    if pregnant:
        out.add(KeyPopulation.PREGNANT)
    for c in conditions:
        out.add(KeyPopulation(c))
    return frozenset(out)


def contract_end(start: date, policy: CarePolicy) -> date:
    """The last day of a contract starting on ``start`` (a yearly contract by default: ``contract_months``)."""
    return add_months(start, policy.contract_months) - timedelta(days=1)


def check_panel(current: int, adding: int, policy: CarePolicy, *, gp: str = "") -> None:
    """Refuse a contract that would take a GP's panel beyond ``panel_cap`` (:class:`PanelFull`)."""
    if current + adding > policy.panel_cap:
        who = f"{gp} " if gp else ""
        raise PanelFull(f"家庭医生 {who}签约人数已达上限 {policy.panel_cap} 人（现 {current} 人，本次 {adding} 人）/ "
                        f"the GP's panel is full: {current} + {adding} > {policy.panel_cap} (policy care.panel_cap)")


def check_prescription(days: int, *, contracted: bool, registered: bool, last_control: Control | None,
                       policy: CarePolicy) -> None:
    """Long prescriptions (长处方): up to ``long_prescription_days`` for a stable (controlled at the last follow-up)
    chronic patient under a family-doctor contract; a prescription up to 30 days needs none of it. Refused with the
    reason otherwise (:class:`PrescriptionRefused`)."""
    if days < 1:
        raise PrescriptionRefused("处方天数须为正数 / days must be at least 1")
    if days <= 30:
        return
    limit = policy.long_prescription_days
    if days > limit:
        raise PrescriptionRefused(f"长处方最长 {limit} 天，申请 {days} 天 / a long prescription is at most {limit} "
                                  f"days (policy care.long_prescription_days), asked {days}")
    if not contracted:
        raise PrescriptionRefused("长处方仅限签约居民 / long prescriptions are for residents under a family-doctor "
                                  "contract")
    if not registered:
        raise PrescriptionRefused("长处方仅限登记管理的慢病患者 / long prescriptions are for registered chronic "
                                  "patients")
    if last_control is not Control.CONTROLLED:
        raise PrescriptionRefused("病情未稳定（上次随访未控制或未测）/ not stable: the last follow-up was not "
                                  "controlled")


# --------------------------------------------------------------------------------------------- GP pay


@dataclass(frozen=True)
class GpPay:
    """A GP's pay for a year (家庭医生薪酬), every amount in int fen: ``base`` + ``quality`` + ``rural`` = ``total``."""

    heads: int
    score: Fraction  # the quality score, 0..1 exactly
    base: int
    quality: int
    rural: int

    @property
    def total(self) -> int:
        return self.base + self.quality + self.rural


def quality_score(*, registered: int, standardized: int, under_management: int, controlled: int,
                  policy: GpPayPolicy) -> Fraction:
    """The quality score of a GP's chronic patients (质量得分), exactly: ``control_weight`` x the control rate
    (controlled / under management) + the rest x the standardized-management rate (standardized / registered). A
    rate without patients to count leaves the other one the whole weight; neither: 0 (no chronic patient, no
    quality pay)."""
    control = Fraction(controlled, under_management) if under_management else None
    standard = Fraction(standardized, registered) if registered else None
    if control is None and standard is None:
        return Fraction(0)
    if control is None:
        return standard or Fraction(0)
    if standard is None:
        return control
    w = Fraction(policy.control_weight, BP)
    return w * control + (1 - w) * standard


def _half_up(x: Fraction) -> int:
    return int((x + Fraction(1, 2)) // 1)


def gp_pay(*, heads: int, tier: str, score: Fraction, policy: GpPayPolicy) -> GpPay:
    """A GP's pay (000 三(二)4: 与签约人头和服务质量挂钩，向农村倾斜): ``per_head`` x contracted heads, plus
    ``quality_per_head`` x heads x the quality score (half up to the fen), plus the rural allowance of the tier of
    the GP's institution (village clinic, township centre; none at a county hospital)."""
    if heads < 0 or not 0 <= score <= 1:
        raise ValueError("heads >= 0 and a quality score in [0, 1]")
    rural = {"village": policy.village_allowance, "township": policy.township_allowance}.get(str(tier), 0)
    return GpPay(heads, score, heads * policy.per_head, _half_up(heads * policy.quality_per_head * score), rural)
