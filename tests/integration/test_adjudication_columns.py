"""The engine's rules (column expressions of ``benefits.engine``) against the domain's decisions of the same name
(``benefits.domain``), claim by claim, under random policies; the whole engine against the reference loop with
random policies and designations; age on 1 January in its three forms (domain, Ibis column, Arrow column)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_adjudication_rules import (
    _INSTS,
    INSTITUTIONS,
    Des,
    Person,
    Y,
    claim_sets,
    run_engine,
    run_reference,
)

from yigongti.benefits import domain, engine
from yigongti.benefits.domain import ROW_NAMES, NetworkStatus, Rule, Setting
from yigongti.core.dates import age_on_jan_1
from yigongti.core.engine import age_expr
from yigongti.core.policy import BenefitPolicy, Insurance
from yigongti.enrollment.headcount import ages_on_jan_1

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
DESIGNATIONS = [Des(), Des("G1", "G1-T2", "G1-T2-V1"), Des("G2", "G2-T1", "G2-T1-V1"), None]


@pytest.fixture(scope="module")
def con() -> ibis.BaseBackend:
    return ibis.duckdb.connect()


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _rate(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d}%"


@st.composite
def policies(draw: st.DrawFn) -> BenefitPolicy:
    """A benefit policy with random rows (deductibles, rates, flat copays), copay, bonus, cap and referral days."""
    def row() -> dict[str, Any]:
        return {"inpatient_deductible": _yuan(draw(st.integers(0, 150_000))),
                "inpatient_rate": _rate(draw(st.integers(0, 10_000))),
                "outpatient_deductible": _yuan(draw(st.sampled_from([0, 5_000, 10_000, 30_000, 45_000]))),
                "outpatient_rate": _rate(draw(st.integers(0, 10_000))),
                "outpatient_flat_copay": draw(st.booleans())}
    return BenefitPolicy.model_validate({
        **{name: row() for name in ROW_NAMES},
        "flat_copay": _yuan(draw(st.integers(0, 5_000))),
        "employee_rate_bonus": _rate(draw(st.integers(0, 2_000))),
        "annual_cap_resident": _yuan(draw(st.sampled_from([50_000, 500_000, 20_000_000]))),
        "continuous_deductible_days": draw(st.integers(0, 20)),
    })


def _column(con: ibis.BaseBackend, expr: ir.Table, name: str) -> list[Any]:
    return con.to_pyarrow(expr).column(name).to_pylist()  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------- classification

@st.composite
def classified_claims(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Claims, each at an institution of the fixture's registry, with its own designation (or none) and insurance."""
    return draw(st.lists(st.fixed_dictionaries({
        "inst_id": st.sampled_from(list(INSTITUTIONS)), "setting": st.sampled_from(list(Setting)),
        "emergency": st.booleans(), "unreasonable": st.booleans(), "des": st.sampled_from(DESIGNATIONS),
        "insurance": st.sampled_from(list(Insurance)), "continuous": st.booleans()}), min_size=1, max_size=40))


def _institutions_table() -> ir.Table:
    return ibis.memtable(pa.table({
        "inst_id": [i[0] for i in _INSTS], "tier": [str(i[1]) for i in _INSTS],
        "level": pa.array([i[2] for i in _INSTS], pa.int64()), "consortium_id": [i[3] for i in _INSTS]}))


