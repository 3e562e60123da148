"""Head counts (人头数) and year-on-year movement (用脚投票) of designations, columnar (Ibis over DuckDB).

Head count of a unit for year Y = persons designated to it on Jan 1 of Y (rules.md A5), by the capitation policy's
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

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from yigongti.core.engine import age_expr, connect
from yigongti.enrollment.engine import arrow_view, materialize

__all__ = [
    "HEADCOUNT_SCHEMA",
    "LEVELS",
    "MOVEMENT_SCHEMA",
    "SUMMARY_SCHEMA",
    "ages_on_jan_1",
    "band_labels",
    "head_counts",
    "movement_summary",
    "movement_tables",
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
    """Age on 1 January (1月1日年龄) of an Arrow column: completed years on Jan 1 of ``year``, 0 for a person born
    later, as :func:`yigongti.budget.capitation.age_on_jan_1` (tested to agree)."""
    y = pc.year(birth_date).to_numpy(zero_copy_only=False).astype(np.int64)
    jan1 = pc.and_(pc.equal(pc.month(birth_date), 1), pc.equal(pc.day(birth_date), 1))
    age = year - 1 - y + np.asarray(jan1.to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.asarray(np.maximum(age, 0), dtype=np.int64)


def _with_con(con: BaseBackend | None) -> tuple[BaseBackend, bool]:
    return (con, False) if con is not None else (connect("duckdb"), True)


def head_counts(designations: pa.Table, persons: pa.Table, *, year: int, min_ages: Sequence[int],
                con: BaseBackend | None = None) -> pa.Table:
    """Enrollees per unit (consortium, township, village) by age band and insurance type, on Jan 1 of ``year``."""
    con, own = _with_con(con)
    try:
        d = arrow_view(con, designations.select(["person_id", *_TRIPLE]))
        p = arrow_view(con, persons.select(["person_id", "birth_date", "insurance"]))
        j = d.join(p, "person_id")
        # the persons born by Jan 1 (the others are not enrollees yet), by their age on that day
        j = j.filter(j.birth_date <= ibis.date(year, 1, 1))
        j = j.mutate(_age=age_expr(j.birth_date, year))
        band = ibis.cases(*[(j._age >= a, n) for n, a in reversed(list(enumerate(min_ages)))], else_=0)
        labels = band_labels(min_ages)
        j = j.mutate(_band=band, age_band=ibis.cases(*[(band == n, lab) for n, lab in enumerate(labels)],
                                                     else_=labels[0]))
        # the persons counted once per village-tier unit, band and insurance (a few thousand rows), then each
        # level's counts summed from those: one pass over the persons, not one per level
        cells = materialize(con, j.group_by([*_TRIPLE, "_band", "age_band", "insurance"]).aggregate(
            _n=lambda t: t.count()))
        parts: list[ir.Table] = []
        for level, col in LEVELS:
            g = cells.group_by([cells[col].name("unit_id"), "consortium_id", "_band", "age_band",
                                "insurance"]).aggregate(enrollees=cells._n.sum())
            parts.append(g.mutate(_lvl=_LEVEL_ORDER[level], level=ibis.literal(level)))
        out = ibis.union(*parts).order_by(["_lvl", "unit_id", "_band", "insurance"])
        return out.select(HEADCOUNT_SCHEMA.names).to_pyarrow().cast(HEADCOUNT_SCHEMA)
    finally:
        if own:
            con.disconnect()


def _pair(con: BaseBackend, previous: pa.Table | None, current: pa.Table) -> ir.Table:
    """Y-1 and Y designations side by side per person (full outer join): from_* and to_* columns."""
    cols = ["person_id", *_TRIPLE]
    schema = pa.schema([(c, pa.string()) for c in cols])
    prev_t = schema.empty_table() if previous is None else previous.select(cols).cast(schema)
    prev = arrow_view(con, prev_t.rename_columns(["person_id", *[f"from_{c}" for c in _TRIPLE]]))
    cur = arrow_view(con, current.select(cols).cast(schema).rename_columns(
        ["_pid", *[f"to_{c}" for c in _TRIPLE]]))
    j = prev.outer_join(cur, prev.person_id == cur._pid)
    return j.mutate(person_id=j.person_id.coalesce(j._pid)).drop("_pid")


def movements(previous: pa.Table | None, current: pa.Table, *, con: BaseBackend | None = None) -> pa.Table:
    """Persons per (from, to) designation pair whose village-tier institution changed between Y-1 and Y.

    An empty ``from`` is a person without a designation in Y-1 (newly insured); an empty ``to`` one without a
    designation in Y (no longer insured). Sorted by persons (most first), then the ids.
    """
    con, own = _with_con(con)
    try:
        return _movements_of(_pair_counts(con, previous, current))
    finally:
        if own:
            con.disconnect()


def movement_summary(previous: pa.Table | None, current: pa.Table, *, con: BaseBackend | None = None) -> pa.Table:
    """Per unit: enrollees in Y-1 (previous) and Y (current), persons gained and lost, net = current - previous."""
    con, own = _with_con(con)
    try:
        return _summary_of(_pair_counts(con, previous, current))
    finally:
        if own:
            con.disconnect()


def movement_tables(previous: pa.Table | None, current: pa.Table, *,
                    con: BaseBackend | None = None) -> tuple[pa.Table, pa.Table]:
    """:func:`movements` and :func:`movement_summary` of the same designations, from one pass over the persons."""
    con, own = _with_con(con)
    try:
        pairs = _pair_counts(con, previous, current)
        return _movements_of(pairs), _summary_of(pairs)
    finally:
        if own:
            con.disconnect()


_PAIR_KEYS = [f"from_{c}" for c in _TRIPLE] + [f"to_{c}" for c in _TRIPLE]


def _pair_counts(con: BaseBackend, previous: pa.Table | None, current: pa.Table) -> ir.Table:
    """The persons counted once per (Y-1, Y) pair of designations (a few thousand rows; a side without a designation
    null), computed once: the movements and each level's sums are taken from those, each pair weighing its persons
    (one pass over the persons, not one per table and level)."""
    return materialize(con, _pair(con, previous, current).group_by(_PAIR_KEYS).aggregate(_n=lambda t: t.count()))


def _movements_of(j: ir.Table) -> pa.Table:
    """:func:`movements` from :func:`_pair_counts`."""
    j = j.filter(~(j.from_village_id == j.to_village_id).fill_null(False))
    j = j.mutate(**{k: j[k].fill_null("") for k in _PAIR_KEYS})
    g = j.group_by(_PAIR_KEYS).aggregate(persons=j._n.sum())
    g = g.order_by([ibis.desc("persons"), *_PAIR_KEYS])
    return g.select(MOVEMENT_SCHEMA.names).to_pyarrow().cast(MOVEMENT_SCHEMA)


def _summary_of(j: ir.Table) -> pa.Table:
    """:func:`movement_summary` from :func:`_pair_counts`."""
    parts: list[ir.Table] = []
    _zero = ibis.literal(0, type="int64")
    for level, col in LEVELS:
        f, t = j[f"from_{col}"], j[f"to_{col}"]
        moved = ibis.ifelse((f == t).fill_null(False), _zero, j._n)
        side = ibis.union(
            j.filter(f.notnull()).select(unit_id=f, consortium_id=j.from_consortium_id, previous=j._n,
                                         current=_zero, gained=_zero, lost=moved),
            j.filter(t.notnull()).select(unit_id=t, consortium_id=j.to_consortium_id, previous=_zero,
                                         current=j._n, gained=moved, lost=_zero),
        )
        g = side.group_by(["unit_id", "consortium_id"]).aggregate(
            previous=side.previous.sum(), current=side.current.sum(), gained=side.gained.sum(),
            lost=side.lost.sum())
        parts.append(g.mutate(_lvl=_LEVEL_ORDER[level], level=ibis.literal(level),
                              net=g.current - g.previous))
    out = ibis.union(*parts).order_by(["_lvl", "unit_id"])
    return out.select(SUMMARY_SCHEMA.names).to_pyarrow().cast(SUMMARY_SCHEMA)
