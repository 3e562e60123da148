"""The policy (政策配置): rules.md defaults, overrides merged key by key at every depth, errors naming the key."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from yigongti.benefits.domain import Claim, NetworkStatus, Rule, adjudicate_claim
from yigongti.core.money import format_yuan
from yigongti.core.policy import (
    INTERNAL_SERVICES,
    HouseholdMode,
    Policy,
    PolicyError,
    PolicyPath,
    Rate,
    Weight,
    Yuan,
    _hint_at,
    deep_merge,
    dotted,
    merge_policy,
    override_paths,
    policy_from_toml,
    policy_to_toml,
)
from yigongti.core.policy_files import explain_policy, policy_problems
from yigongti.registry.domain import Institution, Tier


def test_defaults_are_rules_md() -> None:
    p = Policy()
    assert p.benefits.flat_copay == 2000
    assert p.benefits.designated_county.inpatient_deductible == 30000
    assert p.benefits.outside_tertiary.inpatient_rate == 6000
    assert p.benefits.annual_cap("employee") == 40_000_000
    assert str(p.capitation.weight(85)) == "2.90" and str(p.capitation.weight(4)) == "1.10"
    assert p.settlement.tier_shares == {"county": 4000, "township": 3500, "village": 2500}


def test_round_trip_through_toml() -> None:
    assert policy_from_toml(policy_to_toml(Policy())) == Policy()


def test_partial_file_keeps_defaults() -> None:
    p = policy_from_toml('[benefits]\nflat_copay = "15.00"\n')
    assert p.benefits.flat_copay == 1500 and p.benefits.designated_primary.inpatient_rate == 9000


def test_errors_name_every_bad_key() -> None:
    with pytest.raises(PolicyError) as exc:
        policy_from_toml('[benefits]\nflat_copay = "x"\nnonsense = 1\n[settlement.tier_shares]\ncounty = "50%"\n')
    text = str(exc.value)
    assert "benefits.flat_copay" in text and "benefits.nonsense" in text and "tier_shares" in text


# --- overrides merge key by key at every depth (合并规则) ---------------------------------------------------

DEFAULTS: dict[str, Any] = Policy().model_dump(mode="json")
REPORTED = '[benefits.designated_primary]\ninpatient_deductible = "150"\ninpatient_rate = "90%"\n'


def test_a_partial_row_keeps_the_rest_of_the_row() -> None:
    """The reported case: a row given in part kept neither its rate nor its flat copay."""
    p = policy_from_toml('[benefits.designated_primary]\ninpatient_deductible = "150"\n')
    row = p.benefits.designated_primary
    assert (row.inpatient_deductible, row.inpatient_rate, row.outpatient_flat_copay) == (15_000, 9000, True)
    assert p.benefits.designated_county == Policy().benefits.designated_county
    assert policy_from_toml(REPORTED).benefits.designated_primary.outpatient_flat_copay is True


def test_the_reported_flat_copay_visit_stays_a_flat_copay() -> None:
    """A 20-yuan flat-copay village visit under the reported override: the fund still pays all but 20 yuan."""
    benefits = policy_from_toml(REPORTED).benefits
    village = Institution("G1-T1-V1", "G1-T1-V1", Tier.VILLAGE, 0, "general", "G1", None, "513433", 102.0, 28.0)

    class Des:
        consortium_id, township_id, village_id = "G1", "G1-T1", "G1-T1-V1"

    class Person:
        insurance = "resident"

    visit = Claim("C1", "P1", "G1-T1-V1", "outpatient", date(2026, 3, 1), 8_000, 7_000)
    d = adjudicate_claim(visit, person=Person(), institution=village, designation=Des(), policy=benefits)
    assert (d.network_status, d.rule, d.flat_copay) == (NetworkStatus.DESIGNATED, Rule.FLAT_COPAY, True)
    assert (d.fund_paid, d.patient_paid) == (5_000, 3_000)  # 70 covered - 20 flat; the patient 20 + 10 uncovered


def test_a_free_table_merges_key_by_key_and_an_array_is_replaced_whole() -> None:
    p = policy_from_toml('[settlement.tier_shares]\ncounty = "45%"\ntownship = "30%"\n'
                         '[capitation]\nage_bands = [{ min_age = 0, weight = "1" }]\n')
    assert p.settlement.tier_shares == {"county": 4500, "township": 3000, "village": 2500}
    assert [(b.min_age, b.weight) for b in p.capitation.age_bands] == [(0, Decimal(1))]
    with pytest.raises(PolicyError, match=r"settlement: tier_shares must sum to 100%"):
        policy_from_toml('[settlement.tier_shares]\ncounty = "50%"\n')  # township and village keep theirs


def test_an_override_merges_over_a_base_policy_too() -> None:
    """Layering: a stored policy or a county's file over another policy, not only over the defaults."""
    base = policy_from_toml('[benefits]\nflat_copay = "15"\n[benefits.designated_county]\noutpatient_rate = "30%"\n')
    p = policy_from_toml('[benefits.designated_county]\ninpatient_rate = "80%"\n', base=base)
    assert p.benefits.flat_copay == 1500
    county = p.benefits.designated_county
    assert (county.inpatient_rate, county.outpatient_rate, county.outpatient_flat_copay) == (8000, 3000, True)


