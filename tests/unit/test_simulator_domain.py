"""The simulator's pure rules: the scenario file, the behaviour model, the bands and the pilot design."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.core.policy import Policy
from yigongti.core.problems import InvalidInput
from yigongti.simulator.domain import (
    Behaviour,
    CountyYear,
    Payment,
    icd_in,
    load_pilot_design,
    load_scenarios,
    logit,
    percentile,
    pooled,
    prevention_multiplier,
    repatriation_share,
    scenario_policy,
    summarise,
    utilisation_multipliers,
    utility,
)
from yigongti.simulator.pilot import PILOT_4X3

OUT_PRIMARY = ("outpatient", "designated", "primary")
OUT_COUNTY = ("outpatient", "in_consortium", "county")
IN_COUNTY = ("inpatient", "designated", "county")
COUNTS = {OUT_PRIMARY: 600, OUT_COUNTY: 300, IN_COUNTY: 40}
ELASTICITY = {"outpatient": -0.2, "inpatient": -0.1}


def test_no_price_change_no_change() -> None:
    m = utilisation_multipliers(COUNTS, {c: 1.0 for c in COUNTS}, elasticity=ELASTICITY, level_choice=-0.6)
    assert m == pytest.approx({c: 1.0 for c in COUNTS})


def test_cheaper_primary_care_draws_visits_from_the_county_level() -> None:
    m = utilisation_multipliers(COUNTS, {OUT_PRIMARY: 0.5}, elasticity=ELASTICITY, level_choice=-0.6)
    assert m[OUT_PRIMARY] > 1 > m[OUT_COUNTY]
    assert m[IN_COUNTY] == pytest.approx(1.0)  # another setting: untouched
    share = COUNTS[OUT_PRIMARY] * m[OUT_PRIMARY] / (COUNTS[OUT_PRIMARY] * m[OUT_PRIMARY] + 300 * m[OUT_COUNTY])
    assert share > 600 / 900


@given(st.floats(0.2, 5.0), st.floats(0.2, 5.0), st.floats(-3.0, 0.0))
def test_without_elasticity_the_volume_is_kept_and_only_moves(r1: float, r2: float, beta: float) -> None:
    m = utilisation_multipliers(COUNTS, {OUT_PRIMARY: r1, OUT_COUNTY: r2}, elasticity={}, level_choice=beta)
    assert sum(COUNTS[c] * m[c] for c in COUNTS) == pytest.approx(sum(COUNTS.values()))


def test_rand_elasticity_scales_volume_by_the_price_index() -> None:
    m = utilisation_multipliers({OUT_PRIMARY: 10}, {OUT_PRIMARY: 2.0}, elasticity=ELASTICITY, level_choice=0.0)
    assert m[OUT_PRIMARY] == pytest.approx(2.0 ** -0.2)


def test_prevention_compounds_to_its_floor() -> None:
    b = Behaviour(prevention_effect=0.1, max_reduction=0.25)
    assert prevention_multiplier(b, 0.0, 5) == 1.0
    assert prevention_multiplier(b, 1.0, 1) == pytest.approx(0.9)
    assert prevention_multiplier(b, 1.0, 2) == pytest.approx(0.81)
    assert prevention_multiplier(b, 1.0, 10) == pytest.approx(0.75)
    assert Behaviour(prevention_effort=0.3, prevention_by_consortium={"G1": 0.8}).effort("G1") == 0.8
    assert Behaviour(prevention_effort=0.3).effort("G2") == 0.3


def test_repatriation_compounds_to_its_cap_under_the_global_budget_only() -> None:
    b = Behaviour(repatriation=0.2, max_repatriation=0.45)
    assert repatriation_share(b, Payment.GLOBAL_BUDGET, 1) == pytest.approx(0.2)
    assert repatriation_share(b, Payment.GLOBAL_BUDGET, 2) == pytest.approx(0.36)
    assert repatriation_share(b, Payment.GLOBAL_BUDGET, 3) == pytest.approx(0.45)  # 0.488 capped
    assert repatriation_share(b, Payment.FEE_FOR_SERVICE, 3) == 0.0
    assert repatriation_share(Behaviour(), Payment.GLOBAL_BUDGET, 5) == 0.0  # none by default


def test_choice_utility_and_logit() -> None:
    b = Behaviour()
    near = utility(b, km=2.0, score=85.0, satisfaction=0.9, current=1.0)
    far = utility(b, km=20.0, score=85.0, satisfaction=0.9, current=0.0)
    p = logit([near, far])
    assert sum(p) == pytest.approx(1.0) and p[0] > 0.9
    better = utility(b, km=2.0, score=95.0, satisfaction=0.9, current=0.0)
    worse = utility(b, km=2.0, score=75.0, satisfaction=0.9, current=0.0)
    assert logit([better, worse])[0] > 0.5
    assert logit([1000.0, 0.0])[0] == pytest.approx(1.0)  # stable


def test_scenarios_file() -> None:
    text = """
