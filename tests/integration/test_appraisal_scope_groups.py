"""The residents' measures are summed by scope group (the persons who count for the same scopes) before they are
summed by scope: every scope's value is still the sum over the persons it counts, each as many times as its
designations name the scope. Checked against the sums written out person by person, on persons with no, one or
several designations, designations of persons not in ``persons``, missing townships, villages, consortia and
counties, and claims of unknown persons and institutions."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pyarrow as pa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from yigongti.appraisal.engine import MeasureInputs, compute_measures
from yigongti.appraisal.indicator_sets import load_indicator_set
from yigongti.appraisal.indicators import icd_matches
from yigongti.core.engine import connect

YEAR = 2026
PARAMS = load_indicator_set().parameters
WANTED = {"population", "visits_res", "admissions_res_in_county", "cost_res", "prev:cost_res", "major_new_cases"}
COUNTIES = ("A", "B", None)  # persons of 7 ids at most: P7 is not among them
# inst_id, tier, consortium, county
INSTITUTIONS = (("H1", "county", "C1", "A"), ("H2", "county", "C2", "B"), ("T1", "township", "C1", "A"),
                ("T2", "township", "C2", "B"), ("V1", "village", "C1", "A"), ("V2", "village", "C2", "B"),
                ("X", "outside", None, "Z"))

persons_st = st.lists(st.sampled_from(COUNTIES), min_size=1, max_size=7)
# a few (consortium, township, village) only: persons of one county share them, as scope groups
PLACES = (("C1", "T1", "V1"), ("C2", "T2", "V2"), ("C1", None, None), (None, "T2", "V1"), (None, None, None))
designation_st = st.tuples(st.integers(0, 7), st.sampled_from(PLACES)).map(lambda d: (d[0], *d[1]))
claim_st = st.tuples(st.integers(0, 7), st.sampled_from([*(i[0] for i in INSTITUTIONS), "nowhere"]),
                     st.sampled_from(["outpatient", "inpatient"]), st.sampled_from([YEAR, YEAR - 1]),
                     st.integers(0, 5_000), st.sampled_from(["I21.0", "J18.9", "C34.1", None]))


def _expected(persons: list[str | None], des: list[tuple[int, str | None, str | None, str | None]],
              claims: list[tuple[int, str, str, int, int, str | None]]) -> dict[tuple[str, str], dict[str, int]]:
    inst = {i[0]: i for i in INSTITUTIONS}
    feats: list[Counter[str]] = [Counter(population=1) for _ in persons]
    major: list[set[int]] = [set() for _ in persons]
    for p, i, setting, year, cost, dx in claims:
        if p >= len(persons) or i not in inst:
            continue
        f, prefix = feats[p], "" if year == YEAR else "prev:"
        f[prefix + "cost_res"] += cost
        if year == YEAR and setting == "outpatient":
            f["visits_res"] += 1
        if year == YEAR and setting == "inpatient" and inst[i][3] == persons[p]:
            f["admissions_res_in_county"] += 1
        if dx is not None and icd_matches(dx, PARAMS.major_diseases):
            major[p].add(year)
    for p, years in enumerate(major):
        feats[p]["major_new_cases"] = int(YEAR in years and YEAR - 1 not in years)
    out: dict[tuple[str, str], dict[str, int]] = {}

    def count(p: int, kind: str, scope: str | None) -> None:
        if scope is not None:
            mine = out.setdefault((kind, scope), dict.fromkeys(WANTED, 0))
            for m in WANTED:
                mine[m] += feats[p][m]
    for p, county in enumerate(persons):
        count(p, "county", county)
    for p, cons, township, village in des:
        if p >= len(persons):  # a designation of nobody in ``persons``
            continue
        count(p, "consortium", cons)
        count(p, "institution", township)
        count(p, "institution", village)
        for i in INSTITUTIONS:
            if cons is not None and i[1] == "county" and i[2] == cons:
                count(p, "institution", i[0])
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# a person of two designations beside a person of one of them: their scopes differ
@example(persons=["A", "A"], des=[(0, "C1", "T1", "V1"), (0, "C2", "T2", "V2"), (1, "C2", "T2", "V2")], claims=[])
@given(persons=persons_st, des=st.lists(designation_st, max_size=20), claims=st.lists(claim_st, max_size=40))
def test_scope_sums_are_the_sums_over_their_persons(persons: list[str | None],
                                                     des: list[tuple[int, str | None, str | None, str | None]],
                                                     claims: list[tuple[int, str, str, int, int, str | None]],
                                                     ) -> None:
    pid = [f"P{i}" for i in range(8)]
    inputs = MeasureInputs(
        institutions=pa.table({"inst_id": [i[0] for i in INSTITUTIONS], "tier": [i[1] for i in INSTITUTIONS],
                               "kind": ["general"] * len(INSTITUTIONS), "level": [1] * len(INSTITUTIONS),
                               "consortium_id": [i[2] for i in INSTITUTIONS],
                               "county_code": [i[3] for i in INSTITUTIONS]}),
        consortia=pa.table({"consortium_id": ["C1", "C2"], "lead_inst_id": ["H1", "H2"]}),
        persons=pa.table({"person_id": pid[:len(persons)], "county_code": pa.array(persons, pa.string()),
                          "birth_date": [date(1960, 5, 1)] * len(persons)}),
        designations=pa.table({"person_id": pa.array([pid[d[0]] for d in des], pa.string()),
                               "consortium_id": pa.array([d[1] for d in des], pa.string()),
                               "township_id": pa.array([d[2] for d in des], pa.string()),
                               "village_id": pa.array([d[3] for d in des], pa.string())}),
        claims=pa.table({"claim_id": [f"K{n}" for n in range(len(claims))],
                         "person_id": pa.array([pid[c[0]] for c in claims], pa.string()),
                         "inst_id": pa.array([c[1] for c in claims], pa.string()),
                         "setting": pa.array([c[2] for c in claims], pa.string()),
                         "admit_date": pa.array([date(c[3], 3, 1) for c in claims], pa.date32()),
                         "discharge_date": pa.array([date(c[3], 3, 5) for c in claims], pa.date32()),
                         "total_cost": pa.array([c[4] for c in claims], pa.int64()),
                         "diagnosis": pa.array([c[5] for c in claims], pa.string()),
                         "referral_from": pa.array([None] * len(claims), pa.string())}))
    con = connect("duckdb")
    try:
        got = compute_measures(inputs, year=YEAR, params=PARAMS, wanted=WANTED, con=con).as_dict()
    finally:
        con.disconnect()
    assert got == _expected(persons, des, claims)
