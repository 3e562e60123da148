"""The residents' claims measures of claims in memory (Arrow tables: the simulator's batch, a folder's claims) are
summed in Arrow and numpy, not by the engine's statement, and so are the providers' visits, discharges, bed days and
referrals; the engine's statement still sums claims that are engine
tables (a province's Parquet). Both give the same measures for every scope: checked on the same claims handed in
both ways, with the adjudication carrying the year's claims (fund_paid, some null), claims of unknown persons and
institutions, of other years, without a date, setting, discharge or diagnosis, referred from claims that are there
or not (or from ""), persons and institutions of no county, a
person's claims one after another or not, and chunks of a few claims (a person's run across two chunks)."""

from __future__ import annotations

from datetime import date

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yigongti.appraisal import engine
from yigongti.appraisal.engine import MeasureInputs, compute_measures
from yigongti.appraisal.indicator_sets import load_indicator_set
from yigongti.core.engine import connect

YEAR = 2026
PARAMS = load_indicator_set().parameters
WANTED = {"population", "visits_res", "visits_res_in_county", "visits_res_primary", "admissions_res",
          "admissions_res_in_county", "cost_res", "cost_res_in_county_inpatient", "fund_res", "fund_res_in_county",
          "fund_res_primary", "fund_res_in_county_primary", "prev:cost_res", "prev:admissions_res_in_county",
          "prev:visits_res", "major_new_cases", "admissions_managed", "managed_chronic", "visits", "visits_primary",
          "discharges", "bed_days", "discharges_county_tier", "prev:visits", "prev:bed_days", "up_referrals",
          "down_referrals", "down_referrals_from_county", "prev:up_referrals", "prev:down_referrals"}
# inst_id, tier, consortium, county
INSTITUTIONS = (("H1", "county", "C1", "A"), ("H2", "county", "C2", "B"), ("T1", "township", "C1", "A"),
                ("T2", "township", "C2", "B"), ("V1", "village", "C1", "A"), ("V2", "village", None, None),
                ("X", "outside", None, "Z"))
PLACES = (("C1", "T1", "V1"), ("C2", "T2", "V2"), ("C1", None, None), (None, None, None))
# person, inst_id, setting, year, total_cost, diagnosis, fund_paid, referral_from, days to discharge (20: none)
Claim = tuple[int, str | None, str | None, int | None, int, str | None, int | None, str | None, int]

claim_st = st.tuples(st.integers(0, 7), st.sampled_from([*(i[0] for i in INSTITUTIONS), "nowhere", None]),
                     st.sampled_from(["outpatient", "inpatient", "pharmacy", None]),
                     st.sampled_from([YEAR, YEAR, YEAR - 1, YEAR - 2, None]), st.integers(0, 5_000),
                     st.sampled_from(["I21.0", "J18.9", "C34.1", " c34.9 ", None]),
                     st.one_of(st.none(), st.integers(0, 4_000)),
                     st.one_of(st.none(), st.just(""), st.integers(0, 45).map(lambda n: f"K{n}")),
                     st.integers(0, 20))


def _inputs(persons: list[str | None], des: list[tuple[int, tuple[str | None, ...]]],
            claims: list[Claim], followed: list[int], *, in_engine: bool) -> MeasureInputs:
    pid = [f"P{i}" for i in range(8)]
    rows = {"claim_id": pa.array([f"K{n}" for n in range(len(claims))], pa.string()),
            "person_id": pa.array([pid[c[0]] for c in claims], pa.string()),
            "inst_id": pa.array([c[1] for c in claims], pa.string()),
            "setting": pa.array([c[2] for c in claims], pa.string()),
            "admit_date": pa.array([date(c[3], 3, 1) if c[3] else None for c in claims], pa.date32()),
            "discharge_date": pa.array([date(c[3], 3, 1 + c[8]) if c[3] and c[8] < 20 else None for c in claims],
                                       pa.date32()),
            "total_cost": pa.array([c[4] for c in claims], pa.int64()),
            "diagnosis": pa.array([c[5] for c in claims], pa.string()),
            "referral_from": pa.array([c[7] for c in claims], pa.string())}
    claims_t = pa.table(rows)
    mine = [n for n, c in enumerate(claims) if c[3] == YEAR]  # the year's claims, as adjudicated (fund_paid)
    adjudicated = claims_t.take(pa.array(mine, pa.int64())).append_column(
        "fund_paid", pa.array([claims[n][6] for n in mine], pa.int64()))
    followups = pa.table({"person_id": pa.array([pid[p] for p in followed], pa.string()),
                          "disease": pa.array(["hypertension"] * len(followed), pa.string()),
                          "date": pa.array([date(YEAR, 6, 1)] * len(followed), pa.date32()),
                          "controlled": pa.array([True] * len(followed), pa.bool_())})
    return MeasureInputs(
        institutions=pa.table({"inst_id": [i[0] for i in INSTITUTIONS], "tier": [i[1] for i in INSTITUTIONS],
                               "kind": ["general"] * len(INSTITUTIONS), "level": [1] * len(INSTITUTIONS),
                               "consortium_id": pa.array([i[2] for i in INSTITUTIONS], pa.string()),
                               "county_code": pa.array([i[3] for i in INSTITUTIONS], pa.string())}),
        consortia=pa.table({"consortium_id": ["C1", "C2"], "lead_inst_id": ["H1", "H2"]}),
        persons=pa.table({"person_id": pid[:len(persons)], "county_code": pa.array(persons, pa.string()),
                          "birth_date": [date(1960, 5, 1)] * len(persons)}),
        designations=pa.table({"person_id": pa.array([pid[d[0]] for d in des], pa.string()),
                               "consortium_id": pa.array([d[1][0] for d in des], pa.string()),
                               "township_id": pa.array([d[1][1] for d in des], pa.string()),
                               "village_id": pa.array([d[1][2] for d in des], pa.string())}),
        claims=ibis.memtable(claims_t) if in_engine else claims_t,
        adjudicated=ibis.memtable(adjudicated) if in_engine else adjudicated,
        extra={"followups": followups}, adjudicated_claims=True)


