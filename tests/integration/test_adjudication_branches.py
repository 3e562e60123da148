"""The engine's branches (persons who could reach the annual cap, claims that accrue an outpatient deductible, all
other claims) give every claim exactly once and the reference loop's answer, whichever branch a claim goes through."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest
from test_adjudication_rules import POLICY, Person, both, claim, engine_tables, f

from yigongti.benefits import engine as adjudication
from yigongti.benefits.engine import DESIGNATED_COLUMNS, adjudicate
from yigongti.budget import engine as q


@pytest.fixture(scope="module")
def con() -> ibis.BaseBackend:
    return ibis.duckdb.connect()


def test_over_cap_persons_and_others_in_one_run(con: ibis.BaseBackend) -> None:
    claims = [
        # P1: over the resident cap, with outpatient deductibles of both levels and a referral on the way
        claim("1a", "G1-T2-V1", "80.00", day=1, person="P1"),
        claim("1b", "X2", "150.00", day=2, person="P1"),
        claim("1c", "X3", "150000.00", setting="inpatient", day=3, stay=4, person="P1"),
        claim("1d", "X2", "200000.00", setting="inpatient", day=9, ref="1c", person="P1"),
        claim("1e", "G1-T2", "300.00", day=20, person="P1"),
        claim("1f", "G1-T1", "50.00", month=4, person="P1"),
        # P2: covered costs above the resident cap but an employee, whose cap is twice as high
        claim("2a", "G1-H", "250000.00", setting="inpatient", day=5, person="P2"),
        claim("2b", "X3", "400.00", day=6, person="P2"),
        # P3: ordinary, both deductible levels
        claim("3a", "X3", "120.00", day=1, person="P3"),
        claim("3b", "G1-T2", "90.00", day=1, person="P3"),
        claim("3c", "X2", "500.00", day=2, person="P3"),
        claim("3d", "G1-T1-V1", "30.00", day=3, person="P3"),
    ]
    persons = {"P1": Person(), "P2": Person("employee"), "P3": Person()}
    result = both(con, claims, persons)
    assert result["1d"][4] == "annual_cap" and result["1e"][2] == result["1f"][2] == 0
    assert sum(result[c][2] for c in ("1a", "1b", "1c", "1d", "1e", "1f")) == POLICY.annual_cap("resident")
    assert result["2a"][4] == "inpatient" and result["2b"][1] == f("300")
    assert [result[c][1] for c in ("3a", "3b", "3c")] == [f("120"), 0, f("180")]  # 300 in all, 100 reached first


def test_persons_sharing_a_bucket_with_an_over_cap_person_are_decided_alike(
        con: ibis.BaseBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """On DuckDB the over-cap search sums covered costs per bucket of persons: every person in a bucket whose sum
    passes the cap goes through the cap's running sums. With one bit of hash (two buckets, and the one of the claims
    without a person) ordinary persons share a hot bucket with an over-cap one: the same answers as the reference
    loop and as a bucket per person, each claim once."""
    claims = [
        claim("1a", "X3", "150000.00", setting="inpatient", day=3, stay=4, person="P1"),
        claim("1b", "X2", "200000.00", setting="inpatient", day=20, person="P1"),
        claim("1c", "X3", "150.00", day=25, person="P1"),
        *(claim(f"{k}a", "X3", "120.00", day=1, person=f"P{k}") for k in range(2, 9)),
        *(claim(f"{k}b", "G1-T2", "90.00", day=2, person=f"P{k}") for k in range(2, 9)),
        *(claim(f"{k}c", "X2", "500.00", setting="inpatient", day=4, person=f"P{k}") for k in range(2, 9)),
    ]
    persons = {f"P{k}": Person() for k in range(1, 9)}
    nobody = [claim("0a", "X2", "300000.00", setting="inpatient", day=6, person=None),  # type: ignore[arg-type]
              claim("0b", "X2", "100.00", day=7, person=None)]  # type: ignore[arg-type]

    def engine() -> pa.Table:  # the tables registered anew: ``both`` registers its own under the same names
        t = engine_tables(con, [*claims, *nobody], persons)
        hot, null_big = adjudication._hot_buckets(t["claims"], POLICY)
        assert hot.num_rows == 1 and null_big  # P1's bucket, and the claims without a person over the cap
        return adjudicate(t["claims"], t["persons"], t["institutions"], t["designations"], POLICY, 2026).to_pyarrow()

    wide = both(con, claims, persons)
    apart = engine()
    monkeypatch.setattr(adjudication, "_BUCKET_BITS", 1)
    ids = ibis.memtable({"person_id": list(persons)})
    rows = con.to_pyarrow(ids.select("person_id", b=adjudication._bucket(ids.person_id))).to_pylist()
    bucket = {r["person_id"]: r["b"] for r in rows}
    sharing = [p for p in persons if p != "P1" and bucket[p] == bucket["P1"]]
    assert sharing  # ordinary persons whose claims now go through the cap's running sums
    assert both(con, claims, persons) == wide
    shared = engine()
    assert shared.equals(apart) and shared.num_rows == len(claims) + len(nobody)
    rules = dict(zip(shared.column("claim_id").to_pylist(), shared.column("rule").to_pylist(), strict=True))
    assert rules["1b"] == rules["0a"] == "annual_cap" and wide["2c"][4] == "inpatient"


def test_a_person_missing_from_persons_is_capped_once(con: ibis.BaseBackend) -> None:
    claims = [claim(f"9{k}", "X2", "90000.00", setting="inpatient", month=k + 1, person="P9") for k in range(5)]
    claims += [claim("1a", "X2", "500.00", person="P1")]
    t = engine_tables(con, claims, {"P1": Person()})  # P9 is not in persons: no designation, resident cap
    out = adjudicate(t["claims"], t["persons"], t["institutions"], t["designations"], POLICY, 2026).to_pyarrow()
    rows = {r["claim_id"]: r for r in out.to_pylist()}
    assert out.column("claim_id").to_pylist() == sorted(c.claim_id for c in claims)
    assert sum(rows[f"9{k}"]["fund_paid"] for k in range(5)) == POLICY.annual_cap("resident")
    assert [rows[f"9{k}"]["rule"] for k in range(5)] == ["inpatient"] * 3 + ["annual_cap"] * 2
    assert all(r["fund_paid"] + r["patient_paid"] == r["total_cost"] for r in rows.values())
    assert rows["1a"]["deductible"] == f("300") and rows["1a"]["fund_paid"] == f("80.00")
    # the first scan's temporary table (admissions and over-cap candidates' claims) is gone once it has served
    assert con.con.sql("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '\\_early\\_%' ESCAPE '\\'"
                       ).fetchall() == []


def test_persons_missing_from_persons_keep_their_own_deductibles(con: ibis.BaseBackend) -> None:
    """Persons missing from persons (no row in the coded persons on DuckDB) keep running sums of their own; the
    claims without a person share one."""
    claims = [claim("u1", "X2", "200.00", day=1, person="U1"), claim("u2", "X2", "200.00", day=3, person="U1"),
              claim("v1", "X3", "250.00", day=2, person="U2"), claim("v2", "X2", "100.00", day=4, person="U2"),
              claim("p1", "X2", "120.00", day=2, person="P1"), claim("p2", "X2", "250.00", day=5, person="P1"),
              claim("n1", "X2", "280.00", day=1, person=None),  # type: ignore[arg-type]
              claim("n2", "X2", "90.00", day=2, person=None)]  # type: ignore[arg-type]
    t = engine_tables(con, claims, {"P1": Person()})
    out = adjudicate(t["claims"], t["persons"], t["institutions"], t["designations"], POLICY, 2026).to_pyarrow()
    ded = dict(zip(out.column("claim_id").to_pylist(), out.column("deductible").to_pylist(), strict=True))
    # 300 yuan at an outside hospital, per person: U1 200 + 100, U2 250 + 50, P1 120 + 180, no person 280 + 20
    assert ded == {"u1": f("200"), "u2": f("100"), "v1": f("250"), "v2": f("50"), "p1": f("120"), "p2": f("180"),
                   "n1": f("280"), "n2": f("20")}


def test_a_capped_emergency_at_another_consortium_is_still_charged_as_outside(con: ibis.BaseBackend) -> None:
    """rules.md D1: D_c includes emergencies paid as outside. When the annual cap then cuts one, its rule is
    annual_cap, yet the (smaller) payment is still an out-of-network deduction of the enrollee's consortium, in the
    per-claim charges and in the sums the settlement reads, both with the designation joined again and as the
    adjudication hands it over."""
    claims = [claim("1a", "G1-H", "235000.00", setting="inpatient", day=3, stay=4),  # at G1 (its own): 199,495
              claim("1b", "G2-H", "3000.00", setting="inpatient", day=20, emergency=True),  # at G2, cut by the cap
              claim("1c", "G2-T1", "500.00", day=25)]  # at G2, no emergency: no benefit, charged to no one
    result = both(con, claims)
    assert result["1b"][4] == "annual_cap" and 0 < result["1b"][2] < f("3000")
    t = engine_tables(con, claims, {"P1": Person()})
    adj = adjudicate(t["claims"], t["persons"], t["institutions"], t["designations"], POLICY, 2026, designated=True)
    rows = {r["claim_id"]: r for r in q.charged_claims(adj, t["designations"], t["institutions"], year=2026)
            .to_pyarrow().to_pylist()}
    assert [(rows[c]["charge"], rows[c]["charged_to"]) for c in ("1a", "1b", "1c")] == [
        ("in_network", "G1"), ("out_of_network", "G1"), ("fund", None)]
    # the designation as the adjudication hands it over (consortium, township, village), or none of it (joined again)
    for given in (adj, adj.drop(*DESIGNATED_COLUMNS)):
        sums = q.charged_spending(given, t["designations"], t["institutions"], year=2026).to_pyarrow().to_pylist()
        # out of network the member is the person's designated village
        assert sorted((r["in_network"], r["tier"], r["fund_paid"], r["member"]) for r in sums) == [
            (False, "outside", result["1b"][2], "G1-T1-V1"), (True, "county", result["1a"][2], "G1-H")]


def test_fewer_columns_carry_the_same_decisions(con: ibis.BaseBackend) -> None:
    """``columns`` trims what the passes carry (the settlement asks for six of the claims' columns), not what they
    decide: every branch (over-cap person, outpatient deductibles, the rest) gives the same rows as the full output."""
    claims = [
        claim("1a", "X2", "150000.00", setting="inpatient", day=3, stay=4, person="P1"),
        claim("1b", "X2", "200000.00", setting="inpatient", day=20, person="P1"),
        claim("1c", "X3", "150.00", day=25, person="P1"),
        claim("3a", "X3", "120.00", day=1, person="P3"),
        claim("3b", "G1-T2", "90.00", day=1, person="P3"),
        claim("3c", "G1-T1-V1", "30.00", day=3, person="P3"),
    ]
    t = engine_tables(con, claims, {"P1": Person(), "P3": Person()})
    args = (t["claims"], t["persons"], t["institutions"], t["designations"], POLICY, 2026)
    wanted = ["claim_id", "inst_id", "admit_date"]
    full = adjudicate(*args, designated=True).to_pyarrow()
    few = adjudicate(*args, designated=True, columns=wanted).to_pyarrow()
    assert few.column_names == [*wanted, "network_status", "deductible", "fund_paid", "patient_paid", "rule",
                                "designated_consortium", "designated_township", "designated_village"]
    assert few.equals(full.select(few.column_names))
    assert few.column("rule").to_pylist()[:2] == ["inpatient", "annual_cap"]  # the over-cap branch is in it


def test_adjudication_connections_plan_joins_as_written() -> None:
    """claims LEFT JOIN lookup, with the claims filtered so that DuckDB estimates them smaller than the lookup: by
    default DuckDB turns it into a RIGHT join that holds the claims in its hash table (11.6 GB at 100 M claims);
    the adjudication's connections keep the join as written, the lookup in the hash table."""
    import numpy as np
    import pyarrow as pa

    from yigongti.core.engine import connect

    def join_type(joins_as_written: bool) -> str:
        con = connect("duckdb", joins_as_written=joins_as_written)
        try:
            con.raw_sql("CREATE TABLE claims AS SELECT i AS k, i % 365 AS d, i % 7 AS w FROM range(2000000) t(i)")
            look = con.create_table("look", pa.table({"k2": np.arange(0, 2_000_000, 4), "v": np.arange(500_000)}))
            c = con.table("claims")
            c = c.filter((c.d > 10) & (c.d < 300) & (c.w != 3))
            plan = "\n".join(r[1] for r in con.raw_sql("EXPLAIN " + str(c.left_join(look, c.k == look.k2).compile()))
                             .fetchall())
            return "RIGHT" if "RIGHT" in plan else "LEFT" if "LEFT" in plan else "?"
        finally:
            con.disconnect()

    assert join_type(False) == "RIGHT"  # the estimate flips it: the test can tell
    assert join_type(True) == "LEFT"
