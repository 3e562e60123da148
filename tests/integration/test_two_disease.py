"""The two-disease outpatient drug benefit (两病用药保障, rules.md B9): the domain's rules by hand, the columnar engine
against the reference loop under random policies, and its invariants (never over its yearly cap, to the fen; the fund
and the patient pay the total)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import ibis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from test_adjudication_columns import policies
from test_adjudication_rules import _INST_IDS, INSTITUTIONS, Person, Y, run_engine, run_reference

from yigongti.benefits import domain
from yigongti.benefits.domain import ROW_NAMES, Claim, NetworkStatus, Rule, adjudicate_person
from yigongti.core.labels import label
from yigongti.core.policy import BenefitPolicy, TwoDiseasePolicy

ON = {"enabled": True, "rate": "60%", "yearly_cap": "300", "statuses": ["designated", "in_consortium"],
      "tiers": ["primary"]}


def _policy(**td: Any) -> BenefitPolicy:
    """The default rows but a rated outpatient row at the designated village clinic and township centre, so that the
    benefit has somewhere to apply; the two-disease benefit as given."""
    return BenefitPolicy.model_validate({
        "designated_primary": {"inpatient_deductible": "100", "inpatient_rate": "90%", "outpatient_deductible": "50",
                               "outpatient_rate": "50%"},
        "two_disease": {**ON, **td}})


def _claim(cid: str, day: date, cost_fen: int, *, inst: str = "G1-T1-V1", dx: str | None = "I10",
           setting: str = "outpatient", person: str = "P1") -> Claim:
    return Claim(cid, person, inst, setting, day, cost_fen + 500, cost_fen, diagnosis=dx,
                 discharge_date=day + timedelta(days=2) if setting == "inpatient" else None)


def _decide(claims: list[Claim], policy: BenefitPolicy, insurance: str = "resident") -> dict[str, domain.Decision]:
    from test_adjudication_rules import Des
    out = adjudicate_person(claims, person=Person(insurance), institutions=INSTITUTIONS, designations={Y: Des()},
                            year=Y, policy=policy)
    return {d.claim.claim_id: d for d in out}


# --------------------------------------------------------------------------------------------- the rules by hand

def test_registered_patient_is_paid_by_the_rule_the_first_diagnosis_registers() -> None:
    """The first I10 claim registers (paid as any outpatient claim: deductible 50, 50%); the next one is paid 60%
    with no deductible."""
    p = _policy()
    d = _decide([_claim("A", date(Y, 2, 1), 10_000), _claim("B", date(Y, 3, 1), 10_000)], p)
    assert (d["A"].rule, d["A"].deductible, d["A"].fund_paid) == (Rule.OUTPATIENT, 5_000, 2_500)
    assert (d["B"].rule, d["B"].deductible, d["B"].fund_paid, d["B"].patient_paid) == (Rule.TWO_DISEASE, 0, 6_000,
                                                                                         4_500)
    assert "两病用药保障" in d["B"].explanation_zh and "300.00" in d["B"].explanation_zh
    assert "two-disease" in d["B"].explanation_en


def test_registered_in_an_earlier_year_and_the_other_disease_is_not_registered() -> None:
    p = _policy()
    d = _decide([_claim("A", date(Y - 1, 11, 1), 1_000, inst="G1-H"), _claim("B", date(Y, 1, 5), 10_000),
                 _claim("C", date(Y, 1, 6), 10_000, dx="E11.9")], p)
    assert d["B"].rule is Rule.TWO_DISEASE
    assert d["C"].rule is Rule.OUTPATIENT  # diabetes: registered by this very claim


def test_yearly_cap_to_the_fen_then_paid_as_any_claim() -> None:
    """Cap 300 yuan at 60%: 200 + 200 yuan of shares; the second pays the 100 left; the third the ordinary way."""
    p = _policy()
    claims = [_claim("A", date(Y, 1, 2), 100), _claim("B", date(Y, 2, 1), 33_333), _claim("C", date(Y, 3, 1), 33_333),
              _claim("D", date(Y, 4, 1), 10_000)]
    d = _decide(claims, p)
    assert d["B"].fund_paid == 20_000  # 333.33 x 60% = 199.998 -> 200.00
    assert (d["C"].rule, d["C"].fund_paid) == (Rule.TWO_DISEASE, 10_000)
    assert d["D"].rule is Rule.OUTPATIENT and d["D"].deductible > 0
    assert sum(x.fund_paid for x in d.values() if x.two_disease) == 30_000


@pytest.mark.parametrize(("change", "claim_kw"), [
    ({}, {"inst": "G1-H"}),  # county hospital, tiers = primary only
    ({}, {"setting": "inpatient"}),
    ({}, {"dx": "J06.9"}),
    ({}, {"inst": "G2-T1"}),  # another consortium: no benefit at all
    ({"statuses": ["designated"]}, {"inst": "G1-T2"}),  # in the consortium, not designated
    ({"enabled": False}, {}),
])
def test_where_the_rule_does_not_apply(change: dict[str, Any], claim_kw: dict[str, Any]) -> None:
    p = _policy(**change)
    d = _decide([_claim("A", date(Y, 1, 2), 100), _claim("B", date(Y, 2, 1), 10_000, **claim_kw)], p)
    assert d["B"].rule is not Rule.TWO_DISEASE


def test_county_tier_when_listed_and_not_for_employees_by_default() -> None:
    p = _policy(tiers=["primary", "county"])
    claims = [_claim("A", date(Y, 1, 2), 100), _claim("B", date(Y, 2, 1), 10_000, inst="G1-T2")]
    assert _decide(claims, p)["B"].rule is Rule.TWO_DISEASE
    assert _decide(claims, p, "employee")["B"].rule is Rule.OUTPATIENT


def test_flat_copay_rows_keep_their_flat_copay() -> None:
    p = BenefitPolicy.model_validate({"two_disease": ON})  # the default designated rows are flat copays
    d = _decide([_claim("A", date(Y, 1, 2), 100), _claim("B", date(Y, 2, 1), 10_000)], p)
    assert d["B"].rule is Rule.FLAT_COPAY


def test_policy_is_validated_and_off_by_default() -> None:
    assert BenefitPolicy().two_disease.enabled is False
    for bad in ({"statuses": ["outside"]}, {"tiers": ["village"]}, {"rate": "120%"}, {"yearly_cap": "-1"},
                {"hypertension_icd": ["hypertension"]}, {"enabled": True, "rate": "0%"},
                {"enabled": True, "tiers": []}, {"insurance": ["retired"]}):
        with pytest.raises(ValidationError):
            TwoDiseasePolicy.model_validate(bad)
    assert TwoDiseasePolicy.model_validate({"yearly_cap": "400.50"}).yearly_cap == 40_050


def test_the_rule_code_has_both_labels_and_the_domain_rule_reaches_it() -> None:
    assert label("rule", "two_disease") == "两病门诊用药保障"
    assert domain.rule(NetworkStatus.DESIGNATED, paid=True, unreasonable=False, inpatient=False, continuous=False,
                       flat=False, two_disease=True) is Rule.TWO_DISEASE


# --------------------------------------------------------------------------------------------- engine = reference

@pytest.fixture(scope="module")
def con() -> ibis.BaseBackend:
    return ibis.duckdb.connect()


_PLACES = [*_INST_IDS, *["G1-T1-V1", "G1-T1", "G1-T2", "G1-T2-V1", "G1-H"] * 3]  # the consortium's, mostly


@st.composite
def td_claims(draw: st.DrawFn) -> tuple[list[Claim], dict[str, Person]]:
    """Persons with outpatient and inpatient claims, many for the two diseases, some before the year."""
    persons = {f"P{i}": Person(draw(st.sampled_from(["resident", "resident", "employee"])))
               for i in range(draw(st.integers(1, 5)))}
    claims: list[Claim] = []
    for pid in persons:
        for k in range(draw(st.integers(2, 12))):
            inpatient = draw(st.integers(0, 5)) == 0
            admit = date(Y, 1, 1) + timedelta(days=draw(st.integers(-40, 60)))
            covered = draw(st.integers(0, 20_000)) * draw(st.sampled_from([1, 1, 10, 300]))
            claims.append(Claim(
                f"{pid}-{k:02d}", pid, draw(st.sampled_from(_PLACES)), "inpatient" if inpatient else "outpatient",
                admit, covered + draw(st.integers(0, 2_000)), covered, draw(st.booleans()),
                admit + timedelta(days=2) if inpatient else None, None, draw(st.integers(0, 9)) == 0,
                draw(st.sampled_from([None, "I10", "I10", "i11.9", "E11.9", "E11.9", "E14", "J06.9", "I16",
                                     " i12.0 ", "e10", "E15"]))))
    return claims, persons


@st.composite
def td_policies(draw: st.DrawFn) -> BenefitPolicy:
    base = draw(policies())
    td = TwoDiseasePolicy.model_validate({
        "enabled": True, "rate": f"{draw(st.integers(1, 100))}%",
        "yearly_cap": f"{draw(st.sampled_from([0, 1, 50, 300, 300, 5_000]))}",
        "statuses": draw(st.sampled_from([["designated"], ["in_consortium"], ["designated", "in_consortium"]])),
        "tiers": draw(st.sampled_from([["primary"], ["county"], ["primary", "county"]])),
        "insurance": draw(st.sampled_from([["resident"], ["resident", "employee"]]))})
    rated = {name: getattr(base, name).model_copy(update={"outpatient_flat_copay": False})
             for name in ROW_NAMES if draw(st.booleans())}  # fewer flat copays: more claims the benefit may pay
    return base.model_copy(update={"two_disease": td, **rated})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(td_policies(), td_claims())
def test_engine_equals_reference_and_never_over_the_yearly_cap(
        con: ibis.BaseBackend, policy: BenefitPolicy, data: tuple[list[Claim], dict[str, Person]]) -> None:
    claims, persons = data
    ref = run_reference(claims, persons, policy)
    assert run_engine(con, claims, persons, policy) == ref
    by_id = {c.claim_id: c for c in claims}
    td_paid: dict[str, int] = defaultdict(int)
    for cid, (_, _, fund, patient, rule) in ref.items():
        c = by_id[cid]
        assert fund + patient == c.total_cost and 0 <= fund <= c.covered_cost
        if rule == Rule.TWO_DISEASE:
            td_paid[c.person_id] += fund
    assert all(v <= policy.two_disease.yearly_cap for v in td_paid.values())


def test_engine_agrees_by_hand(con: ibis.BaseBackend) -> None:
    p = _policy()
    claims = [_claim("A", date(Y, 1, 2), 100), _claim("B", date(Y, 2, 1), 33_333), _claim("C", date(Y, 3, 1), 33_333),
              _claim("D", date(Y, 4, 1), 10_000), _claim("E", date(Y, 1, 3), 10_000, person="P2")]
    persons = {"P1": Person(), "P2": Person()}
    got = run_engine(con, claims, persons, p)
    assert got == run_reference(claims, persons, p)
    assert [got[k][4] for k in "ABCDE"] == ["outpatient", "two_disease", "two_disease", "outpatient", "outpatient"]
    assert got["C"][2] == 10_000


def test_plain_words_name_the_benefit_only_when_on() -> None:
    from yigongti.benefits.plain import plain_rules

    assert "two_disease" not in [r.rule for r in plain_rules(BenefitPolicy())]
    on = {r.rule: r for r in plain_rules(_policy(tiers=["primary", "county"]))}
    zh = on["two_disease"].zh
    assert "报销 60%" in zh and "300 元" in zh and "县级医院" in zh
    assert "two_disease" not in [r.rule for r in plain_rules(_policy(), "employee")]


def test_the_residents_explanation_reads_the_diagnosis() -> None:
    """The household page explains a person's claims with the same rules: the claims carry their diagnosis."""
    from types import SimpleNamespace

    import pyarrow as pa

    from yigongti.budget.analytics import claims_of

    table = pa.table({"claim_id": ["A", "B"], "person_id": ["P1", "P1"], "inst_id": ["G1-T1-V1"] * 2,
                      "setting": ["outpatient"] * 2, "admit_date": [date(Y, 1, 2), date(Y, 2, 1)],
                      "total_cost": [100, 10_500], "covered_cost": [100, 10_000], "diagnosis": ["I10", "I10"]})
    claims = claims_of(SimpleNamespace(data={"claims": table}), "P1")  # type: ignore[arg-type]
    assert [c.diagnosis for c in claims] == ["I10", "I10"]
    assert _decide(claims, _policy())["B"].rule is Rule.TWO_DISEASE
