"""Batch enrollment (批量定点): designations for a year from choices, carry-over, households and distance.

Columnar throughout: the rules of ``yigongti.enrollment.domain`` as one Ibis expression over whole tables (DuckDB by
default), then a k-d tree (``core.geo.nearest``) for everyone still without a designation. No Python loop visits a
person or a choice; the only loop is over counties for the nearest step.

*Insured county* (参保区县) is the person's ``county_code``. A person whose county has no village-tier institution of
any consortium cannot be designated (there is no county medical community there): such persons are listed in the
``unassigned`` table with code ``no_consortium_in_county`` and get no designation; everyone else gets exactly one.
A designation of Y-1 is carried over only while it still satisfies the nesting rules with today's registry and the
person's county; a stale one is listed in ``stale_carried`` (same codes as refused choices) and the person falls
through to household / nearest.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import reduce

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from yigongti.core.engine import register_arrow
from yigongti.core.geo import nearest
from yigongti.datafolder.keyrows import KeyIndex
from yigongti.enrollment.domain import MESSAGES, RefusalCode, Source
from yigongti.registry.domain import Tier

__all__ = [
    "DESIGNATION_SCHEMA",
    "REFUSED_SCHEMA",
    "STALE_SCHEMA",
    "LIVES_AWAY_CODE",
    "LIVES_AWAY_COLUMN",
    "LIVES_AWAY_MESSAGE",
    "UNASSIGNED_CODE",
    "UNASSIGNED_MESSAGE",
    "UNASSIGNED_SCHEMA",
    "EnrollmentTables",
    "arrow_view",
    "enroll_tables",
    "materialize",
    "nearest_designations",
    "refusal_columns",
]

UNASSIGNED_CODE = "no_consortium_in_county"
LIVES_AWAY_CODE = "lives_away"
LIVES_AWAY_MESSAGE = ("常年外出且未选择定点：不默认就近定点，不计入人头，其费用由基金支付、单独列示"
                      " / lives away all year and chose none: no default designation, no heads; the fund pays"
                      " their claims, reported apart")
LIVES_AWAY_COLUMN = "lives_away"
UNASSIGNED_MESSAGE = ("参保区县 {county} 没有医共体的村级机构，无法确定定点 / the insured county {county} has no "
                      "village-tier institution of any consortium: no designation")

DESIGNATION_SCHEMA = pa.schema([("person_id", pa.string()), ("year", pa.int64()), ("consortium_id", pa.string()),
                                ("township_id", pa.string()), ("village_id", pa.string()), ("source", pa.string())])
REFUSED_SCHEMA = pa.schema([("person_id", pa.string()), ("year", pa.int64()), ("chosen_at", pa.timestamp("s")),
                            ("reason", pa.string()), ("message", pa.string()), ("fields", pa.string()),
                            ("consortium_id", pa.string()), ("township_id", pa.string()),
                            ("village_id", pa.string())])
UNASSIGNED_SCHEMA = pa.schema([("person_id", pa.string()), ("county_code", pa.string()), ("reason", pa.string()),
                               ("message", pa.string())])
STALE_SCHEMA = pa.schema([("person_id", pa.string()), ("year", pa.int64()), ("consortium_id", pa.string()),
                          ("township_id", pa.string()), ("village_id", pa.string()), ("reason", pa.string()),
                          ("message", pa.string())])


@dataclass(frozen=True)
class EnrollmentTables:
    """Results of batch enrollment as Arrow tables, each sorted by person (then time)."""

    designations: pa.Table  # DESIGNATION_SCHEMA: one row per designated person
    refused: pa.Table  # REFUSED_SCHEMA: every refused choice for the year, with code and message
    unassigned: pa.Table  # UNASSIGNED_SCHEMA: persons of a county without a consortium
    stale_carried: pa.Table  # STALE_SCHEMA: designations of Y-1 that no longer satisfy the rules


_names = itertools.count()


def materialize(con: BaseBackend, expr: ir.Table) -> ir.Table:
    """Compute ``expr`` once into a temporary table (dropped with the connection; unlike ``cache()`` nothing is
    left to clean up after ``disconnect``)."""
    if con.name == "pyspark":
        return expr.cache()
    return con.create_table(f"_enroll_{next(_names)}", expr, temp=True)


def arrow_view(con: BaseBackend, table: pa.Table) -> ir.Table:
    """An Arrow table as an Ibis table of ``con``: zero-copy on DuckDB (a registered Arrow view), else
    ``backend.register_arrow``."""
    if con.name == "duckdb":
        name = f"_enroll_{next(_names)}"
        con.con.register(name, table)
        return con.table(name)
    return register_arrow(con, table)


def _s(value: str) -> ir.StringValue:
    return ibis.literal(value, type="string")


def _render(template: str, params: Mapping[str, ir.StringValue]) -> ir.StringValue:
    """A domain message template rendered column-wise (nulls as empty text), the same text as
    ``enrollment.domain.render``."""
    parts: list[ir.StringValue] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append(_s(literal))
        if name:
            parts.append(params[name].cast("string").fill_null(""))
    return reduce(lambda a, b: a.concat(b), parts) if parts else _s("")


# the first characters a blank value may begin with: what strip() removes (the engines strip these, or fewer)
_BLANK_FIRST = [9, 10, 11, 12, 13, 32]


def _blank(col: ir.StringValue) -> ir.BooleanValue:
    """Null, or nothing once stripped. A value not beginning with a character strip() removes is not blank: it is
    stripped (a copy) only when it begins with one (rarely: the ids were checked), not on every row of every choice
    and designation."""
    return col.isnull() | ibis.ifelse(col.ascii_str().isin(_BLANK_FIRST), col.strip() == "", col == "")


def refusal_columns(t: ir.Table, *, consortia: ir.Table, institutions: ir.Table, year: int,
                    window: tuple[date, date] | None) -> ir.Table:
    """Add ``reason`` (a RefusalCode or null), ``message`` (中文 / English) and ``fields`` to rows of ``t``.

    ``t`` has consortium_id, township_id, village_id, person_county and, when ``window`` is given, chosen_at.
    Rules and order are those of ``enrollment.domain.validate_choice``; messages render the same templates.
    """
    cons = consortia.select(_cons_id=consortia.consortium_id, consortium_county=consortia.county_code)
    town = institutions.select(_town_id=institutions.inst_id, township_tier=institutions.tier,
                               township_consortium=institutions.consortium_id)
    vil = institutions.select(_vil_id=institutions.inst_id, village_tier=institutions.tier,
                              village_parent=institutions.parent_id)
    j = (t.left_join(cons, t.consortium_id == cons._cons_id)
         .left_join(town, t.township_id == town._town_id)
         .left_join(vil, t.village_id == vil._vil_id))
    j = j.drop("_cons_id", "_town_id", "_vil_id")
    C = RefusalCode
    cases: list[tuple[ir.BooleanValue, RefusalCode]] = []
    if window is not None:
        d = j.chosen_at.date()
        cases.append(((d < ibis.date(window[0])) | (d > ibis.date(window[1])), C.OUTSIDE_WINDOW))
    missing_cons, missing_town, missing_vil = _blank(j.consortium_id), _blank(j.township_id), _blank(j.village_id)
    cases += [
        (missing_cons | missing_town | missing_vil, C.MISSING_FIELD),
        (j.consortium_county.isnull(), C.UNKNOWN_CONSORTIUM),
        (j.person_county.isnull() | (j.consortium_county != j.person_county), C.CONSORTIUM_NOT_IN_COUNTY),
        (j.township_tier.isnull() | j.village_tier.isnull(), C.UNKNOWN_INSTITUTION),
        (j.township_tier != Tier.TOWNSHIP, C.TOWNSHIP_WRONG_TIER),
        (j.township_consortium.isnull() | (j.township_consortium != j.consortium_id), C.TOWNSHIP_NOT_MEMBER),
        (j.village_tier != Tier.VILLAGE, C.VILLAGE_WRONG_TIER),
        (j.village_parent.isnull() | (j.village_parent != j.township_id), C.VILLAGE_NOT_UNDER_TOWNSHIP),
    ]
    reason = ibis.cases(*[(cond, _s(code.value)) for cond, code in cases], else_=ibis.null("string"))
    j = j.mutate(reason=reason)

    town_unknown = j.township_tier.isnull()
    params: dict[str, ir.StringValue] = {
        "year": _s(str(year)),
        "consortium_id": j.consortium_id, "township_id": j.township_id, "village_id": j.village_id,
        "consortium_county": j.consortium_county, "person_county": j.person_county,
        "township_tier": j.township_tier, "township_consortium": j.township_consortium,
        "village_tier": j.village_tier, "village_parent": j.village_parent,
        "inst_id": ibis.ifelse(town_unknown, j.township_id, j.village_id),
    }
    if window is not None:
        params |= {"chosen_at": j.chosen_at.strftime("%Y-%m-%d").concat(  # a literal T breaks Spark's patterns
                       _s("T"), j.chosen_at.strftime("%H:%M:%S")),
                   "window_start": _s(window[0].isoformat()), "window_end": _s(window[1].isoformat())}
    field_missing = ibis.cases((missing_cons, _s("consortium_id")), (missing_town, _s("township_id")),
                               else_=_s("village_id"))
    field_unknown = ibis.ifelse(town_unknown, _s("township_id"), _s("village_id"))
    msg_cases = []
    field_cases = []
    for code, (zh, en, fields) in MESSAGES.items():
        if code is C.OUTSIDE_WINDOW and window is None:
            continue
        p = dict(params)
        if code is C.MISSING_FIELD:
            p["field"] = field_missing
        elif code is C.UNKNOWN_INSTITUTION:
            p["field"] = field_unknown
        msg_cases.append((j.reason == code.value, _render(zh, p).concat(_s(" / "), _render(en, p))))
        field_cases.append((j.reason == code.value, _s(";".join(fields))))
    return j.mutate(message=ibis.cases(*msg_cases, else_=ibis.null("string")),
                    fields=ibis.cases(*field_cases, else_=ibis.null("string")))


# the columns of the checked choices and of last year's checked designations that the refused choices, the stale
# designations and the valid rows' ``_row`` are taken from
_REFUSED_KEPT = ("person_id", "year", "chosen_at", "reason", "message", "fields", "consortium_id", "township_id",
                 "village_id", "_row")
_STALE_KEPT = ("person_id", "year", "consortium_id", "township_id", "village_id", "reason", "message", "_row")


def enroll_tables(con: BaseBackend, *, persons: pa.Table, institutions: pa.Table, consortia: pa.Table,
                  choices: pa.Table | None, designations: pa.Table | None, year: int,
                  window: tuple[date, date]) -> EnrollmentTables:
    """Designations of every insured person for ``year`` (rules.md A), refused choices and unassigned persons."""
    inst = arrow_view(con, institutions.select(["inst_id", "tier", "consortium_id", "parent_id", "county_code",
                                                    "lon", "lat"]))
    cons = arrow_view(con, consortia.select(["consortium_id", "county_code"]))

    # 1. every choice for the year, checked; the last valid one per person
    index = KeyIndex(persons.column("person_id"))
    ch_arrow, ch_persons = _with_person(_choices_for(choices, year), persons, index)
    ch = arrow_view(con, ch_arrow)
    # (computed once, only the columns read after: not the joined registry's and the person's, 7 texts a choice)
    checked = materialize(con, refusal_columns(ch, consortia=cons, institutions=inst, year=year, window=window)
                          .select(*_REFUSED_KEPT))
    refused = (checked.filter(checked.reason.notnull())
               .select(person_id="person_id", year="year", chosen_at="chosen_at", reason="reason",
                       message="message", fields="fields", consortium_id="consortium_id",
                       township_id="township_id", village_id="village_id", _row="_row")
               .order_by(["person_id", "chosen_at", "_row"]).drop("_row"))
    valid = checked.filter(checked.reason.isnull()).select("_row").to_pyarrow().column("_row")
    # the choices that decide, picked by their rows (integers; the choices' texts stay where they are)
    last_rows, hh_rows = _last_choices(ch_arrow, ch_persons, valid, index)
    del valid

    # 2. carry-over of Y-1, when still valid
    prev_arrow, prev_persons = _with_person(_designations_for(designations, year - 1), persons, index, known=True)
    prev = arrow_view(con, prev_arrow.append_column("_row", pa.array(np.arange(prev_arrow.num_rows,
                                                                                   dtype=np.int64))))
    prev_checked = materialize(con, refusal_columns(prev, consortia=cons, institutions=inst, year=year,
                                                    window=None).select(*_STALE_KEPT))
    stale = (prev_checked.filter(prev_checked.reason.notnull())
             .select("person_id", "year", "consortium_id", "township_id", "village_id", "reason", "message")
             .order_by("person_id"))
    carried = prev_checked.filter(prev_checked.reason.isnull()).select("_row").to_pyarrow().column("_row")

    # 3. household: the member with the most recent valid choice (lowest person_id on equal times), per county;
    # each person's designation by precedence (choice, carried, household) taken by the persons' rows
    known, still = _decided(persons, ch_arrow, ch_persons, last_rows, hh_rows, prev_arrow, prev_persons, carried,
                            year=year)
    del ch_persons, prev_persons, carried

    # 4. nearest village-tier institution of the insured county, except for persons living away all year (常年外出):
    # without a choice (of their own, carried or their household's) they get no designation (seed 000 二(二)2)
    open_persons, away = _split_lives_away(persons, still)
    near, unassigned = nearest_designations(open_persons, institutions, year=year)
    if away.num_rows:
        unassigned = pa.concat_tables([unassigned, pa.table({
            "person_id": away.column("person_id"), "county_code": away.column("county_code"),
            "reason": pa.repeat(pa.scalar(LIVES_AWAY_CODE, pa.string()), away.num_rows),
            "message": pa.repeat(pa.scalar(LIVES_AWAY_MESSAGE, pa.string()), away.num_rows),
        }, schema=UNASSIGNED_SCHEMA)]).sort_by("person_id")
    del open_persons, away
    # the year's designations sorted by person in the engine (it spills past its memory limit), not in Arrow:
    # at 10 M persons an Arrow sort holds the table two or three times over
    des = arrow_view(con, pa.concat_tables([known, near.select(DESIGNATION_SCHEMA.names)]))
    designations = des.order_by("person_id").to_pyarrow().cast(DESIGNATION_SCHEMA)
    del near, known, des
    return EnrollmentTables(
        designations=designations,
        refused=refused.to_pyarrow().cast(REFUSED_SCHEMA),
        unassigned=unassigned,
        stale_carried=stale.to_pyarrow().cast(STALE_SCHEMA),
    )


def _split_lives_away(persons: pa.Table, still: np.ndarray) -> tuple[pa.Table, pa.Table]:
    """(persons to designate by distance, persons living away all year, sorted by person_id) of the persons at the
    rows ``still`` (a mask): their person_id, county_code, lon and lat. ``persons`` may lack the optional
    ``lives_away`` column (nobody lives away)."""
    todo = persons.select(["person_id", "county_code", "lon", "lat"])
    if LIVES_AWAY_COLUMN not in persons.column_names:
        return todo.filter(pa.array(still)), todo.slice(0, 0)
    away = np.asarray(pc.fill_null(persons.column(LIVES_AWAY_COLUMN), False).to_numpy(zero_copy_only=False),
                      dtype=bool)
    return todo.filter(pa.array(still & ~away)), todo.filter(pa.array(still & away)).sort_by("person_id")


def _decided(persons: pa.Table, choices: pa.Table, choice_persons: np.ndarray, last_rows: np.ndarray,
             hh_rows: np.ndarray, prev: pa.Table, prev_persons: np.ndarray, carried: pa.ChunkedArray, *,
             year: int) -> tuple[pa.Table, np.ndarray]:
    """(the designations of the persons decided by choice, carried designation or household (DESIGNATION_SCHEMA, in
    the persons' order), the mask of the persons' rows still open): rules.md A's precedence, as left joins of the
    persons with each person's last valid choice, carried designation and household's choice would give it, taken
    by rows (integers) instead of joins on texts. ``choices``: from :func:`_with_person` with ``_row`` and
    ``choice_persons`` its persons' rows; ``last_rows`` and ``hh_rows`` (their ``_row``) from
    :func:`_last_choices`; ``prev``: last year's designations of known persons, at the persons' rows
    ``prev_persons``, of which the rows ``carried`` are still valid. A household's choice goes to every person of
    the chooser's household and insured county (none to a person without a household: a null matches nothing)."""
    n = persons.num_rows
    rows = choices.column("_row").to_numpy()
    position = np.zeros(int(rows.max(initial=-1)) + 1, dtype=np.int64)
    position[rows] = np.arange(len(rows), dtype=np.int64)
    own = np.full(n, -1, dtype=np.int64)
    at = position[last_rows]
    own[choice_persons[at]] = at  # (a valid choice names a known person: its county is the consortium's)
    kept = np.full(n, -1, dtype=np.int64)
    prev_at = np.asarray(carried.to_numpy(zero_copy_only=False), dtype=np.int64)
    kept[prev_persons[prev_at]] = prev_at
    house = _codes(persons.column("household_id"))
    county = _codes(persons.column("county_code"))
    group = house * (int(county.max(initial=-1)) + 2) + (county + 1)
    household = np.full(n, -1, dtype=np.int64)
    hh_at = position[hh_rows]
    if len(hh_at):
        chooser = group[choice_persons[hh_at]]
        order = np.argsort(chooser, kind="stable")
        where = np.minimum(np.searchsorted(chooser[order], group), len(order) - 1)
        match = (chooser[order][where] == group) & (house >= 0)
        household[match] = hh_at[order[where[match]]]
    source = np.where(own >= 0, 0, np.where(kept >= 0, 1, np.where(household >= 0, 2, 3)))
    decided = source < 3

    def pick(table: pa.Table, rows: np.ndarray, column: str) -> pa.ChunkedArray | pa.Array:
        return table.column(column).take(pa.array(rows[decided], mask=rows[decided] < 0))

    names = pa.array([Source.CHOICE.value, Source.CARRIED.value, Source.HOUSEHOLD.value], pa.string())
    columns = {c: pc.coalesce(pick(choices, own, c), pick(prev, kept, c), pick(choices, household, c))
               for c in ("consortium_id", "township_id", "village_id")}
    known = pa.table({
        "person_id": persons.column("person_id").filter(pa.array(decided)),
        "year": pa.repeat(pa.scalar(year, pa.int64()), int(decided.sum())),
        **columns,
        "source": names.take(pa.array(source[decided])),
    }, schema=DESIGNATION_SCHEMA)
    return known, ~decided


def _with_person(t: pa.Table, persons: pa.Table, index: KeyIndex, *,
                 known: bool = False) -> tuple[pa.Table, np.ndarray]:
    """``t`` with each row's person's insured county (``person_county``) and household (``_hh``), null for a
    person not among ``persons`` (``known``: such rows left out), as a left (inner) join on person_id would give
    them, and each row's person's row in ``persons`` (-1: none): looked up in ``index``, the persons' ids'
    (``datafolder.keyrows``: a binary search over sorted ids; not a hash table of every person in the engine, once
    for the choices and once for last year's designations)."""
    rows = index.rows(t.column("person_id"))
    if known:
        found = rows >= 0
        if not found.all():
            t, rows = t.filter(pa.array(found)), rows[found]
    at = pa.array(rows, mask=rows < 0)
    return (t.append_column("person_county", persons.column("county_code").take(at))
            .append_column("_hh", persons.column("household_id").take(at))), rows


def _codes(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Integer codes of a column's values (equal values, equal codes; null its own code, -1)."""
    enc = pc.dictionary_encode(values)
    indices = enc.combine_chunks().indices if isinstance(enc, pa.ChunkedArray) else enc.indices
    return np.asarray(pc.fill_null(indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _ordered(keys: tuple[np.ndarray, ...]) -> np.ndarray:
    """``np.lexsort(keys)`` (the last key sorts first, the first key decides last ties; stable): by one stable sort
    of a single integer made of the keys when their ranges fit in 62 bits (nearly always; faster than lexsort's
    pass per key), else by lexsort."""
    if not len(keys[0]):
        return np.zeros(0, dtype=np.int64)
    lows = [int(k.min()) for k in keys]
    spans = [int(k.max()) - low + 1 for k, low in zip(keys, lows, strict=True)]
    if np.prod([float(s) for s in spans]) >= 2.0 ** 62:
        return np.asarray(np.lexsort(keys), dtype=np.int64)
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    for k, low, span in zip(reversed(keys), reversed(lows), reversed(spans), strict=True):
        combined = combined * span + (k - low)
    return np.asarray(np.argsort(combined, kind="stable"), dtype=np.int64)


def _first_of_groups(*keys: np.ndarray) -> np.ndarray:
    """The positions of the first row of each group in the order of ``keys`` (``np.lexsort``'s: the last key
    sorts first, the first key decides ties), the group being the last key."""
    order = _ordered(keys)
    group = keys[-1][order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = group[1:] != group[:-1]
    return np.asarray(order[first], dtype=np.int64)


def _last_choices(choices: pa.Table, person_rows: np.ndarray, valid: pa.ChunkedArray,
                  persons: KeyIndex) -> tuple[np.ndarray, np.ndarray]:
    """(the rows (``_row``) of the last valid choice of each person, of the household's choice of each household
    and county): rules.md A's
    choice and household steps over ``choices`` (from :func:`_with_person`, with ``_row``), of which the rows
    ``valid`` (their ``_row``) passed the checks; ``person_rows`` their persons' rows in ``persons`` (their ids).

    A person's last choice is the latest (``chosen_at``; a missing time before any), the later row on equal times;
    a household's (same household in the same insured county) is its members' latest last choice, the lowest
    person_id on equal times. Selected by sorting integers (the person's row, the time, the row; codes of the
    households, the persons' places in person_id order), not by windows over texts in the engine: a province's
    million choices sorted by person id twice cost a tenth of the enrollment."""
    rows = choices.column("_row").to_numpy()
    position = np.zeros(int(rows.max(initial=-1)) + 1, dtype=np.int64)
    position[rows] = np.arange(len(rows), dtype=np.int64)
    row = np.sort(np.asarray(valid.to_numpy(zero_copy_only=False), dtype=np.int64))[::-1]  # the later rows first
    at = position[row]
    chosen = choices.column("chosen_at").cast(pa.int64()).take(pa.array(at))
    time = np.asarray(pc.fill_null(chosen, np.iinfo(np.int64).min + 1).to_numpy(zero_copy_only=False),
                      dtype=np.int64)
    person = person_rows[at]
    if (person < 0).any():  # (a valid choice names a known person: its county is the consortium's)
        person = _codes(choices.column("person_id").take(pa.array(at)))
    # the person's latest choice, the later row on equal times: the first in descending order of the times (a stable
    # sort: the rows stay in descending order on equal times)
    first = _first_of_groups(-time, person)
    last_at = pa.array(at[first])
    place = persons.ranks()[person_rows[at[first]]] if (person_rows[at[first]] >= 0).all() else \
        KeyIndex(choices.column("person_id").take(last_at)).ranks()
    house = _codes(choices.column("_hh").take(last_at))
    county = _codes(choices.column("person_county").take(last_at))
    group = house * (int(county.max(initial=-1)) + 2) + (county + 1)
    by_person = np.argsort(place, kind="stable")  # (nearly in order already: the persons' parts are)
    household = by_person[_first_of_groups(-time[first][by_person], group[by_person])]
    return row[first], row[first][household]


def _choices_for(choices: pa.Table | None, year: int) -> pa.Table:
    cols = ["person_id", "year", "consortium_id", "township_id", "village_id", "chosen_at"]
    schema = pa.schema([("person_id", pa.string()), ("year", pa.int64()), ("consortium_id", pa.string()),
                        ("township_id", pa.string()), ("village_id", pa.string()),
                        ("chosen_at", pa.timestamp("s"))])
    if choices is None:
        t = schema.empty_table()
    else:
        t = choices.select(cols).cast(schema)
    t = t.append_column("_row", pa.array(np.arange(t.num_rows, dtype=np.int64)))
    return t.filter(pc.equal(t.column("year"), year))


def _designations_for(designations: pa.Table | None, year: int) -> pa.Table:
    cols = ["person_id", "year", "consortium_id", "township_id", "village_id"]
    if designations is None:
        return pa.schema([f for f in DESIGNATION_SCHEMA if f.name in cols]).empty_table()
    t = designations.select(cols).cast(pa.schema([f for f in DESIGNATION_SCHEMA if f.name in cols]))
    return t.filter(pc.equal(t.column("year"), year))


def nearest_designations(persons: pa.Table, institutions: pa.Table, *, year: int) -> tuple[pa.Table, pa.Table]:
    """(designations by distance, unassigned persons) for ``persons`` (person_id, county_code, lon, lat).

    Targets per county: village-tier institutions of that county, sorted by inst_id so that distance ties go to the
    lowest id; the designation is the village, its parent township institution and that one's consortium.
    """
    inst = institutions.select(["inst_id", "tier", "consortium_id", "parent_id", "county_code", "lon", "lat"])
    parent_cons = dict(zip(inst.column("inst_id").to_pylist(), inst.column("consortium_id").to_pylist(), strict=True))
    vil = inst.filter(pc.equal(inst.column("tier"), Tier.VILLAGE.value)).sort_by("inst_id")
    vil = vil.append_column("parent_consortium", pa.array(  # one lookup per institution, not per person
        [parent_cons.get(x) for x in vil.column("parent_id").to_pylist()], pa.string()))
    vil_lon, vil_lat = vil.column("lon").to_numpy(), vil.column("lat").to_numpy()

    # group persons and targets by county with dictionary codes (no string comparisons per person)
    enc = pc.dictionary_encode(persons.column("county_code")).combine_chunks()
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    vil_code = pc.fill_null(pc.index_in(vil.column("county_code"), value_set=enc.dictionary), -1)
    vil_code = vil_code.to_numpy(zero_copy_only=False).astype(np.int64)
    lon = persons.column("lon").to_numpy()
    lat = persons.column("lat").to_numpy()
    pick = np.full(persons.num_rows, -1, dtype=np.int64)
    p_order = np.argsort(codes, kind="stable")
    p_bounds = np.searchsorted(codes[p_order], np.arange(len(enc.dictionary) + 1))
    t_order = np.argsort(vil_code, kind="stable")  # stable: inst_id order kept inside a county
    t_bounds = np.searchsorted(vil_code[t_order], np.arange(len(enc.dictionary) + 1))
    for c in range(len(enc.dictionary)):
        rows = p_order[p_bounds[c]:p_bounds[c + 1]]
        targets = t_order[t_bounds[c]:t_bounds[c + 1]]
        if len(rows) and len(targets):
            pick[rows] = targets[nearest(lon[rows], lat[rows], vil_lon[targets], vil_lat[targets])]
    has = pick >= 0
    chosen = pa.array(pick[has])
    n = len(chosen)
    des = pa.table({
        "person_id": persons.column("person_id").filter(pa.array(has)),
        "year": pa.repeat(pa.scalar(year, pa.int64()), n),
        "consortium_id": vil.column("parent_consortium").take(chosen),
        "township_id": vil.column("parent_id").take(chosen),
        "village_id": vil.column("inst_id").take(chosen),
        "source": pa.repeat(pa.scalar(Source.NEAREST.value, pa.string()), n),
    }, schema=DESIGNATION_SCHEMA)
    missing = persons.filter(pa.array(~has)).sort_by("person_id")
    unassigned = pa.table({
        "person_id": missing.column("person_id"),
        "county_code": missing.column("county_code"),
        "reason": pa.repeat(pa.scalar(UNASSIGNED_CODE, pa.string()), missing.num_rows),
        "message": _fill_county(missing.column("county_code")),
    }, schema=UNASSIGNED_SCHEMA)
    return des, unassigned


def _fill_county(county: pa.ChunkedArray) -> pa.ChunkedArray:
    """UNASSIGNED_MESSAGE with each row's county, column-wise."""
    parts = UNASSIGNED_MESSAGE.split("{county}")
    out = pc.binary_join_element_wise(pa.scalar(parts[0]), county, pa.scalar(parts[1]), "")
    for part in parts[2:]:
        out = pc.binary_join_element_wise(out, county, pa.scalar(part), "")
    return out