def test_deep_merge_replaces_non_tables_and_leaves_inputs_alone() -> None:
    base = {"a": {"b": 1, "c": {"d": 2}}, "l": [1, 2]}
    over = {"a": {"c": {"e": 3}}, "l": [3]}
    assert deep_merge(base, over) == {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "l": [3]}
    assert base == {"a": {"b": 1, "c": {"d": 2}}, "l": [1, 2]}


@pytest.mark.parametrize(("text", "key", "expected"), [
    ('[benefits.designated_primary]\ninpatient_rate = "x"\n', "benefits.designated_primary.inpatient_rate",
     "expected a rate"),
    ('[benefits]\nflat_copay = true\n', "benefits.flat_copay", "expected an amount in yuan"),
    ('[benefits]\ndesignated_primary = 5\n', "benefits.designated_primary", "expected a table"),
    ('[enrollment]\nadult_age = "x"\n', "enrollment.adult_age", "expected an integer"),
    ('[enrollment]\nhousehold_mode = "x"\n', "enrollment.household_mode", "expected one of 'head_for_all_adults'"),
    ('[benefits.designated_primary]\noutpatient_flat_copay = "sometimes"\n',
     "benefits.designated_primary.outpatient_flat_copay", "expected true or false"),
    ('[capitation]\nage_bands = [{ min_age = 0, weight = "x" }]\n', "capitation.age_bands[0].weight",
     "expected a decimal number"),
    ('[capitation.risk_weights]\nhypertension = "heavy"\n', "capitation.risk_weights.hypertension",
     "expected a decimal number"),
    ('[settlement]\ngrades = 5\n', "settlement.grades", "expected an array of tables"),
    ('[benefits]\nemployee_rate_bonus = "inf%"\n', "benefits.employee_rate_bonus", "expected a rate"),
])
def test_a_wrong_type_names_the_file_the_key_and_the_expected_type(text: str, key: str, expected: str) -> None:
    with pytest.raises(PolicyError) as exc:
        policy_from_toml(text, source="county/policy.toml")
    assert f"county/policy.toml: {key}: " in str(exc.value) and expected in str(exc.value)
    assert [k for k, _ in exc.value.problems] == [key]


def test_unknown_key_names_the_file_and_the_dotted_key() -> None:
    with pytest.raises(PolicyError) as exc:
        policy_from_toml('[benefits.designated_primary]\ninpatient_deductable = "150"\n')
    assert "policy.toml: benefits.designated_primary.inpatient_deductable: unknown key" in str(exc.value)


