"""Head counts (人头数) and year-on-year movement (用脚投票) of designations, columnar (Arrow compute).

Head count of a unit for year Y = persons designated to it on Jan 1 of Y (RULES.md A5), by the capitation policy's
age bands (age = completed years on Jan 1 of Y) and insurance type. A person born after Jan 1 of Y was not designated
on that day and is not counted (they still have a designation for the rest of the year).

Units are the consortium (医共体), the township-tier institution and the village-tier institution of a designation;
a county-tier member serves all of its consortium's enrollees, so the consortium row is its head count.
Movement compares the designations of Y-1 with those of Y person by person: a unit *gains* a person designated to it
in Y but not in Y-1 (newly insured persons included) and *loses* one designated to it in Y-1 but not in Y (persons no
longer insured included).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "HEADCOUNT_SCHEMA",
    "LEVELS",
    "MOVEMENT_SCHEMA",
    "SUMMARY_SCHEMA",
    "ages_on_jan_1",
    "band_labels",
    "head_counts",
    "movement_summary",
    "movements",
]

LEVELS = (("consortium", "consortium_id"), ("township", "township_id"), ("village", "village_id"))
_LEVEL_ORDER = {name: n for n, (name, _) in enumerate(LEVELS)}

HEADCOUNT_SCHEMA = pa.schema([("level", pa.string()), ("unit_id", pa.string()), ("consortium_id", pa.string()),
                              ("age_band", pa.string()), ("insurance", pa.string()), ("enrollees", pa.int64())])
MOVEMENT_SCHEMA = pa.schema([("from_consortium_id", pa.string()), ("from_township_id", pa.string()),
                             ("from_village_id", pa.string()), ("to_consortium_id", pa.string()),
                             ("to_township_id", pa.string()), ("to_village_id", pa.string()),
                             ("persons", pa.int64())])
SUMMARY_SCHEMA = pa.schema([("level", pa.string()), ("unit_id", pa.string()), ("consortium_id", pa.string()),
                            ("previous", pa.int64()), ("current", pa.int64()), ("gained", pa.int64()),
                            ("lost", pa.int64()), ("net", pa.int64())])
_TRIPLE = ["consortium_id", "township_id", "village_id"]


def band_labels(min_ages: Sequence[int]) -> list[str]:
    """'0-4', '5-14', ..., '80+' for band lower bounds 0, 5, 15, ..., 80."""
    out = [f"{a}-{b - 1}" for a, b in itertools.pairwise(min_ages)]
    return out + [f"{min_ages[-1]}+"]


def ages_on_jan_1(birth_date: pa.ChunkedArray | pa.Array, year: int) -> np.ndarray:
    """Completed years on Jan 1 of ``year`` (negative for persons born after that day)."""
    y = pc.year(birth_date).to_numpy(zero_copy_only=False).astype(np.int64)
    jan1 = pc.and_(pc.equal(pc.month(birth_date), 1), pc.equal(pc.day(birth_date), 1))
    return np.asarray(year - 1 - y + np.asarray(jan1.to_numpy(zero_copy_only=False), dtype=np.int64), dtype=np.int64)


def head_counts(designations: pa.Table, persons: pa.Table, *, year: int, min_ages: Sequence[int]) -> pa.Table:
    """Enrollees per unit (consortium, township, village) by age band and insurance type, on Jan 1 of ``year``."""
    d = designations.select(["person_id", *_TRIPLE]).join(
        persons.select(["person_id", "birth_date", "insurance"]), "person_id", join_type="inner")
    age = ages_on_jan_1(d.column("birth_date"), year)
    alive = age >= 0
    d = d.filter(pa.array(alive))
    band_idx = np.searchsorted(np.asarray(min_ages), age[alive], side="right") - 1
    labels = band_labels(min_ages)
    d = d.append_column("_band", pa.array(band_idx.astype(np.int64)))
    parts = []
    for level, col in LEVELS:
        keys = _unique([col, "consortium_id", "_band", "insurance"])
        g = d.group_by(keys, use_threads=False).aggregate([("person_id", "count")])
        unit = g.column(col)
        parts.append(pa.table({
            "_lvl": pa.repeat(pa.scalar(_LEVEL_ORDER[level], pa.int64()), g.num_rows),
            "level": pa.repeat(pa.scalar(level, pa.string()), g.num_rows),
            "unit_id": unit, "consortium_id": g.column("consortium_id"), "_band": g.column("_band"),
            "insurance": g.column("insurance"), "enrollees": g.column("person_id_count"),
        }))
    t = pa.concat_tables(parts).sort_by([("_lvl", "ascending"), ("unit_id", "ascending"), ("_band", "ascending"),
                                          ("insurance", "ascending")])
    band_text = pa.array(labels, pa.string()).take(t.column("_band"))
    t = t.set_column(t.schema.get_field_index("_band"), "age_band", band_text).drop_columns(["_lvl"])
    return t.select(HEADCOUNT_SCHEMA.names).cast(HEADCOUNT_SCHEMA)


def _pair(previous: pa.Table | None, current: pa.Table) -> pa.Table:
    cur = current.select(["person_id", *_TRIPLE]).rename_columns(["person_id", *[f"to_{c}" for c in _TRIPLE]])
    if previous is None:
        previous = pa.table({c: pa.array([], pa.string()) for c in ["person_id", *_TRIPLE]})
    prev = previous.select(["person_id", *_TRIPLE]).cast(pa.schema([(c, pa.string()) for c in ["person_id", *_TRIPLE]]))
    prev = prev.rename_columns(["person_id", *[f"from_{c}" for c in _TRIPLE]])
    return prev.join(cur, "person_id", join_type="full outer")


def movements(previous: pa.Table | None, current: pa.Table) -> pa.Table:
    """Persons per (from, to) designation pair whose village-tier institution changed between Y-1 and Y.

    An empty ``from`` is a person without a designation in Y-1 (newly insured); an empty ``to`` one without a
    designation in Y (no longer insured). Sorted by persons (most first), then the ids.
    """
    j = _pair(previous, current)
    moved = pc.invert(pc.fill_null(pc.equal(j.column("from_village_id"), j.column("to_village_id")), False))
    j = j.filter(moved)
    keys = [f"from_{c}" for c in _TRIPLE] + [f"to_{c}" for c in _TRIPLE]
    for k in keys:
        j = j.set_column(j.schema.get_field_index(k), k, pc.fill_null(j.column(k), ""))
    g = j.group_by(keys, use_threads=False).aggregate([("person_id", "count")]).rename_columns([*keys, "persons"])
    g = g.sort_by([("persons", "descending"), *[(k, "ascending") for k in keys]])
    return g.select(MOVEMENT_SCHEMA.names).cast(MOVEMENT_SCHEMA)


def _count(t: pa.Table, key: str, cons: str, name: str) -> pa.Table:
    t = t.filter(pc.is_valid(t.column(key)))
    g = t.group_by(_unique([key, cons]), use_threads=False).aggregate([("person_id", "count")])
    return pa.table({"unit_id": g.column(key), "consortium_id": g.column(cons), name: g.column("person_id_count")})


def _unique(keys: list[str]) -> list[str]:
    return list(dict.fromkeys(keys))


def movement_summary(previous: pa.Table | None, current: pa.Table) -> pa.Table:
    """Per unit: enrollees in Y-1 (previous) and Y (current), persons gained and lost, net = current - previous."""
    j = _pair(previous, current)
    parts = []
    for level, col in LEVELS:
        f, t = j.column(f"from_{col}"), j.column(f"to_{col}")
        same = pc.fill_null(pc.equal(f, t), False)
        prev = _count(j, f"from_{col}", "from_consortium_id", "previous")
        cur = _count(j, f"to_{col}", "to_consortium_id", "current")
        gained = _count(j.filter(pc.invert(same)), f"to_{col}", "to_consortium_id", "gained")
        lost = _count(j.filter(pc.invert(same)), f"from_{col}", "from_consortium_id", "lost")
        s = prev.join(cur, ["unit_id", "consortium_id"], join_type="full outer")
        s = s.join(gained, ["unit_id", "consortium_id"], join_type="left outer")
        s = s.join(lost, ["unit_id", "consortium_id"], join_type="left outer")
        cols = {k: pc.fill_null(s.column(k), 0) for k in ("previous", "current", "gained", "lost")}
        parts.append(pa.table({
            "_lvl": pa.repeat(pa.scalar(_LEVEL_ORDER[level], pa.int64()), s.num_rows),
            "level": pa.repeat(pa.scalar(level, pa.string()), s.num_rows),
            "unit_id": s.column("unit_id"), "consortium_id": s.column("consortium_id"), **cols,
            "net": pc.subtract(cols["current"], cols["previous"]),
        }))
    out = pa.concat_tables(parts).sort_by([("_lvl", "ascending"), ("unit_id", "ascending")]).drop_columns(["_lvl"])
    return out.cast(SUMMARY_SCHEMA)
