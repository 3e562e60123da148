"""docs/en/rules.md B by hand-computed cases and by properties, on both paths: the plain reference loop
(``benefits.domain.adjudicate_person``) and the columnar engine on DuckDB (``benefits.engine.adjudicate``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yigongti.benefits.domain import Claim, adjudicate_person
from yigongti.benefits.engine import adjudicate
from yigongti.core.engine import register_arrow
from yigongti.core.policy import BenefitPolicy
from yigongti.registry.domain import Institution, Tier

POLICY = BenefitPolicy()
Y = 2026

# consortium G1 (designated: G1-T1 / G1-T1-V1), consortium G2, outside hospitals X2 (secondary) and X3 (tertiary)
_INSTS = [
    ("G1-H", Tier.COUNTY, 2, "G1", None), ("G1-T1", Tier.TOWNSHIP, 1, "G1", None),
    ("G1-T1-V1", Tier.VILLAGE, 0, "G1", "G1-T1"), ("G1-T2", Tier.TOWNSHIP, 1, "G1", None),
    ("G1-T2-V1", Tier.VILLAGE, 0, "G1", "G1-T2"), ("G2-H", Tier.COUNTY, 2, "G2", None),
    ("G2-T1", Tier.TOWNSHIP, 1, "G2", None), ("G2-Z", Tier.COUNTY, 3, "G2", None),
    ("X2", Tier.OUTSIDE, 2, None, None), ("X3", Tier.OUTSIDE, 3, None, None),
]
INSTITUTIONS = {i: Institution(i, i, t, lvl, "general", c, p, "513433", 102.0, 28.0) for i, t, lvl, c, p in _INSTS}


@dataclass(frozen=True)
class Des:
    consortium_id: str = "G1"
    township_id: str = "G1-T1"
    village_id: str = "G1-T1-V1"


@dataclass(frozen=True)
class Person:
    insurance: str = "resident"


def yuan(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def claim(cid: str, inst: str, cost: str, *, setting: str = "outpatient", day: int = 10, month: int = 3,
          year: int = Y, total: str | None = None, emergency: bool = False, stay: int = 3, ref: str | None = None,
          unreasonable: bool = False, person: str = "P1") -> Claim:
    admit = date(year, month, day)
    return Claim(cid, person, inst, setting, admit, yuan(total or cost), yuan(cost), emergency,
                 admit + timedelta(days=stay) if setting == "inpatient" else None, ref, unreasonable)


Result = dict[str, tuple[str, int, int, int, str]]


def run_reference(claims: Sequence[Claim], persons: dict[str, Person], policy: BenefitPolicy = POLICY,
                  designations: dict[str, dict[int, Des]] | None = None) -> Result:
    by_person: dict[str, list[Claim]] = defaultdict(list)
    for c in claims:
        by_person[c.person_id].append(c)
    out: Result = {}
    for pid, cs in by_person.items():
        des = (designations or {}).get(pid, {Y: Des()})
        for d in adjudicate_person(cs, person=persons[pid], institutions=INSTITUTIONS, designations=des, year=Y,
                                   policy=policy):
            out[d.claim.claim_id] = (d.network_status.value, d.deductible, d.fund_paid, d.patient_paid, d.rule.value)
    return out


@pytest.fixture(scope="module")
def con() -> ibis.BaseBackend:
    return ibis.duckdb.connect()


def engine_tables(con: ibis.BaseBackend, claims: Sequence[Claim], persons: dict[str, Person],
                  designations: dict[str, dict[int, Des]] | None = None) -> dict[str, ibis.Table]:
    ct = pa.table({
        "claim_id": [c.claim_id for c in claims], "person_id": [c.person_id for c in claims],
        "inst_id": [c.inst_id for c in claims], "setting": [c.setting for c in claims],
        "emergency": pa.array([c.emergency for c in claims], pa.bool_()),
        "admit_date": pa.array([c.admit_date for c in claims], pa.date32()),
        "discharge_date": pa.array([c.discharge_date for c in claims], pa.date32()),
        "total_cost": pa.array([c.total_cost for c in claims], pa.int64()),
        "covered_cost": pa.array([c.covered_cost for c in claims], pa.int64()),
        "diagnosis": pa.array([c.diagnosis for c in claims], pa.string()),
        "referral_from": pa.array([c.referral_from for c in claims], pa.string()),
        "unreasonable": pa.array([c.unreasonable for c in claims], pa.bool_()),
    })
    pt = pa.table({"person_id": list(persons), "insurance": [p.insurance for p in persons.values()]})
    it = pa.table({"inst_id": [i[0] for i in _INSTS], "tier": [str(i[1]) for i in _INSTS],
                   "level": pa.array([i[2] for i in _INSTS], pa.int64()), "consortium_id": [i[3] for i in _INSTS]})
    rows = [(pid, yr, d) for pid in persons for yr, d in (designations or {}).get(pid, {Y: Des()}).items()]
    text = pa.string()  # typed, so that no designation at all is still a table of strings
    dt = pa.table({"person_id": pa.array([r[0] for r in rows], text),
                   "year": pa.array([r[1] for r in rows], pa.int64()),
                   "consortium_id": pa.array([r[2].consortium_id for r in rows], text),
                   "township_id": pa.array([r[2].township_id for r in rows], text),
                   "village_id": pa.array([r[2].village_id for r in rows], text)})
    return {"claims": register_arrow(con, ct, "claims"), "persons": register_arrow(con, pt, "persons"),
            "institutions": register_arrow(con, it, "institutions"), "designations": register_arrow(con, dt, "des")}


def run_engine(con: ibis.BaseBackend, claims: Sequence[Claim], persons: dict[str, Person],
               policy: BenefitPolicy = POLICY, designations: dict[str, dict[int, Des]] | None = None) -> Result:
    t = engine_tables(con, claims, persons, designations)
    out = adjudicate(t["claims"], t["persons"], t["institutions"], t["designations"], policy, Y).to_pyarrow()
    return {r["claim_id"]: (r["network_status"], r["deductible"], r["fund_paid"], r["patient_paid"], r["rule"])
            for r in out.to_pylist()}


def both(con: ibis.BaseBackend, claims: Sequence[Claim], persons: dict[str, Person] | None = None,
         policy: BenefitPolicy = POLICY, designations: dict[str, dict[int, Des]] | None = None) -> Result:
    persons = persons or {"P1": Person()}
    ref = run_reference(claims, persons, policy, designations)
    eng = run_engine(con, claims, persons, policy, designations)
    assert eng == ref
    return ref


def f(text: str) -> int:
    return yuan(text)


# (name, claims, insurance, expected {claim_id: (status, deductible, fund, patient, rule)}), all computed by hand
CASES: list[tuple[str, list[Claim], str, Result]] = [
    ("designated village outpatient: flat copay 20",
     [claim("a", "G1-T1-V1", "50.00", total="55.00")], "resident",
     {"a": ("designated", 0, f("30.00"), f("25.00"), "flat_copay")}),
    ("designated township outpatient below the copay pays nothing",
     [claim("a", "G1-T1", "15.00")], "resident", {"a": ("designated", 0, 0, f("15.00"), "flat_copay")}),
    ("county-tier member of the designated consortium is designated: flat copay",
     [claim("a", "G1-H", "100.00")], "resident", {"a": ("designated", 0, f("80.00"), f("20.00"), "flat_copay")}),
    ("designated village inpatient: 100 deductible, 90%",
     [claim("a", "G1-T1-V1", "1000.00", setting="inpatient")], "resident",
     {"a": ("designated", f("100"), f("810.00"), f("190.00"), "inpatient")}),
    ("designated county inpatient: 300 deductible, 85%",
     [claim("a", "G1-H", "1000.00", setting="inpatient")], "resident",
     {"a": ("designated", f("300"), f("595.00"), f("405.00"), "inpatient")}),
    ("in-consortium township inpatient: 200 deductible, 80%",
     [claim("a", "G1-T2", "1000.00", setting="inpatient")], "resident",
     {"a": ("in_consortium", f("200"), f("640.00"), f("360.00"), "inpatient")}),
    ("in-consortium village outpatient: 100 annual deductible, 50%",
     [claim("a", "G1-T2-V1", "150.00")], "resident",
     {"a": ("in_consortium", f("100"), f("25.00"), f("125.00"), "outpatient")}),
    ("outside secondary inpatient: 800, 70%",
     [claim("a", "X2", "2000.00", setting="inpatient", total="2100.00")], "resident",
     {"a": ("outside", f("800"), f("840.00"), f("1260.00"), "inpatient")}),
    ("outside tertiary inpatient: 1200, 60%",
     [claim("a", "X3", "2000.00", setting="inpatient")], "resident",
     {"a": ("outside", f("1200"), f("480.00"), f("1520.00"), "inpatient")}),
    ("outside outpatient: 300 annual deductible, 40% (level 3 and 2 alike)",
     [claim("a", "X3", "500.00"), claim("b", "X2", "100.00", day=11)], "resident",
     {"a": ("outside", f("300"), f("80.00"), f("420.00"), "outpatient"),
      "b": ("outside", 0, f("40.00"), f("60.00"), "outpatient")}),
    ("other consortium without emergency: no benefit",
     [claim("a", "G2-T1", "80.00"), claim("b", "G2-H", "900.00", setting="inpatient", day=12)], "resident",
     {"a": ("other_consortium", 0, 0, f("80.00"), "no_benefit"),
      "b": ("other_consortium", 0, 0, f("900.00"), "no_benefit")}),
    ("emergency at another consortium: paid by the outside row by level",
     [claim("a", "G2-H", "500.00", emergency=True),
      claim("b", "G2-H", "2000.00", setting="inpatient", emergency=True, day=20),
      claim("c", "G2-Z", "2000.00", setting="inpatient", emergency=True, month=5)], "resident",
     {"a": ("other_consortium", f("300"), f("80.00"), f("420.00"), "emergency_as_outside"),
      "b": ("other_consortium", f("800"), f("840.00"), f("1160.00"), "emergency_as_outside"),
      "c": ("other_consortium", f("1200"), f("480.00"), f("1520.00"), "emergency_as_outside")}),
    ("emergency at designated (flat copay) and in_consortium (its row)",
     [claim("a", "G1-T1-V1", "60.00", emergency=True),
      claim("b", "G1-T2", "1000.00", setting="inpatient", emergency=True, day=15)], "resident",
     {"a": ("designated", 0, f("40.00"), f("20.00"), "flat_copay"),
      "b": ("in_consortium", f("200"), f("640.00"), f("360.00"), "inpatient")}),
    ("unreasonable: nothing paid, no deductible",
     [claim("a", "X3", "500.00", unreasonable=True), claim("b", "X3", "500.00", day=11)], "resident",
     {"a": ("outside", 0, 0, f("500.00"), "unreasonable"),
      "b": ("outside", f("300"), f("80.00"), f("420.00"), "outpatient")}),
    ("employee: +5 points on every rate, same flat copay",
     [claim("a", "G1-T1-V1", "1000.00", setting="inpatient"), claim("b", "X3", "2000.00", setting="inpatient",
                                                                  month=6),
      claim("c", "G1-T1", "50.00", month=7), claim("d", "X2", "400.00", month=8)], "employee",
     {"a": ("designated", f("100"), f("855.00"), f("145.00"), "inpatient"),
      "b": ("outside", f("1200"), f("520.00"), f("1480.00"), "inpatient"),
      "c": ("designated", 0, f("30.00"), f("20.00"), "flat_copay"),
      "d": ("outside", f("300"), f("45.00"), f("355.00"), "outpatient")}),
    ("half-up rounding to the fen: 0.01 x 50% = 0.005 -> 0.01",
     [claim("a", "G1-T2", "100.01")], "resident", {"a": ("in_consortium", f("100"), 1, f("100.00"), "outpatient")}),
    ("outpatient deductible accrues across rows: 80 in consortium, then outside owes 220, then nothing",
     [claim("a", "G1-T2", "80.00", day=1), claim("b", "X3", "500.00", day=2), claim("c", "G1-T2", "50.00", day=3)],
     "resident",
     {"a": ("in_consortium", f("80"), 0, f("80.00"), "outpatient"),
      "b": ("outside", f("220"), f("112.00"), f("388.00"), "outpatient"),
      "c": ("in_consortium", 0, f("25.00"), f("25.00"), "outpatient")}),
    ("outside first uses 150; the in-consortium deductible (100) is then already met",
     [claim("a", "X2", "150.00", day=1), claim("b", "G1-T2", "50.00", day=2), claim("c", "X2", "500.00", day=3)],
     "resident",
     {"a": ("outside", f("150"), 0, f("150.00"), "outpatient"),
      "b": ("in_consortium", 0, f("25.00"), f("25.00"), "outpatient"),
      "c": ("outside", f("150"), f("140.00"), f("360.00"), "outpatient")}),
    ("same day: claim_id decides the order; flat copay adds nothing to the deductible",
     [claim("b", "G1-T2", "30.00", day=5), claim("a", "X2", "40.00", day=5), claim("c", "G1-T1", "90.00", day=4),
      claim("d", "G1-T2", "200.00", day=6)], "resident",
     {"c": ("designated", 0, f("70.00"), f("20.00"), "flat_copay"),
      "a": ("outside", f("40"), 0, f("40.00"), "outpatient"),
      "b": ("in_consortium", f("30"), 0, f("30.00"), "outpatient"),
      "d": ("in_consortium", f("30"), f("85.00"), f("115.00"), "outpatient")}),
    ("the deductible never exceeds C",
     [claim("a", "X2", "500.00", setting="inpatient")], "resident",
     {"a": ("outside", f("500"), 0, f("500.00"), "inpatient")}),
    ("continuous deductible: referral discharged 15 days before",
     [claim("a", "G1-T1-V1", "1000.00", setting="inpatient", day=1, stay=4),
      claim("b", "X3", "2000.00", setting="inpatient", day=20, ref="a")], "resident",
     {"a": ("designated", f("100"), f("810.00"), f("190.00"), "inpatient"),
      "b": ("outside", f("1100"), f("540.00"), f("1460.00"), "continuous_deductible")}),
    ("no continuous deductible 16 days after discharge",
     [claim("a", "G1-T1-V1", "1000.00", setting="inpatient", day=1, stay=4),
      claim("b", "X3", "2000.00", setting="inpatient", day=21, ref="a")], "resident",
     {"a": ("designated", f("100"), f("810.00"), f("190.00"), "inpatient"),
      "b": ("outside", f("1200"), f("480.00"), f("1520.00"), "inpatient")}),
    ("referral chain A -> B -> C, and a same-day discharge and admission (0 days)",
     [claim("a", "G1-T1", "1000.00", setting="inpatient", day=1, stay=2),
      claim("b", "G1-H", "1000.00", setting="inpatient", day=3, stay=5, ref="a"),
      claim("c", "X3", "3000.00", setting="inpatient", day=8, ref="b")], "resident",
     {"a": ("designated", f("100"), f("810.00"), f("190.00"), "inpatient"),
      "b": ("designated", f("200"), f("680.00"), f("320.00"), "continuous_deductible"),
      "c": ("outside", f("1000"), f("1200.00"), f("1800.00"), "continuous_deductible")}),
    ("a referral from an outpatient claim does not count",
     [claim("a", "G1-T2", "1000.00", day=1), claim("b", "X2", "2000.00", setting="inpatient", day=2, ref="a")],
     "resident",
     {"a": ("in_consortium", f("100"), f("450.00"), f("550.00"), "outpatient"),
      "b": ("outside", f("800"), f("840.00"), f("1160.00"), "inpatient")}),
    ("annual cap (resident 200,000) cuts a claim, then everything after",
     [claim("a", "G1-T1-V1", "300000.00", setting="inpatient", day=1),
      claim("b", "G1-T1", "50.00", month=4), claim("c", "G2-H", "50.00", month=5)], "resident",
     {"a": ("designated", f("100"), f("200000.00"), f("100000.00"), "annual_cap"),
      "b": ("designated", 0, 0, f("50.00"), "annual_cap"),
      "c": ("other_consortium", 0, 0, f("50.00"), "no_benefit")}),
    ("employee cap is 400,000",
     [claim("a", "G1-T1-V1", "300000.00", setting="inpatient", day=1),
      claim("b", "G1-T1-V1", "300000.00", setting="inpatient", month=6)], "employee",
     {"a": ("designated", f("100"), f("284905.00"), f("15095.00"), "inpatient"),
      "b": ("designated", f("100"), f("115095.00"), f("184905.00"), "annual_cap")}),
    ("claims of other years are ignored and do not count towards the deductible",
     [claim("old", "X3", "500.00", year=Y - 1), claim("new", "X3", "500.00", year=Y + 1),
      claim("a", "X3", "200.00")], "resident",
     {"a": ("outside", f("200"), 0, f("200.00"), "outpatient")}),
    ("a referral across the new year counts continuously",
     [claim("old", "G1-T1", "5000.00", setting="inpatient", year=Y - 1, month=12, day=20, stay=8),
      claim("a", "X3", "5000.00", setting="inpatient", month=1, day=5, ref="old")], "resident",
     {"a": ("outside", f("1100"), f("2340.00"), f("2660.00"), "continuous_deductible")}),
]


def _as_person(k: int, claims: list[Claim]) -> list[Claim]:
    return [replace(c, claim_id=f"K{k:02d}-{c.claim_id}", person_id=f"K{k:02d}",
                    referral_from=c.referral_from and f"K{k:02d}-{c.referral_from}") for c in claims]


@pytest.fixture(scope="module")
def engine_on_cases(con: ibis.BaseBackend) -> Result:
    """Every hand-computed case as its own person, through the engine in one run."""
    claims = [c for k, case in enumerate(CASES) for c in _as_person(k, case[1])]
    persons = {f"K{k:02d}": Person(case[2]) for k, case in enumerate(CASES)}
    return run_engine(con, claims, persons)


@pytest.mark.parametrize(("k", "name"), list(enumerate(c[0] for c in CASES)), ids=[c[0] for c in CASES])
def test_hand_computed_case(engine_on_cases: Result, k: int, name: str) -> None:
    _, claims, insurance, expected = CASES[k]
    assert run_reference(claims, {"P1": Person(insurance)}) == expected
    prefix = f"K{k:02d}-"
    assert {cid[len(prefix):]: v for cid, v in engine_on_cases.items() if cid.startswith(prefix)} == expected


def test_other_year_referrer_uses_its_own_years_designation(con: ibis.BaseBackend) -> None:
    # in Y-1 the person was designated to G2: the referring admission at G1-T1 was then other consortium, no benefit
    des = {"P1": {Y - 1: Des("G2", "G2-T1", "G2-T1-V1"), Y: Des()}}
    claims = [claim("old", "G1-T1", "5000.00", setting="inpatient", year=Y - 1, month=12, day=20, stay=8),
              claim("a", "X3", "5000.00", setting="inpatient", month=1, day=5, ref="old")]
    assert both(con, claims, designations=des) == {
        "a": ("outside", f("1200"), f("2280.00"), f("2720.00"), "continuous_deductible")}


def test_configured_policy_changes_the_result(con: ibis.BaseBackend) -> None:
    policy = BenefitPolicy.model_validate({"flat_copay": "10", "in_consortium_primary": {
        "inpatient_deductible": "200", "inpatient_rate": "80%", "outpatient_deductible": "150",
        "outpatient_rate": "60%"}})
    claims = [claim("a", "G1-T1", "50.00", day=1), claim("b", "G1-T2", "100.00", day=2),
              claim("c", "X2", "400.00", day=3)]
    assert both(con, claims, policy=policy) == {
        "a": ("designated", 0, f("40.00"), f("10.00"), "flat_copay"),
        "b": ("in_consortium", f("100"), 0, f("100.00"), "outpatient"),
        "c": ("outside", f("200"), f("80.00"), f("320.00"), "outpatient")}


# --------------------------------------------------------------------------------------------- properties

_INST_IDS = [i[0] for i in _INSTS]


@st.composite
def claim_sets(draw: st.DrawFn) -> tuple[list[Claim], dict[str, Person]]:
    """Several persons, each with a year of random claims (some before the year, some referred)."""
    n_people = draw(st.integers(1, 8))
    persons = {f"P{i}": Person(draw(st.sampled_from(["resident", "employee"]))) for i in range(n_people)}
    claims: list[Claim] = []
    for pid in persons:
        mine: list[Claim] = []
        for k in range(draw(st.integers(1, 10))):
            inpatient = draw(st.booleans())
            admit = date(Y, 1, 1) + timedelta(days=draw(st.integers(-20, 80)))
            earlier = [c for c in mine if c.inpatient and c.discharge_date is not None]
            ref = draw(st.sampled_from([None, *(c.claim_id for c in earlier)])) if earlier and inpatient else None
            if ref is not None and draw(st.booleans()):  # close enough for the continuous deductible, or nearly
                discharged = next(c.discharge_date for c in earlier if c.claim_id == ref)
                assert discharged is not None
                admit = discharged + timedelta(days=draw(st.integers(0, 17)))
            covered = draw(st.integers(0, 40_000)) * draw(st.sampled_from([1, 1, 100, 5000]))
            mine.append(Claim(
                f"{pid}-{k:02d}", pid, draw(st.sampled_from(_INST_IDS)), "inpatient" if inpatient else "outpatient",
                admit, covered + draw(st.integers(0, 5_000)), covered, draw(st.booleans()),
                admit + timedelta(days=draw(st.integers(0, 10))) if inpatient else None, ref,
                draw(st.integers(0, 7)) == 0))
        claims += mine
    return claims, persons


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claim_sets())
def test_engine_equals_reference_and_money_adds_up(con: ibis.BaseBackend,
                                                   data: tuple[list[Claim], dict[str, Person]]) -> None:
    claims, persons = data
    result = both(con, claims, persons)
    by_id = {c.claim_id: c for c in claims}
    assert set(result) == {c.claim_id for c in claims if c.year == Y}
    fund_by_person: dict[str, int] = defaultdict(int)
    for cid, (_status, ded, fund, patient, _rule) in result.items():
        c = by_id[cid]
        assert fund + patient == c.total_cost
        assert 0 <= ded <= c.covered_cost and 0 <= fund <= c.covered_cost
        fund_by_person[c.person_id] += fund
    for pid, total in fund_by_person.items():
        assert total <= POLICY.annual_cap(persons[pid].insurance)