def test_policy_problems_give_one_problem_per_key(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[benefits]\nflat_copay = "x"\nnonsense = 1\n', encoding="utf-8")
    problems = policy_problems(path)
    assert [(p.file, p.row, p.column) for p in problems] == [
        ("policy.toml", 0, "benefits.flat_copay"), ("policy.toml", 0, "benefits.nonsense")]
    path.write_text("[benefits\n", encoding="utf-8")
    assert [p.column for p in policy_problems(path)] == [""]


def test_explain_policy_marks_what_the_file_sets(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(REPORTED + '[settlement.scores]\nG1 = 85\n', encoding="utf-8")
    policy, marks = explain_policy(path)
    assert policy == policy_from_toml(path.read_text(encoding="utf-8"))
    assert marks == {
        ("benefits", "designated_primary", "inpatient_deductible"): str(path),
        ("benefits", "designated_primary", "inpatient_rate"): f"{path} (same as default / 同默认值)",
        ("settlement", "scores", "G1"): str(path),
    }
    text = policy_to_toml(policy, marks=marks)
    assert f'inpatient_deductible = "150.00"  # {path}\n' in text
    assert 'outpatient_flat_copay = true\n' in text  # a default: unmarked
    assert policy_from_toml(text) == policy


# --- properties -------------------------------------------------------------------------------------------------

_WINDOW_DAYS = ["01-01", "02-29", "09-30", "10-01", "12-31"]
_ALTERNATIVES: dict[PolicyPath, list[Any]] = {
    ("capitation", "age_bands"): [[{"min_age": 0, "weight": "1"}, {"min_age": 60, "weight": "2.5"}]],
    ("settlement", "grades"): [[{"name": "good", "min_score": "75", "p4p_share": "80%",
                                 "performance_pay_share": "60%"}], []],
    ("agreement", "tcm_uplift"): ["1.05", "1", "0.98"],
    ("agreement", "tcm_kinds"): [["tcm"], [], ["tcm", "general"]],
    ("care", "panel_cap"): [1, 800, 1500, 3000],
    ("care", "contract_months"): [12, 6, 36],
    ("care", "systolic_below"): [140, 130],
    ("care", "diastolic_below"): [90, 80],
    ("care", "glucose_below"): ["7.0", "6.1", "7"],
    ("care", "followups_per_year"): [4, 6, 12],
    ("care", "overdue_months"): [3, 2, 6],
    ("care", "lost_months"): [12, 18],
    ("care", "due_days"): [7, 14],
    ("care", "long_prescription_days"): [60, 90, 30],
    ("care", "hypertension_icd"): [["I10-I15"], ["I10", "I11"]],
    ("care", "diabetes_icd"): [["E10-E14"], ["E11"]],
    ("care", "key_populations", "elderly_age"): [65, 60],
    ("care", "key_populations", "child_max_age"): [6, 7],
    ("care", "key_populations", "newborn_visit_days"): [7, 3],
    ("care", "key_populations", "child_visit_months"): [[0, 1, 3, 6, 8, 12, 18, 24, 30, 36, 48, 60, 72],
                                                        [0, 1, 6, 12, 36, 72]],
    ("care", "key_populations", "prenatal_weeks"): [[[0, 13], [16, 20], [21, 24], [28, 36], [37, 40]],
                                                    [[0, 12], [14, 20], [21, 27], [28, 32], [33, 36], [37, 41]]],
    ("care", "key_populations", "prenatal_min_visits"): [5, 4],
    ("care", "key_populations", "tb_treatment_months"): [6, 9],
    ("care", "key_populations", "tb_intensive_months"): [2, 0, 3],
    ("care", "key_populations", "tb_intensive_every_days"): [10, 30],
    ("care", "key_populations", "tb_continuation_every_months"): [1, 2],
    ("care", "key_populations", "mental_every_months"): [3, 1],
    ("benefits", "two_disease", "rate"): ["50%", "60%", "100%"],  # 0% only while off
    ("benefits", "two_disease", "statuses"): [["designated", "in_consortium"], ["designated"]],
    ("benefits", "two_disease", "tiers"): [["primary"], ["primary", "county"], ["county"]],
    ("benefits", "two_disease", "insurance"): [["resident"], ["resident", "employee"]],
    ("benefits", "two_disease", "hypertension_icd"): [["I10-I15"], ["I10", "I11.9"]],
    ("benefits", "two_disease", "diabetes_icd"): [["E10-E14"], ["E11"]],
    ("public_health", "class_a_hours"): [1, 2, 6],
    ("public_health", "other_hours"): [12, 24, 48],
    ("public_health", "surveillance_weeks"): [4, 8, 12],
    ("public_health", "surveillance_sd"): [1, 2, 3],
    ("public_health", "surveillance_min_cases"): [1, 5, 10],
    ("public_health", "surveillance_min_history"): [2, 3, 4],
    ("public_health", "stockpile_warn_days"): [0, 90, 365],
    ("public_health", "foodborne_cluster_min_cases"): [2, 3, 10],
    ("public_health", "foodborne_cluster_window_hours"): [1, 72, 720],
    ("public_health", "foodborne_cluster_report_hours"): [1, 2, 24],
    ("pharmacy", "usage_weeks"): [1, 4, 52],
    ("pharmacy", "alert_days"): [1, 14, 90],
    ("workforce", "attending_titles"): [["intermediate", "associate_senior", "senior"], ["senior"]],
    ("workforce", "city_min_level"): [2, 3],
    ("workforce", "review_min"): [1, 100, 500],
    ("workforce", "review_pass_score"): [60, 80, 100],
}
_ALTERNATIVES |= {("public_health", "syndromes", k): [1, 30, 100] for k in ("ili", "fever", "diarrhoea", "rash",
                                                                             "jaundice")}
_ALTERNATIVES |= {("referral", "prices", k, "payer"): ["sender", "receiver"] for k in INTERNAL_SERVICES}


def _value(path: PolicyPath) -> st.SearchStrategy[Any]:
    """Valid values for the key at ``path``, written as ``policy show`` writes them."""
    hint = _hint_at(path)
    if path in _ALTERNATIVES:
        return st.sampled_from(_ALTERNATIVES[path])
    if path[-1] in ("window_start", "window_end"):
        return st.sampled_from(_WINDOW_DAYS)
    if path == ("capitation", "p4p_reserve"):  # within the seed's 5%~10% (outside it needs a reason)
        return st.integers(5, 10).map(lambda n: f"{n}%")
    if path == ("capitation", "p4p_reserve_min"):
        return st.integers(0, 5).map(lambda n: f"{n}%")
    if path == ("capitation", "p4p_reserve_max"):
        return st.integers(10, 100).map(lambda n: f"{n}%")
    if hint == Yuan:
        return st.integers(0, 10**10).map(format_yuan)
    if hint == Rate:
        return st.integers(0, 100).map(lambda n: f"{n}%")
    if hint == Weight or hint is Decimal:
        return st.integers(0, 100).map(str)
    if hint is HouseholdMode:
        return st.sampled_from([m.value for m in HouseholdMode])
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(0, 1000)
    if hint is str:
        return st.text(max_size=12)
    if path == ("settlement", "public_health_kinds"):
        return st.lists(st.text(max_size=6), max_size=3)
    raise AssertionError(f"no strategy for {dotted(path)}")


_SUMMING = (("settlement", "tier_shares"), ("settlement", "public_health_shares"),
            ("surplus", "distribution"), ("package", "mix"))  # their shares must sum to 100%
_LEAVES = [p for p in override_paths(DEFAULTS) if p[:2] not in _SUMMING
           and _hint_at(p) is not None and not str(p[-1]).startswith("first_year")]


def _nest(values: dict[PolicyPath, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in values.items():
        node = out
        for part in path[:-1]:
            node = node.setdefault(str(part), {})
        node[str(path[-1])] = value
    return out


@st.composite
def _overrides(draw: st.DrawFn) -> dict[PolicyPath, Any]:
    chosen = draw(st.lists(st.sampled_from(_LEAVES), unique=True, max_size=12))
    values = {p: draw(_value(p)) for p in chosen}
    shares = draw(st.sampled_from(["none", "all", "two"]))  # the tier shares must keep summing to 100%
    if shares != "none":
        county = draw(st.integers(0, 100 if shares == "all" else 75))
        township = draw(st.integers(0, 100 - county)) if shares == "all" else 75 - county
        values[("settlement", "tier_shares", "county")] = f"{county}%"
        values[("settlement", "tier_shares", "township")] = f"{township}%"
        if shares == "all":
            values[("settlement", "tier_shares", "village")] = f"{100 - county - township}%"
    return values


def _with(data: dict[str, Any], values: dict[PolicyPath, Any]) -> dict[str, Any]:
    return deep_merge(data, _nest(values))


@settings(max_examples=150, deadline=None)
@given(_overrides())
def test_an_override_of_the_defaults_own_keys_changes_exactly_those_keys(values: dict[PolicyPath, Any]) -> None:
    policy = policy_from_toml(tomli_w.dumps(_nest(values)))
    assert policy.model_dump(mode="json") == _with(DEFAULTS, values)
    untouched = [p for p in override_paths(DEFAULTS) if p not in values]
    dump = policy.model_dump(mode="json")
    for path in untouched:
        node_d: Any = DEFAULTS
        node_p: Any = dump
        for part in path:
            node_d, node_p = node_d[part], node_p[part]
        assert node_p == node_d, dotted(path)


_TABLES: list[PolicyPath] = [(), *(p for p in {q[:i] for q in override_paths(DEFAULTS) for i in range(1, len(q))}
                                    if isinstance(_hint_at(p), type) and issubclass(_hint_at(p), BaseModel))]


@settings(max_examples=100, deadline=None)
@given(table=st.sampled_from(sorted(_TABLES)), key=st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True),
       values=_overrides(), source=st.sampled_from(["policy.toml", "县/policy.toml", "/srv/data/policy.toml"]))
def test_an_unknown_key_at_any_depth_is_refused_naming_it(table: PolicyPath, key: str, values: dict[PolicyPath, Any],
                                                            source: str) -> None:
    hint = _hint_at(table)
    assert isinstance(hint, type) and issubclass(hint, BaseModel)
    if key in hint.model_fields:
        return
    values = {**values, (*table, key): 1}
    with pytest.raises(PolicyError) as exc:
        merge_policy(_nest(values), source=source)
    assert f"{source}: {dotted((*table, key))}: unknown key" in str(exc.value)


# --- bounds (issue 23, item 5) ------------------------------------------------------------------------------------

@pytest.mark.parametrize("reserve", ["0%", "4.99%", "10.01%", "150%"])
def test_a_p4p_reserve_outside_the_seeds_5_to_10_percent_is_refused(reserve: str) -> None:
    with pytest.raises(PolicyError) as err:
        policy_from_toml(f'[capitation]\np4p_reserve = "{reserve}"\n', source="county.toml")
    text = str(err.value)
    assert "county.toml" in text and "p4p_reserve" in text
    if reserve == "150%":  # not a rate at all
        assert "between 0% and 100%" in text
    else:
        assert "5%~10%" in text and "seed 000" in text and "p4p_reserve_override_reason" in text


def test_a_p4p_reserve_outside_the_bounds_is_accepted_with_a_stated_reason() -> None:
    text = '[capitation]\np4p_reserve = "0%"\np4p_reserve_override_reason = "试点首年不设绩效预留"\n'
    assert policy_from_toml(text).capitation.p4p_reserve == 0
    with pytest.raises(PolicyError, match="p4p_reserve_override_reason"):
        policy_from_toml('[capitation]\np4p_reserve = "0%"\np4p_reserve_override_reason = "  "\n')
    wider = '[capitation]\np4p_reserve = "12%"\np4p_reserve_max = "15%"\n'
    assert policy_from_toml(wider).capitation.p4p_reserve == 1200


@pytest.mark.parametrize(("key", "value"), [
    ("settlement.surplus_retained", '"101%"'), ("settlement.overspend_band", '"-5%"'),
    ("settlement.tier_shares.county", "1.5"), ("benefits.employee_rate_bonus", '"200%"'),
    ("settlement.public_health_shares.village", '"-1%"')])
def test_every_share_and_rate_lies_between_0_and_100_percent(key: str, value: str) -> None:
    *table, leaf = key.split(".")
    with pytest.raises(PolicyError) as err:
        policy_from_toml(f"[{'.'.join(table)}]\n{leaf} = {value}\n")
    assert any(k == key for k, _ in err.value.problems), err.value.problems


def test_the_old_public_health_share_key_says_what_replaced_it() -> None:
    with pytest.raises(PolicyError, match="public_health_shares"):
        policy_from_toml('[settlement]\npublic_health_share = "10%"\n')


def test_a_missing_institution_score_default_is_a_stated_score_not_the_best() -> None:
    assert policy_from_toml("").settlement.missing_institution_score == Decimal(60)
    with pytest.raises(PolicyError, match="missing_institution_score"):
        policy_from_toml('[settlement]\nmissing_institution_score = "101"\n')
