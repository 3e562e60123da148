"""The policy (政策配置): every business number of the rules (docs/en/rules.md) as typed, versioned configuration.

Defaults are those of rules.md. A county changes them in ``policy.toml``; what it leaves out keeps the default.
An override
merges key by key at every depth (合并规则): a table given in part (``[benefits.designated_primary]`` with only
``inpatient_deductible``) keeps every other key of the table beneath it; only a value that is itself an array (the age
bands, the grades, the public-health kinds, a risk class's diagnoses) is replaced as a whole. An unknown key at any
depth is an error naming the file and the dotted key.
Amounts are written in yuan (``"20.00"`` or ``20``) and held as int fen; rates as ``"90%"`` or ``0.9`` and held as
integer basis points. Loading validates everything and names the offending key.
"""

from __future__ import annotations

import re
import tomllib
import types
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from yigongti.core.codes import Tier
from yigongti.core.icd import ICD_RANGE
from yigongti.core.money import BP, format_yuan, parse_yuan, rate_to_bp

__all__ = [
    "DISTRIBUTION_FORMS",
    "PACKAGE_PARTS",
    "AgeBand",
    "AgreementPolicy",
    "BenefitPolicy",
    "BenefitRow",
    "CapitationPolicy",
    "CarePolicy",
    "EnrollmentPolicy",
    "GpPayPolicy",
    "KeyPopulationPolicy",
    "GradeName",
    "HouseholdMode",
    "Insurance",
    "PUBLIC_HEALTH_GROUP",
    "PackagePolicy",
    "PharmacyPolicy",
    "Policy",
    "PolicyError",
    "PublicHealthPolicy",
    "PolicyPath",
    "Rate",
    "INTERNAL_SERVICES",
    "DIAGNOSIS_KINDS",
    "InternalPrice",
    "ReferralPolicy",
    "SettlementPolicy",
    "SurplusPolicy",
    "TWO_DISEASE_STATUSES",
    "TWO_DISEASE_TIERS",
    "TwoDiseasePolicy",
    "WorkforcePolicy",
    "Yuan",
    "deep_merge",
    "dotted",
    "merge_policy",
    "override_paths",
    "parse_policy_toml",
    "policy_from_toml",
    "policy_to_toml",
]


PUBLIC_HEALTH_GROUP = "public_health"
"""The key of ``settlement.public_health_shares`` for the public-health institutions (``public_health_kinds``)."""

PolicyPath = tuple[str | int, ...]
"""Where a value sits in the policy: ``("benefits", "designated_primary", "inpatient_rate")``."""


