"""Batch enrollment on DuckDB: each rule of rules.md A on hand-made tables, and property tests against the pure
domain rules (every insured person gets exactly one designation, every designation satisfies the nesting rule)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yigongti.core.policy import Policy
from yigongti.datafolder.folder import DataFolder
from yigongti.enrollment.domain import (
    Choice,
    Designation,
    Resident,
    Source,
    nesting_refusal,
    reference_designations,
    validate_choice,
)
from yigongti.enrollment.service import EnrollmentResult, enroll_data
from yigongti.registry.domain import Consortium, Institution, Registry, Tier

Y = 2026
IN = datetime(2025, 11, 1, 10, 0)
COUNTY = "510727"


def _inst(i: str, tier: str, cons: str | None, parent: str | None, lon: float, lat: float,
          county: str = COUNTY) -> dict[str, Any]:
    return {"inst_id": i, "name": i, "tier": tier, "level": 2 if tier == "county" else 0, "kind": "general",
            "consortium_id": cons, "parent_id": parent, "county_code": county, "lon": lon, "lat": lat}


BASE_INSTS = [
    _inst("H1", "county", "C1", None, 104.0, 32.0), _inst("T1", "township", "C1", None, 104.1, 32.0),
    _inst("V1", "village", "C1", "T1", 104.10, 32.10), _inst("V2", "village", "C1", "T1", 104.30, 32.10),
    _inst("H2", "county", "C2", None, 105.0, 32.0), _inst("T2", "township", "C2", None, 105.1, 32.0),
    _inst("W1", "village", "C2", "T2", 104.50, 32.10),
    _inst("X", "outside", None, None, 104.2, 32.2, county="510000"),
]
BASE_CONS = [{"consortium_id": "C1", "name": "c1", "county_code": COUNTY, "lead_inst_id": "H1"},
             {"consortium_id": "C2", "name": "c2", "county_code": COUNTY, "lead_inst_id": "H2"}]


def person(pid: str, hh: str, lon: float = 104.1, lat: float = 32.1, county: str = COUNTY) -> dict[str, Any]:
    return {"person_id": pid, "id_number": None, "sex": "F", "birth_date": date(1980, 1, 1), "household_id": hh,
            "insurance": "resident", "county_code": county, "lon": lon, "lat": lat}


def ch(pid: str, cons: str | None, town: str | None, vil: str | None, at: datetime = IN,
       year: int = Y) -> dict[str, Any]:
    return {"person_id": pid, "year": year, "consortium_id": cons, "township_id": town, "village_id": vil,
            "chosen_at": at}


def des(pid: str, cons: str, town: str, vil: str, year: int = Y - 1) -> dict[str, Any]:
    return {"person_id": pid, "year": year, "consortium_id": cons, "township_id": town, "village_id": vil,
            "source": "choice"}


SCHEMAS = {
    "institutions": pa.schema([("inst_id", pa.string()), ("name", pa.string()), ("tier", pa.string()),
                               ("level", pa.int64()), ("kind", pa.string()), ("consortium_id", pa.string()),
                               ("parent_id", pa.string()), ("county_code", pa.string()), ("lon", pa.float64()),
                               ("lat", pa.float64())]),
    "consortia": pa.schema([("consortium_id", pa.string()), ("name", pa.string()), ("county_code", pa.string()),
                            ("lead_inst_id", pa.string())]),
    "persons": pa.schema([("person_id", pa.string()), ("id_number", pa.string()), ("sex", pa.string()),
                          ("birth_date", pa.date32()), ("household_id", pa.string()), ("insurance", pa.string()),
                          ("county_code", pa.string()), ("lon", pa.float64()), ("lat", pa.float64())]),
    "choices": pa.schema([("person_id", pa.string()), ("year", pa.int64()), ("consortium_id", pa.string()),
                          ("township_id", pa.string()), ("village_id", pa.string()),
                          ("chosen_at", pa.timestamp("s"))]),
    "designations": pa.schema([("person_id", pa.string()), ("year", pa.int64()), ("consortium_id", pa.string()),
                               ("township_id", pa.string()), ("village_id", pa.string()), ("source", pa.string())]),
}


def folder(persons: list[dict[str, Any]], choices: list[dict[str, Any]] | None = None,
           designations: list[dict[str, Any]] | None = None, insts: list[dict[str, Any]] | None = None,
           cons: list[dict[str, Any]] | None = None) -> DataFolder:
    from pathlib import Path

    rows = {"institutions": insts or BASE_INSTS, "consortia": cons or BASE_CONS, "persons": persons,
            "choices": choices, "designations": designations}
    return DataFolder(Path("."), {k: pa.Table.from_pylist(v, schema=SCHEMAS[k]) for k, v in rows.items()
                                  if v is not None})


def run(data: DataFolder, year: int = Y) -> EnrollmentResult:
    return enroll_data(data, year, Policy())


def by_person(result: EnrollmentResult) -> dict[str, tuple[str, str, str, str]]:
    return {r["person_id"]: (r["consortium_id"], r["township_id"], r["village_id"], r["source"])
            for r in result.designations.to_pylist()}


def test_last_valid_choice_wins_and_refused_choice_is_ignored() -> None:
    data = folder([person("P1", "H")], [
        ch("P1", "C1", "T1", "V1", datetime(2025, 10, 5)),
        ch("P1", "C2", "T2", "W1", datetime(2025, 12, 1)),
        ch("P1", "C1", "T1", "W1", datetime(2025, 12, 20)),  # later, but W1 is not under T1: refused
        ch("P1", "C1", "T1", "V2", datetime(2026, 1, 1, 0, 0)),  # after the window: refused
    ])
    r = run(data)
    assert by_person(r) == {"P1": ("C2", "T2", "W1", "choice")}
    assert r.refused.column("reason").to_pylist() == ["village_not_under_township", "outside_window"]


def test_window_edges_on_the_batch_path() -> None:
    data = folder([person("A", "HA"), person("B", "HB"), person("C", "HC"), person("D", "HD")], [
        ch("A", "C2", "T2", "W1", datetime(2025, 10, 1, 0, 0, 0)),
        ch("B", "C2", "T2", "W1", datetime(2025, 12, 31, 23, 59, 59)),
        ch("C", "C2", "T2", "W1", datetime(2025, 9, 30, 23, 59, 59)),
        ch("D", "C2", "T2", "W1", datetime(2026, 1, 1, 0, 0, 0)),
    ])
    r = run(data)
    got = by_person(r)
    assert got["A"][3] == got["B"][3] == "choice"
    assert got["C"][3] == got["D"][3] == "nearest"
    assert r.refused.column("person_id").to_pylist() == ["C", "D"]


def test_choices_for_other_years_play_no_part() -> None:
    data = folder([person("P1", "H")], [ch("P1", "C2", "T2", "W1", datetime(2024, 11, 1), year=Y - 1)])
    r = run(data)
    assert by_person(r)["P1"][3] == "nearest" and r.refused.num_rows == 0


def test_carry_over_of_last_year() -> None:
    data = folder([person("P1", "H1"), person("P2", "H2")], [ch("P2", "C1", "T1", "V1")],
                  [des("P1", "C2", "T2", "W1"), des("P2", "C2", "T2", "W1"), des("P1", "C1", "T1", "V2", Y - 2)])
    got = by_person(run(data))
    assert got["P1"] == ("C2", "T2", "W1", "carried")
    assert got["P2"] == ("C1", "T1", "V1", "choice")


def test_stale_carried_designation_falls_through_and_is_reported() -> None:
    insts = [i for i in BASE_INSTS if i["inst_id"] != "W1"] + [_inst("W1", "village", "C2", "T2", 104.5, 32.1)]
    insts = [dict(i, parent_id="T1", consortium_id="C1") if i["inst_id"] == "W1" else i for i in insts]
    data = folder([person("P1", "H1", lon=104.1, lat=32.1)], None, [des("P1", "C2", "T2", "W1")], insts=insts)
    r = run(data)
    assert by_person(r)["P1"] == ("C1", "T1", "V1", "nearest")
    stale = r.stale_carried.to_pylist()
    assert [(x["person_id"], x["year"], x["reason"]) for x in stale] == [("P1", Y - 1, "village_not_under_township")]
    assert "W1 belongs to township centre T1, not T2" in stale[0]["message"]


def test_household_member_with_the_most_recent_valid_choice() -> None:
    data = folder([person("A", "H"), person("B", "H"), person("C", "H"), person("D", "H"), person("E", "G")], [
        ch("A", "C1", "T1", "V2", datetime(2025, 10, 2)),
        ch("B", "C2", "T2", "W1", datetime(2025, 11, 2)),
        ch("C", "C1", "T1", "V1", datetime(2025, 12, 2)),
        ch("C", "C1", "T9", "V1", datetime(2025, 12, 3)),  # refused: does not count as C's most recent choice
    ], [des("D", "C1", "T1", "V2")])
    got = by_person(run(data))
    assert got["A"] == ("C1", "T1", "V2", "choice")
    assert got["D"] == ("C1", "T1", "V2", "carried")  # carry-over comes before household
    assert got["E"][3] == "nearest"  # another household
    data2 = folder([person("A", "H"), person("B", "H"), person("F", "H")], [
        ch("A", "C1", "T1", "V2", datetime(2025, 10, 2)), ch("B", "C2", "T2", "W1", datetime(2025, 11, 2))])
    assert by_person(run(data2))["F"] == ("C2", "T2", "W1", "household")


def test_a_household_choice_reaches_its_county_only_and_no_one_without_a_household() -> None:
    """The household's choice goes to the members insured in the chooser's county; persons without a household
    (null) share none, as a join on a null household matches nothing."""
    away = "510000"
    cons = [*BASE_CONS, {"consortium_id": "C3", "name": "c3", "county_code": away, "lead_inst_id": "H3"}]
    insts = [*BASE_INSTS, _inst("H3", "county", "C3", None, 106.0, 32.0, county=away),
             _inst("T3", "township", "C3", None, 106.1, 32.0, county=away),
             _inst("V3", "village", "C3", "T3", 106.1, 32.1, county=away)]
    persons = [person("A", "H"), person("B", "H", county=away), person("C", "H"),
               {**person("N1", "x"), "household_id": None}, {**person("N2", "x"), "household_id": None}]
    data = folder(persons, [ch("A", "C1", "T1", "V2"), ch("N1", "C2", "T2", "W1")], insts=insts, cons=cons)
    got = by_person(run(data))
    assert got["C"] == ("C1", "T1", "V2", "household")
    assert got["B"] == ("C3", "T3", "V3", "nearest")  # same household, another insured county
    assert got["N1"] == ("C2", "T2", "W1", "choice")
    assert got["N2"] == ("C1", "T1", "V1", "nearest")  # no household: N1's choice is not theirs


def test_household_tie_goes_to_lowest_person_id() -> None:
    data = folder([person("B", "H"), person("A", "H"), person("Z", "H")], [
        ch("B", "C2", "T2", "W1", IN), ch("A", "C1", "T1", "V2", IN)])
    assert by_person(run(data))["Z"] == ("C1", "T1", "V2", "household")


def test_a_persons_choices_at_one_time_go_to_the_later_row() -> None:
    """Two valid choices of one person at the same time: the later row decides (the person's and so the
    household's)."""
    first, second = ch("P", "C2", "T2", "W1", IN), ch("P", "C1", "T1", "V2", IN)
    for choices, want in (([first, second], ("C1", "T1", "V2")), ([second, first], ("C2", "T2", "W1"))):
        got = by_person(run(folder([person("P", "H"), person("Q", "H")], choices)))
        assert got["P"] == (*want, "choice")
        assert got["Q"] == (*want, "household")


def test_nearest_village_of_the_county_with_parent_and_consortium() -> None:
    data = folder([person("N1", "H1", lon=104.29, lat=32.1), person("N2", "H2", lon=104.49, lat=32.11)])
    got = by_person(run(data))
    assert got["N1"] == ("C1", "T1", "V2", "nearest")
    assert got["N2"] == ("C2", "T2", "W1", "nearest")


def test_nearest_tie_goes_to_lowest_institution_id() -> None:
    # V2 and V1 are at the same distance (east and west of the person); the lower id V1 wins whatever the row order
    insts = [i for i in BASE_INSTS if i["inst_id"] not in ("V1", "V2")] + [
        _inst("V2", "village", "C1", "T1", 104.3, 32.0), _inst("V1", "village", "C1", "T1", 104.1, 32.0)]
    data = folder([person("N", "H", lon=104.2, lat=32.0)], insts=insts)
    assert by_person(run(data))["N"] == ("C1", "T1", "V1", "nearest")


def test_person_of_a_county_without_consortium_is_unassigned_and_reported() -> None:
    data = folder([person("P1", "H"), person("Q1", "HQ", county="510000")],
                  [ch("Q1", "C1", "T1", "V1")])
    r = run(data)
    assert set(by_person(r)) == {"P1"}
    assert r.unassigned.to_pylist() == [{
        "person_id": "Q1", "county_code": "510000", "reason": "no_consortium_in_county",
        "message": "参保区县 510000 没有医共体的村级机构，无法确定定点 / the insured county 510000 has no "
                   "village-tier institution of any consortium: no designation"}]
    assert r.refused.column("reason").to_pylist() == ["consortium_not_in_county"]


def test_batch_messages_equal_the_domain_messages() -> None:
    cases = [ch("P", "C1", "T1", "W1"), ch("P", "C1", "T2", "W1"), ch("P", "C9", "T1", "V1"),
             ch("P", None, "T1", "V1"), ch("P", "C1", "V1", "V1"), ch("P", "C1", "T1", "T1"),
             ch("P", "C1", "T1", "Q"), ch("P", "C1", "Q", "V1"), ch("P", "C1", "T1", "V1", datetime(2025, 1, 1)),
             ch("P", "C1", "T1", "X")]
    data = folder([person("P", "H")], cases)
    r = run(data)
    reg = _registry(data)
    window = Policy().enrollment.window(Y)
    expected = []
    for c in sorted(cases, key=lambda c: c["chosen_at"]):
        ref = validate_choice(Choice(c["person_id"], Y, c["consortium_id"], c["township_id"], c["village_id"],
                                     c["chosen_at"]), registry=reg, person_county=COUNTY, window=window)
        assert ref is not None
        expected.append((ref.code.value, ref.message, ";".join(ref.fields)))
    got = [(x["reason"], x["message"], x["fields"]) for x in r.refused.to_pylist()]
    assert sorted(got) == sorted(expected)


def _registry(data: DataFolder) -> Registry:
    insts = [Institution(r["inst_id"], r["name"], Tier(r["tier"]), r["level"], r["kind"], r["consortium_id"],
                         r["parent_id"], r["county_code"], r["lon"], r["lat"])
             for r in data["institutions"].to_pylist()]
    cons = [Consortium(r["consortium_id"], r["name"], r["county_code"], r["lead_inst_id"])
            for r in data["consortia"].to_pylist()]
    return Registry.of(insts, cons)


# ------------------------------------------------------------------------------------------ property tests

def reference(data: DataFolder, year: int) -> dict[str, Designation]:
    """The domain's plain per-person loop over the same tables."""
    residents = [Resident(p["person_id"], p["household_id"], p["county_code"], p["lon"], p["lat"])
                 for p in data["persons"].to_pylist()]
    choices = [Choice(c["person_id"], c["year"], c["consortium_id"], c["township_id"], c["village_id"],
                      c["chosen_at"]) for c in (data.get("choices") or pa.table({})).to_pylist()]
    previous = [Designation(d["person_id"], d["year"], d["consortium_id"], d["township_id"], d["village_id"],
                            Source(d["source"])) for d in (data.get("designations") or pa.table({})).to_pylist()]
    return reference_designations(residents, choices, previous, registry=_registry(data), year=year,
                                  window=Policy().enrollment.window(year))


@st.composite
def counties(draw: st.DrawFn) -> DataFolder:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    codes = ["510727", "510728", "510729"][: draw(st.integers(1, 3))]
    insts: list[dict[str, Any]] = []
    cons: list[dict[str, Any]] = []
    for ci, code in enumerate(codes[: max(1, len(codes) - draw(st.integers(0, 1)))]):  # last county may lack one
        for k in range(draw(st.integers(1, 2))):
            cid = f"C{ci}{k}"
            insts.append(_inst(f"{cid}-H", "county", cid, None, 104 + ci, 32.0, code))
            cons.append({"consortium_id": cid, "name": cid, "county_code": code, "lead_inst_id": f"{cid}-H"})
            for t in range(draw(st.integers(1, 3))):
                tid = f"{cid}-T{t}"
                insts.append(_inst(tid, "township", cid, None, 104 + ci + rng.uniform(0, .5), 32 + rng.uniform(0, .5),
                                   code))
                for v in range(draw(st.integers(1, 3))):
                    insts.append(_inst(f"{tid}-V{v}", "village", cid, tid, 104 + ci + rng.uniform(0, .5),
                                       32 + rng.uniform(0, .5), code))
    n = draw(st.integers(1, 40))
    persons = []
    for i in range(n):
        ci = int(rng.integers(0, len(codes)))
        persons.append(person(f"P{i:03d}", f"H{int(rng.integers(0, max(1, n // 2)))}",
                              104 + ci + rng.uniform(0, .5), 32 + rng.uniform(0, .5), codes[ci]))
    ids = [i["inst_id"] for i in insts] + ["NOPE"]
    triples = [(i["consortium_id"], i["parent_id"], i["inst_id"]) for i in insts if i["tier"] == "village"]
    choices = []
    for _ in range(draw(st.integers(0, 60))):
        pid = persons[int(rng.integers(0, n))]["person_id"]
        if rng.random() < 0.6:
            c, t, v = triples[int(rng.integers(0, len(triples)))]
        else:
            c = [x["consortium_id"] for x in cons][int(rng.integers(0, len(cons)))]
            t, v = ids[int(rng.integers(0, len(ids)))], ids[int(rng.integers(0, len(ids)))]
        at = datetime(2025, 9, 25) + (datetime(2026, 1, 5) - datetime(2025, 9, 25)) * float(rng.random())
        choices.append(ch(pid, c, t, v, at.replace(microsecond=0, second=0, minute=int(rng.integers(0, 3)))))
    prev = []
    for p in persons:
        if rng.random() < 0.3:
            c, t, v = triples[int(rng.integers(0, len(triples)))]
            prev.append(des(p["person_id"], c or "", t or "", v))
    return folder(persons, choices, prev, insts=insts, cons=cons)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counties())