def _measures(inputs: MeasureInputs) -> tuple[frozenset[str], list[tuple[tuple[str, ...], list[dict[str, object]]]]]:
    con = connect("duckdb")
    try:
        got = compute_measures(inputs, year=YEAR, params=PARAMS, wanted=WANTED, con=con)
    finally:
        con.disconnect()
    key = [("scope_kind", "ascending"), ("scope", "ascending")]
    return got.available, [(names, table.sort_by(key).to_pylist()) for table, names in got.wide]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(persons=st.lists(st.sampled_from(["A", "B", None]), min_size=1, max_size=7),
       des=st.lists(st.tuples(st.integers(0, 7), st.sampled_from(PLACES)), max_size=12),
       claims=st.lists(claim_st, max_size=40), followed=st.lists(st.integers(0, 6), max_size=4),
       chunk=st.sampled_from([1, 3, 1 << 20]), by_person=st.booleans())
def test_claims_in_memory_give_the_engines_measures(
        monkeypatch: pytest.MonkeyPatch, persons: list[str | None], des: list[tuple[int, tuple[str | None, ...]]],
        claims: list[Claim], followed: list[int], chunk: int, by_person: bool) -> None:
    if by_person:  # each person's claims one after another (as the simulator draws them)
        claims = sorted(claims, key=lambda c: c[0])
    monkeypatch.setattr(engine, "_CHUNK", chunk)
    in_memory = _measures(_inputs(persons, des, claims, followed, in_engine=False))
    assert in_memory == _measures(_inputs(persons, des, claims, followed, in_engine=True))
    # the measures are there at all (the comparison is not of two empty results)
    assert {"visits_res", "fund_res", "major_new_cases", "admissions_managed", "bed_days",
            "prev:up_referrals"} <= in_memory[0]


def test_the_arrow_sums_are_taken_for_claims_in_memory_only() -> None:
    """Which path a call takes: claims in memory with the adjudication carrying them, in Arrow; claims as engine
    tables, the engine's statement (the test above compares the two)."""
    claims: list[Claim] = [(0, "H1", "inpatient", YEAR, 100, "I21.0", 60, None, 3),
                           (0, "T1", "outpatient", YEAR - 1, 50, None, None, "K0", 20)]
    con = connect("duckdb")
    try:
        arrow = engine._Engine(con, _inputs(["A"], [(0, PLACES[0])], claims, [], in_engine=False), YEAR, PARAMS)
        got = arrow.person_claim_features({m.replace("prev:", engine.PREV) for m in WANTED})
        assert got is not None and isinstance(got[0], pa.Table)
        # H1 (county) sent K0, whose patient T1 (township) received last year: down from H1
        assert arrow._referrals_arrow([(YEAR - 1, "")]).column("down_referrals").to_pylist()[:3] == [1, 0, 0]
        eng = engine._Engine(con, _inputs(["A"], [(0, PLACES[0])], claims, [], in_engine=True), YEAR, PARAMS)
        got = eng.person_claim_features({m.replace("prev:", engine.PREV) for m in WANTED})
        assert got is not None and not isinstance(got[0], pa.Table)
    finally:
        con.disconnect()