[scenarios.base]
[scenarios.ffs]
payment = "fee_for_service"
label = "按项目付费"
[scenarios.copay.policy.benefits]
flat_copay = "5.00"
[scenarios.copay.behaviour]
elasticity_outpatient = -0.3
"""
    s = load_scenarios(text)
    assert [x.name for x in s] == ["base", "ffs", "copay"]
    assert s[1].payment is Payment.FEE_FOR_SERVICE and s[1].title == "按项目付费"
    assert scenario_policy(s[2], Policy()).benefits.flat_copay == 500
    assert scenario_policy(s[2], Policy()).benefits.designated_county == Policy().benefits.designated_county
    assert s[2].behaviour.elasticity_outpatient == -0.3 and s[2].behaviour.elasticity_inpatient == -0.1


def test_scenarios_file_problems_name_the_file_and_key() -> None:
    text = """
[scenarios.a]
payment = "capitation"
[scenarios.b.behaviour]
elasticity_outpatient = 0.5
colour = "red"
[scenarios.c.policy.benefits]
flat_copay = "lots"
"""
    with pytest.raises(InvalidInput) as err:
        load_scenarios(text, source="s.toml")
    where = {p.column for p in err.value.problems}
    assert {"scenarios.a.payment", "scenarios.b.behaviour.elasticity_outpatient", "scenarios.b.behaviour.colour",
            "scenarios.c.policy.benefits.flat_copay"} <= where
    assert all(p.file == "s.toml" for p in err.value.problems)
    with pytest.raises(InvalidInput, match="no \\[scenarios.NAME\\]"):
        load_scenarios("title = 1\n")
    with pytest.raises(InvalidInput, match="not valid TOML"):
        load_scenarios("[scenarios.a\n")


def _row(rep: int, visits: int, balance: int, county: str = "A") -> CountyYear:
    return CountyYear(county, "s", "global_budget", rep, 2027, 100, visits, 20, 17, visits // 2, 1000, 600, 500,
                      400, balance, 3)


def test_bands_and_pooling() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.05) == pytest.approx(1.2)
    assert percentile([3.0], 0.95) == 3.0 and math.isnan(percentile([], 0.5))
    rows = [_row(r, 600 + 10 * r, 100 * r) for r in range(1, 11)]
    band = {b.metric: b for b in summarise(rows)}
    assert band["visits_per_person"].mean == pytest.approx(6.55)
    assert band["visits_per_person"].p5 < band["visits_per_person"].mean < band["visits_per_person"].p95
    assert band["fund_result"].mean == 100 and band["fund_balance"].replicates == 10
    both = pooled([_row(1, 600, 5), _row(1, 400, 7, county="B")])
    assert len(both) == 1 and both[0].visits == 1000 and both[0].persons == 200 and both[0].fund_balance == 12


def test_icd_ranges_and_prefixes() -> None:
    assert icd_in("I10", ["I10-I15"]) and icd_in("I13.2", ["I10-I15"]) and not icd_in("I20", ["I10-I15"])
    assert icd_in("J44.1", ["J44"]) and not icd_in(None, ["J44"]) and not icd_in("J45", ["J44"])


def test_the_shipped_pilot_design_is_four_regions_by_three_income_levels() -> None:
    d = load_pilot_design(PILOT_4X3.read_text(encoding="utf-8"))
    assert len(d.counties) == 12
    assert {c.region for c in d.counties} == {"east", "centre", "west", "northeast"}
    assert {c.income for c in d.counties} == {"high", "middle", "low"}
    east_high = next(c for c in d.counties if c.name == "east-high")
    assert east_high.cost_scale == pytest.approx(1.25 * 1.15) and east_high.resident_per_enrollee == 130_000
    assert len({c.seed for c in d.counties}) == 12


def test_the_shipped_comparison_is_global_budget_against_fee_for_service() -> None:
    text = (PILOT_4X3.parent / "budget-vs-fee.toml").read_text(encoding="utf-8")
    scenarios = load_scenarios(text, base=Policy())
    assert [(s.name, s.payment.value) for s in scenarios] == [("global_budget", "global_budget"),
                                                              ("fee_for_service", "fee_for_service")]
    assert all(s.behaviour == scenarios[0].behaviour and not s.merge_consortia and not s.policy for s in scenarios)


def test_the_shipped_scenarios_load_and_one_keeps_admissions_in_the_county() -> None:
    """The example file the guide names loads against the default policy (a bad key there would fail a user's first
    run), and its provider-response scenario is a global budget with the lever set."""
    scenarios = {s.name: s for s in load_scenarios((PILOT_4X3.parent / "scenarios.toml").read_text(encoding="utf-8"),
                                                   base=Policy())}
    assert len(scenarios) == 9 and "fee_for_service" in scenarios
    keep = scenarios["keep_in_county"]
    assert keep.payment is Payment.GLOBAL_BUDGET and repatriation_share(keep.behaviour, keep.payment, 1) > 0
    others = [s for n, s in scenarios.items() if n != "keep_in_county"]
    assert all(repatriation_share(s.behaviour, s.payment, 5) == 0 for s in others)


def test_pilot_design_problems() -> None:
    with pytest.raises(InvalidInput) as err:
        load_pilot_design("[regions.a]\nsize = 3\n[incomes.b]\ncost_scale = -1\n", source="p.toml")
    assert [p.column for p in err.value.problems] == ["incomes.b.cost_scale", "regions.a.size"]  # every one at once
    with pytest.raises(InvalidInput) as err:
        load_pilot_design("[regions.a]\n[incomes.b]\ncost_scale = -1\n", source="p.toml")
    assert "cost_scale" in err.value.problems[0].column


def test_every_key_a_shipped_scenario_sets_is_shown_with_its_chinese_label() -> None:
    """The scenario list of the page and the report (``Scenario.changes``): every policy key and behaviour parameter
    a shipped scenario sets carries its label (``定点机构门诊定额自付 benefits.flat_copay = 5.00``), a nested key its
    table's; an unknown key is shown as it is."""
    import re
    from pathlib import Path

    import yigongti.simulator as sim
    from yigongti.simulator.domain import load_scenarios

    shipped = Path(sim.__file__).parent / "pilots"
    for f in sorted(shipped.glob("*.toml")):
        if f.name.startswith("pilot-"):
            continue
        for s in load_scenarios(f.read_text(encoding="utf-8"), source=f.name):
            for line in s.changes():
                assert re.match(r"^[\u4e00-\u9fff]", line), (f.name, s.name, line)
    odd = load_scenarios('[scenarios.x.behaviour]\ninertia = 1.0\n[scenarios.x.policy.benefits]\nflat_copay = "3"\n')
    assert "留在原医共体的倾向 behaviour.inertia = 1.0" in odd[0].changes()
    assert "定点机构门诊定额自付 benefits.flat_copay = 3" in odd[0].changes()