def test_every_insured_person_has_exactly_one_valid_designation(data: DataFolder) -> None:
    result = run(data)
    reg = _registry(data)
    rows = result.designations.to_pylist()
    ids = [r["person_id"] for r in rows]
    assert len(ids) == len(set(ids))
    served = {i.county_code for i in reg.institutions.values() if i.tier is Tier.VILLAGE}
    persons = data["persons"].to_pylist()
    assert set(ids) == {p["person_id"] for p in persons if p["county_code"] in served}
    assert set(result.unassigned.column("person_id").to_pylist()) == {
        p["person_id"] for p in persons if p["county_code"] not in served}
    county = {p["person_id"]: p["county_code"] for p in persons}
    for r in rows:
        assert r["year"] == Y
        assert nesting_refusal(r["consortium_id"], r["township_id"], r["village_id"], registry=reg,
                               person_county=county[r["person_id"]]) is None
    expected = reference(data, Y)
    got = {r["person_id"]: (r["consortium_id"], r["township_id"], r["village_id"], r["source"]) for r in rows}
    assert got == {k: (d.consortium_id, d.township_id, d.village_id, d.source.value) for k, d in expected.items()}


@pytest.mark.parametrize("year", [Y, Y + 1])
def test_same_inputs_give_identical_tables(year: int) -> None:
    data = folder([person("A", "H"), person("B", "H", 104.3, 32.1)], [ch("A", "C1", "T1", "V2")],
                  [des("B", "C2", "T2", "W1")])
    a, b = run(data, year), run(data, year)
    assert a.designations.equals(b.designations) and a.refused.equals(b.refused)


