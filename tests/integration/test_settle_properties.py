"""Invariants of settlement for random counties and claims (hypothesis), on the real DuckDB engine."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yigongti.budget import engine as q
from yigongti.budget.service import settle_data
from yigongti.core.engine import connect, register_arrow, to_arrow
from yigongti.core.policy import CapitationPolicy, Policy, SettlementPolicy
from yigongti.datafolder.folder import DataFolder

YEAR = 2026


@st.composite
def counties(draw: st.DrawFn) -> dict[str, Any]:
    insts: list[dict[str, Any]] = []
    consortia = [f"G{i}" for i in range(1, draw(st.integers(1, 3)) + 1)]
    for c in consortia:
        insts.append({"inst_id": f"{c}-H", "tier": "county", "kind": "general", "consortium_id": c})
        if draw(st.booleans()):
            insts.append({"inst_id": f"{c}-C", "tier": "county", "kind": "cdc", "consortium_id": c})
        for t in range(1, draw(st.integers(1, 2)) + 1):
            insts.append({"inst_id": f"{c}-T{t}", "tier": "township", "kind": "township_centre", "consortium_id": c})
            for v in range(1, draw(st.integers(0, 2)) + 1):
                insts.append({"inst_id": f"{c}-T{t}-V{v}", "tier": "village", "kind": "village_clinic",
                              "consortium_id": c})
    for x in range(draw(st.integers(1, 2))):
        insts.append({"inst_id": f"X{x}", "tier": "outside", "kind": "general", "consortium_id": None})
    n_persons = draw(st.integers(1, 25))
    persons = [{"person_id": f"P{i:03d}", "birth_date": dt.date(1930, 1, 1) + dt.timedelta(days=draw(
        st.integers(0, 35000))), "lives_away": draw(st.sampled_from([False, False, True]))} for i in range(n_persons)]
    designations = []
    for p in persons:
        if draw(st.integers(0, 4)) == 0:
            continue  # not enrolled anywhere (insured elsewhere, or living away without a choice): fee-for-service
        c = draw(st.sampled_from(consortia))
        towns = [i["inst_id"] for i in insts if i["consortium_id"] == c and i["tier"] == "township"]
        t = draw(st.sampled_from(towns))
        villages = [i["inst_id"] for i in insts if i["inst_id"].startswith(t + "-V")] or [t]
        designations.append({"person_id": p["person_id"], "year": YEAR, "consortium_id": c, "township_id": t,
                                 "village_id": draw(st.sampled_from(villages))})
    claims = []
    for k in range(draw(st.integers(0, 60))):
        inst = draw(st.sampled_from(insts))
        rule = draw(st.sampled_from(["flat_copay", "outpatient", "inpatient", "emergency_as_outside", "unreasonable",
                                     "annual_cap"]))
        unreasonable = rule == "unreasonable"
        claims.append({
            "claim_id": f"C{k:04d}", "person_id": draw(st.sampled_from(persons))["person_id"],
            "inst_id": inst["inst_id"],
            "admit_date": dt.date(YEAR - draw(st.sampled_from([0, 0, 0, 1])), draw(st.integers(1, 12)),
                               draw(st.integers(1, 28))),
            "fund_paid": 0 if unreasonable else draw(st.integers(0, 3_000_000)), "rule": rule,
            "diagnosis": draw(st.sampled_from(["I10", "E11.9", "J06.9", None])), "unreasonable": unreasonable})
    scores = [{"unit_id": u, "year": YEAR, "score": str(draw(st.integers(0, 100)))}
              for u in consortia + [i["inst_id"] for i in insts] if draw(st.booleans())]
    cap = draw(st.sampled_from([CapitationPolicy(), CapitationPolicy(rate="12.34"),  # type: ignore[arg-type]
                                CapitationPolicy(pool_resident="100000.01", pool_public_health="999.99"),  # type: ignore[arg-type]
                                CapitationPolicy(pool_public_health="12345.67")]))  # type: ignore[arg-type]
    sett = draw(st.sampled_from([SettlementPolicy(), SettlementPolicy(  # type: ignore[call-arg]
        public_health_shares={"public_health": "50%", "county": "10%", "township": "40%", "village": "0%"},
        county_duty_weights={"general": "2.5"}, institution_score_from_consortium=False)]))
    return {"insts": insts, "consortia": consortia, "persons": persons, "designations": designations, "claims": claims,
                "scores": scores, "policy": Policy(capitation=cap, settlement=sett)}


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


def _folder(c: dict[str, Any]) -> tuple[DataFolder, pa.Table, pa.Table]:
    s = pa.string()
    data = DataFolder(Path("."), {
        "institutions": _table(c["insts"], pa.schema([("inst_id", s), ("tier", s), ("kind", s),
                                                      ("consortium_id", s)])),
        "consortia": pa.table({"consortium_id": c["consortia"], "name": c["consortia"]}),
        "persons": _table(c["persons"], pa.schema([("person_id", s), ("birth_date", pa.date32()),
                                                   ("lives_away", pa.bool_())])),
        "scores": _table(c["scores"], pa.schema([("unit_id", s), ("year", pa.int64()), ("score", s)])),
    })
    des = _table(c["designations"], pa.schema([("person_id", s), ("year", pa.int64()), ("consortium_id", s),
                                               ("township_id", s), ("village_id", s)]))
    adj = _table(c["claims"], pa.schema([("claim_id", s), ("person_id", s), ("inst_id", s),
                                         ("admit_date", pa.date32()), ("fund_paid", pa.int64()), ("rule", s),
                                         ("diagnosis", s), ("unreasonable", pa.bool_())]))
    return data, des, adj


CON = connect("duckdb")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counties())
def test_money_is_conserved(c: dict[str, Any]) -> None:
    data, des, adj = _folder(c)
    r = settle_data(data, YEAR, c["policy"], con=CON, designations=des, adjudicated=adj)
    ledger = r.ledger.to_pylist()
    by_c: dict[str, list[int]] = defaultdict(list)
    for a in r.allocations:
        by_c[a.consortium_id].append(a.amount)
    for s in r.consortia:
        mine = [e for e in ledger if e["consortium_id"] == s.consortium_id]
        # the ledger balances to the fen: both accounts close
        assert sum(e["amount"] for e in mine if e["account"] == "budget") == 0
        assert sum(e["amount"] for e in mine if e["account"] == "pool") == 0
        assert sum(e["amount"] for e in mine if e["account"] == "public_health") == 0
        # the public-health account is its own: never spent against claims, split to the fen by the members
        assert sum(a.public_health for a in r.allocations if a.consortium_id == s.consortium_id) == s.public_health
        # the 12 prepayments sum to B, P4P paid + returned = the reserve, G = B + reserve
        prepaid = [e["amount"] for e in mine if e["kind"] == "prepayment"]
        assert len(prepaid) == 12 and sum(prepaid) == s.budget.prospective
        assert s.p4p_paid + s.p4p_returned == s.budget.reserve
        assert s.budget.gross == s.budget.prospective + s.budget.reserve
        # each consortium's allocation sums to its amount to share
        assert sum(by_c[s.consortium_id]) == s.amount_to_share
        assert s.balance == s.budget.prospective - s.in_network_spend - s.out_of_network_deductions
        assert s.fund_overspend_share + s.consortium_overspend == max(0, -s.balance)
    assert r.ledger.column("entry_id").to_pylist() == list(range(1, len(ledger) + 1))
    assert sum(s.public_health for s in r.consortia) == (c["policy"].capitation.pool_public_health or 0)
    # the claims of persons living away without a designation: paid by the fund, reported apart, charged to no one
    enrolled = {d["person_id"] for d in c["designations"]}
    away = {p["person_id"] for p in c["persons"] if p["lives_away"]} - enrolled
    want = sum(k["fund_paid"] for k in c["claims"] if k["person_id"] in away and k["admit_date"].year == YEAR
               and not k["unreasonable"])
    assert -sum(e["amount"] for e in ledger if e["kind"] == "lives_away_claims") == want
    assert all(e["consortium_id"] is None for e in ledger if e["kind"] == "lives_away_claims")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counties())
def test_every_claim_is_charged_to_exactly_one_consortium_or_the_fund(c: dict[str, Any]) -> None:
    data, des, adj = _folder(c)
    charged = to_arrow(q.charged_claims(register_arrow(CON, adj), register_arrow(CON, des),
                                        register_arrow(CON, data["institutions"]), year=YEAR)).to_pylist()
    enrolled = {d["person_id"]: d["consortium_id"] for d in c["designations"]}
    inst = {i["inst_id"]: i for i in c["insts"]}
    of_year = [k for k in c["claims"] if k["admit_date"].year == YEAR]
    assert sorted(r["claim_id"] for r in charged) == sorted(k["claim_id"] for k in of_year)
    by_id = {r["claim_id"]: r for r in charged}
    for k in of_year:
        r = by_id[k["claim_id"]]
        e, i = enrolled.get(k["person_id"]), inst[k["inst_id"]]
        if k["unreasonable"]:
            want, to = "unreasonable", None
        elif e is not None and i["consortium_id"] == e:
            want, to = "in_network", e
        elif e is not None and (i["tier"] == "outside" or k["rule"] == "emergency_as_outside"
                                or k["rule"] == "annual_cap" and i["consortium_id"] is not None):
            # the cap cut an emergency paid as outside at another consortium (there, nothing else pays to be cut)
            want, to = "out_of_network", e
        else:
            want, to = "fund", None
        assert (r["charge"], r["charged_to"]) == (want, to), k
    r = settle_data(data, YEAR, c["policy"], con=CON, designations=des, adjudicated=adj)
    charged_total = sum(s.in_network_spend + s.out_of_network_deductions for s in r.consortia)
    fund_total = sum(x["fund_paid"] for x in charged if x["charge"] == "fund")
    assert charged_total + fund_total == sum(k["fund_paid"] for k in of_year)
    assert {s.consortium_id for s in r.consortia} == set(c["consortia"])
    assert all(s.score is None or Decimal(0) <= s.score <= 100 for s in r.consortia)
