"""The policy (政策配置): every business number of RULES.md as typed, versioned configuration.

Defaults are RULES.md's. A county changes them in ``policy.toml``; what it leaves out keeps the default.
Amounts are written in yuan (``"20.00"`` or ``20``) and held as int fen; rates as ``"90%"`` or ``0.9`` and held as
integer basis points. Loading validates everything and names the offending key.
"""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)

from yigongti.domain.money import BP, format_yuan, parse_yuan, rate_to_bp
from yigongti.domain.registry import Tier

__all__ = [
    "AgeBand",
    "BenefitPolicy",
    "BenefitRow",
    "CapitationPolicy",
    "EnrollmentPolicy",
    "GradeName",
    "HouseholdMode",
    "Insurance",
    "Policy",
    "PolicyError",
    "Rate",
    "SettlementPolicy",
    "Yuan",
    "policy_from_toml",
    "policy_to_toml",
]


class PolicyError(ValueError):
    """A policy file that does not validate; the message names every offending key."""


def _yuan(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("an amount in yuan, not a boolean")  # noqa: TRY004 - pydantic reports ValueError only
    if isinstance(v, int):
        return v * 100
    if isinstance(v, float):
        v = repr(v)
    if isinstance(v, Decimal):
        v = str(v)
    if isinstance(v, str):
        return parse_yuan(v)
    raise ValueError(f"an amount in yuan, got {v!r}")


def _rate(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("a rate like '90%' or 0.9, not a boolean")  # noqa: TRY004 - pydantic reports ValueError only
    if isinstance(v, int) and not isinstance(v, bool) and v > 1:
        raise ValueError(f"a rate like '90%' or 0.9; {v} is ambiguous")
    return rate_to_bp(v)


def _bp_text(bp: int) -> str:
    d = Decimal(bp) / 100
    return f"{d.normalize():f}%"


Yuan = Annotated[int, BeforeValidator(_yuan), PlainSerializer(format_yuan, return_type=str)]
"""An amount written in yuan, held as int fen."""
Rate = Annotated[int, BeforeValidator(_rate), PlainSerializer(_bp_text, return_type=str)]
"""A rate written as '90%' or 0.9, held as integer basis points (10000 = 100%)."""
Weight = Annotated[Decimal, BeforeValidator(lambda v: Decimal(str(v))), PlainSerializer(lambda d: str(d), return_type=str)]


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
    """Designated care (定点诊疗), RULES.md A."""

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
    return BenefitRow(inpatient_deductible=ip_ded, inpatient_rate=ip_rate, outpatient_deductible=op_ded,  # type: ignore[arg-type]
                      outpatient_rate=op_rate, outpatient_flat_copay=flat)


class BenefitPolicy(_Model):
    """Benefits per claim (待遇), RULES.md B. Rows are for resident insurance (城乡居民); employee insurance (职工)
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
    """Capitation budget (按年龄调整的人头总额), RULES.md C."""

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
    instalments: int = 12

    @model_validator(mode="after")
    def _check(self) -> CapitationPolicy:
        ages = [b.min_age for b in self.age_bands]
        if not ages or ages[0] != 0 or ages != sorted(set(ages)):
            raise ValueError("age_bands must start at min_age 0 and rise strictly")
        if any(b.weight < 0 for b in self.age_bands):
            raise ValueError("age band weights must be >= 0")
        return self

    def weight(self, age: int) -> Decimal:
        w = self.age_bands[0].weight
        for b in self.age_bands:
            if age >= b.min_age:
                w = b.weight
        return w

    @property
    def pool(self) -> int | None:
        parts = (self.pool_public_health, self.pool_resident, self.pool_employee)
        return None if all(p is None for p in parts) else sum(p or 0 for p in parts)


class Grade(_Model):
    name: str
    min_score: Decimal
    p4p_share: Rate


class SettlementPolicy(_Model):
    """Year-end settlement (结余留用、合理超支分担), RULES.md D."""

    surplus_retained: Rate = BP
    overspend_band: Rate = 500
    overspend_fund_share_in_band: Rate = 5000
    overspend_fund_share_beyond: Rate = 0
    grades: tuple[Grade, ...] = (
        Grade(name=GradeName.EXCELLENT.value, min_score=Decimal(90), p4p_share="100%"),
        Grade(name=GradeName.QUALIFIED.value, min_score=Decimal(60), p4p_share="70%"),
    )
    fail_grade: str = GradeName.UNQUALIFIED.value
    tier_shares: dict[str, Rate] = Field(default_factory=lambda: {"county": 4000, "township": 3500, "village": 2500})
    public_health_share: Rate = 0
    public_health_kinds: tuple[str, ...] = ("cdc", "mch")
    missing_institution_score: Decimal = Decimal(100)
    scores: dict[str, Weight] = Field(
        default_factory=dict,
        description="appraisal score (0-100) by unit id (consortium or institution); a `scores` table overrides it")

    @model_validator(mode="after")
    def _check(self) -> SettlementPolicy:
        bad = sorted(k for k, v in self.scores.items() if not Decimal(0) <= v <= Decimal(100))
        if bad:
            raise ValueError(f"scores must be between 0 and 100: {', '.join(bad)}")
        if sum(self.tier_shares.values()) != BP:
            raise ValueError(f"tier_shares must sum to 100%, sum to {_bp_text(sum(self.tier_shares.values()))}")
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


class Policy(_Model):
    """The whole effective policy of a county for a year."""

    version: str = "rules-2026.1"
    enrollment: EnrollmentPolicy = EnrollmentPolicy()
    benefits: BenefitPolicy = BenefitPolicy()
    capitation: CapitationPolicy = CapitationPolicy()
    settlement: SettlementPolicy = SettlementPolicy()


def policy_from_toml(text: str, *, source: str = "policy.toml") -> Policy:
    """Parse and validate a policy; keys not given keep RULES.md defaults. Raises PolicyError naming each bad key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc} / 配置文件格式错误") from exc
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{source}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise PolicyError("invalid policy / 配置无效:\n" + "\n".join(lines)) from exc


def policy_to_toml(policy: Policy) -> str:
    """The effective policy as TOML (what ``yigongti policy show`` prints)."""
    import tomli_w

    data = policy.model_dump(mode="json", exclude_none=True)
    return str(tomli_w.dumps(data))
