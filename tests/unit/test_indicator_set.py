"""The indicator set as configuration: loading, validation errors, the expression language, scoring."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.appraisal.domain import IndicatorValue, checklist_value, fraction, indicator_value, score
from yigongti.appraisal.indicator_sets import load_indicator_set
from yigongti.appraisal.indicators import (
    MEASURES,
    IndicatorSetError,
    NotComputable,
    evaluate,
    icd_matches,
    indicator_set_from_toml,
    measures_in,
    parse_expression,
)

SMALL = """
id = "test"
version = "1"
name_zh = "测试"
name_en = "test"
[[groups]]
id = "g"
name_zh = "组"
name_en = "group"
[[indicator]]
id = "in_county_admissions"
group = "g"
name_zh = "县域内住院量占比"
name_en = "In-county share of admissions"
numerator = "admissions_res_in_county"
denominator = "admissions_res"
unit = "%"
target = 90
weight = {w1}
institution_weight = 0
source = "test"
[[indicator]]
id = "in_county_visits"
group = "g"
name_zh = "县域内就诊率"
name_en = "In-county visit rate"
numerator = "visits_res_in_county"
denominator = "visits_res"
unit = "%"
target = 90
weight = {w2}
institution_weight = 100
source = "test"
"""


def small(w1: int = 60, w2: int = 40) -> str:
    return SMALL.format(w1=w1, w2=w2)


def test_the_packaged_national_set_loads_with_14_official_indicators_in_5_groups() -> None:
    s = load_indicator_set("national-2024")
    official = [i for i in s.indicators if i.group in {"1", "2", "3", "4", "5"}]
    assert {i.group for i in official} == {"1", "2", "3", "4", "5"}
    # 14 numbered indicators (2.2 has a second part, 4.1 its growth)
    assert len({i.id.rstrip("bg") for i in official}) == 14
    assert [i.id for i in s.indicators if i.kind == "checklist"] == ["1.1", "1.2", "1.3"]
    assert sum(i.weight for i in s.indicators) == 100 and sum(i.institution_weight for i in s.indicators) == 100
    for i in s.indicators:
        assert i.name_zh and i.name_en and i.source


def test_weights_that_do_not_sum_to_100_are_refused() -> None:
    with pytest.raises(IndicatorSetError, match="sum to 100, they sum to 95"):
        indicator_set_from_toml(small(60, 35))


def test_unknown_measure_and_sql_are_refused_with_the_indicator_named() -> None:
    with pytest.raises(IndicatorSetError) as exc:
        indicator_set_from_toml(small().replace('"admissions_res"', '"admissions; DROP TABLE claims"'))
    assert "[in_county_admissions]" in str(exc.value) and "not a valid expression" in str(exc.value)
    with pytest.raises(IndicatorSetError, match="unknown measure 'beds'"):
        indicator_set_from_toml(small().replace('"admissions_res"', '"beds"'))
    with pytest.raises(IndicatorSetError, match="only"):
        indicator_set_from_toml(small().replace('"admissions_res"', '"__import__(1)"'))


def test_a_weighted_indicator_needs_a_target() -> None:
    with pytest.raises(IndicatorSetError, match="needs a target"):
        indicator_set_from_toml(small().replace("target = 90\nweight = 60", "weight = 60"))


def test_expressions() -> None:
    e = parse_expression("cost_res - prev(cost_res)")
    assert measures_in(e) == {"cost_res", "prev:cost_res"}
    vals = {"cost_res": Decimal(150), "prev:cost_res": Decimal(100)}
    assert evaluate(parse_expression("(cost_res - prev(cost_res)) / prev(cost_res) * 2"), vals) == Decimal(1)
    with pytest.raises(NotComputable, match="division by zero"):
        evaluate(parse_expression("cost_res / 0"), vals)
    with pytest.raises(NotComputable, match="the year before"):
        evaluate(parse_expression("prev(visits)"), {})
    with pytest.raises(ValueError, match="not available"):
        parse_expression("prev(population)")


def test_zero_or_missing_denominator_is_not_computable_never_zero() -> None:
    ind = load_indicator_set().get("4.2")
    v = indicator_value(ind, {"admissions_res_in_county": Decimal(0), "admissions_res": Decimal(0)})
    assert v.value is None and "denominator is 0" in v.reason
    v = indicator_value(ind, {"admissions_res_in_county": Decimal(3)})
    assert v.value is None and "admissions_res" in v.reason
    assert checklist_value(load_indicator_set().get("1.1"), None, None).value is None


def test_values_round_half_up_to_2_decimals() -> None:
    ind = load_indicator_set().get("4.2")
    assert indicator_value(ind, {"admissions_res_in_county": Decimal(1), "admissions_res": Decimal(8)}).value \
        == Decimal("12.50")
    assert indicator_value(ind, {"admissions_res_in_county": Decimal(2), "admissions_res": Decimal(3)}).value \
        == Decimal("66.67")


def test_scoring_by_hand_and_changing_a_weight_changes_the_score() -> None:
    vals = [IndicatorValue("in_county_admissions", None, None, Decimal("66.67")),
            IndicatorValue("in_county_visits", None, None, Decimal("80.00"))]
    # 60 x 66.67/90 = 44.446.. -> 44.45; 40 x 80/90 = 35.555.. -> 35.56
    s = score(indicator_set_from_toml(small(60, 40)), vals, "consortium")
    assert s.points == {"in_county_admissions": Decimal("44.45"), "in_county_visits": Decimal("35.56")}
    assert s.score == Decimal("80.01")
    # 40 x 0.7408 = 29.63; 60 x 0.8889 = 53.33
    s2 = score(indicator_set_from_toml(small(40, 60)), vals, "consortium")
    assert s2.score == Decimal("82.96")
    # an institution is scored by institution_weight: only the visit rate counts
    assert score(indicator_set_from_toml(small()), vals, "institution").score == Decimal("88.89")


def test_not_computable_indicators_are_excluded_or_zero_as_configured() -> None:
    vals = [IndicatorValue("in_county_admissions", None, None, None, "no data"),
            IndicatorValue("in_county_visits", None, None, Decimal("90.00"))]
    assert score(indicator_set_from_toml(small()), vals, "consortium").score == Decimal("100.00")
    zero = small().replace('name_en = "test"\n', 'name_en = "test"\n[scoring]\nmissing = "zero"\n', 1)
    assert score(indicator_set_from_toml(zero), vals, "consortium").score == Decimal("40.00")
    none = [IndicatorValue("in_county_admissions", None, None, None, "x")]
    assert score(indicator_set_from_toml(small()), none, "consortium").score is None


def test_lower_is_better_and_linear_scoring() -> None:
    s = load_indicator_set()
    alos = s.get("S14")  # target 8 days, lower better
    assert fraction(alos, Decimal(6)) == 1 and fraction(alos, Decimal(10)) == Decimal("0.8")
    growth = s.get("S6")  # linear: full at <= 5 %, none at >= 15 %
    assert fraction(growth, Decimal(5)) == 1 and fraction(growth, Decimal(10)) == Decimal("0.5")
    assert fraction(growth, Decimal(20)) == 0 and fraction(growth, Decimal(-3)) == 1


@given(st.decimals(min_value=-1000, max_value=100000, places=2))
def test_fraction_is_between_0_and_1(value: Decimal) -> None:
    for ind in load_indicator_set().indicators:
        if ind.target is not None:
            assert 0 <= fraction(ind, value) <= 1


def test_icd_ranges() -> None:
    assert icd_matches("I63.9", ("I60-I64",)) and not icd_matches("I65.0", ("I60-I64",))
    assert icd_matches("c34.1", ("C00-C97",)) and icd_matches("E11.9", ("E10-E14",)) and not icd_matches("", ("I",))


def test_every_measure_names_a_contract_table() -> None:
    from yigongti.datafolder.schema import INPUT_TABLES

    assert {m.table for m in MEASURES.values()} <= set(INPUT_TABLES) | {"adjudicated"}


def test_the_domain_modules_do_no_io_and_import_no_engine() -> None:
    import ast as pyast
    from pathlib import Path

    import yigongti.appraisal.domain as appraisal_mod
    import yigongti.appraisal.indicators as indicators_mod

    banned = {"duckdb", "ibis", "pandas", "pyarrow", "sqlalchemy", "importlib", "pathlib", "os", "io"}
    for mod in (indicators_mod, appraisal_mod):
        tree = pyast.parse(Path(str(mod.__file__)).read_text(encoding="utf-8"))
        names = {a.name.split(".")[0] for n in pyast.walk(tree) if isinstance(n, pyast.Import) for a in n.names}
        names |= {str(n.module).split(".")[0] for n in pyast.walk(tree) if isinstance(n, pyast.ImportFrom)}
        assert not names & banned, (mod.__name__, names & banned)
        assert "open(" not in Path(str(mod.__file__)).read_text(encoding="utf-8")


@given(st.decimals(min_value=0, max_value=200, places=2), st.decimals(min_value=0, max_value=200, places=2),
       st.decimals(min_value=0, max_value=200, places=2))
def test_a_better_value_never_lowers_the_score(a: Decimal, b: Decimal, other: Decimal) -> None:
    iset = indicator_set_from_toml(small())
    lo, hi = sorted((a, b))

    def s(v: Decimal) -> Decimal | None:
        return score(iset, [IndicatorValue("in_county_admissions", None, None, v),
                            IndicatorValue("in_county_visits", None, None, other)], "consortium").score

    assert s(lo) is not None and s(hi) is not None
    assert s(lo) <= s(hi) <= 100  # type: ignore[operator]