class PolicyError(ValueError):
    """A policy file that does not validate (配置无效); the message names the file and every offending key.

    ``problems`` holds one ``(dotted key, message)`` per problem ("" as key when the file as a whole is wrong)."""

    def __init__(self, message: str, problems: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


def _yuan(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("an amount in yuan, not a boolean")  # noqa: TRY004 - pydantic reports ValueError only
    if isinstance(v, int):
        fen = v * 100
    else:
        if isinstance(v, float):
            v = repr(v)
        if isinstance(v, Decimal):
            v = str(v)
        if not isinstance(v, str):
            raise ValueError(f"an amount in yuan, got {v!r}")
        fen = parse_yuan(v)
    if fen < 0:  # a negative copay, deductible, cap, pool or pay would turn every sum it enters upside down
        raise ValueError(f"an amount in yuan must not be negative, got {v!r} / 金额不可为负")
    if fen > MAX_FEN:
        raise ValueError(f"an amount in yuan above {MAX_FEN // 100:,}: {v!r} / 金额过大")
    return fen


MAX_FEN = 10**16
"""The largest amount of a policy (100 trillion yuan): sums of amounts stay within 64-bit integers of fen."""


def _rate(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("a rate like '90%' or 0.9, not a boolean")  # noqa: TRY004 - pydantic reports ValueError only
    if isinstance(v, int) and not isinstance(v, bool) and v > 1:
        raise ValueError(f"a rate like '90%' or 0.9; {v} is ambiguous")
    try:
        bp = rate_to_bp(v)
    except (OverflowError, InvalidOperation) as exc:  # "inf%": not a number a rate can be
        raise ValueError(f"not a rate: {v!r}") from exc
    if not 0 <= bp <= BP:
        raise ValueError(f"a rate must lie between 0% and 100%, got {v!r} / 比例须在 0%~100% 之间")
    return bp


def _weight(v: Any) -> Decimal:
    if isinstance(v, bool):
        raise ValueError("a decimal number like \"1.30\", not a boolean")  # noqa: TRY004 - pydantic: ValueError
    try:
        d = Decimal(str(v))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal number: {v!r}") from exc
    if not d.is_finite():
        raise ValueError(f"not a finite decimal number: {v!r}")
    return d


def _bp_text(bp: int) -> str:
    d = Decimal(bp) / 100
    return f"{d.normalize():f}%"


Yuan = Annotated[int, BeforeValidator(_yuan), PlainSerializer(format_yuan, return_type=str)]
"""An amount written in yuan, held as int fen."""
Rate = Annotated[int, BeforeValidator(_rate), PlainSerializer(_bp_text, return_type=str)]
"""A rate written as '90%' or 0.9, held as integer basis points (10000 = 100%)."""
Weight = Annotated[Decimal, BeforeValidator(_weight), PlainSerializer(lambda d: str(d), return_type=str)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Insurance(StrEnum):
    """The insurance type of a person (参保类型): urban and rural residents' (城乡居民) or employees' (职工)."""

    RESIDENT = "resident"
    EMPLOYEE = "employee"


class GradeName(StrEnum):
    """The appraisal grades of the default policy (考核等级), and ``pending`` for a unit without a score yet; a policy
    may name its own grades."""

    EXCELLENT = "excellent"  # 优秀
    QUALIFIED = "qualified"  # 合格
    UNQUALIFIED = "unqualified"  # 不合格
    PENDING = "pending"  # 待定: no score yet


class HouseholdMode(StrEnum):
    """Who may choose for whom in a household (家庭): the head for all adults, or each adult for themself.
    Children (under ``adult_age``) always follow a parent's choice."""

    HEAD_FOR_ALL = "head_for_all_adults"
    EACH_ADULT = "each_adult"


class EnrollmentPolicy(_Model):
    """Designated care (定点诊疗), rules.md A."""

    window_start: str = Field("10-01", description="switch window opens (MM-DD of year Y-1)")
    window_end: str = Field("12-31", description="switch window closes, inclusive (MM-DD of year Y-1)")
    first_year: int | None = Field(None, description="the county's first year, which has its own window")
    first_year_window_start: date | None = None
    first_year_window_end: date | None = None
    household_mode: HouseholdMode = HouseholdMode.EACH_ADULT
    adult_age: int = 18

    @model_validator(mode="after")
    def _check(self) -> EnrollmentPolicy:
        for key in ("window_start", "window_end"):
            mm, _, dd = getattr(self, key).partition("-")
            try:
                date(2024, int(mm), int(dd))
            except ValueError as exc:
                raise ValueError(f"{key} must be MM-DD, got {getattr(self, key)!r}") from exc
        if self.first_year is not None and (self.first_year_window_start is None or self.first_year_window_end is None):
            raise ValueError("first_year needs first_year_window_start and first_year_window_end")
        return self

    def window(self, year: int) -> tuple[date, date]:
        """The switch window (both days included) in which choices for ``year`` are accepted."""
        if self.first_year == year and self.first_year_window_start and self.first_year_window_end:
            return self.first_year_window_start, self.first_year_window_end
        sm, sd = (int(x) for x in self.window_start.split("-"))
        em, ed = (int(x) for x in self.window_end.split("-"))
        return date(year - 1, sm, sd), date(year - 1, em, ed)


class BenefitRow(_Model):
    """One row of the benefit table: deductibles in yuan, fund rates."""

    inpatient_deductible: Yuan
    inpatient_rate: Rate
    outpatient_deductible: Yuan = 0
    outpatient_rate: Rate = 0
    outpatient_flat_copay: bool = False


def _row(ip_ded: str, ip_rate: str, op_ded: str = "0", op_rate: str = "0%", flat: bool = False) -> BenefitRow:
    return BenefitRow(inpatient_deductible=ip_ded, inpatient_rate=ip_rate, outpatient_deductible=op_ded,
                      outpatient_rate=op_rate, outpatient_flat_copay=flat)


TWO_DISEASE_STATUSES = ("designated", "in_consortium")
"""The network statuses (就医类别) the two-disease benefit may apply at: inside the person's designated consortium."""
TWO_DISEASE_TIERS = ("primary", "county")
"""Where it may apply: ``primary`` (township centres and village clinics, 基层) and ``county`` (county hospitals)."""


def _icd_patterns(key: str, patterns: tuple[str, ...]) -> None:
    if not patterns:
        raise ValueError(f"{key} needs at least one ICD-10 code or range / 至少一个 ICD-10 编码")
    for p in patterns:
        if not ICD_RANGE.match(p.strip().upper()):
            raise ValueError(f"{key}: {p!r} is not an ICD-10 code or range like 'I10' or 'I10-I15' / "
                             "不是 ICD-10 编码或范围")


class TwoDiseasePolicy(_Model):
    """The two-disease outpatient drug benefit (城乡居民高血压、糖尿病门诊用药保障, 两病用药保障), rules.md B9:
    residents' insurance, a registered hypertension or diabetes patient's outpatient claim for the disease at a
    primary-level (and, when listed, county) institution of the designated consortium is paid at ``rate`` with no
    deductible, within ``yearly_cap`` per person and year. Off by default."""

    enabled: bool = Field(False, description="apply the two-disease benefit (两病用药保障)")
    rate: Rate = Field(5000, description="the fund's share of the covered cost (政策范围内支付比例)")
    yearly_cap: Yuan = Field(40_000, description="most the benefit pays per person and year, both diseases (yuan)")
    statuses: tuple[str, ...] = Field(TWO_DISEASE_STATUSES,
                                      description="network statuses it applies at: designated, in_consortium")
    tiers: tuple[str, ...] = Field(("primary",), description="institutions it applies at: primary, county")
    insurance: tuple[str, ...] = Field(("resident",), description="insurance types it applies to (城乡居民)")
    hypertension_icd: tuple[str, ...] = ("I10-I15",)
    diabetes_icd: tuple[str, ...] = ("E10-E14",)

    @model_validator(mode="after")
    def _check(self) -> TwoDiseasePolicy:
        for key, values, allowed in (("statuses", self.statuses, TWO_DISEASE_STATUSES),
                                     ("tiers", self.tiers, TWO_DISEASE_TIERS),
                                     ("insurance", self.insurance, tuple(Insurance))):
            bad = [v for v in values if v not in allowed]
            if bad:
                raise ValueError(f"{key}: {bad} not among {list(allowed)} / 取值无效")
            if self.enabled and not values:
                raise ValueError(f"{key} must not be empty when the benefit is enabled / 启用时不可为空")
        if self.yearly_cap < 0:
            raise ValueError("yearly_cap must be >= 0 / 年度限额不可为负")
        if self.enabled and self.rate == 0:
            raise ValueError("rate must be above 0% when the benefit is enabled / 启用时支付比例须大于 0")
        _icd_patterns("hypertension_icd", self.hypertension_icd)
        _icd_patterns("diabetes_icd", self.diabetes_icd)
        return self

    @property
    def primary(self) -> bool:
        return "primary" in self.tiers

    @property
    def county(self) -> bool:
        return "county" in self.tiers


class BenefitPolicy(_Model):
    """Benefits per claim (待遇), rules.md B. Rows are for resident insurance (城乡居民); employee insurance (职工)
    adds ``employee_rate_bonus`` to every fund rate and multiplies the cap by ``employee_cap_multiplier``."""

    flat_copay: Yuan = 2000
    designated_primary: BenefitRow = _row("100", "90%", flat=True)
    designated_county: BenefitRow = _row("300", "85%", flat=True)
    in_consortium_primary: BenefitRow = _row("200", "80%", "100", "50%")
    in_consortium_county: BenefitRow = _row("500", "75%", "100", "50%")
    outside_secondary: BenefitRow = _row("800", "70%", "300", "40%")
    outside_tertiary: BenefitRow = _row("1200", "60%", "300", "40%")
    employee_rate_bonus: Rate = 500
    annual_cap_resident: Yuan = 20_000_000
    employee_cap_multiplier: int = 2
    continuous_deductible_days: int = 15
    two_disease: TwoDiseasePolicy = TwoDiseasePolicy()

    def row(self, status: str, tier: str, level: int) -> BenefitRow:
        """The benefit row for a network status ('designated', 'in_consortium', 'outside') and institution."""
        if status == "outside":
            return self.outside_tertiary if level >= 3 else self.outside_secondary
        primary = tier in (Tier.TOWNSHIP, Tier.VILLAGE)
        if status == "designated":
            return self.designated_primary if primary else self.designated_county
        if status == "in_consortium":
            return self.in_consortium_primary if primary else self.in_consortium_county
        raise ValueError(f"no benefit row for network status {status!r}")

    def fund_rate(self, row: BenefitRow, *, inpatient: bool, insurance: str) -> int:
        base = row.inpatient_rate if inpatient else row.outpatient_rate
        bonus = self.employee_rate_bonus if insurance == Insurance.EMPLOYEE else 0
        return min(BP, base + bonus)

    def annual_cap(self, insurance: str) -> int:
        return self.annual_cap_resident * (self.employee_cap_multiplier if insurance == Insurance.EMPLOYEE else 1)


class AgeBand(_Model):
    """Ages ``min_age`` and up (to the next band's min_age) weigh ``weight`` standard heads."""

    min_age: int
    weight: Weight


class CapitationPolicy(_Model):
    """Capitation budget (按年龄调整的人头总额), rules.md C."""

    age_bands: tuple[AgeBand, ...] = tuple(
        AgeBand(min_age=a, weight=Decimal(w)) for a, w in
        ((0, "1.10"), (5, "0.45"), (15, "0.55"), (45, "1.00"), (60, "1.70"), (70, "2.40"), (80, "2.90")))
    risk_adjustment: bool = False
    risk_weights: dict[str, Weight] = Field(default_factory=dict,
                                            description="risk class -> multiplier, e.g. hypertension = 1.3")
    risk_diagnoses: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="risk class -> ICD-10 prefixes that put a person in it")
    rate: Yuan | None = Field(None, description="per-head rate; when unset it comes from the pool")
    pool_public_health: Yuan | None = None
    pool_resident: Yuan | None = None
    pool_employee: Yuan | None = None
    default_rate: Yuan = 100_000
    p4p_reserve: Rate = 500
    p4p_reserve_min: Rate = Field(500, description="lowest P4P reserve without an override reason (seed 000: 5%)")
    p4p_reserve_max: Rate = Field(1000, description="highest P4P reserve without an override reason (seed 000: 10%)")
    p4p_reserve_override_reason: str | None = Field(
        None, description="why this county's p4p_reserve lies outside p4p_reserve_min..p4p_reserve_max")
    instalments: int = 12

    @model_validator(mode="after")
    def _check(self) -> CapitationPolicy:
        ages = [b.min_age for b in self.age_bands]
        if not ages or ages[0] != 0 or ages != sorted(set(ages)):
            raise ValueError("age_bands must start at min_age 0 and rise strictly")
        if any(b.weight < 0 for b in self.age_bands):
            raise ValueError("age band weights must be >= 0")
        if self.p4p_reserve_min > self.p4p_reserve_max:
            raise ValueError("p4p_reserve_min must not exceed p4p_reserve_max")
        if not self.p4p_reserve_min <= self.p4p_reserve <= self.p4p_reserve_max and not (
                self.p4p_reserve_override_reason or "").strip():
            raise ValueError(
                f"p4p_reserve {_bp_text(self.p4p_reserve)} lies outside {_bp_text(self.p4p_reserve_min)}"
                f"~{_bp_text(self.p4p_reserve_max)} (rules.md C3; seed 000 二(二): 「可以预留一定比例（如5%~10%）的费用"
                "总额，用作“按绩效付费”的资金」): state why in p4p_reserve_override_reason / 绩效预留比例超出 5%~10%，"
                "须在 p4p_reserve_override_reason 中说明理由")
        return self

    def weight(self, age: int) -> Decimal:
        w = self.age_bands[0].weight
        for b in self.age_bands:
            if age >= b.min_age:
                w = b.weight
        return w

    @property
    def pool(self) -> int | None:
        """The medical pool the per-head rate comes from: resident + employee insurance. The public-health money
        (``pool_public_health``) is not in it: it is earmarked (专款专用) and allocated apart (rules.md D6)."""
        parts = (self.pool_resident, self.pool_employee)
        return None if all(p is None for p in parts) else sum(p or 0 for p in parts)


class Grade(_Model):
    """A grade of the appraisal: from ``min_score`` up, ``p4p_share`` of a consortium's P4P reserve is paid, and a
    member may pay at most ``performance_pay_share`` of its positive part of the split as performance pay (绩效工资
    总量核定, seed 002 六)."""

    name: str
    min_score: Decimal
    p4p_share: Rate
    performance_pay_share: Rate = BP


class SettlementPolicy(_Model):
    """Year-end settlement (结余留用、合理超支分担), rules.md D."""

    surplus_retained: Rate = BP
    overspend_band: Rate = 500
    overspend_fund_share_in_band: Rate = 5000
    overspend_fund_share_beyond: Rate = 0
    grades: tuple[Grade, ...] = (
        Grade(name=GradeName.EXCELLENT.value, min_score=Decimal(90), p4p_share="100%", performance_pay_share="100%"),
        Grade(name=GradeName.QUALIFIED.value, min_score=Decimal(60), p4p_share="70%", performance_pay_share="70%"),
    )
    fail_grade: str = GradeName.UNQUALIFIED.value
    fail_performance_pay_share: Rate = Field(0, description="performance pay ceiling share below every grade")
    tier_shares: dict[str, Rate] = Field(default_factory=lambda: {"county": 4000, "township": 3500, "village": 2500})
    public_health_kinds: tuple[str, ...] = ("cdc", "mch")
    public_health_shares: dict[str, Rate] = Field(
        default_factory=lambda: {"public_health": 2000, "county": 0, "township": 4000, "village": 4000},
        description="split of a consortium's public-health account: the public-health institutions (key "
                    "public_health) and the tiers, by their public-health duties (公共卫生责任清单)")
    county_duty_weights: dict[str, Weight] = Field(
        default_factory=dict, description="weight of a county-tier member in its tier by kind (default 1 each)")
    institution_score_from_consortium: bool = Field(
        True, description="a member without its own score takes its consortium's")
    missing_institution_score: Weight = Field(
        Decimal(60), description="the score of a member when neither it nor (see above) its consortium has one")
    scores: dict[str, Weight] = Field(
        default_factory=dict,
        description="appraisal score (0-100) by unit id (consortium or institution); a `scores` table overrides it")

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "public_health_share" in data:
            raise ValueError("public_health_share was replaced by public_health_shares: the public-health "
                             "institutions are paid from the public-health account only (rules.md D6) / "
                             "public_health_share 已由 public_health_shares 取代")
        return data

    @model_validator(mode="after")
    def _check(self) -> SettlementPolicy:
        bad = sorted(k for k, v in self.scores.items() if not Decimal(0) <= v <= Decimal(100))
        if bad:
            raise ValueError(f"scores must be between 0 and 100: {', '.join(bad)}")
        if not Decimal(0) <= self.missing_institution_score <= Decimal(100):
            raise ValueError("missing_institution_score must be between 0 and 100")
        if sum(self.tier_shares.values()) != BP:
            raise ValueError(f"tier_shares must sum to 100%, sum to {_bp_text(sum(self.tier_shares.values()))}")
        if sum(self.public_health_shares.values()) != BP:
            raise ValueError("public_health_shares must sum to 100%, sum to "
                             f"{_bp_text(sum(self.public_health_shares.values()))}")
        unknown = sorted(set(self.public_health_shares) - {PUBLIC_HEALTH_GROUP, *(t.value for t in Tier)})
        if unknown:
            raise ValueError(f"public_health_shares: {', '.join(unknown)} is neither {PUBLIC_HEALTH_GROUP!r} nor a "
                             "tier")
        if any(w < 0 for w in self.county_duty_weights.values()):
            raise ValueError("county_duty_weights must be >= 0")
        mins = [g.min_score for g in self.grades]
        if mins != sorted(mins, reverse=True):
            raise ValueError("grades must be listed from the highest min_score down")
        return self

    def grade(self, score: Decimal | None) -> tuple[str, int]:
        """(grade name, share of the P4P reserve paid in bp) for a score; None -> ('pending', 0)."""
        if score is None:
            return GradeName.PENDING.value, 0
        for g in self.grades:
            if score >= g.min_score:
                return g.name, g.p4p_share
        return self.fail_grade, 0

    def performance_pay_share(self, score: Decimal) -> int:
        """The share (bp) of a member's positive part of the split it may pay as performance pay, by its grade."""
        for g in self.grades:
            if score >= g.min_score:
                return g.performance_pay_share
        return self.fail_performance_pay_share


INTERNAL_SERVICES = ("up_referral", "down_referral", "imaging", "ecg", "ultrasound", "pathology", "consultation",
                     "lab")
"""Services between members that carry an internal settlement price: a completed referral up or down, and the
kinds of remote diagnosis (the ``remote_diagnoses`` table's ``kind``)."""


DIAGNOSIS_KINDS = ("imaging", "ecg", "ultrasound", "lab", "pathology")
"""Kinds of remote diagnosis ordered from a shared centre of the consortium (资源共享中心: 影像心电超声检验病理)."""
# ours, not an official schedule (docs/en/referral.md): how long a result is recognised by the other members
_VALIDITY_DAYS = {"imaging": 30, "ecg": 7, "ultrasound": 14, "lab": 7, "pathology": 180}


class InternalPrice(_Model):
    """内部结算价 / what one service between two members of a consortium costs, and which side pays the other:
    ``sender`` (``from_inst_id``, who referred or requested) or ``receiver`` (``to_inst_id``)."""

    price: Yuan = Field(ge=0)
    payer: Literal["sender", "receiver"] = "sender"


def _internal_prices() -> dict[str, InternalPrice]:
    # ours, not an official schedule (docs/en/referral.md): the hospital pays the township 20 yuan for a referral it
    # receives and 50 for taking a patient back; the requester pays a remote read or a consultation
    yuan = {"up_referral": (20, "receiver"), "down_referral": (50, "sender"), "imaging": (40, "sender"),
            "ecg": (10, "sender"), "ultrasound": (25, "sender"), "pathology": (60, "sender"),
            "consultation": (80, "sender"), "lab": (15, "sender")}
    return {k: InternalPrice.model_validate({"price": p, "payer": w}) for k, (p, w) in yuan.items()}


class ReferralPolicy(_Model):
    """Two-way referral (双向转诊): places reserved for referred patients, the disease catalogues and the internal
    settlement prices of services between members."""

    reserved_share: Rate = Field(2000, description="share of each slot's places reserved for referred patients "
                                                   "(rounded up)")
    release_hours: int = Field(24, ge=0, description="hours before a slot starts when its reserve opens to everyone")
    expire_days: int = Field(30, ge=0, description="days after which a referral not yet booked expires (0: never)")
    record_days: int = Field(90, ge=0, le=3650, description="days after a referral ends during which the clinicians "
                             "of its two institutions may still open the person's shared health record (共享健康档案)")
    catalogues: str = Field("", description="TOML file of the disease catalogues (first visit at primary level; "
                                            "refer down); empty: the catalogues shipped with yigongti")
    prices: dict[str, InternalPrice] = Field(
        default_factory=_internal_prices, description="internal settlement price of each service between members "
                                                      "(up_referral, down_referral, imaging, ecg, ultrasound, "
                                                      "pathology, consultation) and who pays it")

    validity_days: dict[str, int] = Field(
        default_factory=lambda: dict(_VALIDITY_DAYS), description="days a remote diagnosis result stays valid and "
        "is recognised by every member of the consortium (结果互认), per kind (imaging, ecg, ultrasound, lab, "
        "pathology); a repeat order inside it is flagged; 0: never recognised")

    @model_validator(mode="after")
    def _check(self) -> ReferralPolicy:
        unknown = sorted(set(self.prices) - set(INTERNAL_SERVICES))
        if unknown:
            raise ValueError(f"prices: unknown service {unknown[0]}; known: {', '.join(INTERNAL_SERVICES)}")
        wrong = sorted(k for k, v in self.validity_days.items() if k not in DIAGNOSIS_KINDS or not 0 <= v <= 3650)
        if wrong:
            raise ValueError(f"validity_days: {wrong[0]} is not a kind ({', '.join(DIAGNOSIS_KINDS)}) with 0..3650 "
                             f"days")
        return self


class PublicHealthPolicy(_Model):
    """Notifiable infectious diseases (法定传染病报告): the disease list, the legal deadlines and the episode window."""

    diseases: str = Field("", description="TOML file of the notifiable diseases (classes, ICD-10 prefixes); empty: "
                                          "the list shipped with yigongti (ours, see docs/en/public-health.md)")
    class_a_hours: int = Field(2, ge=1, description="hours to report Class A and Class B managed as A (甲类及乙类甲管)")
    other_hours: int = Field(24, ge=1, description="hours to report the other Class B and Class C diseases")
    episode_days: int = Field(30, ge=0, description="a diagnosis of the same person and disease within this many days "
                                                    "of the previous one joins the same report card (0: same day)")
    syndromes: dict[str, int] = Field(
        default_factory=lambda: {"ili": 30, "fever": 40, "diarrhoea": 20, "rash": 5, "jaundice": 5},
        description="syndromes counted weekly by fever clinics and sentinel sites (症状监测), each with its fixed "
                    "warning threshold used while a site has fewer than surveillance_min_history weeks recorded")
    surveillance_weeks: int = Field(8, ge=2, le=52, description="previous weeks the threshold is read from "
                                                                "(mean + surveillance_sd SD)")
    surveillance_sd: int = Field(2, ge=1, le=5, description="standard deviations above the mean (预警阈值)")
    surveillance_min_cases: int = Field(5, ge=1, description="a threshold from history is at least this many cases")
    surveillance_min_history: int = Field(4, ge=2, description="weeks of history needed before the threshold is "
                                                               "read from it (else the syndrome's fixed threshold)")
    stockpile_warn_days: int = Field(90, ge=0, description="emergency supplies expiring within this many days are "
                                                           "flagged (近效期)")
    foodborne_cluster_min_cases: int = Field(2, ge=2, le=1000, description="food-borne cases at one exposure place "
                                             "within the window that make a cluster (食源性聚集性病例: 2 or more)")
    foodborne_cluster_window_hours: int = Field(72, ge=1, le=24 * 30, description="hours from a cluster's first "
                                                "case (onset, else diagnosis) within which a case of the same place "
                                                "joins it (ours)")
    foodborne_cluster_report_hours: int = Field(2, ge=1, le=24 * 7, description="hours from the diagnosis that "
                                                "made the cluster to its report (ours: the 2 h of an emergency "
                                                "report; see docs/en/public-health.md)")

    @model_validator(mode="after")
    def _check_surveillance(self) -> PublicHealthPolicy:
        if not self.syndromes:
            raise ValueError("syndromes: at least one syndrome")
        bad = sorted(k for k, v in self.syndromes.items() if v < 1 or not k.replace("_", "").isalnum())
        if bad:
            raise ValueError(f"syndromes: {', '.join(bad)}: a code of letters, digits and _ with a threshold >= 1")
        if self.surveillance_min_history > self.surveillance_weeks:
            raise ValueError("surveillance_min_history cannot exceed surveillance_weeks")
        return self


class PharmacyPolicy(_Model):
    """One pharmacy for the consortium (药品统一管理): stock-out alerts from recent usage."""

    usage_weeks: int = Field(4, ge=1, le=52, description="weeks of issues the usage rate is read from")
    alert_days: int = Field(14, ge=1, description="alert when the stock lasts fewer days than this at that rate")


class WorkforcePolicy(_Model):
    """Pooled staff and quality (人员县管乡用、乡聘村用；处方点评、病历质控; seed 002 §2, §7, §8): the stationing rules,
    prescription review by random sampling and the medical-record checklist."""

    attending_titles: tuple[str, ...] = Field(("intermediate", "associate_senior", "senior"),
                                              description="titles counted as attending level or above (主治医师以上)")
    attending_per_township: int = Field(1, ge=0, description="lead-hospital doctors of attending level or above "
                                                             "stationed at every township centre, every day (常年)")
    city_experts: int = Field(3, ge=0, description="experts of the supporting city tertiary hospital stationed in "
                                                   "every consortium, every day (常年驻守, 002 §2(3))")
    city_min_level: int = Field(3, ge=0, le=3, description="an expert's employer is a hospital outside the "
                                                           "consortia of at least this level (3: 三级)")
    review_rate: Rate = Field(100, description="share of an institution's prescriptions drawn for review (处方点评 "
                                               "抽样比例)")
    review_min: int = Field(100, ge=1, description="at least this many drawn (all when there are fewer)")
    review_pass_score: int = Field(80, ge=0, le=100, description="a reviewed prescription scoring at least this "
                                                                 "is rational (合理处方)")
    record_checklist: str = Field("", description="TOML file of the medical-record checklist (病历质控评分表: items "
                                                  "and weights); empty: the one shipped with yigongti")
    training_hours_required: Weight = Field(Decimal(0), description="training hours a year each township or village "
                                                                    "staff member must attend (基层人员年度培训学时); "
                                                                    "0: not assessed")

    @model_validator(mode="after")
    def _check(self) -> WorkforcePolicy:
        bad = sorted(set(self.attending_titles) - {"junior", "intermediate", "associate_senior", "senior"})
        if bad:
            raise ValueError(f"attending_titles: unknown title {', '.join(bad)} (junior, intermediate, "
                             "associate_senior, senior)")
        return self

    @field_validator("training_hours_required")
    @classmethod
    def _hours(cls, v: Decimal) -> Decimal:
        if not Decimal(0) <= v <= Decimal(2000):
            raise ValueError(f"{v} hours is not between 0 and 2000 / 年度培训学时须在 0-2000 之间")
        return v


class AgreementPolicy(_Model):
    """The yearly budget agreement (总额一年一议、谈判核定; 001 四2(4), 002 十六): how the bureau's proposal is derived
    from the formula budget. A consortium whose lead institution's kind is one of ``tcm_kinds`` (中医医疗机构牵头)
    has its proposal multiplied by ``tcm_uplift`` (在总额预算上适当倾斜)."""

    tcm_uplift: Weight = Field(Decimal(1), description="multiplier of a TCM-led consortium's proposal, e.g. 1.03")
    tcm_kinds: tuple[str, ...] = ("tcm",)

    @model_validator(mode="after")
    def _check(self) -> AgreementPolicy:
        if self.tcm_uplift <= 0:
            raise ValueError("tcm_uplift must be > 0")
        return self


DISTRIBUTION_FORMS = ("cash", "project", "equipment")
"""How a distributed surplus is paid (资金直接拨付、项目资助、设备投入; 001 四2(2))."""


class SurplusPolicy(_Model):
    """What becomes of a consortium's retained surplus over the years (结余留用; 001 四2(2)): a share funds the risk
    reserve (风险基金, drawn on for the consortium's share of an overspend), a share is carried forward into next
    year's account (留用于下一年度) out of what the reserve leaves, the rest is distributed in the forms of
    ``distribution`` (shares summing to 100%), in advance each quarter when ``interim_share`` > 0
    (按季度进行结余分配)."""

    reserve_share: Rate = 0
    reserve_cap: Yuan | None = Field(None, description="the reserve balance is not funded beyond this amount")
    carry_forward: Rate = 0
    interim_share: Rate = Field(0, description="share of the running balance paid out at the end of Q1, Q2, Q3")
    distribution: dict[str, Rate] = Field(default_factory=lambda: {"cash": BP})

    @model_validator(mode="after")
    def _check(self) -> SurplusPolicy:
        for name in ("reserve_share", "carry_forward", "interim_share"):
            if not 0 <= getattr(self, name) <= BP:
                raise ValueError(f"{name} must be between 0% and 100%")
        bad = sorted(set(self.distribution) - set(DISTRIBUTION_FORMS))
        if bad:
            raise ValueError(f"distribution forms must be among {', '.join(DISTRIBUTION_FORMS)}: {', '.join(bad)}")
        if sum(self.distribution.values()) != BP:
            raise ValueError(f"distribution must sum to 100%, sums to {_bp_text(sum(self.distribution.values()))}")
        return self


PACKAGE_PARTS = ("duty", "history", "heads")
"""The parts of the internal package (包干): by duty, by recent statistics, by designated heads."""


class PackagePolicy(_Model):
    """The internal package (医共体内部包干; 000 三(三)1 「根据其工作职责及绩效考核情况，合理确定包干费用的分配比例」):
    at the start of the year a consortium's prospective budget is allocated to its members by the weighted ``mix``
    of three parts (shares summing to 100%): ``duty`` (the tiers' ``settlement.tier_shares``, within a tier the
    member's duty weight or heads), ``history`` (the member's share of last year's medical costs at it, 近年统计) and
    ``heads`` (its designated heads). At the year end ``balance_share`` of a positive amount to share goes to the
    members whose package shows a positive balance, by balance x score (结余多者多得); an overspend is always shared
    by the internal split (rules.md D4)."""

    mix: dict[str, Rate] = Field(default_factory=lambda: {"duty": 5000, "history": 3000, "heads": 2000},
                                 description="the package's parts: duty, history, heads (summing to 100%)")
    balance_share: Rate = Field(0, description="share of a positive amount to share paid by the members' package "
                                               "balances x score at the year end")

    @field_validator("mix")
    @classmethod
    def _mix(cls, mix: dict[str, int]) -> dict[str, int]:
        bad = sorted(set(mix) - set(PACKAGE_PARTS))
        if bad:
            raise ValueError(f"the parts must be among {', '.join(PACKAGE_PARTS)}: {', '.join(bad)}")
        if sum(mix.values()) != BP:
            raise ValueError(f"must sum to 100%, sums to {_bp_text(sum(mix.values()))} / 包干分配权重之和须为 100%")
        return mix

    def part(self, name: str) -> int:
        """The share (bp) of a part of the package (0 when the mix leaves it out)."""
        return self.mix.get(name, 0)


class GpPayPolicy(_Model):
    """GP pay (家庭医生薪酬): linked to contracted heads and quality, with a rural allowance (000 三(二)4), care.md.
    Per GP and year: ``per_head`` x contracted heads, ``quality_per_head`` x heads x the quality score (the weighted
    control and standardized-management rates of the GP's chronic patients), and the allowance of the tier of the
    GP's institution."""

    per_head: Yuan = Field(4_000, description="base pay per contracted head and year (签约人头, yuan)")
    quality_per_head: Yuan = Field(2_000, description="quality pay per head at a quality score of 100% (yuan)")
    control_weight: Rate = Field(6000, description="share of the quality score from the control rate; the rest "
                                                   "from the standardized-management rate")
    village_allowance: Yuan = Field(360_000, description="rural allowance a year, GP of a village clinic (yuan)")
    township_allowance: Yuan = Field(240_000, description="rural allowance a year, GP of a township centre (yuan)")

    @model_validator(mode="after")
    def _check(self) -> GpPayPolicy:
        for key in ("per_head", "quality_per_head", "village_allowance", "township_allowance"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must be >= 0 / 金额不可为负")
        return self


class KeyPopulationPolicy(_Model):
    """Service schedules of the key populations (重点人群服务规范; 国家基本公共卫生服务规范 第三版, 002 十二), care.md:
    a yearly health check for people aged ``elderly_age``+ (老年人健康管理); child health visits at the ages of
    ``child_visit_months`` (0: the newborn home visit ``newborn_visit_days`` after birth; 0-6岁儿童健康管理); prenatal
    visits in the windows of gestational weeks ``prenatal_weeks``, at least ``prenatal_min_visits`` (孕产妇健康管理);
    tuberculosis treatment follow-ups, every ``tb_intensive_every_days`` in the intensive phase of
    ``tb_intensive_months`` and every ``tb_continuation_every_months`` after it, to ``tb_treatment_months``
    (肺结核患者健康管理); severe mental disorders every ``mental_every_months`` (严重精神障碍患者管理)."""

    elderly_age: int = Field(65, ge=50, le=100, description="age from which the yearly health check is due")
    child_max_age: int = Field(6, ge=0, le=14, description="children up to this age (inclusive) are followed")
    newborn_visit_days: int = Field(7, ge=1, le=28, description="the newborn home visit is due this many days "
                                                                 "after birth (新生儿家庭访视)")
    child_visit_months: tuple[int, ...] = Field((0, 1, 3, 6, 8, 12, 18, 24, 30, 36, 48, 60, 72),
                                                description="ages (months) of the child health visits; 0 the "
                                                            "newborn home visit")
    prenatal_weeks: tuple[tuple[int, int], ...] = Field(((0, 13), (16, 20), (21, 24), (28, 36), (37, 40)),
                                                        description="windows [from, to] of gestational weeks, one "
                                                                    "prenatal visit each (产前检查)")
    prenatal_min_visits: int = Field(5, ge=1, le=20, description="prenatal visits a pregnancy needs at least")
    tb_treatment_months: int = Field(6, ge=1, le=36, description="length of a tuberculosis treatment (疗程)")
    tb_intensive_months: int = Field(2, ge=0, le=12, description="its intensive phase (强化期)")
    tb_intensive_every_days: int = Field(10, ge=1, le=62, description="a follow-up every this many days in the "
                                                                       "intensive phase")
    tb_continuation_every_months: int = Field(1, ge=1, le=6, description="a follow-up every this many months in "
                                                                          "the continuation phase (继续期)")
    mental_every_months: int = Field(3, ge=1, le=12, description="a follow-up of a severe mental disorder every "
                                                                  "this many months (quarterly)")

    @model_validator(mode="after")
    def _check(self) -> KeyPopulationPolicy:
        months = self.child_visit_months
        if not months or any(b <= a for a, b in zip(months, months[1:], strict=False)) or months[0] < 0:
            raise ValueError("child_visit_months: ages in months, at least one, strictly increasing from 0 / "
                             "儿童健康检查月龄须从小到大")
        if months[-1] >= 12 * (self.child_max_age + 1):
            raise ValueError(f"child_visit_months: {months[-1]} months is beyond child_max_age {self.child_max_age}")
        last = -1
        for i, (lo, hi) in enumerate(self.prenatal_weeks):
            if not last < lo <= hi <= 42:
                raise ValueError(f"prenatal_weeks[{i}]: [{lo}, {hi}] must be a window of gestational weeks after "
                                 "the one before, within 0-42 / 孕周区间须递增且不重叠")
            last = hi
        if len(self.prenatal_weeks) < self.prenatal_min_visits:
            raise ValueError(f"prenatal_weeks: {len(self.prenatal_weeks)} windows, fewer than prenatal_min_visits "
                             f"{self.prenatal_min_visits}")
        if self.tb_intensive_months > self.tb_treatment_months:
            raise ValueError("tb_intensive_months must be <= tb_treatment_months / 强化期不能长于疗程")
        return self


class CarePolicy(_Model):
    """Family doctors and chronic disease (家庭医生签约、慢病管理; 国家基本公共卫生服务规范): the panel cap of a family
    doctor, the control thresholds (血压 < 140/90 mmHg, 空腹血糖 < 7.0 mmol/L), the follow-up norms (at least 4
    face-to-face follow-ups a year), the worklist horizons and long prescriptions (长处方)."""

    panel_cap: int = Field(1500, ge=1, description="residents a family doctor (GP) may have under contract at once")
    contract_months: int = Field(12, ge=1, le=60, description="length of a family-doctor contract (签约周期)")
    systolic_below: int = Field(140, ge=60, le=250, description="blood pressure controlled when systolic < this")
    diastolic_below: int = Field(90, ge=30, le=150, description="...and diastolic < this (mmHg)")
    glucose_below: Weight = Field(Decimal("7.0"), description="diabetes controlled when fasting glucose < this "
                                                              "(mmol/L)")
    followups_per_year: int = Field(4, ge=1, le=52, description="follow-ups a year for standardized management")
    overdue_months: int = Field(3, ge=1, le=24, description="no follow-up for this long: overdue (逾期)")
    lost_months: int = Field(12, ge=1, le=60, description="no follow-up for this long: lost to follow-up (失访)")
    due_days: int = Field(7, ge=1, le=31, description="next follow-up within this many days: due this week")
    long_prescription_days: int = Field(60, ge=1, le=180, description="longest prescription for a stable "
                                                                      "contracted chronic patient (长处方)")
    hypertension_icd: tuple[str, ...] = ("I10-I15",)
    diabetes_icd: tuple[str, ...] = ("E10-E14",)
    gp_pay: GpPayPolicy = GpPayPolicy()
    key_populations: KeyPopulationPolicy = KeyPopulationPolicy()

    @model_validator(mode="after")
    def _check(self) -> CarePolicy:
        if self.glucose_below <= 0:
            raise ValueError("glucose_below must be > 0")
        if self.lost_months < self.overdue_months:
            raise ValueError("lost_months must be >= overdue_months")
        return self


class Policy(_Model):
    """The whole effective policy of a county for a year."""

    version: str = "rules-2026.1"
    enrollment: EnrollmentPolicy = EnrollmentPolicy()
    benefits: BenefitPolicy = BenefitPolicy()
    capitation: CapitationPolicy = CapitationPolicy()
    settlement: SettlementPolicy = SettlementPolicy()
    referral: ReferralPolicy = ReferralPolicy()
    agreement: AgreementPolicy = AgreementPolicy()
    public_health: PublicHealthPolicy = PublicHealthPolicy()
    pharmacy: PharmacyPolicy = PharmacyPolicy()
    workforce: WorkforcePolicy = WorkforcePolicy()
    surplus: SurplusPolicy = SurplusPolicy()
    package: PackagePolicy = PackagePolicy()
    care: CarePolicy = CarePolicy()


def dotted(path: PolicyPath) -> str:
    """``("capitation", "age_bands", 0, "weight")`` -> ``capitation.age_bands[0].weight``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base`` key by key at every depth (逐键合并): where both hold a table the tables
    merge, anything else (a scalar, an array, a table over a scalar) replaces the base's value whole."""
    out = dict(base)
    for key, value in override.items():
        below = out.get(key)
        out[key] = deep_merge(below, value) if isinstance(below, Mapping) and isinstance(value, Mapping) else value
    return out


def override_paths(override: Mapping[str, Any], prefix: PolicyPath = ()) -> list[PolicyPath]:
    """The paths of the values an override sets: every key that does not hold a table (an array is one value)."""
    out: list[PolicyPath] = []
    for key, value in override.items():
        if isinstance(value, Mapping):
            out.extend(override_paths(value, (*prefix, key)))
        else:
            out.append((*prefix, key))
    return out


def _strip_optional(hint: Any) -> Any:
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _hint_at(path: PolicyPath) -> Any:
    """The declared type at ``path`` of the Policy model (None when the path leaves the model)."""
    hint: Any = Policy
    for part in path:
        hint = _strip_optional(hint)
        origin = get_origin(hint)
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            if not isinstance(part, str) or part not in hint.model_fields:
                return None
            hint = get_type_hints(hint, include_extras=True)[part]
        elif origin is tuple and isinstance(part, int):
            hint = get_args(hint)[0]
        elif origin is dict and isinstance(part, str):
            hint = get_args(hint)[1]
        else:
            return None
    return _strip_optional(hint)


def _expected(hint: Any) -> str:
    """What a value of type ``hint`` is written as, for error messages (期望的类型)."""
    if hint == Yuan:
        return 'an amount in yuan like "20.00" or 20 / 金额（元）'
    if hint == Rate:
        return 'a rate like "90%" or 0.9 / 比例'
    if hint == Weight or hint is Decimal:
        return 'a decimal number like "1.30" / 小数'
    if hint is bool:
        return "true or false / 布尔值"
    if hint is int:
        return "an integer / 整数"
    if hint is str:
        return "a string / 字符串"
    if hint is date:
        return "a date like 2025-09-01 / 日期"
    if isinstance(hint, type) and issubclass(hint, Enum):
        return "one of " + ", ".join(repr(m.value) for m in hint) + " / 取值之一"
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return "a table / 表"
    if get_origin(hint) is tuple:
        item = get_args(hint)[0]
        if isinstance(item, type) and issubclass(item, BaseModel):
            return "an array of tables / 表的数组"
        return f"an array of {_expected(item).split(' / ')[0]} / 数组"
    if get_origin(hint) is dict:
        return f"a table of {_expected(get_args(hint)[1]).split(' / ')[0]} / 表"
    return str(hint)


def _problem(error: Mapping[str, Any]) -> tuple[str, str]:
    path: PolicyPath = tuple(p for p in error["loc"] if isinstance(p, str | int))
    if error["type"] == "extra_forbidden":
        return dotted(path), "unknown key / 未知的键"
    msg = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        return dotted(path), f"{msg} / 缺少必填的键"
    hint = _hint_at(path)
    if hint is None or (error["type"] == "value_error" and isinstance(hint, type) and issubclass(hint, BaseModel)):
        return dotted(path), msg  # a rule across keys (tier_shares sum, grade order ...): no single type expected
    return dotted(path), f"{msg}; expected {_expected(hint)}"


def parse_policy_toml(text: str, *, source: str = "policy.toml") -> dict[str, Any]:
    """The tables of a policy file as parsed, not yet merged; raises PolicyError naming ``source``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc} / 配置文件格式错误", (("",
                                                                           f"not valid TOML: {exc}"),)) from exc


def merge_policy(override: Mapping[str, Any], *, source: str = "policy.toml", base: Policy | None = None) -> Policy:
    """``override`` (a parsed policy file) merged key by key at every depth over ``base`` (the defaults
    when None) and validated. Raises PolicyError naming ``source`` and the dotted key of every problem."""
    below = (base if base is not None else Policy()).model_dump(mode="json")
    try:
        return Policy.model_validate(deep_merge(below, override))
    except ValidationError as exc:
        problems = tuple(_problem(e) for e in exc.errors())
        lines = [f"{source}: {key}: {msg}" if key else f"{source}: {msg}" for key, msg in problems]
        raise PolicyError("invalid policy / 配置无效:\n" + "\n".join(lines), problems) from exc


def policy_from_toml(text: str, *, source: str = "policy.toml", base: Policy | None = None) -> Policy:
    """Parse and validate a policy; keys not given keep their value in ``base`` (the defaults when None), at
    every depth. Raises PolicyError naming ``source`` and each bad key."""
    return merge_policy(parse_policy_toml(text, source=source), source=source, base=base)


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    if _BARE_KEY.fullmatch(key):
        return key
    import tomli_w

    return str(tomli_w.dumps({key: 0})).rsplit(" = ", 1)[0]


def _toml_table(data: Mapping[str, Any], path: tuple[str, ...], marks: Mapping[PolicyPath, str],
                lines: list[str]) -> None:
    import tomli_w

    for key, value in data.items():
        if isinstance(value, Mapping):
            continue
        text = str(tomli_w.dumps({key: value})).rstrip("\n")
        mark = marks.get((*path, key))
        lines.append(f"{text}  # {mark}" if mark else text)
    for key, value in data.items():
        if isinstance(value, Mapping):
            sub = (*path, key)
            lines.extend(["", "[" + ".".join(_toml_key(k) for k in sub) + "]"])
            _toml_table(value, sub, marks, lines)


def policy_to_toml(policy: Policy, *, marks: Mapping[PolicyPath, str] | None = None) -> str:
    """The effective policy as TOML (what ``yigongti policy show`` prints). ``marks`` maps the path of a value to a
    note written after it as a comment (the file an override set it in); the text stays valid TOML."""
    data = policy.model_dump(mode="json", exclude_none=True)
    lines: list[str] = []
    _toml_table(data, (), marks or {}, lines)
    return "\n".join(lines) + "\n"
