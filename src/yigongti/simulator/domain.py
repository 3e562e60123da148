"""The pilot simulator's pure rules (试点模拟): scenarios, the behaviour model and the figures of a simulated year.

A scenario (情景) is a payment method, a policy override merged key by key into the county's policy, and behaviour
parameters. The behaviour model has three parts, each a documented formula with published or stated defaults
(docs/en/simulator.md):

- designation choice (用脚投票): each Q4 a share ``review_share`` of residents reconsiders its consortium; the
  choice is a multinomial logit over the county's consortia with utility
  ``distance_per_km * km + quality_per_point * score + satisfaction_per_point * satisfaction% + inertia * current``
  (:func:`utility`, :func:`logit`);
- utilisation (就医行为): within a setting (outpatient, inpatient) the volume moves with the price index of care by a
  constant elasticity (RAND HIE: about -0.2), and the level chosen moves with each cell's relative price by a logit
  coefficient (:func:`utilisation_multipliers`);
- prevention (预防): a consortium's effort (0..1) lowers its enrollees' chronic-disease admissions by ``effect``
  per year of effort, compounding, to at most ``max_reduction`` (:func:`prevention_multiplier`);
- the providers' response to the global budget (医共体留住患者): a consortium that keeps its surplus has a reason to
  treat at its own county hospital the non-emergency admissions its enrollees had outside the county; a share
  ``repatriation`` of them per year of the budget, compounding, to at most ``max_repatriation``, is moved to the
  consortium's lead hospital at ``repatriated_cost_ratio`` of the cost (:func:`repatriation_share`). None under fee
  for service, and none by default (0: an assumption to set, not an estimate).

No I/O here: the engine draws with these numbers, the service runs the real adjudication, appraisal and settlement.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yigongti.core.labels import label
from yigongti.core.policy import Policy, PolicyError, Yuan, merge_policy
from yigongti.core.problems import InvalidInput, Problem, validation_message

__all__ = [
    "CHRONIC_ICD",
    "ALL_COUNTIES",
    "CONSORTIUM_METRICS",
    "METRICS",
    "METRIC_NAMES",
    "NAME_RE",
    "NAME_RULE",
    "OOP_GOAL",
    "OOP_WHO",
    "Behaviour",
    "CellKey",
    "ConsortiumYear",
    "CountyYear",
    "Payment",
    "PilotCounty",
    "PilotDesign",
    "Scenario",
    "SimulationResult",
    "SummaryRow",
    "band",
    "icd_in",
    "load_pilot_design",
    "load_scenarios",
    "logit",
    "percentile",
    "pooled",
    "prevention_multiplier",
    "scenario_policy",
    "summarise",
    "summarise_consortia",
    "utilisation_multipliers",
    "utility",
]

CHRONIC_ICD = ("I10-I15", "E10-E14", "I20-I25", "I50", "I60-I69", "J44")
"""Chronic conditions whose admissions prevention can avoid (ambulatory-care-sensitive): hypertension, diabetes,
ischaemic heart disease, heart failure, stroke, COPD (ICD-10 prefixes and ranges)."""


class Payment(StrEnum):
    """How the fund pays (支付方式): a capitation global budget settled at year end, or fee for service."""

    GLOBAL_BUDGET = "global_budget"
    FEE_FOR_SERVICE = "fee_for_service"


class _Model(BaseModel):
    # strict: a boolean or a string is not a number ("true" would be 1.0, "yes" a boolean); finite numbers only
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


NAME_RE = re.compile(r"^[^\W_][\w-]{0,63}$")
"""A scenario's or a pilot region's / income level's name: letters (Chinese too), digits, ``_`` and ``-``, first a
letter or digit, at most 64: it is an id in results.csv and, for a pilot, part of a folder name, so no space, no
path character (``/``, ``..``) and no leading ``=``, ``+``, ``-`` or ``@`` (a spreadsheet formula)."""
NAME_RULE = ("letters, digits, _ and - only, first a letter or digit, at most 64 / "
             "只能包含字母、数字、_ 和 -（不超过 64 个）")


class Behaviour(_Model):
    """Behaviour parameters of a scenario (行为参数), with their defaults and sources (docs/*/simulator.md)."""

    elasticity_outpatient: float = Field(-0.2, ge=-2, le=0, description="price elasticity of outpatient visits "
                                         "(RAND HIE, Manning et al. 1987: about -0.2)")
    elasticity_inpatient: float = Field(-0.1, ge=-2, le=0, description="price elasticity of admissions (RAND HIE: "
                                        "hospital use about half as responsive as outpatient)")
    level_choice: float = Field(-0.6, ge=-5, le=0, description="logit coefficient of a level's log relative price "
                                "in the choice of where to be seen (assumption, see the guide)")
    review_share: float = Field(0.10, ge=0, le=1, description="share of residents reconsidering their designation "
                                "each Q4")
    distance_per_km: float = Field(-0.15, le=0, description="utility per km to the consortium's nearest township")
    quality_per_point: float = Field(0.05, ge=0, description="utility per point of last year's appraisal score")
    satisfaction_per_point: float = Field(0.03, ge=0, description="utility per percentage point of the "
                                          "consortium's enrollees' claims kept in the consortium last year")
    inertia: float = Field(2.0, ge=0, description="utility of staying with the current consortium")
    prevention_effort: float = Field(0.0, ge=0, le=1, description="every consortium's prevention effort (0..1)")
    prevention_by_consortium: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict, description="consortium id -> its effort (0..1)")
    prevention_effect: float = Field(0.05, ge=0, le=1, description="share of chronic admissions avoided per year "
                                     "of full effort")
    max_reduction: float = Field(0.30, ge=0, le=1, description="at most this share of chronic admissions avoided")
    cost_growth: float = Field(0.0, ge=-0.5, le=1, description="yearly growth of the cost per claim")
    income_growth: float = Field(0.0, ge=-0.5, le=1, description="yearly growth of the fund's income")
    repatriation: float = Field(0.0, ge=0, le=1, description="under the global budget: share of the enrollees' "
                                "non-emergency out-of-county admissions the consortium treats at its lead hospital "
                                "instead, per year of the budget, compounding (assumption; 0: no provider response)")
    max_repatriation: float = Field(0.5, ge=0, le=1, description="at most this share of them brought back (the "
                                    "rest needs care the county does not have)")
    repatriated_cost_ratio: float = Field(1.0, gt=0, le=2, description="cost of a brought-back admission relative "
                                          "to its cost outside the county")

    def effort(self, consortium_id: str) -> float:
        """The prevention effort of one consortium: its own when given, else the scenario's."""
        e = self.prevention_by_consortium.get(consortium_id, self.prevention_effort)
        return min(max(e, 0.0), 1.0)


class Scenario(_Model):
    """One scenario (情景): ``[scenarios.NAME]`` of the scenarios file."""

    name: str = Field(pattern=NAME_RE.pattern)
    label: str = Field("", max_length=200, description="what it is, in Chinese (or in both languages)")
    label_en: str = Field("", max_length=200, description="what it is, in English (optional)")
    payment: Payment = Field(Payment.GLOBAL_BUDGET, strict=False)  # written as its value: "fee_for_service"
    policy: dict[str, Any] = Field(default_factory=dict, description="policy override, merged key by key")
    behaviour: Behaviour = Behaviour()
    merge_consortia: bool = Field(False, description="one consortium per county instead of the folder's")

    @property
    def title(self) -> str:
        """The label in both languages, for files read by either (``"label / label_en"``), else the name."""
        return " / ".join(x for x in (self.label, self.label_en) if x) or self.name

    def title_in(self, lang: str) -> str:
        """The label in one language, for a page: English when asked and given, else ``label``, else the name."""
        if lang == "en" and self.label_en:
            return self.label_en
        return self.label or self.label_en or self.name

    def changes(self, lang: str = "zh") -> list[str]:
        """What the scenario changes, one short text each: the payment method, every policy key it sets
        (``定额自付 benefits.flat_copay = 5.00``), every behaviour parameter it sets, one consortium per county; each
        key with its label in ``lang`` before it (``flat copay benefits.flat_copay = 5.00`` in English)."""
        payment = "支付方式 payment" if lang != "en" else "payment method payment"
        out = [f"{payment} = {label('payment', self.payment, lang)} {self.payment.value}"]

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}.{k}" if prefix else str(k), v)
            else:
                out.append(f"{_key_label(prefix, lang)} = {value}")

        walk("", self.policy)
        for name in sorted(self.behaviour.model_fields_set):
            out.append(f"{_key_label(f'behaviour.{name}', lang)} = {getattr(self.behaviour, name)}")
        if self.merge_consortia:
            out.append("一县一个医共体 one consortium per county" if lang != "en" else "one consortium per county")
        return out


def _key_label(key: str, lang: str = "zh") -> str:
    """A scenario's key with its label in ``lang`` before it (``定额自付 benefits.flat_copay``): the label of the key
    or of the nearest table above it that has one (``capitation.risk_weights.diabetes``); the key alone without one."""
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        shown = label("scenario_key", ".".join(parts[:n]), lang)
        if shown != ".".join(parts[:n]):
            return f"{shown} {key}"
    return key


def _problems(source: str, prefix: str, exc: ValidationError) -> list[Problem]:
    out = []
    for e in exc.errors():
        key = ".".join(str(p) for p in e["loc"])
        msg = validation_message(e)
        out.append(Problem(source, 0, ".".join(x for x in (prefix, key) if x), msg))
    return out


def scenario_policy(scenario: Scenario, base: Policy, *, source: str = "scenarios.toml") -> Policy:
    """The county's policy with the scenario's override merged key by key; PolicyError names the file and key."""
    return merge_policy(scenario.policy, source=f"{source}: scenarios.{scenario.name}.policy", base=base)


def load_scenarios(text: str, *, source: str = "scenarios.toml", base: Policy | None = None) -> list[Scenario]:
    """The scenarios of a file, in file order, validated: every problem names the file and the dotted key (the policy
    override is checked against ``base``, the defaults when None). Raises InvalidInput."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput([Problem(source, 0, "", f"not valid TOML: {exc} / 文件格式错误")]) from exc
    problems: list[Problem] = [Problem(source, 0, k, "unknown key (expected [scenarios.NAME]) / 未知的键")
                               for k in raw if k != "scenarios"]
    tables = raw.get("scenarios")
    if not isinstance(tables, dict) or not tables:
        problems.append(Problem(source, 0, "scenarios", "no [scenarios.NAME] table / 没有情景"))
        raise InvalidInput(problems)
    out: list[Scenario] = []
    for name, body in tables.items():
        prefix = f"scenarios.{name}"
        if not NAME_RE.match(name):
            problems.append(Problem(source, 0, prefix, f"scenario name {name!r}: {NAME_RULE}"))
            continue
        if not isinstance(body, dict):
            problems.append(Problem(source, 0, prefix, "a table / 应为表"))
            continue
        try:
            sc = Scenario.model_validate({**body, "name": name})
        except ValidationError as exc:
            problems.extend(_problems(source, prefix, exc))
            continue
        try:
            scenario_policy(sc, base or Policy(), source=source)
        except PolicyError as exc:
            problems.extend(Problem(source, 0, f"{prefix}.policy.{k}" if k else f"{prefix}.policy", m)
                            for k, m in exc.problems)
            continue
        out.append(sc)
    if problems:
        raise InvalidInput(problems)
    return out


# --------------------------------------------------------------------------------------------- behaviour

def utility(b: Behaviour, *, km: Any, score: Any, satisfaction: Any, current: Any) -> Any:
    """A consortium's utility to a resident (floats or arrays alike): ``km`` to its nearest township centre, its
    last appraisal ``score`` (0..100), ``satisfaction`` (0..1: its enrollees' claims kept in it last year) and
    ``current`` (1 for the resident's current consortium, else 0)."""
    return (b.distance_per_km * km + b.quality_per_point * score + b.satisfaction_per_point * 100 * satisfaction
            + b.inertia * current)


def logit(utilities: Sequence[float]) -> list[float]:
    """Multinomial logit probabilities of ``utilities`` (stable: the largest is subtracted first)."""
    top = max(utilities)
    w = [math.exp(u - top) for u in utilities]
    s = sum(w)
    return [x / s for x in w]


CellKey = tuple[str, str, str]
"""(setting, network status, level: primary / county / outside): a cell of care with one price."""


def utilisation_multipliers(counts: Mapping[CellKey, int], ratios: Mapping[CellKey, float], *,
                            elasticity: Mapping[str, float], level_choice: float) -> dict[CellKey, float]:
    """Expected claims per baseline claim in each cell under a scenario whose out-of-pocket price of the cell is
    ``ratios[cell]`` times the baseline's. Within a setting: volume x (count-weighted mean ratio) ** elasticity
    (the setting's), split across cells by a logit shift ``ratio ** level_choice``. All ratios 1: every multiplier 1.
    """
    out: dict[CellKey, float] = {}
    for setting in sorted({c[0] for c in counts}):
        cells = [c for c in counts if c[0] == setting and counts[c] > 0]
        n = sum(counts[c] for c in cells)
        if not n:
            continue
        r = {c: max(ratios.get(c, 1.0), 1e-6) for c in cells}
        index = sum(counts[c] * r[c] for c in cells) / n
        volume = index ** elasticity.get(setting, 0.0)
        shifted = sum(counts[c] * r[c] ** level_choice for c in cells) / n
        for c in cells:
            out[c] = volume * r[c] ** level_choice / shifted
    return out


def prevention_multiplier(b: Behaviour, effort: float, years: int) -> float:
    """Chronic-disease admissions after ``years`` of ``effort`` relative to none: (1 - effect x effort) ** years,
    never below 1 - max_reduction."""
    return max(1.0 - b.max_reduction, (1.0 - b.prevention_effect * effort) ** max(years, 0))


def repatriation_share(b: Behaviour, payment: Payment, years: int) -> float:
    """The share of non-emergency out-of-county admissions a consortium treats at its own lead hospital after
    ``years`` of the global budget: ``1 - (1 - repatriation) ** years``, at most ``max_repatriation``; 0 under fee
    for service (the hospital is paid per item wherever the patient goes: no reason to keep them)."""
    if payment is not Payment.GLOBAL_BUDGET or years <= 0:
        return 0.0
    return min(b.max_repatriation, 1.0 - (1.0 - b.repatriation) ** years)


def icd_in(code: str | None, patterns: Iterable[str]) -> bool:
    """Whether an ICD-10 code falls under one of ``patterns``: a prefix (``J44``) or a range of 3-character
    categories (``I10-I15``)."""
    if not code:
        return False
    head = code.strip().upper()[:3]
    for p in patterns:
        if "-" in p:
            lo, hi = p.split("-", 1)
            if lo <= head <= hi:
                return True
        elif code.strip().upper().startswith(p):
            return True
    return False


# --------------------------------------------------------------------------------------------- results

METRICS = (
    ("fund_balance", "基金累计结余（元）", "fund balance, cumulative (yuan)"),
    ("fund_result", "基金当年结余（元）", "fund result of the year (yuan)"),
    ("in_county_admission_share", "县域内住院占比", "in-county admission share"),
    ("primary_visit_share", "基层门诊占比", "primary-level visit share"),
    ("out_of_pocket_share", "个人自付占比", "out-of-pocket share"),
    ("heads_moved", "改签人数", "head count moved"),
    ("visits_per_person", "人均门诊次数", "visits per person"),
    ("admissions_per_100", "每百人住院次数", "admissions per 100"),
)
"""The figures of a simulated year that the summary bands and the report chart: (column, zh, en)."""
METRIC_NAMES = tuple(name for name, _zh, _en in METRICS)
OOP_GOAL = 0.25
"""The out-of-pocket share aimed at (about 25% by 2030; docs/en/simulator.md), a reference line of its chart."""
OOP_WHO = 0.20
"""The out-of-pocket share the WHO advises staying under (20%), a reference line of its chart."""


@dataclass(frozen=True)
class CountyYear:
    """One row of results.csv: a county's year under a scenario in one replicate (money in fen; replicate 0 and
    year Y0 are the observed year)."""

    county: str
    scenario: str
    payment: str
    replicate: int
    year: int
    persons: int
    visits: int
    admissions: int
    in_county_admissions: int
    primary_visits: int
    total_cost: int
    fund_paid_claims: int
    fund_income: int
    fund_outlay: int
    fund_balance: int
    heads_moved: int

    @property
    def fund_result(self) -> int:
        return self.fund_income - self.fund_outlay

    @property
    def visits_per_person(self) -> float:
        return self.visits / self.persons if self.persons else 0.0

    @property
    def admissions_per_100(self) -> float:
        return 100.0 * self.admissions / self.persons if self.persons else 0.0

    @property
    def in_county_admission_share(self) -> float:
        return self.in_county_admissions / self.admissions if self.admissions else 0.0

    @property
    def primary_visit_share(self) -> float:
        return self.primary_visits / self.visits if self.visits else 0.0

    @property
    def out_of_pocket_share(self) -> float:
        return (self.total_cost - self.fund_paid_claims) / self.total_cost if self.total_cost else 0.0

    def metric(self, name: str) -> float:
        return float(getattr(self, name))


@dataclass(frozen=True)
class ConsortiumYear:
    """One row of consortia.csv (money in fen): under fee for service there is no budget and no surplus (0)."""

    county: str
    scenario: str
    replicate: int
    year: int
    consortium_id: str
    name: str
    heads: int
    heads_in: int
    heads_out: int
    budget: int
    spending: int
    balance: int
    surplus: int
    p4p_paid: int
    score: str
    grade: str


@dataclass
class SimulationResult:
    """Every row of a simulation and what it was run with."""

    scenarios: list[Scenario]
    counties: list[str]
    years: int
    replicates: int
    seed: int
    rows: list[CountyYear] = field(default_factory=list)
    consortia: list[ConsortiumYear] = field(default_factory=list)
    observed: list[CountyYear] = field(default_factory=list)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by linear interpolation between order statistics."""
    if not values:
        return math.nan
    s = sorted(values)
    at = q * (len(s) - 1)
    lo = math.floor(at)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (at - lo)


@dataclass(frozen=True)
class SummaryRow:
    """A figure's mean and 5th / 95th percentiles across replicates for one county, scenario and year."""

    county: str
    scenario: str
    year: int
    metric: str
    mean: float
    p5: float
    p95: float
    replicates: int
    consortium_id: str = ""  # a consortium's row (:func:`summarise_consortia`); "" for the county's


ALL_COUNTIES = "all"
"""The county name of rows pooled over every county (:func:`pooled`)."""


def pooled(rows: Iterable[CountyYear]) -> list[CountyYear]:
    """Rows of every county added up by scenario, replicate and year (county :data:`ALL_COUNTIES`): counts and
    money summed, so shares are of the pooled counts."""
    sums: dict[tuple[str, str, int, int], list[int]] = {}
    fields = ("persons", "visits", "admissions", "in_county_admissions", "primary_visits", "total_cost",
              "fund_paid_claims", "fund_income", "fund_outlay", "fund_balance", "heads_moved")
    for r in rows:
        acc = sums.setdefault((r.scenario, r.payment, r.replicate, r.year), [0] * len(fields))
        for i, f in enumerate(fields):
            acc[i] += getattr(r, f)
    return [CountyYear(ALL_COUNTIES, s, p, rep, y, **dict(zip(fields, acc, strict=True)))
            for (s, p, rep, y), acc in sums.items()]


def summarise(rows: Iterable[CountyYear], metrics: Sequence[str] = METRIC_NAMES) -> list[SummaryRow]:
    """Bands across replicates (repeated seeds) of every metric, by county, scenario and year."""
    groups: dict[tuple[str, str, int], list[CountyYear]] = {}
    for r in rows:
        groups.setdefault((r.county, r.scenario, r.year), []).append(r)
    out = []
    for (county, scenario, year), rs in groups.items():
        for m in metrics:
            out.append(SummaryRow(county, scenario, year, m, *band([r.metric(m) for r in rs]), len(rs)))
    return out


def band(values: Sequence[float]) -> tuple[float, float, float]:
    """The band of a figure across replicates: (mean, 5th percentile, 95th percentile)."""
    return sum(values) / len(values), percentile(values, 0.05), percentile(values, 0.95)


CONSORTIUM_METRICS = (("surplus", "结余留用（元）", "surplus kept (yuan)"), ("heads", "签约人头", "heads"))
"""The figures of a consortium-year banded across replicates (:func:`summarise_consortia`): (column, zh, en)."""
_CONSORTIUM_METRIC_NAMES = tuple(name for name, _zh, _en in CONSORTIUM_METRICS)


def summarise_consortia(rows: Iterable[ConsortiumYear],
                        metrics: Sequence[str] = _CONSORTIUM_METRIC_NAMES) -> list[SummaryRow]:
    """Bands across replicates of each consortium's figures, by county, scenario, year and consortium."""
    groups: dict[tuple[str, str, int, str], list[ConsortiumYear]] = {}
    for r in rows:
        groups.setdefault((r.county, r.scenario, r.year, r.consortium_id), []).append(r)
    return [SummaryRow(county, scenario, year, m, *band([float(getattr(r, m)) for r in rs]), len(rs), cid)
            for (county, scenario, year, cid), rs in groups.items() for m in metrics]


# --------------------------------------------------------------------------------------------- pilot design

class PilotCounty(_Model):
    """One generated pilot county: its region and income level and the demo generator's parameters."""

    name: str
    region: str
    income: str
    persons: int = Field(20_000, ge=100, le=2_000_000)
    seed: int = Field(1, ge=0)
    cost_scale: float = Field(1.0, gt=0, le=10, description="multiplier of the demo's cost per claim")
    visits_scale: float = Field(1.0, gt=0, le=5, description="multiplier of visits per person-year")
    admissions_scale: float = Field(1.0, gt=0, le=5, description="multiplier of admissions per person-year")
    outside_scale: float = Field(1.0, gt=0, le=5, description="multiplier of the share of care outside the county")
    employee_share: float = Field(0.20, ge=0, le=1)
    urban_share: float = Field(0.18, ge=0, le=1)
    resident_per_enrollee: int = Field(118_000, ge=0, description="fund income per resident enrollee (fen)")
    employee_per_enrollee: int = Field(200_000, ge=0, description="county share per employee enrollee (fen)")


class PilotDesign(_Model):
    """A pilot design (试点设计): counties by region and income level."""

    title: str = ""
    year: int = 2026
    counties: tuple[PilotCounty, ...]


class _Level(_Model):
    """A ``[regions.R]`` or ``[incomes.I]`` table of a pilot design file (unset keys: the other table's, else the
    county default); amounts in yuan, held as fen."""

    label: str = ""
    persons: int | None = Field(None, ge=100, le=2_000_000)
    seed: int | None = Field(None, ge=0, le=2**31)
    cost_scale: float | None = Field(None, gt=0, le=10)
    visits_scale: float | None = Field(None, gt=0, le=5)
    admissions_scale: float | None = Field(None, gt=0, le=5)
    outside_scale: float | None = Field(None, gt=0, le=5)
    employee_share: float | None = Field(None, ge=0, le=1)
    urban_share: float | None = Field(None, ge=0, le=1)
    resident_per_enrollee: Yuan | None = None
    employee_per_enrollee: Yuan | None = None


MAX_REGIONS, MAX_INCOMES = 100, 10
"""At most this many regions and income levels: a county's seed is ``seed x 1000 + 10 x region + income level``,
distinct for every county within these."""


class _DesignFile(_Model):
    """A pilot design file as written."""

    title: str = ""
    year: int = Field(2026, ge=1990, le=2100)
    persons: int = Field(20_000, ge=100, le=2_000_000)
    seed: int = Field(1, ge=0, le=2**21)
    regions: dict[str, _Level] = Field(min_length=1, max_length=MAX_REGIONS)
    incomes: dict[str, _Level] = Field(min_length=1, max_length=MAX_INCOMES)


def load_pilot_design(text: str, *, source: str = "pilot.toml") -> PilotDesign:
    """A pilot design file: ``[regions.R]`` and ``[incomes.I]`` tables of multipliers and shares, every region x
    income level one county (the two tables' values multiply for ``*_scale``, the income level's wins otherwise;
    yuan amounts in ``resident_per_enrollee`` / ``employee_per_enrollee``). Raises InvalidInput naming the key
    (``regions.east.cost_scale``; a county's product of the two tables as ``regions.R+incomes.I.KEY``)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput([Problem(source, 0, "", f"not valid TOML: {exc} / 文件格式错误")]) from exc
    problems: list[Problem] = []
    for table in ("regions", "incomes"):
        if not isinstance(raw.get(table), dict) or not raw[table]:
            problems.append(Problem(source, 0, table, f"no [{table}.NAME] table / 缺少表"))
            continue
        problems += [Problem(source, 0, f"{table}.{name}", f"name {name!r}: {NAME_RULE}")
                     for name in raw[table] if not NAME_RE.match(name)]
    if problems:
        raise InvalidInput(problems)
    try:
        f = _DesignFile.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(_problems(source, "", exc)) from exc
    counties: list[dict[str, Any]] = []
    where: list[str] = []
    for k, (region, rb) in enumerate(f.regions.items()):
        for j, (income, ib) in enumerate(f.incomes.items()):
            merged: dict[str, Any] = {"persons": f.persons, "seed": f.seed * 1000 + 10 * k + j}
            for key in _Level.model_fields:
                a, b = getattr(rb, key), getattr(ib, key)
                if key == "label":
                    continue
                if key.endswith("_scale"):
                    merged[key] = (1.0 if a is None else a) * (1.0 if b is None else b)
                elif b is not None or a is not None:
                    merged[key] = b if b is not None else a
            counties.append({"name": f"{region}-{income}", "region": region, "income": income, **merged})
            where.append(f"regions.{region}+incomes.{income}")
    seen: dict[str, str] = {}
    for c, at in zip(counties, where, strict=True):
        if c["name"] in seen:
            problems.append(Problem(source, 0, at, f"county name {c['name']!r} also from {seen[c['name']]} / "
                                                   "县名重复"))
        seen.setdefault(c["name"], at)
    if problems:
        raise InvalidInput(problems)
    try:
        return PilotDesign.model_validate({"title": f.title, "year": f.year, "counties": tuple(counties)})
    except ValidationError as exc:
        for e in exc.errors():
            loc = e["loc"]
            at = where[int(loc[1])] if len(loc) > 1 and loc[0] == "counties" else "design"
            key = ".".join(str(x) for x in loc[2:])
            problems.append(Problem(source, 0, f"{at}.{key}" if key else at, validation_message(e)))
        raise InvalidInput(problems) from exc

