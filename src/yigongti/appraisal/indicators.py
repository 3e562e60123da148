"""Indicator sets (考核指标体系) as data: a versioned TOML file validated into a pydantic model.

An indicator is a numerator and a denominator, each a small expression over named measures (计量) that the engine
knows (``MEASURES``): ``+ - * /``, parentheses, numbers, measure names and ``prev(name)`` (the same measure one year
earlier). No SQL in configuration. A judged indicator (``kind = "checklist"``) is scored from the ``checklist`` input
table that an official fills in: the share of its items passed.

The packaged sets live in ``yigongti/appraisal/indicators/<id>.toml``; ``yigongti.appraisal.indicator_sets`` reads them.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from yigongti.core.problems import validation_message

__all__ = [
    "DEFAULT_SET",
    "MEASURES",
    "SCOPE_KINDS",
    "UNIT_FACTORS",
    "Attribution",
    "Direction",
    "Indicator",
    "IndicatorGroup",
    "IndicatorSet",
    "IndicatorSetError",
    "MeasureInfo",
    "NotComputable",
    "Parameters",
    "ScopeKind",
    "ScoringRules",
    "Unit",
    "compiled_expression",
    "evaluate",
    "icd_matches",
    "indicator_set_from_toml",
    "measures_in",
    "parse_expression",
]

DEFAULT_SET = "national-2024"
class ScopeKind(StrEnum):
    """What an indicator is computed for (考核范围): the whole county (全县), a consortium (医共体) or a member
    institution (成员单位); the ``scope_kind`` column."""

    COUNTY = "county"
    CONSORTIUM = "consortium"
    INSTITUTION = "institution"


SCOPE_KINDS = tuple(k.value for k in ScopeKind)


class IndicatorSetError(ValueError):
    """An indicator set that does not validate; the message names every offending key."""


class NotComputable(Exception):
    """An indicator that cannot be computed for a scope (不可计算), with the reason in Chinese and English."""


# --------------------------------------------------------------------------------------------- measures

class Attribution(StrEnum):
    """Whom a measure is counted for.

    ``residents``: the insured persons of a scope (county: persons of the county; consortium: its enrollees;
    township / village institution: persons designated to it; county-tier member: all its consortium's enrollees).
    ``providers``: the institutions of a scope (county: institutions in the county; consortium: its members;
    institution: itself).
    """

    RESIDENTS = "residents"
    PROVIDERS = "providers"


@dataclass(frozen=True)
class MeasureInfo:
    name: str
    attribution: Attribution
    table: str  # the input table it needs
    zh: str
    en: str
    money: bool = False  # int fen in the engine, yuan in expressions
    has_prev: bool = False  # prev(name) is defined (the year before, same people / institutions)


def _m(name: str, attribution: Attribution, table: str, zh: str, en: str, *, money: bool = False,
       has_prev: bool = False) -> tuple[str, MeasureInfo]:
    return name, MeasureInfo(name, attribution, table, zh, en, money, has_prev)


R, P = Attribution.RESIDENTS, Attribution.PROVIDERS
MEASURES: dict[str, MeasureInfo] = dict((
    _m("population", R, "persons", "参保人数", "insured persons"),
    _m("population_30_69", R, "persons", "30-69岁参保人数", "insured persons aged 30-69 on Jan 1"),
    _m("visits_res", R, "claims", "参保人门诊人次", "outpatient visits of the insured", has_prev=True),
    _m("visits_res_in_county", R, "claims", "参保人县域内门诊人次", "their outpatient visits in the county",
       has_prev=True),
    _m("visits_res_primary", R, "claims", "参保人基层门诊人次", "their outpatient visits at township/village level",
       has_prev=True),
    _m("admissions_res", R, "claims", "参保人住院人次", "admissions of the insured", has_prev=True),
    _m("admissions_res_in_county", R, "claims", "参保人县域内住院人次", "their admissions in the county",
       has_prev=True),
    _m("cost_res", R, "claims", "参保人医疗总费用", "total medical cost of the insured", money=True, has_prev=True),
    _m("cost_res_in_county_inpatient", R, "claims", "参保人县域内住院总费用", "their in-county inpatient cost",
       money=True, has_prev=True),
    _m("fund_res", R, "adjudicated", "医保基金支付", "fund payments for the insured", money=True, has_prev=True),
    _m("fund_res_in_county", R, "adjudicated", "县域内医保基金支付", "fund payments in the county", money=True,
       has_prev=True),
    _m("fund_res_primary", R, "adjudicated", "基层医保基金支付", "fund payments at township/village level",
       money=True, has_prev=True),
    _m("fund_res_in_county_primary", R, "adjudicated", "县域内基层医保基金支付",
       "fund payments at in-county township/village institutions", money=True, has_prev=True),
    _m("major_new_cases", R, "claims", "重大疾病新发病例", "persons with a major-disease diagnosis this year and "
       "none the year before"),
    _m("managed_hypertension", R, "followups", "高血压管理人数", "hypertension patients followed up this year"),
    _m("standard_hypertension", R, "followups", "高血压规范管理人数",
       "…followed up at least the standard number of times"),
    _m("controlled_hypertension", R, "followups", "高血压控制人数", "…controlled at the last follow-up of the year"),
    _m("managed_diabetes", R, "followups", "糖尿病管理人数", "diabetes patients followed up this year"),
    _m("standard_diabetes", R, "followups", "糖尿病规范管理人数", "…followed up at least the standard number of times"),
    _m("controlled_diabetes", R, "followups", "糖尿病控制人数", "…controlled at the last follow-up of the year"),
    _m("managed_chronic", R, "followups", "慢病健康管理人数", "persons under chronic-disease management"),
    _m("admissions_managed", R, "followups", "慢病管理人群住院人次", "admissions of persons under management"),
    _m("contracted", R, "contracts", "家庭医生签约人数", "persons with a family-doctor contract in force"),
    _m("deaths_premature", R, "deaths", "30-69岁四类慢病死亡人数",
       "deaths aged 30-69 from cardiovascular disease, cancer, diabetes or chronic respiratory disease"),
    _m("visits", P, "claims", "门诊人次", "outpatient visits at the institutions", has_prev=True),
    _m("visits_primary", P, "claims", "基层门诊人次", "outpatient visits at township/village institutions",
       has_prev=True),
    _m("visits_tcm", P, "claims", "中医机构门诊人次", "outpatient visits at TCM institutions", has_prev=True),
    _m("discharges", P, "claims", "出院人次", "admissions (by admission year) at the institutions", has_prev=True),
    _m("bed_days", P, "claims", "出院者占用床日", "bed days of those admissions (a same-day stay counts 1)",
       has_prev=True),
    _m("discharges_county_tier", P, "claims", "县级机构出院人次", "admissions at county-tier institutions",
       has_prev=True),
    _m("up_referrals", P, "claims", "上转人次", "referrals sent to a higher tier", has_prev=True),
    _m("down_referrals", P, "claims", "下转人次", "referrals sent to a lower tier", has_prev=True),
    _m("down_referrals_from_county", P, "claims", "县级机构下转人次", "down-referrals sent by county-tier units",
       has_prev=True),
    _m("referrals_completed", P, "referrals", "完成转诊人次",
       "referrals of the workflow completed in the year (completed or returned), counted for the sender"),
    _m("stationed_doctors", P, "postings", "派驻基层中级以上医师人数",
       "intermediate-title-or-above doctors from secondary-or-higher institutions stationed >= 6 months at the "
       "primary-level institutions"),
    _m("remote_diagnoses", P, "remote_diagnoses", "远程影像/心电/超声诊断人次",
       "remote imaging, ECG and ultrasound diagnoses requested by the institutions"),
    _m("villages", P, "institutions", "村卫生室数", "village-tier institutions"),
    _m("villages_with_ecg", P, "equipment", "配备心电设备的村卫生室数", "village-tier institutions with ECG equipment"),
    _m("primary_staff", P, "staff_income", "基层人员数", "staff of township/village institutions"),
    _m("primary_income", P, "staff_income", "基层人员收入总额", "their total income", money=True),
    _m("lead_staff", P, "staff_income", "牵头医院人员数", "staff of the lead hospitals"),
    _m("lead_income", P, "staff_income", "牵头医院人员收入总额", "their total income", money=True),
    _m("survey_responses", P, "surveys", "满意度调查人数", "satisfaction survey responses"),
    _m("satisfied", P, "surveys", "满意人数", "responses that were satisfied"),
    _m("prescriptions_reviewed", P, "prescription_reviews", "点评处方数", "prescriptions reviewed in the year "
       "(处方点评)"),
    _m("prescription_points", P, "prescription_reviews", "点评处方得分合计", "the sum of their scores (0-100 each)"),
    _m("records_checked", P, "record_checks", "质控病历数", "medical records checked in the year (病历质控)"),
    _m("record_points", P, "record_checks", "质控病历得分合计", "the sum of their scores (0-100 each)"),
))


# --------------------------------------------------------------------------------------------- expressions

_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)


@lru_cache(maxsize=1024)
def parse_expression(text: str) -> ast.expr:
    """Parse and check an expression over measures; raise ValueError naming what is not allowed.
    (Cached: the tree is shared, callers must not change it.)"""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not a valid expression: {text!r}") from exc
    _check(tree.body, text)
    return tree.body


def _check(node: ast.AST, text: str) -> None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, _BINOPS):
        _check(node.left, text)
        _check(node.right, text)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _check(node.operand, text)
    elif isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return
    elif isinstance(node, ast.Name):
        if node.id not in MEASURES:
            raise ValueError(f"unknown measure {node.id!r} in {text!r}; known: {', '.join(sorted(MEASURES))}")
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "prev"
          and len(node.args) == 1 and not node.keywords and isinstance(node.args[0], ast.Name)):
        name = node.args[0].id
        if name not in MEASURES or not MEASURES[name].has_prev:
            raise ValueError(f"prev({name}) is not available in {text!r}")
    else:
        raise ValueError(f"only + - * / ( ), numbers, measure names and prev(name) are allowed: {text!r}")


def measures_in(node: ast.AST) -> set[str]:
    """Measure keys an expression needs: ``name`` for this year, ``prev:name`` for the year before."""
    if isinstance(node, ast.Call):
        return {"prev:" + node.args[0].id}  # type: ignore[attr-defined]
    if isinstance(node, ast.Name):
        return {node.id}
    out: set[str] = set()
    for child in ast.iter_child_nodes(node):
        out |= measures_in(child)
    return out


Evaluator = Callable[[Mapping[str, Decimal | None]], Decimal]


@lru_cache(maxsize=1024)
def compiled_expression(text: str) -> Evaluator:
    """:func:`evaluate` of ``parse_expression(text)`` as one function built once: the same arithmetic in the same
    order, the same NotComputable reasons, without walking the tree again for each scope (12,000 institutions)."""
    return _compiled(parse_expression(text))


def _compiled(node: ast.expr) -> Evaluator:
    if isinstance(node, ast.Constant):
        const = Decimal(str(node.value))
        return lambda values: const
    if isinstance(node, ast.Name | ast.Call):
        key = node.id if isinstance(node, ast.Name) else "prev:" + node.args[0].id  # type: ignore[attr-defined]

        def measure(values: Mapping[str, Decimal | None]) -> Decimal:
            v = values.get(key)
            if v is None:
                evaluate(node, values)  # raises NotComputable with its reason
            assert v is not None
            return v
        return measure
    if isinstance(node, ast.UnaryOp):
        operand = _compiled(node.operand)
        return lambda values: -operand(values)
    assert isinstance(node, ast.BinOp)
    left, right = _compiled(node.left), _compiled(node.right)
    if isinstance(node.op, ast.Add):
        return lambda values: left(values) + right(values)
    if isinstance(node.op, ast.Sub):
        return lambda values: left(values) - right(values)
    if isinstance(node.op, ast.Mult):
        return lambda values: left(values) * right(values)
    reason = f"除数为0 / division by zero in {ast.unparse(node)}"

    def divide(values: Mapping[str, Decimal | None]) -> Decimal:
        a, b = left(values), right(values)
        if b == 0:
            raise NotComputable(reason)
        return a / b
    return divide


def evaluate(node: ast.expr, values: Mapping[str, Decimal | None]) -> Decimal:
    """Value of an expression; raises NotComputable for a missing measure or a division by zero."""
    if isinstance(node, ast.Constant):
        return Decimal(str(node.value))
    if isinstance(node, ast.Name | ast.Call):
        key = node.id if isinstance(node, ast.Name) else "prev:" + node.args[0].id  # type: ignore[attr-defined]
        v = values.get(key)
        if v is None:
            info = MEASURES[key.removeprefix("prev:")]
            when = "上一年 / the year before: " if key.startswith("prev:") else ""
            raise NotComputable(f"缺少数据 {when}{info.zh} (表 {info.table}) / no data for {key} "
                                f"(table {info.table})")
        return v
    if isinstance(node, ast.UnaryOp):
        return -evaluate(node.operand, values)
    assert isinstance(node, ast.BinOp)
    left, right = evaluate(node.left, values), evaluate(node.right, values)
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    if right == 0:
        raise NotComputable(f"除数为0 / division by zero in {ast.unparse(node)}")
    return left / right


# --------------------------------------------------------------------------------------------- the model

class Unit(StrEnum):
    PERCENT = "%"
    PER_10K = "per_10k"
    PER_100K = "per_100k"
    YUAN = "yuan"
    DAYS = "days"
    RATIO = "ratio"
    COUNT = "count"


UNIT_FACTORS: dict[Unit, Decimal] = {
    Unit.PERCENT: Decimal(100), Unit.PER_10K: Decimal(10_000), Unit.PER_100K: Decimal(100_000),
    Unit.YUAN: Decimal(1), Unit.DAYS: Decimal(1), Unit.RATIO: Decimal(1), Unit.COUNT: Decimal(1),
}


class Direction(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


def _number(v: Any) -> Any:
    """A number of the file (weights, targets, bounds) as Decimal; text that is not a number is named, not raised as
    decimal's own error."""
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        return v
    try:
        d = Decimal(str(v).strip())
    except InvalidOperation:
        raise ValueError(f"a number, got {v!r} / 应为数字") from None
    if not d.is_finite():
        raise ValueError(f"a finite number, got {v!r} / 应为有限的数")
    return d


Num = Annotated[Decimal, BeforeValidator(_number)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IndicatorGroup(_Model):
    id: str
    name_zh: str
    name_en: str


class Indicator(_Model):
    """One indicator (指标)."""

    id: str
    name_zh: str
    name_en: str
    group: str
    kind: Literal["computed", "checklist"] = "computed"
    numerator: str = ""
    denominator: str = "1"
    unit: Unit
    direction: Direction = Direction.HIGHER
    target: Num | None = None
    scoring: Literal["ratio", "linear", "pass"] = "ratio"
    zero_at: Num | None = Field(default=None, description="linear scoring: the value that earns 0 points")
    weight: Num = Decimal(0)
    institution_weight: Num = Decimal(0)
    scopes: tuple[Literal["county", "consortium", "institution"], ...] = ("county", "consortium", "institution")
    source: str
    note: str = ""

    @field_validator("numerator", "denominator")
    @classmethod
    def _expr(cls, v: str) -> str:
        if v:
            parse_expression(v)
        return v

    @model_validator(mode="after")
    def _check(self) -> Indicator:
        if self.kind == "computed" and not self.numerator:
            raise ValueError(f"indicator {self.id}: a computed indicator needs a numerator")
        if self.kind == "checklist" and self.unit is not Unit.PERCENT:
            raise ValueError(f"indicator {self.id}: a checklist indicator is a share passed, unit '%'")
        if self.weight < 0 or self.institution_weight < 0:
            raise ValueError(f"indicator {self.id}: weights must be >= 0")
        if (self.weight > 0 or self.institution_weight > 0) and self.target is None:
            raise ValueError(f"indicator {self.id}: a weighted indicator needs a target")
        if self.scoring == "linear" and (self.zero_at is None or self.zero_at == self.target):
            raise ValueError(f"indicator {self.id}: linear scoring needs zero_at different from target")
        if self.institution_weight > 0 and ScopeKind.INSTITUTION not in self.scopes:
            raise ValueError(f"indicator {self.id}: institution_weight > 0 but 'institution' is not in scopes")
        if self.weight > 0 and ScopeKind.CONSORTIUM not in self.scopes:
            raise ValueError(f"indicator {self.id}: weight > 0 but 'consortium' is not in scopes")
        return self

    def weight_for(self, scope_kind: str) -> Decimal:
        if scope_kind == ScopeKind.INSTITUTION:
            return self.institution_weight
        return self.weight


class ScoringRules(_Model):
    """How indicator points add up to a score (0-100)."""

    missing: Literal["exclude", "zero"] = Field(
        default="exclude",
        description="exclude: a not-computable indicator is left out and the other weights rescaled to 100;"
                               " zero: it earns 0 points")
    decimals: int = 2


class Parameters(_Model):
    """Numbers the measures use; a county may change them."""

    standard_followups: int = Field(default=4, ge=1,
                                    description="follow-ups a year for standardized management (规范管理)")
    stationed_min_days: int = Field(default=183, ge=1,
                                    description="days stationed in the year that count as >= 6 months")
    stationed_titles: tuple[str, ...] = ("intermediate", "associate_senior", "senior")
    stationed_from_min_level: int = Field(default=2, ge=0, le=3,
                                          description="hospital grade of the sending institution")
    remote_kinds: tuple[str, ...] = ("imaging", "ecg", "ultrasound")
    major_diseases: tuple[str, ...] = Field(
        default=("I21-I22", "I60-I64", "C00-C97"), description="ICD-10 codes or ranges of major diseases (重大疾病)")
    premature_causes: tuple[str, ...] = ("I00-I99", "C00-C97", "E10-E14", "J30-J98")
    premature_age_min: int = 30
    premature_age_max: int = 70  # exclusive
    tcm_kinds: tuple[str, ...] = ("tcm",)

    @field_validator("major_diseases", "premature_causes")
    @classmethod
    def _icd(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for code in v:
            lo, _, hi = code.partition("-")
            if not lo or (hi and (len(lo) != len(hi) or lo > hi)):
                raise ValueError(f"not an ICD-10 code or range like I60-I64: {code!r}")
        return v


class IndicatorSet(_Model):
    """A versioned indicator set (指标体系)."""

    id: str
    version: str
    name_zh: str
    name_en: str
    source: str = ""
    scoring: ScoringRules = ScoringRules()
    parameters: Parameters = Parameters()
    groups: tuple[IndicatorGroup, ...]
    indicators: tuple[Indicator, ...] = Field(alias="indicator")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _check(self) -> IndicatorSet:
        ids = [i.id for i in self.indicators]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate indicator ids: {', '.join(dup)}")
        groups = {g.id for g in self.groups}
        for ind in self.indicators:
            if ind.group not in groups:
                raise ValueError(f"indicator {ind.id}: unknown group {ind.group!r}")
        for kind, label in ((ScopeKind.CONSORTIUM, "weight"), (ScopeKind.INSTITUTION, "institution_weight")):
            total = sum((i.weight_for(kind) for i in self.indicators), Decimal(0))
            if total != 100:
                raise ValueError(f"the {label}s of the indicators must sum to 100, they sum to {total}")
        return self

    def get(self, indicator_id: str) -> Indicator:
        for i in self.indicators:
            if i.id == indicator_id:
                return i
        raise KeyError(indicator_id)

    def group(self, group_id: str) -> IndicatorGroup:
        return next(g for g in self.groups if g.id == group_id)

    def needed_measures(self) -> set[str]:
        out: set[str] = set()
        for i in self.indicators:
            if i.kind == "computed":
                out |= measures_in(parse_expression(i.numerator)) | measures_in(parse_expression(i.denominator))
        return out


def indicator_set_from_toml(text: str, *, source: str = "indicator_set.toml") -> IndicatorSet:
    """Parse and validate an indicator set; raise IndicatorSetError naming every bad key."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise IndicatorSetError(f"{source}: not valid TOML: {exc} / 指标体系文件格式错误") from exc
    try:
        return IndicatorSet.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            loc = list(e["loc"])
            if len(loc) >= 2 and loc[0] == "indicator" and isinstance(loc[1], int):
                items = raw.get("indicator", [])
                if loc[1] < len(items) and isinstance(items[loc[1]], dict):
                    loc[1] = f"[{items[loc[1]].get('id', loc[1])}]"
            lines.append(f"{source}: {'.'.join(str(p) for p in loc)}: {validation_message(e)}")
        raise IndicatorSetError("invalid indicator set / 指标体系配置无效:\n" + "\n".join(lines)) from exc


def icd_matches(code: str, patterns: tuple[str, ...]) -> bool:
    """Whether an ICD-10 code falls in one of the codes or ranges (``I60-I64`` compares the first 3 characters)."""
    c = code.strip().upper()
    for p in patterns:
        lo, _, hi = p.upper().partition("-")
        if hi:
            if lo <= c[: len(lo)] <= hi:
                return True
        elif c.startswith(lo):
            return True
    return False