@SETTINGS
@given(policies(), classified_claims())
def test_classification_and_rule_agree_with_the_domain(con: ibis.BaseBackend, policy: BenefitPolicy,
                                                      rows: list[dict[str, Any]]) -> None:
    """network_status, row_name, has_benefit, is_flat_copay, fund_rate, the row's deductibles, the cap and rule:
    the engine's column per claim equals the domain's decision for it."""
    t = ibis.memtable(pa.table({
        "claim_id": [f"c{k:03d}" for k in range(len(rows))], "inst_id": [r["inst_id"] for r in rows],
        "setting": [str(r["setting"]) for r in rows], "emergency": [r["emergency"] for r in rows],
        "unreasonable": [r["unreasonable"] for r in rows], "covered_cost": pa.array([0] * len(rows), pa.int64()),
        "_emp": [r["insurance"] == Insurance.EMPLOYEE for r in rows],
        "_dcons": pa.array([r["des"] and r["des"].consortium_id for r in rows], pa.string()),
        "_dtown": pa.array([r["des"] and r["des"].township_id for r in rows], pa.string()),
        "_dvil": pa.array([r["des"] and r["des"].village_id for r in rows], pa.string()),
        "_cont": [r["continuous"] for r in rows]}))
    c = engine._classify(t, _institutions_table(), policy)
    c = c.mutate(_rule=engine.rule(c._status, paid=c._pays, unreasonable=c._unr, inpatient=c._inp,
                                   continuous=c._cont, flat=c._flat))
    out = con.to_pyarrow(c.order_by("claim_id")).to_pylist()
    for r, e in zip(rows, out, strict=True):
        inst, inpatient = INSTITUTIONS[r["inst_id"]], r["setting"] == Setting.INPATIENT
        status = domain.network_status(inst, r["des"])
        paid = domain.has_benefit(status, unreasonable=r["unreasonable"], emergency=r["emergency"])
        assert engine._STATUS_CODES[e["_status"]] is status
        assert e["_pays"] == paid
        assert e["_cap"] == policy.annual_cap(r["insurance"])
        flat = False
        if paid:
            name = domain.row_name(status, str(inst.tier), inst.level)
            row = getattr(policy, name)
            flat = domain.is_flat_copay(row, inpatient=inpatient)
            assert ROW_NAMES[e["_row"]] == name
            assert e["_flat"] == flat
            assert e["_rate"] == domain.fund_rate(policy, row, inpatient=inpatient, insurance=r["insurance"])
            assert e["_d_ip"] == (row.inpatient_deductible if inpatient else 0)
            accrues = not inpatient and not flat and row.outpatient_deductible > 0
            assert e["_d_op"] == (row.outpatient_deductible if accrues else 0)
            assert e["_accrues"] == accrues
        else:
            assert (e["_flat"], e["_d_ip"], e["_d_op"], e["_accrues"]) == (False, 0, 0, False)
        expected = domain.rule(status, paid=paid, unreasonable=r["unreasonable"], inpatient=inpatient,
                               continuous=r["continuous"], flat=flat)
        assert engine._RULES[e["_rule"]] is expected


# --------------------------------------------------------------------------------------------- amounts

@SETTINGS
@given(st.integers(0, 10**5), st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 10**7),
                                                 st.integers(0, 10**7), st.integers(0, 10_000)),
                                       min_size=1, max_size=50))
def test_amounts_agree_with_the_domain(con: ibis.BaseBackend, copay: int,
                                       rows: list[tuple[int, int, int, int]]) -> None:
    """flat_copay, deductible, inpatient_deductible, continuous_deductible, rated_fund, claim by claim."""
    policy = BenefitPolicy.model_validate({"flat_copay": _yuan(copay)})
    names = ("k", "c", "d", "ref", "rate")
    t = ibis.memtable(pa.table([pa.array(v, pa.int64()) for v in zip(*[(k, *r) for k, r in enumerate(rows)],
                                                                          strict=True)], names=names))
    got = con.to_pyarrow(t.select(
        "k", flat=engine.flat_copay(t.c, policy), ded=engine.deductible(t.c, t.d),
        ip=engine.inpatient_deductible(t.c, t.d), cont=engine.continuous_deductible(t.c, t.d, t.ref),
        fund=engine.rated_fund(t.c, engine.deductible(t.c, t.d), t.rate)).order_by("k")).to_pylist()
    for (c, d, ref, rate), e in zip(rows, got, strict=True):
        row = policy.designated_primary.model_copy(update={"inpatient_deductible": d})
        assert e["flat"] == domain.flat_copay(c, policy)
        assert e["ded"] == domain.deductible(c, d)
        assert e["ip"] == domain.inpatient_deductible(c, row)
        assert e["cont"] == domain.continuous_deductible(c, row, ref)
        assert e["fund"] == domain.rated_fund(c, domain.deductible(c, d), rate)


def _ordered_claims(days: list[int], **columns: list[int]) -> ir.Table:
    """One person's claims on the given days (claim_id breaking ties by position), with integer columns."""
    n = len(days)
    return ibis.memtable(pa.table({
        "claim_id": [f"c{k:03d}" for k in range(n)], "person_id": ["P"] * n,
        "admit_date": pa.array([date(Y, 1, 1) + timedelta(days=x) for x in days], pa.date32()),
        **{name: pa.array(v, pa.int64()) for name, v in columns.items()}}))


@SETTINGS
@given(st.integers(0, 10**6), st.lists(st.tuples(st.integers(0, 30), st.integers(0, 300_000)), min_size=1,
                                       max_size=30))
def test_annual_cap_agrees_with_the_domain(con: ibis.BaseBackend, cap: int, rows: list[tuple[int, int]]) -> None:
    """annual_cap over the running total equals the domain's cap applied claim after claim."""
    days = [r[0] for r in rows]
    t = _ordered_claims(days, _f0=[r[1] for r in rows], _cap=[cap] * len(rows))
    got = con.to_pyarrow(engine._capped(t).order_by("claim_id")).column("fund_paid").to_pylist()
    paid_before, expected = 0, {}
    for k in sorted(range(len(rows)), key=lambda k: (days[k], k)):
        expected[k] = domain.annual_cap(rows[k][1], max(0, cap - paid_before))
        paid_before += expected[k]
    assert got == [expected[k] for k in range(len(rows))]