def test_a_scenario_is_shown_in_one_language_on_a_page_and_in_both_in_files() -> None:
    """``label`` / ``label_en``: a page shows the language asked for (the Chinese label when no English one is
    given); a file read by either shows both, ``"中文 / English"``; the changes name each key with its label in the
    page's language. Every shipped scenario has both labels."""
    import re
    from pathlib import Path

    import yigongti.simulator as sim
    from yigongti.simulator.domain import load_scenarios

    s = load_scenarios('[scenarios.a]\nlabel = "总额付费"\nlabel_en = "Global budget"\n'
                       '[scenarios.b]\nlabel = "只有中文"\n[scenarios.c]\nlabel_en = "English only"\n[scenarios.d]\n'
                       '[scenarios.d.policy.benefits]\nflat_copay = "3"\n')
    a, b, c, d = s
    assert (a.title_in("zh"), a.title_in("en"), a.title) == ("总额付费", "Global budget", "总额付费 / Global budget")
    assert (b.title_in("zh"), b.title_in("en"), b.title) == ("只有中文", "只有中文", "只有中文")
    assert (c.title_in("zh"), c.title_in("en"), c.title) == ("English only", "English only", "English only")
    assert (d.title_in("zh"), d.title_in("en"), d.title) == ("d", "d", "d")
    assert d.changes("en") == ["payment method payment = global budget global_budget",
                               "flat copay at the designated institutions benefits.flat_copay = 3"]
    assert d.changes()[1] == "定点机构门诊定额自付 benefits.flat_copay = 3"
    assert not any(re.search(r"[\u4e00-\u9fff]", line) for line in d.changes("en"))
    shipped = Path(sim.__file__).parent / "pilots"
    for f in sorted(shipped.glob("*.toml")):
        if f.name.startswith("pilot-"):
            continue
        for x in load_scenarios(f.read_text(encoding="utf-8"), source=f.name):
            assert re.search(r"[\u4e00-\u9fff]", x.label) and not re.search(r"[\u4e00-\u9fff]", x.label_en), x.name
            assert x.label_en, x.name
    with pytest.raises(InvalidInput):
        load_scenarios('[scenarios.a]\nlabel = "' + "长" * 201 + '"\n')
