"""The residents' scope map (``_Engine.person_map``: which scopes each person counts for) is a map of scope groups
(the persons who count for the same scopes), not a table of one row per person and scope held in this process's
memory (seven rows per person: 1.1 GB at 10 M persons, outside DuckDB's memory limit, in ``run``'s appraisal); and,
through each person's group, it maps every person as the designations say: county, consortium, township, village and
the consortium's county-tier members."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yigongti.appraisal.engine import MeasureInputs, _Engine
from yigongti.appraisal.indicator_sets import load_indicator_set
from yigongti.core.engine import connect
from yigongti.datafolder.folder import read_folder

HERE = Path(__file__).parent / "appraisal_county"
YEAR = 2026
DATA = read_folder(HERE)
PARAMS = load_indicator_set().parameters


def _engine(persons: pa.Table, designations: pa.Table) -> tuple[_Engine, object]:
    con = connect("duckdb")
    inputs = MeasureInputs(DATA["institutions"], DATA["consortia"], persons, designations)
    return _Engine(con, inputs, YEAR, PARAMS), con


def _year(designations: pa.Table) -> pa.Table:
    return designations.filter(pc.equal(designations.column("year"), YEAR))


def test_the_person_map_holds_no_table_as_long_as_persons_times_scopes() -> None:
    """Its rows are the scope groups' (a few per group), fewer than one per person and scope: the old map had 4-7
    times as many rows as there are designations, whatever the persons shared."""
    des = _year(DATA["designations"])
    eng, con = _engine(DATA["persons"], des)
    try:
        rows = con.to_pyarrow(eng.person_map()).num_rows  # type: ignore[attr-defined]
    finally:
        con.disconnect()  # type: ignore[attr-defined]
    groups = len(eng.reps)
    assert groups < DATA["persons"].num_rows  # persons share groups in the hand county
    assert rows < 3 * des.num_rows


def _expected(persons: pa.Table, des: pa.Table) -> Counter[tuple[int, str, str]]:
    """(person's row, scope kind, scope) of every row the map should have, counted, from the definition."""
    inst = DATA["institutions"].to_pylist()
    county_members: dict[str, list[str]] = {}
    for i in inst:
        if i["tier"] == "county" and i["consortium_id"] is not None:
            county_members.setdefault(i["consortium_id"], []).append(i["inst_id"])
    row_of: dict[str, int] = {}
    out: Counter[tuple[int, str, str]] = Counter()
    for p, (pid, county) in enumerate(zip(persons.column("person_id").to_pylist(),
                                          persons.column("county_code").to_pylist(), strict=True)):
        row_of.setdefault(pid, p)
        if county is not None:
            out[(p, "county", county)] += 1
    for d in des.to_pylist():
        p = row_of.get(d["person_id"])
        if p is None:
            continue
        if d["consortium_id"] is not None:
            out[(p, "consortium", d["consortium_id"])] += 1
            for c in county_members.get(d["consortium_id"], []):
                out[(p, "institution", c)] += 1
        for col in ("township_id", "village_id"):
            if d[col] is not None:
                out[(p, "institution", d[col])] += 1
    return out


_IDS = [*DATA["persons"].column("person_id").to_pylist(), "NOBODY"]
_CONS = ["A", "B", None]
_UNITS = ["A-T1", "A-T1-V1", "A-T1-V2", "B-T1", "B-T1-V1", None]
_COUNTIES = ["510001", "510100", None]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_COUNTIES), min_size=len(_IDS) - 1, max_size=len(_IDS) - 1),
       st.lists(st.tuples(st.sampled_from(_IDS), st.sampled_from(_CONS), st.sampled_from(_UNITS),
                          st.sampled_from(_UNITS)), max_size=12))
def test_every_person_counts_for_the_scopes_its_designations_name(
        counties: list[str | None], rows: list[tuple[str, str | None, str | None, str | None]]) -> None:
    """Unknown persons, persons designated twice or not at all, null scopes: the map has the rows the definition
    gives, each as many times."""
    persons = DATA["persons"].set_column(DATA["persons"].column_names.index("county_code"), "county_code",
                                         pa.array(counties, pa.string()))
    des = pa.table({"person_id": pa.array([r[0] for r in rows], pa.string()),
                    "consortium_id": pa.array([r[1] for r in rows], pa.string()),
                    "township_id": pa.array([r[2] for r in rows], pa.string()),
                    "village_id": pa.array([r[3] for r in rows], pa.string())})
    eng, con = _engine(persons, des)
    try:
        got = con.to_pyarrow(eng.person_map())  # type: ignore[attr-defined]
    finally:
        con.disconnect()  # type: ignore[attr-defined]
    kinds, scopes = eng.labels.label(got.column("_s"))
    of_group: dict[int, list[tuple[str, str]]] = {}
    for g, kind, scope in zip(got.column("_g").to_pylist(), kinds.to_pylist(), scopes.to_pylist(), strict=True):
        of_group.setdefault(g, []).append((kind, scope))
    # each person counts for its group's scopes
    mapped = Counter((p, kind, scope) for p, g in enumerate(eng.groups.tolist()) for kind, scope in of_group.get(g, []))
    assert mapped == _expected(persons, des)