@SETTINGS
@given(policies(), st.lists(st.tuples(st.integers(0, 30), st.sampled_from(ROW_NAMES), st.integers(0, 60_000)),
                            min_size=1, max_size=30))
def test_outpatient_deductible_agrees_with_the_domain(con: ibis.BaseBackend, policy: BenefitPolicy,
                                                      rows: list[tuple[int, str, int]]) -> None:
    """The running sums of outpatient_deductible equal the domain's outpatient_deductible applied claim after
    claim (rows of a flat copay accrue none)."""
    days = [r[0] for r in rows]
    d_op = [0 if getattr(policy, n).outpatient_flat_copay else getattr(policy, n).outpatient_deductible
            for _, n, _ in rows]
    t = _ordered_claims(days, _d_op=d_op, _c=[r[2] for r in rows])
    levels = domain.outpatient_deductible_levels(policy)
    got = con.to_pyarrow(engine.outpatient_deductible(t, levels).order_by("claim_id")).column("_ded_op").to_pylist()
    applied, expected = 0, {}
    for k in sorted(range(len(rows)), key=lambda k: (days[k], k)):
        row = getattr(policy, rows[k][1])
        expected[k] = 0 if d_op[k] == 0 else domain.outpatient_deductible(rows[k][2], row, applied)
        applied += expected[k]
    assert got == [expected[k] for k in range(len(rows))]


# --------------------------------------------------------------------------------------------- the whole engine

@st.composite
def designated_claim_sets(draw: st.DrawFn) -> tuple[list[Any], dict[str, Person], dict[str, dict[int, Des]]]:
    claims, persons = draw(claim_sets())
    designations: dict[str, dict[int, Des]] = {}
    for pid in persons:
        years = {Y: draw(st.sampled_from(DESIGNATIONS)), Y - 1: draw(st.sampled_from(DESIGNATIONS))}
        designations[pid] = {y: d for y, d in years.items() if d is not None}
    return claims, persons, designations


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policies(), designated_claim_sets())
def test_engine_equals_reference_under_random_policies_and_designations(
        con: ibis.BaseBackend, policy: BenefitPolicy,
        data: tuple[list[Any], dict[str, Person], dict[str, dict[int, Des]]]) -> None:
    """Claim by claim, to the fen: any policy, persons designated elsewhere or nowhere, caps that bite."""
    claims, persons, designations = data
    assert run_engine(con, claims, persons, policy, designations) == run_reference(claims, persons, policy,
                                                                                   designations)


def test_the_reference_sees_every_status_and_rule() -> None:
    """The strategies above reach every network status and rule (the comparison is not vacuous)."""
    seen_status = {domain.network_status(i, d) for i in INSTITUTIONS.values() for d in DESIGNATIONS}
    assert seen_status == set(NetworkStatus)
    assert set(Rule) == {domain.rule(s, paid=p, unreasonable=u, inpatient=i, continuous=c, flat=f, two_disease=t)
                         for s in NetworkStatus for p in (True, False) for u in (True, False)
                         for i in (True, False) for c in (True, False) for f in (True, False)
                         for t in (True, False)} | {Rule.ANNUAL_CAP}


# --------------------------------------------------------------------------------------------- age on 1 January

@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.dates(date(1900, 1, 1), date(2040, 12, 31)), min_size=1, max_size=40),
       st.integers(1990, 2035))
def test_age_on_jan_1_is_one_definition(con: ibis.BaseBackend, births: list[date], year: int) -> None:
    """The domain's age on 1 January, the Ibis column (age_expr) and the Arrow column (ages_on_jan_1) agree,
    including 0 for a person born after that day."""
    expected = [age_on_jan_1(b.year, b.month, b.day, year) for b in births]
    column = pa.array(births, pa.date32())
    t = ibis.memtable(pa.table({"k": range(len(births)), "birth_date": column}))
    assert _column(con, t.select("k", age=age_expr(t.birth_date, year)).order_by("k"), "age") == expected
    assert ages_on_jan_1(column, year).tolist() == expected
    assert all(a >= 0 for a in expected)


def test_age_on_jan_1_by_hand() -> None:
    assert age_on_jan_1(2000, 1, 1, 2026) == 26  # a birthday on Jan 1 counts that day
    assert age_on_jan_1(2000, 1, 2, 2026) == 25
    assert age_on_jan_1(2026, 1, 1, 2026) == 0
    assert age_on_jan_1(2026, 1, 2, 2026) == 0  # born later: clamped at 0
    assert age_on_jan_1(2030, 6, 1, 2026) == 0