def test_a_person_living_away_gets_no_default_designation_unless_they_chose() -> None:
    # seed 000 二(二)2: 参保人外出打工，常年住在外地 — not defaulted to the nearest clinic, not counted in heads
    persons = [dict(person("A", "HA"), lives_away=True), dict(person("B", "HB"), lives_away=True),
               dict(person("C", "HC"), lives_away=False)]
    schema = SCHEMAS["persons"].append(pa.field("lives_away", pa.bool_()))
    data = folder([person("X", "HX")], [ch("B", "C2", "T2", "W1")])
    data.tables["persons"] = pa.Table.from_pylist(persons, schema=schema)
    r = run(data)
    got = by_person(r)
    assert "A" not in got
    assert got["B"] == ("C2", "T2", "W1", "choice")  # a person who chose counts as any other
    assert got["C"][3] == "nearest"
    assert r.unassigned.select(["person_id", "reason"]).to_pylist() == [{"person_id": "A", "reason": "lives_away"}]
    assert "常年外出" in r.unassigned.column("message")[0].as_py()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counties(), st.randoms(use_true_random=False))
def test_persons_in_any_order_give_the_same_tables(data: DataFolder, rnd: Any) -> None:
    """The persons' ids looked up by binary search (in order) and by hash (shuffled, or with ids of two widths):
    the same designations, refusals and household choices."""
    order = list(range(data["persons"].num_rows))
    rnd.shuffle(order)
    persons = data["persons"].take(pa.array(order, pa.int64()))
    shuffled = DataFolder(data.path, {**data.tables, "persons": persons})
    a, b = run(data), run(shuffled)
    assert a.designations.equals(b.designations) and a.refused.equals(b.refused)
    assert a.unassigned.equals(b.unassigned) and a.stale_carried.equals(b.stale_carried)
