"""Named measures (计量) of the appraisal as Ibis aggregations per county, consortium and institution.

Every measure of ``yigongti.appraisal.indicators.MEASURES`` is an integer (a count, fen, days) summed over a scope:
residents' measures are per-person features summed over the persons of a scope, providers' measures per-institution
features summed over its institutions. One grouped scan per source table; no Python loop over claims or persons.

Scopes (``scope_kind``, ``scope``):
- ``county``: county code; persons by their insured county, institutions by their location.
- ``consortium``: consortium id; its enrollees (designations of the year) and its member institutions.
- ``institution``: inst id; persons designated to it (a county-tier member: all its consortium's enrollees), and
  itself as a provider.
"""

from __future__ import annotations

import datetime
import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yigongti.appraisal.indicators import MEASURES, Attribution, Parameters, ScopeKind, icd_matches
from yigongti.benefits.domain import Setting
from yigongti.core.engine import Backend, age_expr, connect, dated_in, register_arrow, to_arrow
from yigongti.referral.domain import ARRIVED, COMPLETED
from yigongti.registry.domain import Tier

__all__ = ["ADJUDICATED_CLAIM_COLUMNS", "TIER_RANK", "ClaimsShare", "MeasureInputs", "MeasureResult",
           "compute_measures"]

TIER_RANK = {Tier.VILLAGE: 0, Tier.TOWNSHIP: 1, Tier.COUNTY: 2, Tier.OUTSIDE: 3}
PRIMARY_TIERS = (Tier.TOWNSHIP, Tier.VILLAGE)
PREV = "prev__"  # column prefix of last year's measures (a measure key says "prev:")
_REFERRAL_MEASURES = ("up_referrals", "down_referrals", "down_referrals_from_county")
# the claims' columns the residents' measures read (``MeasureInputs.adjudicated_claims``: an adjudication that
# carries them stands for the year's claims)
ADJUDICATED_CLAIM_COLUMNS = ("person_id", "inst_id", "setting", "admit_date", "total_cost", "diagnosis")
# the residents' claims measures: the flags a claim must have (beside its year) and the value summed (``_cnt``: the
# claims, ``_cost``: total_cost, ``_fund``: fund_paid); each for this year and (``prev__``) last year
_CLAIM_MEASURES: dict[str, tuple[tuple[str, ...], str]] = {
    "visits_res": (("_op",), "_cnt"), "visits_res_in_county": (("_op", "_inc"), "_cnt"),
    "visits_res_primary": (("_op", "_prim"), "_cnt"), "admissions_res": (("_ip",), "_cnt"),
    "admissions_res_in_county": (("_ip", "_inc"), "_cnt"), "cost_res": ((), "_cost"),
    "cost_res_in_county_inpatient": (("_ip", "_inc"), "_cost"), "fund_res": ((), "_fund"),
    "fund_res_in_county": (("_inc",), "_fund"), "fund_res_primary": (("_prim",), "_fund"),
    "fund_res_in_county_primary": (("_inc", "_prim"), "_fund"),
}
_FUND_MEASURES = frozenset(k for k, (_, value) in _CLAIM_MEASURES.items() if value == "_fund")



@dataclass(frozen=True)
class MeasureInputs:
    """Typed Arrow tables (as ``read_folder`` gives them). ``designations``: the designations of the year.
    ``adjudicated``: at least claim_id and fund_paid (int fen). ``extra``: the appraisal tables that are present."""

    institutions: pa.Table
    consortia: pa.Table
    persons: pa.Table
    designations: pa.Table
    claims: pa.Table | ir.Table | None = None  # or an engine table of the connection (a province's Parquet)
    adjudicated: pa.Table | ir.Table | None = None
    extra: Mapping[str, pa.Table | ir.Table] = field(default_factory=dict)  # or engine tables of the connection
    previous_year: bool = True  # False: the claims of the year before are incomplete, prev(...) is not available
    # True: ``adjudicated`` is the adjudication of ``claims`` themselves (an engine or Arrow table, one row per claim
    # of the year with the claims' columns of :data:`ADJUDICATED_CLAIM_COLUMNS` beside fund_paid, as ``settle``
    # spills it or ``adjudicate_data`` returns it): the year's claims are read from it instead of being joined with
    # it by claim_id
    adjudicated_claims: bool = False


@dataclass
class ClaimsShare:
    """What passes of :func:`compute_measures` over the same engine table of claims (``claims``: this year's and
    last year's passes of ``appraise_data``) compute once: the providers' claims statements (visits, discharges and
    bed days; referrals) per institution for every year of ``years``, and, with each pass's ``designations`` (by
    year, the very table its pass is handed), the residents' claims counted and summed per scope group of every
    pass (``_g_YEAR``), person of a whole measure, year and flags; kept as Arrow (``done``, by statement) by the
    first pass that runs them. A pass of other claims, or of a year not in ``years``, runs its own; the scope
    groups of a pass's designations are computed once too (``groups``)."""

    claims: ir.Table
    years: frozenset[int]
    designations: dict[int, pa.Table] = field(default_factory=dict)
    done: dict[str, Any] = field(default_factory=dict)
    groups: dict[int, tuple[pa.Array, np.ndarray, np.ndarray]] = field(default_factory=dict)


@dataclass(frozen=True)
class MeasureResult:
    """``wide``: one table per attribution (scope_kind, scope, then one int64 column per measure, ``prev__`` for last
    year's), one row per scope that has any person or institution of the measure's attribution; a scope without a
    row but with the measure ``available`` has value 0. ``values``: the same as rows (scope_kind, scope, measure,
    value). ``available``: measure keys (``name`` or ``prev:name``) that could be computed (their tables are
    present)."""

    wide: tuple[tuple[pa.Table, tuple[str, ...]], ...]
    available: frozenset[str]

    @property
    def values(self) -> pa.Table:
        frames = [_melt(t, list(names)) for t, names in self.wide]
        if not frames:
            return _melt(pa.table({"scope_kind": pa.array([], pa.string()), "scope": pa.array([], pa.string())}), [])
        return pa.concat_tables(frames)

    def as_dict(self) -> dict[tuple[str, str], dict[str, int]]:
        out: dict[tuple[str, str], dict[str, int]] = {}
        values = self.values
        for kind, scope, m, v in zip(*(values.column(c).to_pylist()
                                       for c in ("scope_kind", "scope", "measure", "value")), strict=True):
            out.setdefault((kind, scope), {})[m] = int(v)
        return out

    def columns(self, kinds: pa.Array, scopes: pa.Array) -> dict[str, pa.Array]:
        """Each available measure (key ``name`` / ``prev:name``) as an int64 column aligned with the scopes given
        (``kinds``, ``scopes``: two string arrays of the same length), 0 where a scope has no row: one vectorised
        lookup per attribution, no row-by-row dictionary."""
        sep = "\x1f"
        want = pc.binary_join_element_wise(kinds, scopes, sep)
        out: dict[str, pa.Array] = {}
        for table, names in self.wide:
            have = pc.binary_join_element_wise(table.column("scope_kind"), table.column("scope"), sep)
            rows = pc.index_in(want, value_set=have.combine_chunks())
            for name in names:
                col = pc.fill_null(pc.take(table.column(name).combine_chunks().cast(pa.int64()), rows), 0)
                out[name.replace(PREV, "prev:")] = col
        return out


def _n(cond: ir.BooleanValue) -> ir.IntegerScalar:
    return cond.cast("int64").sum()


def _s(cond: ir.BooleanValue, col: ir.IntegerValue) -> ir.IntegerScalar:
    return ibis.ifelse(cond, col, 0).sum()


def _icd(col: ir.StringValue, patterns: tuple[str, ...]) -> ir.BooleanValue:
    """ICD-10 codes or 3-character ranges, as domain.indicators.icd_matches."""
    code = col.strip().upper()
    conds: list[ir.BooleanValue] = []
    for p in patterns:
        lo, _, hi = p.upper().partition("-")
        if hi:
            head = code.substr(0, len(lo))
            conds.append((head >= lo) & (head <= hi))
        else:
            conds.append(code.startswith(lo))
    out = conds[0]
    for c in conds[1:]:
        out = out | c
    return out.fill_null(False)


def _year_of(col: ir.DateValue) -> ir.IntegerValue:
    return col.year().cast("int64")


def _codes(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Each value's number (0, 1, ... in order of first appearance; null is a value of its own)."""
    enc = pc.dictionary_encode(col, null_encoding="encode")
    chunks = enc.chunks if isinstance(enc, pa.ChunkedArray) else [enc]
    parts = [c.indices.to_numpy(zero_copy_only=False).astype(np.int64) for c in chunks]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _chunk(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _mask(cond: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean column as a numpy bool array (null: False)."""
    return np.asarray(pc.fill_null(cond, False).to_numpy(zero_copy_only=False), dtype=bool)


def _flag(cond: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean column as 0 / 1 (null: 0)."""
    return np.asarray(pc.fill_null(cond, False).to_numpy(zero_copy_only=False), dtype=np.int64)


def _run_heads(col: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """The first value of each run of equal values of ``col`` (a person's claims one after another: one run) and
    where the runs start (True). A null starts a run of its own, and so does the value after it."""
    col = _chunk(col)
    n = len(col)
    new = np.ones(n, dtype=bool)
    if n > 1:
        new[1:] = pc.fill_null(pc.not_equal(col.slice(1), col.slice(0, n - 1)), True).to_numpy(zero_copy_only=False)
    return col.filter(pa.array(new)), new


_CHUNK = 1 << 20
"""Claims read at a time by :meth:`_Engine._claim_groups_arrow` (its arrays of a chunk's claims stay a few MB:
reused by the allocator, not new pages of memory for each)."""

_BITS = {"_op": 2, "_ip": 4, "_inc": 8, "_prim": 16, "_mj": 32}  # the flags of a claim's cell, bit 0: last year


def _flags_in(bits: np.ndarray, this_year: bool, flags: tuple[str, ...]) -> np.ndarray:
    """Whether each cell's bits have the year (bit 0: 0 this year, 1 last year) and every one of ``flags``."""
    ok: np.ndarray = (bits & 1) == (0 if this_year else 1)
    for fl in flags:
        ok &= (bits & _BITS[fl]) > 0
    return ok


def _in_years(dates: pa.Array | pa.ChunkedArray, years: list[int]) -> np.ndarray:
    """Whether each date is in one of ``years`` (a null date in none): Arrow's comparisons, one byte a date out."""
    found: pa.Array | pa.ChunkedArray | None = None
    for y in years:
        this = pc.and_(pc.greater_equal(dates, pa.scalar(datetime.date(y, 1, 1), pa.date32())),
                       pc.less(dates, pa.scalar(datetime.date(y + 1, 1, 1), pa.date32())))
        found = this if found is None else pc.or_(found, this)
    return _mask(found) if found is not None else np.zeros(len(dates), dtype=bool)


def _days(dates: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Day numbers (int32) of date32 values (null: 0; only read where the date is known)."""
    return np.asarray(pc.fill_null(dates.cast(pa.int32()), 0).to_numpy())


def _inst_rows(ids: pa.Array | pa.ChunkedArray, inst: pa.Table) -> np.ndarray:
    """Each id's row in the institutions (-1: unknown or null)."""
    return np.asarray(pc.fill_null(pc.index_in(ids, value_set=_chunk(inst.column("inst_id"))), -1).to_numpy())


def _rows_of(table: pa.Table, keep: np.ndarray) -> pa.Table:
    """The rows of ``table`` where ``keep``: slices of it (no copy) when they are few runs (the claims of one year
    of a batch's replicates, one after another), else taken."""
    if keep.all():
        return table
    edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
    if len(edges) <= 512:
        return pa.concat_tables([table.slice(a, b - a) for a, b in zip(edges[0::2], edges[1::2], strict=True)]
                                or [table.slice(0, 0)])
    return table.take(pa.array(np.flatnonzero(keep)))


def _pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each (a, b) pair of non-negative numbers as one number (0, 1, ... in order of first appearance)."""
    width = int(b.max()) + 1 if len(b) else 1
    return _codes(pa.array(a * width + b))


def _county_numbers(persons: pa.Table, inst: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Each person's and each institution's county as a number (the same number for the same county code); an
    unknown county is -1 for a person and -2 for an institution, so that it is in no county, not in another null's."""
    n = persons.num_rows
    county = _codes(pa.concat_arrays([_chunk(persons.column("county_code")), _chunk(inst.column("county_code"))]))
    return (np.where(_mask(pc.is_valid(persons.column("county_code"))), county[:n], -1),
            np.where(_mask(pc.is_valid(inst.column("county_code"))), county[n:], -2))


def _scope_groups(persons: pa.Table, des: pa.Table, p_of_des: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Each person's scope group (``_g``, 0, 1, ...) and one person of each group. The persons of one county with
    one designation of the same consortium, township and village count for the same scopes (with a person of no
    designation, their county alone); a person with more designations than one is a group of its own. Every
    measure of the residents is a sum over persons: summed by group first, a few thousand groups are mapped to
    their scopes instead of every person (the claims are grouped by some thousands of groups, not by a row per
    person; the same integer sums, in another order)."""
    n = persons.num_rows
    valid = pc.is_valid(p_of_des)
    p = pc.filter(p_of_des, valid).to_numpy(zero_copy_only=False).astype(np.int64)
    d = des.filter(valid)
    triple = _pair(_pair(_codes(d.column("consortium_id")), _codes(d.column("township_id"))),
                   _codes(d.column("village_id")))
    key = np.zeros(n, dtype=np.int64)  # 0: no designation
    key[p] = triple + 1
    multi = np.flatnonzero(np.bincount(p, minlength=n) > 1)
    key[multi] = (int(triple.max()) + 2 if len(triple) else 1) + np.arange(len(multi), dtype=np.int64)
    groups = _pair(_codes(persons.column("county_code")), key)
    reps = np.zeros(int(groups.max()) + 1 if n else 0, dtype=np.int64)
    reps[groups] = np.arange(n, dtype=np.int64)  # any person of a group stands for it
    return groups, reps


class _Labels:
    """The scopes as numbers (``_s``): scope kind and scope of each number, given out as the maps meet them."""

    def __init__(self) -> None:
        self.index: dict[tuple[str, str], int] = {}

    def mapping(self, key: str, parts: list[tuple[pa.Array | pa.ChunkedArray, str, pa.Array | pa.ChunkedArray]],
                ) -> pa.Table:
        """(``key``, ``_s``) rows of every part (keys, scope kind, scopes aligned with the keys); a row with a
        null key or scope counts for no scope."""
        keys: list[pa.Array] = []
        nums: list[np.ndarray] = []
        for ids, kind, scopes in parts:
            ok = pc.and_(pc.is_valid(ids), pc.is_valid(scopes))
            ids, scopes = pc.filter(ids, ok), pc.filter(scopes, ok)
            distinct = pc.unique(scopes)
            codes = np.array([self.index.setdefault((kind, x), len(self.index)) for x in distinct.to_pylist()],
                             dtype=np.int64)
            where = pc.index_in(scopes, value_set=distinct).to_numpy(zero_copy_only=False)
            nums.append(codes[where] if len(codes) else np.zeros(0, np.int64))
            keys.append(ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids)
        return pa.table({key: pa.concat_arrays([k.cast(keys[0].type) for k in keys]), "_s": np.concatenate(nums)})

    def label(self, numbers: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
        """Scope kind and scope of each number."""
        kinds = pa.array([k for k, _ in self.index], pa.string())
        scopes = pa.array([s for _, s in self.index], pa.string())
        at = numbers.combine_chunks() if isinstance(numbers, pa.ChunkedArray) else numbers
        return pc.take(kinds, at), pc.take(scopes, at)


class _Engine:
    def __init__(self, con: Backend, inputs: MeasureInputs, year: int, params: Parameters,
                 share: ClaimsShare | None = None) -> None:
        self.con, self.year, self.params, self.inputs, self.share = con, year, params, inputs, share
        persons = inputs.persons.select(["person_id", "county_code", "birth_date"])
        # the designations' persons by row number (null: a person not in ``persons``, who counts for no scope)
        self.p_of_des, self.groups, self.reps = self._groups_of(year, inputs.designations)
        inst = inputs.institutions
        self.p_county, self.i_county = _county_numbers(persons, inst)
        self.i_prim = _flag(pc.is_in(inst.column("tier"), value_set=pa.array([t.value for t in PRIMARY_TIERS])))
        # persons by row number (``_p``), by scope group (``_g``) and with their county's number (``_cn``): the claims
        # are grouped, and the persons mapped to scopes, on integers
        self.persons = self._t(persons.append_column("_p", pa.array(np.arange(persons.num_rows, dtype=np.int64)))
                               .append_column("_g", pa.array(self.groups))
                               .append_column("_cn", pa.array(self.p_county)))
        self.des = self._t(inputs.designations.select(["person_id", "consortium_id", "township_id", "village_id"]))
        leads = inputs.consortia.column("lead_inst_id").to_pylist()
        self.leads = sorted({x for x in leads if x})
        # the institutions with their county's number (``_cn``, never a person's county's when unknown) and whether
        # they are primary-level (``_prim``, 0 / 1)
        self.inst = self._t(inst.select(["inst_id", "tier", "kind", "level", "consortium_id", "county_code"])
                            .append_column("_cn", pa.array(self.i_county))
                            .append_column("_prim", pa.array(self.i_prim)))
        self.claims = self._t(inputs.claims) if inputs.claims is not None else None
        # whether the claims' fund_paid is known: from the year's claims as adjudicated (``adjudicated_claims``:
        # the adjudication carries the claims' columns) or from the adjudication joined with the claims by claim_id
        self.fund = inputs.adjudicated is not None
        carried = inputs.adjudicated_claims and inputs.adjudicated is not None
        self.adj = (self._t(inputs.adjudicated.select(["claim_id", "fund_paid"]))
                    if inputs.adjudicated is not None and not carried else None)
        self.adjudicated_claims = (self._t(inputs.adjudicated.select([*ADJUDICATED_CLAIM_COLUMNS, "fund_paid"]))
                                   if carried and inputs.adjudicated is not None else None)
        self.extra = {k: self._t(v) for k, v in inputs.extra.items()}
        self.labels = _Labels()

    def _groups_of(self, year: int, des: pa.Table) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        """The designations' persons by row number, each person's scope group and one person of each group
        (:func:`_scope_groups`) for ``des``, the designations of ``year``'s pass: from the share when a pass
        computed them already for the same table."""
        share = self.share
        if share is not None and share.designations.get(year) is des and year in share.groups:
            return share.groups[year]
        persons = self.inputs.persons.select(["person_id", "county_code", "birth_date"])
        p_of_des = pc.index_in(des.column("person_id"), value_set=persons.column("person_id").combine_chunks())
        got = (p_of_des, *_scope_groups(persons, des, p_of_des))
        if share is not None and share.designations.get(year) is des:
            share.groups[year] = got
        return got

    def years(self, wanted: set[str] | None = None) -> list[tuple[int, str]]:
        """The years appraised (with the prefix of their measures): this year and, when the claims cover it, last
        year; with ``wanted``, only the years a measure of ``wanted`` is of (no scan of last year's claims for
        measures that no indicator reads)."""
        out = [(self.year, ""), (self.year - 1, PREV)] if self.inputs.previous_year else [(self.year, "")]
        if wanted is None:
            return out
        return [(y, p) for y, p in out if any(m.startswith(PREV) == (p == PREV) for m in wanted)]

    def _t(self, table: pa.Table | ir.Table) -> ir.Table:
        if isinstance(table, ir.Table):  # already the engine's (claims read from Parquet by this connection)
            return table
        # DuckDB reads an in-memory Arrow table without copying it; Spark needs a registered view
        return ibis.memtable(table) if self.con.name == "duckdb" else register_arrow(self.con, table)

    # ----------------------------------------------------------------------------------------- scope maps

    def person_map(self) -> ir.Table:
        """(``_g``, ``_s``): each scope group (:func:`_scope_groups`: the persons who count for the same scopes) and
        the number of each scope its persons count for (their county, consortium, township and village institutions,
        every county-tier member of their consortium), built in Arrow from one person of each group and the small
        tables; a person counted twice for one scope counts twice, as a union of the parts."""
        persons, des, inst = self.inputs.persons, self.inputs.designations, self.inputs.institutions
        reps = pa.array(self.reps)
        # the designations of each group's person (each person of a group has the same ones, as scopes)
        ok = pc.fill_null(pc.is_in(self.p_of_des, value_set=reps), False)
        des = des.filter(ok)
        g_of_des = pa.array(self.groups[pc.filter(self.p_of_des, ok).to_numpy(zero_copy_only=False)])
        county = ScopeKind.COUNTY.value
        cons, unit = ScopeKind.CONSORTIUM.value, ScopeKind.INSTITUTION.value
        parts = [(pa.array(np.arange(len(self.reps), dtype=np.int64)), county,
                  persons.column("county_code").take(reps)),
                 (g_of_des, cons, des.column("consortium_id")),
                 (g_of_des, unit, des.column("township_id")),
                 (g_of_des, unit, des.column("village_id"))]
        county_units = pc.filter(inst, pc.equal(inst.column("tier"), Tier.COUNTY.value))
        via = pa.table({"_g": g_of_des, "consortium_id": des.column("consortium_id")}).join(
            pa.table({"consortium_id": county_units.column("consortium_id"),
                      "c_inst": county_units.column("inst_id")}), "consortium_id", join_type="inner")
        parts.append((via.column("_g"), unit, via.column("c_inst")))
        return self._t(self.labels.mapping("_g", parts))

    def inst_map(self) -> ir.Table:
        """(``inst_id``, ``_s``): each institution and the number of each scope it counts for (its county; a
        member: its consortium and itself)."""
        i = self.inputs.institutions
        members = pc.filter(i, pc.is_valid(i.column("consortium_id")))
        parts = [(i.column("inst_id"), ScopeKind.COUNTY.value, i.column("county_code")),
                 (members.column("inst_id"), ScopeKind.CONSORTIUM.value, members.column("consortium_id")),
                 (members.column("inst_id"), ScopeKind.INSTITUTION.value, members.column("inst_id"))]
        return self._t(self.labels.mapping("inst_id", parts))

    # ----------------------------------------------------------------------------------------- claims

    def claims_in(self, years: list[int], *, fund: bool = False, person: bool = True,
                  persons: ir.Table | None = None) -> ir.Table:
        """Claims of ``years`` with ``_yr``, the institution's county number ``i_cn`` and primary flag ``_prim``
        (:attr:`inst`) and, with ``person``, the person's number ``_p``, scope group ``_g`` and county number
        ``p_cn`` (and every other column of ``persons``, when given instead of :attr:`persons`), with ``fund`` the
        adjudicated fund_paid."""
        assert self.claims is not None
        c = self.claims
        yr = _year_of(c.admit_date)
        rows = self.adjudicated_claims if fund and self.year in years else None
        if rows is not None:
            # the year's claims as adjudicated (each once, fund_paid beside), the other years' from the claims with
            # no fund_paid: the rows and values of the claims LEFT JOIN the adjudication by claim_id, without it
            cols = list(ADJUDICATED_CLAIM_COLUMNS)
            now = rows.filter(dated_in(rows.admit_date, [self.year]))
            now = now.select(*cols, _yr=_year_of(now.admit_date), fund_paid=now.fund_paid.cast("int64"))
            before = c.filter(dated_in(c.admit_date, [y for y in years if y != self.year]))
            c = now.union(before.select(*cols, _yr=yr, fund_paid=ibis.null("int64")))
        else:
            c = c.filter(dated_in(c.admit_date, years)).mutate(_yr=yr)
        inst = self.inst.select("inst_id", "_prim", i_cn=self.inst._cn)
        c = c.join(inst, "inst_id")
        if person:
            per = (self.persons.select("person_id", "_p", "_g", p_cn=self.persons._cn) if persons is None
                   else persons.rename(p_cn="_cn"))
            c = c.join(per, "person_id")
        if fund and self.adj is not None and rows is None:
            a = self.adj.rename(adj_claim_id="claim_id")
            c = c.left_join(a, c.claim_id == a.adj_claim_id)
        return c

    def major_codes(self, years: list[int] | None = None) -> ir.Table:
        """The distinct diagnoses of this year's and last year's claims (or ``years``') that are major diseases:
        matched by :func:`icd_matches` once per distinct code (one small query), not once per claim."""
        c = self.claims
        assert c is not None
        c = c.filter(dated_in(c.admit_date, years or [self.year, self.year - 1]) & c.diagnosis.notnull())
        codes = to_arrow(c.select("diagnosis").distinct(), self.con).column("diagnosis").to_pylist()
        major = sorted(x for x in codes if icd_matches(x, self.params.major_diseases))
        return self._t(pa.table({"_dx": pa.array(major, pa.string())}))

    def person_claim_features(self, wanted: set[str]) -> tuple[ir.Table | pa.Table, set[str], list[str]] | None:
        """The claims measures in ``wanted`` for this year and (``prev__``) last year, in one scan of the claims,
        summed per scope group and person of the claims a measure of one person needs whole (``_g``, ``_sp``):
        ``_sp`` is the person's number on a major-disease claim of either year (with ``major_new_cases``:
        ``_major_now``, ``_major_before``, the person's major-disease claims this year and last year) and on this
        year's admissions (with ``admissions_managed``: ``_adm``), null on the other claims. So some thousands of
        groups and the few persons of such claims are summed, not every person. Also the measures' names and the
        per-person columns (``_major_now``...). Claims in memory (Arrow, the simulator's batch and a folder's) are
        summed in Arrow and numpy (:meth:`_claim_groups_arrow`: the same rows as the engine's statement)."""
        appraised = self.years(wanted)
        fund = self.fund and any(p + f in wanted for f in _FUND_MEASURES for _, p in appraised)
        major = "major_new_cases" in wanted
        years = sorted({y for y, _ in appraised} | {self.year} | ({self.year - 1} if major else set()))
        feats = {prefix + k: (yr, flags, value) for yr, prefix in appraised
                 for k, (flags, value) in _CLAIM_MEASURES.items()
                 if prefix + k in wanted and (fund or k not in _FUND_MEASURES)}
        names = set(feats)
        whole = "admissions_managed" in wanted  # the person's admissions of this year, per person
        if whole:
            feats["_adm"] = (self.year, ("_ip",), "_cnt")
        if major:
            feats["_major_now"] = (self.year, ("_mj",), "_cnt")
            feats["_major_before"] = (self.year - 1, ("_mj",), "_cnt")
        if not feats:
            return None
        own = [k for k in feats if k.startswith("_")]
        if self._claims_in_memory(fund):
            return self._claim_groups_arrow(years, feats, fund=fund, major=major, whole=whole), names, own
        keys = ["_g", "_sp"] if whole or major else ["_g"]
        g = self._shared_cells(years, fund=fund, major=major, whole=whole)
        if g is None:
            g = self._claim_cells(years, fund=fund, major=major, whole=whole)

        def has(yr: int, fl: tuple[str, ...]) -> ir.BooleanValue:
            mask = functools.reduce(operator.or_, [_BITS[f] for f in fl], 1)
            return (g._b & mask) == (mask & ~1 if yr == self.year else mask)
        return g.group_by(keys).aggregate(**{k: _s(has(yr, fl), g[value])
                                             for k, (yr, fl, value) in feats.items()}), names, own

    def _claim_cells(self, years: list[int], *, fund: bool, major: bool, whole: bool) -> ir.Table:
        """The claims of ``years`` counted and summed (``_cnt``, ``_cost``, with ``fund`` ``_fund``) by scope group
        (``_g``), person of a whole measure (``_sp``, with ``whole`` or ``major``) and one int64 of flag bits
        (``_b``: :data:`_BITS`, bit 0 last year): three sums a claim, not one per measure."""
        c, flags, is_major = self._flagged(self.claims_in(years, fund=fund), major)
        cell = flags + ibis.ifelse(c._yr != self.year, 1, 0)
        per_person = [*([(c._yr == self.year) & (c.setting == Setting.INPATIENT)] if whole else []),
                      *([is_major] if is_major is not None else [])]
        keys: dict[str, Any] = {"_g": c._g}
        if per_person:
            keys["_sp"] = ibis.ifelse(functools.reduce(operator.or_, per_person), c._p, ibis.null("int64"))
        sums: dict[str, Any] = {"_cnt": c.count(), "_cost": c.total_cost.sum()}
        if fund:
            sums["_fund"] = c.fund_paid.fill_null(0).sum()
        return c.group_by(keys | {"_b": cell.cast("int64")}).aggregate(**sums)

    def _flagged(self, c: ir.Table, major: bool, years: list[int] | None = None,
                 ) -> tuple[ir.Table, ir.IntegerValue, ir.BooleanValue | None]:
        """The claims ``c`` (of :meth:`claims_in`) with, when ``major``, the major-disease codes of ``years``
        (:meth:`major_codes`) joined; each claim's flags but its year as the bits of one number (:data:`_BITS`);
        whether it is of a major disease (None: not asked)."""
        is_major: ir.BooleanValue | None = None
        if major:
            codes = self.major_codes(years)
            c = c.left_join(codes, c.diagnosis == codes._dx)
            is_major = c._dx.notnull()
        bits = [(c.setting == Setting.OUTPATIENT, _BITS["_op"]), (c.setting == Setting.INPATIENT, _BITS["_ip"]),
                (c.i_cn == c.p_cn, _BITS["_inc"]), *([(is_major, _BITS["_mj"])] if is_major is not None else [])]
        cell = functools.reduce(operator.add, [ibis.ifelse(cond, bit, 0) for cond, bit in bits],
                                c._prim * _BITS["_prim"])
        return c, cell, is_major

    def _shared_cells(self, years: list[int], *, fund: bool, major: bool, whole: bool) -> ir.Table | None:
        """:meth:`_claim_cells` from the share's one statement of every pass's claims (None: no share of this
        pass's years, or fund_paid asked of a pass that did not run it). The statement, run by the first pass that
        asks: the claims of the share's years and of the year before each (last year's measures and new major
        cases) counted and summed by every pass's scope group (``_g_YEAR``), the person of a claim that one pass
        needs whole (``_sp``), the year (``_yr``) and the flags but the year (``_f``); each pass then sums those
        rows of its years by its own group, person and flags (bit 0: not its year), some hundred thousand rows."""
        share = self.share
        if (share is None or share.claims is not self.claims or self.year not in share.years
                or set(share.designations) != set(share.years)
                or share.designations[self.year] is not self.inputs.designations):
            return None
        every = sorted(share.years | {y - 1 for y in share.years})
        if not set(years) <= set(every):
            return None
        key = f"residents {major} {whole}"
        if key not in share.done:
            share.done[key] = (self.year, fund, self._cells_of_every_pass(every, fund=fund, major=major,
                                                                           whole=whole))
        maker, with_fund, cells = share.done[key]
        if fund and (maker != self.year or not with_fund):
            return None
        r = self._t(cells)
        r = r.filter(r._yr.isin(years))
        ip, mj = (r._f & _BITS["_ip"]) > 0, (r._f & _BITS["_mj"]) > 0
        keys: dict[str, Any] = {"_g": r[f"_g_{self.year}"]}
        if whole or major:
            mine = functools.reduce(operator.or_, [*([(r._yr == self.year) & ip] if whole else []),
                                                   *([mj] if major else [])])
            keys["_sp"] = ibis.ifelse(mine, r._sp, ibis.null("int64"))
        sums: dict[str, Any] = {"_cnt": r._cnt.sum(), "_cost": r._cost.sum()}
        if fund:
            sums["_fund"] = r._fund.sum()
        bit = (r._f + ibis.ifelse(r._yr != self.year, 1, 0)).cast("int64")
        return r.group_by(keys | {"_b": bit}).aggregate(**sums)

    def _cells_of_every_pass(self, years: list[int], *, fund: bool, major: bool, whole: bool) -> pa.Table:
        """The share's statement of :meth:`_shared_cells`, run: (``_g_YEAR`` of each pass, ``_sp``, ``_yr``, ``_f``,
        ``_cnt``, ``_cost``, with ``fund`` ``_fund``)."""
        share = self.share
        assert share is not None
        named = {f"_g_{y}": (self.groups if y == self.year else self._groups_of(y, share.designations[y])[1])
                 for y in sorted(share.years)}
        persons = self.inputs.persons.select(["person_id"])
        persons = pa.table({"person_id": persons.column("person_id"),
                            "_p": pa.array(np.arange(persons.num_rows, dtype=np.int64)),
                            "_g": pa.array(self.groups), "_cn": pa.array(self.p_county),
                            **{k: pa.array(v) for k, v in named.items()}})
        c, cell, is_major = self._flagged(self.claims_in(years, fund=fund, persons=self._t(persons)), major, years)
        per_person = [*([c._yr.isin(sorted(share.years)) & (c.setting == Setting.INPATIENT)] if whole else []),
                      *([is_major] if is_major is not None else [])]
        keys: dict[str, Any] = {k: c[k] for k in named} | {"_yr": c._yr.cast("int64"), "_f": cell.cast("int64")}
        if per_person:
            keys["_sp"] = ibis.ifelse(functools.reduce(operator.or_, per_person), c._p, ibis.null("int64"))
        sums: dict[str, Any] = {"_cnt": c.count(), "_cost": c.total_cost.sum()}
        if fund:
            sums["_fund"] = c.fund_paid.fill_null(0).sum()
        return to_arrow(c.group_by(keys).aggregate(**sums), self.con)

    def _claims_in_memory(self, fund: bool) -> bool:
        """Whether the claims the residents' measures read are Arrow tables: the claims, and with ``fund`` the
        adjudication carrying the claims' columns (an adjudication joined by claim_id is the engine's work)."""
        if not isinstance(self.inputs.claims, pa.Table):
            return False
        return not fund or (self.adjudicated_claims is not None and isinstance(self.inputs.adjudicated, pa.Table))

    def _claim_groups_arrow(self, years: list[int], feats: Mapping[str, tuple[int, tuple[str, ...], str]], *,
                            fund: bool, major: bool, whole: bool) -> pa.Table:
        """:meth:`person_claim_features`' sums from claims in memory, without the engine: each claim's person and
        institution as row numbers (Arrow's hash lookups, one for the persons of every run of claims of one person),
        its flags as the bits of a number; the claims counted and summed (exact int64) by scope group and flags,
        each group's measures summed over those cells, and the per-person columns (``_adm``, ``_major_now``...)
        summed by person. A row per scope group with claims (``_sp`` null, the per-person columns 0) and one per
        person of a claim a measure needs whole (the group's measures 0): the same sums per group and per person
        as the engine's statement (claims of unknown persons or institutions left out; nulls as there). Chunks of
        :data:`_CHUNK` claims at a time: no array of every claim beside Arrow's."""
        y = self.year
        persons, inst = self.inputs.persons, self.inputs.institutions
        n_persons = persons.num_rows
        p_county, i_county, i_prim = self.p_county, self.i_county, self.i_prim
        inst_ids = _chunk(inst.column("inst_id"))
        sources: list[tuple[pa.Table, list[int], bool]] = []  # (table, its years, with fund_paid)
        carried = fund and self.adjudicated_claims is not None
        if carried:
            assert isinstance(self.inputs.adjudicated, pa.Table)
            sources.append((self.inputs.adjudicated, [y], True))
        assert isinstance(self.inputs.claims, pa.Table)
        sources.append((self.inputs.claims, [x for x in years if x != y] if carried else years, False))
        picked: list[tuple[pa.Table, bool]] = []
        for table, of_years, with_fund in sources:
            read = [*ADJUDICATED_CLAIM_COLUMNS, *(["fund_paid"] if with_fund else [])]
            picked.append((_rows_of(table.select(read), _in_years(table.column("admit_date"), of_years)), with_fund))
        runs = [_run_heads(t.column("person_id")) for t, _ in picked]
        found = pc.fill_null(pc.index_in(pa.concat_arrays([h.cast(pa.string()) for h, _ in runs]),
                                         value_set=_chunk(persons.column("person_id")).cast(pa.string())), -1)
        person_of_run: np.ndarray = np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)
        groups = self.groups
        n_groups = int(groups.max()) + 1 if len(groups) else 0
        cells = {v: np.zeros(n_groups * 64, dtype=np.int64) for v in ("_cnt", "_cost", "_fund")}
        own = {k: np.zeros(n_persons, dtype=np.int64) for k in feats if k.startswith("_")}
        alone = np.zeros(n_persons, dtype=bool)  # persons with a claim a measure needs whole
        majors: dict[str, bool] = {}
        first_run = 0
        for (table, with_fund), (heads, new) in zip(picked, runs, strict=True):
            of_runs = person_of_run[first_run:first_run + len(heads)]
            first_run += len(heads)
            done = 0  # runs started before the chunk
            for a in range(0, table.num_rows, _CHUNK):
                part = table.slice(a, _CHUNK)
                starts = new[a:a + part.num_rows]
                p = of_runs[done + np.cumsum(starts) - 1]
                done += int(starts.sum())
                i = np.asarray(pc.fill_null(pc.index_in(part.column("inst_id"), value_set=inst_ids), -1)
                               .to_numpy(zero_copy_only=False), dtype=np.int64)
                known = (p >= 0) & (i >= 0)  # the inner joins with the persons and the institutions
                setting = part.column("setting")
                bits = (~_in_years(part.column("admit_date"), [y])).astype(np.int64)  # 1: last year
                bits |= _flag(pc.equal(setting, Setting.OUTPATIENT.value)) << 1
                bits |= _flag(pc.equal(setting, Setting.INPATIENT.value)) << 2
                bits |= (i_county[i] == p_county[p]).astype(np.int64) << 3
                bits |= i_prim[i] << 4
                if major:
                    enc = pc.dictionary_encode(_chunk(part.column("diagnosis")))
                    dx = enc.dictionary.to_pylist()
                    for code in dx:
                        if code not in majors:
                            majors[code] = icd_matches(code, self.params.major_diseases)
                    is_major = np.array([majors[code] for code in dx] + [False], dtype=np.int64)
                    bits |= is_major[pc.fill_null(enc.indices, len(dx)).to_numpy(zero_copy_only=False)] << 5
                values = {"_cnt": np.ones(part.num_rows, dtype=np.int64),
                          "_cost": pc.fill_null(part.column("total_cost").cast(pa.int64()), 0).to_numpy(),
                          "_fund": (pc.fill_null(part.column("fund_paid").cast(pa.int64()), 0).to_numpy()
                                    if with_fund else np.zeros(part.num_rows, dtype=np.int64))}
                p, bits = p[known], bits[known]
                values = {k: v[known] for k, v in values.items()}
                cell = groups[p] * 64 + bits
                cells["_cnt"] += np.bincount(cell, minlength=n_groups * 64)
                for v in ("_cost", "_fund"):
                    np.add.at(cells[v], cell, values[v])
                for name, out in own.items():
                    yr, flags, value = feats[name]
                    ok = _flags_in(bits, yr == y, flags)
                    np.add.at(out, p[ok], values[value][ok])
                    alone[p[ok]] = True
                if whole:  # this year's admissions (with none of the per-person columns asked for, still whole)
                    alone[p[(bits & 0b101) == 0b100]] = True
                if major:
                    alone[p[(bits & 0b100000) > 0]] = True
        f = np.tile(np.arange(64, dtype=np.int64), n_groups)
        have = np.flatnonzero(cells["_cnt"].reshape(n_groups, 64).sum(axis=1) > 0) if n_groups else \
            np.zeros(0, dtype=np.int64)
        mine = np.flatnonzero(alone) if own or whole or major else np.zeros(0, dtype=np.int64)
        cols: dict[str, pa.Array] = {"_g": pa.array(np.concatenate([have, groups[mine]]))}
        if whole or major:
            cols["_sp"] = pa.array(np.concatenate([np.zeros(len(have), dtype=np.int64), mine]),
                                   mask=np.arange(len(have) + len(mine)) < len(have))
        for name, (yr, flags, value) in feats.items():
            if name in own:
                got = np.concatenate([np.zeros(len(have), dtype=np.int64), own[name][mine]])
            else:
                ok = _flags_in(f, yr == y, flags)
                per_group = np.where(ok, cells[value], 0).reshape(n_groups, 64).sum(axis=1)
                got = np.concatenate([per_group[have], np.zeros(len(mine), dtype=np.int64)])
            cols[name] = pa.array(got)
        return pa.table(cols)

    # ----------------------------------------------------------------------------------------- features

    def person_features(self, wanted: set[str]) -> tuple[ir.Table, set[str]]:
        """Scope groups (``_g``) with one integer column per available residents' measure in ``wanted``, the sum
        over the group's persons."""
        y, prm = self.year, self.params
        base = self.persons
        age = age_expr(base.birth_date, y)
        base = base.select("person_id", "_p", "_g", population=ibis.literal(1, "int64"),
                           population_30_69=ibis.ifelse((age >= prm.premature_age_min) & (age < prm.premature_age_max),
                                                        1, 0).cast("int64"), age=age)
        have: set[str] = {"population", "population_30_69"}
        pieces: list[ir.Table] = []
        by_number: list[ir.Table] = []  # per person by ``_p``
        claims: ir.Table | None = None  # the claims measures per scope group
        claim_names: set[str] = set()
        if self.claims is not None:
            got = self.person_claim_features(wanted)
            if got is not None:
                grouped, claim_names, own = got
                # computed once (some thousands of rows), read twice: summed per group, and per person
                t = self._t(grouped if isinstance(grouped, pa.Table) else to_arrow(grouped, self.con))
                if claim_names:
                    claims = t.group_by("_g").aggregate(**{n: t[n].sum() for n in sorted(claim_names)})
                if own:
                    mine = t.filter(t._sp.notnull())
                    by_number.append(mine.select(_p=mine._sp, **{k: mine[k] for k in own}))
                have |= claim_names
            if "major_new_cases" in wanted:
                have.add("major_new_cases")
        if "followups" in self.extra:
            pieces.append(self._followups())
            have |= {"managed_hypertension", "standard_hypertension", "controlled_hypertension", "managed_diabetes",
                     "standard_diabetes", "controlled_diabetes", "managed_chronic"}
            if self.claims is not None:
                have.add("admissions_managed")
        if "contracts" in self.extra:
            k = self.extra["contracts"]
            start, end = ibis.date(y, 1, 1), ibis.date(y, 12, 31)
            k = k.filter((k.start_date <= end) & (k.end_date.isnull() | (k.end_date >= start)))
            pieces.append(k.select("person_id").distinct().mutate(contracted=ibis.literal(1, "int64")))
            have.add("contracted")
        if "deaths" in self.extra:
            d = self.extra["deaths"]
            d = d.filter(dated_in(d.death_date, [y]) & _icd(d.cause.fill_null(""), prm.premature_causes))
            pieces.append(d.select("person_id").distinct().mutate(death_flag=ibis.literal(1, "int64")))
            have.add("deaths_premature")
        for piece in by_number:
            piece = piece.rename(_pn="_p")
            base = base.left_join(piece, base._p == piece._pn).drop("_pn")
        for piece in pieces:
            piece = piece.rename(_pid="person_id")
            base = base.left_join(piece, base.person_id == piece._pid).drop("_pid")
        cols = {name: base[name].fill_null(0).cast("int64") for name in base.columns
                if name not in ("person_id", "age", "death_flag") and not name.startswith("_")}
        if "major_new_cases" in have:
            cols["major_new_cases"] = ibis.ifelse((base._major_now.fill_null(0) > 0)
                                                  & (base._major_before.fill_null(0) == 0), 1, 0).cast("int64")
        if "deaths_premature" in have:
            cols["deaths_premature"] = ibis.ifelse(
                (base.age >= prm.premature_age_min) & (base.age < prm.premature_age_max),
                base.death_flag.fill_null(0), 0).cast("int64")
        if "admissions_managed" in have and "admissions_managed" in wanted:
            cols["admissions_managed"] = (base._adm.fill_null(0) * base.managed_chronic.fill_null(0)).cast("int64")
        keep = {k: v for k, v in cols.items() if k in wanted and k in have}
        per = base.select("_g", **keep)
        out = per.group_by("_g").aggregate(**{k: per[k].sum() for k in sorted(keep)}) if keep else \
            per.select("_g").distinct()
        if claims is not None:  # every group of the claims has persons (the claims' persons are joined)
            claims = claims.rename(_gc="_g")
            out = out.left_join(claims, out._g == claims._gc).drop("_gc")
            out = out.mutate(**{n: out[n].fill_null(0).cast("int64") for n in claim_names})
        return out, set(keep) | claim_names

    def _followups(self) -> ir.Table:
        f = self.extra["followups"]
        f = f.filter(dated_in(f.date, [self.year]))
        # the last follow-up of the year (latest date; on one date, not controlled before controlled before unknown)
        # as the greatest of one number per row: its day times 4 plus 2, 1 or 0 for not controlled, controlled or
        # unknown; no window over the rows
        rank = ibis.cases((f.controlled == False, 2), (f.controlled == True, 1), else_=0)  # noqa: E712
        last = f.date.delta(ibis.date(1900, 1, 1), unit="day").cast("int64") * 4 + rank
        # per person in one grouping: for each disease its follow-ups and the greatest of those numbers (a
        # person with any follow-up of the year is under chronic-disease management)
        k = self.params.standard_followups
        got: dict[str, Any] = {}
        for dis in ("hypertension", "diabetes"):
            is_d = f.disease == dis
            got[f"_n_{dis}"] = ibis.ifelse(is_d, 1, 0).sum()
            got[f"_last_{dis}"] = ibis.ifelse(is_d, last, ibis.null("int64")).max()
        per = f.group_by("person_id").aggregate(**got)
        feats: dict[str, Any] = {"managed_chronic": ibis.literal(1, "int64")}
        for dis in ("hypertension", "diabetes"):
            n = per[f"_n_{dis}"]
            feats[f"managed_{dis}"] = (n > 0).cast("int64")
            feats[f"standard_{dis}"] = (n >= k).cast("int64")
            feats[f"controlled_{dis}"] = ibis.ifelse(per[f"_last_{dis}"] % 4 == 1, 1, 0).cast("int64")
        return per.select("person_id", **feats)

    def inst_features(self, wanted: set[str]) -> tuple[ir.Table, set[str]]:
        y, prm = self.year, self.params
        i = self.inst
        prim = i.tier.isin(PRIMARY_TIERS)
        base = i.select("inst_id", _prim=prim, _county=i.tier == Tier.COUNTY, _tcm=i.kind.isin(prm.tcm_kinds),
                        _lead=i.inst_id.isin(self.leads) if self.leads else ibis.literal(False),
                        villages=ibis.ifelse(i.tier == Tier.VILLAGE, 1, 0).cast("int64"))
        have: set[str] = {"villages"}
        pieces: list[ir.Table] = []
        derived: dict[str, Any] = {}
        years = self.years(wanted)
        in_memory = isinstance(self.inputs.claims, pa.Table)
        if self.claims is not None and years:
            for yr, prefix in years:
                have |= {prefix + m for m in ("visits", "visits_primary", "visits_tcm", "discharges", "bed_days",
                                              "discharges_county_tier")}
        if self.claims is not None and years and in_memory:
            pieces.append(self._t(self._inst_claims_arrow(years)))
        elif self.claims is not None and years:
            pieces.append(self._shared("claims", years, self._inst_claims))
        ex = self.extra
        if "referrals" in ex:  # the workflow's referrals, when handed in, instead of the claims' referral_from
            pieces.append(self._workflow_referrals())
            have |= {p + m for _, p in self.years() for m in _REFERRAL_MEASURES} | {"referrals_completed"}
        elif self.claims is not None and years:
            pieces.append(self._t(self._referrals_arrow(years)) if in_memory else
                          self._shared("referrals", years, self._referrals))
            have |= {p + m for _, p in years for m in _REFERRAL_MEASURES}
        if "postings" in ex:
            pieces.append(self._postings())
            have.add("stationed_doctors")
        if "remote_diagnoses" in ex:
            r = ex["remote_diagnoses"]
            r = r.filter((_year_of(r.date) == y) & r.kind.isin(prm.remote_kinds))
            pieces.append(r.group_by(r.from_inst_id.name("inst_id")).aggregate(remote_diagnoses=r.count()))
            have.add("remote_diagnoses")
        if "equipment" in ex:
            e = ex["equipment"]
            e = e.filter((e.year == y) & (e.item.lower() == "ecg") & (e.quantity > 0))
            pieces.append(e.select("inst_id").distinct().mutate(_ecg=ibis.literal(1, "int64")))
            have.add("villages_with_ecg")
        if "staff_income" in ex:
            s = ex["staff_income"]
            s = s.filter(s.year == y)
            pieces.append(s.group_by("inst_id").aggregate(_staff=s.staff.sum(), _income=s.income.sum()))
            have |= {"primary_staff", "primary_income", "lead_staff", "lead_income"}
        if "surveys" in ex:
            v = ex["surveys"]
            v = v.filter(_year_of(v.date) == y)
            pieces.append(v.group_by("inst_id").aggregate(survey_responses=v.count(), satisfied=_n(v.satisfied)))
            have |= {"survey_responses", "satisfied"}
        for table, count, points in (("prescription_reviews", "prescriptions_reviewed", "prescription_points"),
                                     ("record_checks", "records_checked", "record_points")):
            if table in ex:
                q = ex[table]
                q = q.filter(_year_of(q.date) == y)
                pieces.append(q.group_by("inst_id").aggregate(**{count: q.count(), points: q.score.sum()}))
                have |= {count, points}
        for piece in pieces:
            piece = piece.rename(_iid="inst_id")
            base = base.left_join(piece, base.inst_id == piece._iid).drop("_iid")
        z = {name: base[name].fill_null(0).cast("int64") for name in base.columns
             if not name.startswith("_") and name != "inst_id"}
        for prefix in ("", PREV):
            if prefix + "visits" in z:
                derived[prefix + "visits_primary"] = ibis.ifelse(base._prim, z[prefix + "visits"], 0)
                derived[prefix + "visits_tcm"] = ibis.ifelse(base._tcm, z[prefix + "visits"], 0)
                derived[prefix + "discharges_county_tier"] = ibis.ifelse(base._county, z[prefix + "discharges"], 0)
        if "villages_with_ecg" in have:
            derived["villages_with_ecg"] = (z["villages"] * base._ecg.fill_null(0))
        if "primary_staff" in have:
            staff, income = base._staff.fill_null(0), base._income.fill_null(0)
            derived |= {"primary_staff": ibis.ifelse(base._prim, staff, 0),
                        "primary_income": ibis.ifelse(base._prim, income, 0),
                        "lead_staff": ibis.ifelse(base._lead, staff, 0),
                        "lead_income": ibis.ifelse(base._lead, income, 0)}
        cols = {**z, **{k: v.cast("int64") for k, v in derived.items()}}
        keep = {k: v for k, v in cols.items() if k in wanted and k in have}
        return base.select("inst_id", **keep), set(keep)

    def _inst_claims(self, years: list[tuple[int, str]]) -> ir.Table:
        """Per institution (the claims' inst_id as they are: the institutions' own rows keep the known ones): its
        outpatient visits, discharges and bed days of ``years``."""
        c = self.claims
        assert c is not None
        c = c.filter(dated_in(c.admit_date, [y for y, _ in years])).mutate(_yr=_year_of(c.admit_date))
        ip = (c.setting == Setting.INPATIENT) & c.discharge_date.notnull()
        days = ibis.greatest(c.discharge_date.delta(c.admit_date, unit="day"), 1).cast("int64")
        aggs: dict[str, Any] = {}
        for yr, prefix in years:
            this = c._yr == yr
            aggs |= {prefix + "visits": _n(this & (c.setting == Setting.OUTPATIENT)),
                     prefix + "discharges": _n(this & ip), prefix + "bed_days": _s(this & ip, days)}
        return c.group_by("inst_id").aggregate(**aggs)

    def _shared(self, kind: str, years: list[tuple[int, str]],
                make: Callable[[list[tuple[int, str]]], ir.Table]) -> ir.Table:
        """The providers' claims statement ``make`` (per inst_id, a column per measure of each year, named with the
        year's prefix) for ``years``; with a :class:`ClaimsShare` whose years hold them, taken from one statement of
        every year of the share, run by the first pass that asks and read by the others (this year's and last
        year's passes of ``appraise_data``: the claims' ids read and the referrals joined once, not once a year)."""
        share = self.share
        if share is None or share.claims is not self.claims or not {y for y, _ in years} <= share.years:
            return make(years)
        if kind not in share.done:
            share.done[kind] = to_arrow(make([(y, f"_{y}_") for y in sorted(share.years)]), self.con)
        done = share.done[kind]
        cols = {"inst_id": done.column("inst_id")}
        for y, prefix in years:
            tag = f"_{y}_"
            cols |= {prefix + name.removeprefix(tag): done.column(name) for name in done.column_names
                     if name.startswith(tag)}
        return self._t(pa.table(cols))

    def _referrals(self, years: list[tuple[int, str]]) -> ir.Table:
        """Per sending institution: referrals received in ``years``, up or down the tiers."""
        c = self.claims
        assert c is not None
        rank = ibis.cases(*((self.inst.tier == t, r) for t, r in TIER_RANK.items()), else_=0)
        inst = self.inst.select("inst_id", _rank=rank, _tier=self.inst.tier)
        recv = c.filter(dated_in(c.admit_date, [y for y, _ in years]) & c.referral_from.notnull()
                        & (c.referral_from != ""))
        recv = recv.select(r_from=recv.referral_from, r_inst=recv.inst_id, r_yr=_year_of(recv.admit_date))
        ri = inst.rename(r_rank="_rank", r_tier="_tier", r_iid="inst_id")
        recv = recv.join(ri, recv.r_inst == ri.r_iid)
        send = c.select(s_claim=c.claim_id, s_inst=c.inst_id)
        si = inst.rename(s_rank="_rank", s_tier="_tier", s_iid="inst_id")
        send = send.join(si, send.s_inst == si.s_iid)
        j = send.join(recv, send.s_claim == recv.r_from)  # the hash table on the few referred claims
        down = j.r_rank < j.s_rank
        aggs: dict[str, Any] = {}
        for y, prefix in years:
            this = j.r_yr == y
            aggs |= {prefix + "up_referrals": _n(this & (j.r_rank > j.s_rank)),
                     prefix + "down_referrals": _n(this & down),
                     prefix + "down_referrals_from_county": _n(this & down & (j.s_tier == Tier.COUNTY))}
        return j.group_by(j.s_inst.name("inst_id")).aggregate(**aggs)

    def _inst_claims_arrow(self, years: list[tuple[int, str]]) -> pa.Table:
        """:meth:`inst_features`' visits, discharges and bed days of each institution from claims in memory (a
        claim of an unknown institution counts for none), without the engine: each institution's row, 0 where it
        has no claim."""
        inst = self.inputs.institutions
        claims = self.inputs.claims
        assert isinstance(claims, pa.Table)
        n = inst.num_rows
        cols: dict[str, Any] = {"inst_id": inst.column("inst_id")}
        for yr, prefix in years:
            c = _rows_of(claims.select(["inst_id", "setting", "admit_date", "discharge_date"]),
                         _in_years(claims.column("admit_date"), [yr]))
            i = _inst_rows(c.column("inst_id"), inst)
            known = i >= 0
            setting = c.column("setting")
            op = known & _mask(pc.equal(setting, Setting.OUTPATIENT.value))
            ip = known & _mask(pc.equal(setting, Setting.INPATIENT.value)) & _mask(pc.is_valid(c.column(
                "discharge_date")))
            days = (_days(c.column("discharge_date")) - _days(c.column("admit_date")))[ip]
            bed_days = np.zeros(n, dtype=np.int64)
            np.add.at(bed_days, i[ip], np.maximum(days, 1))
            cols |= {prefix + "visits": np.bincount(i[op], minlength=n), prefix + "discharges":
                     np.bincount(i[ip], minlength=n), prefix + "bed_days": bed_days}
        return pa.table({k: v if k == "inst_id" else pa.array(v, pa.int64()) for k, v in cols.items()})

    def _referrals_arrow(self, years: list[tuple[int, str]]) -> pa.Table:
        """:meth:`_referrals` of claims in memory, without the engine: the claims received on referral in
        ``years`` (a few), the claims they name looked up among all the claims by a set of those few ids, paired
        as the engine's inner joins pair them; each institution's row, 0 where it sent none."""
        inst = self.inputs.institutions
        claims = self.inputs.claims
        assert isinstance(claims, pa.Table)
        rank = np.array([TIER_RANK.get(t, 0) for t in inst.column("tier").to_pylist()], dtype=np.int64)
        county = np.array([t == Tier.COUNTY for t in inst.column("tier").to_pylist()], dtype=bool)
        frm = claims.column("referral_from")
        got = pc.and_(pc.is_valid(frm), pc.not_equal(frm, ""))
        got = pc.and_(got, pa.array(_in_years(claims.column("admit_date"), [y for y, _ in years])))
        recv = claims.filter(got).select(["referral_from", "inst_id", "admit_date"])
        r_inst = _inst_rows(recv.column("inst_id"), inst)
        recv = pa.table({"_id": recv.column("referral_from"), "_r": r_inst,
                         "_yr": pc.year(recv.column("admit_date"))}).filter(pa.array(r_inst >= 0))
        sent = pc.is_in(claims.column("claim_id"), value_set=_chunk(pc.unique(recv.column("_id"))))
        send = claims.filter(sent).select(["claim_id", "inst_id"])
        s_inst = _inst_rows(send.column("inst_id"), inst)
        send = pa.table({"_id": send.column("claim_id"), "_s": s_inst}).filter(pa.array(s_inst >= 0))
        pairs = send.join(recv, "_id", join_type="inner")
        s = np.asarray(pairs.column("_s").to_numpy(), dtype=np.int64)
        r = np.asarray(pairs.column("_r").to_numpy(), dtype=np.int64)
        yr = np.asarray(pairs.column("_yr").to_numpy(), dtype=np.int64)
        n = inst.num_rows
        cols: dict[str, Any] = {"inst_id": inst.column("inst_id")}
        for y, prefix in years:
            this = yr == y
            down = this & (rank[r] < rank[s])
            cols |= {prefix + "up_referrals": np.bincount(s[this & (rank[r] > rank[s])], minlength=n),
                     prefix + "down_referrals": np.bincount(s[down], minlength=n),
                     prefix + "down_referrals_from_county": np.bincount(s[down & county[s]], minlength=n)}
        return pa.table({k: v if k == "inst_id" else pa.array(v, pa.int64()) for k, v in cols.items()})

    def _workflow_referrals(self) -> ir.Table:
        """Per sending institution, from the ``referrals`` table: referrals requested in the appraised years whose
        patient arrived (arrived, completed, returned), up or down as the workflow recorded; and those completed
        (completed, returned) in the year, by completion date."""
        r = self.extra["referrals"]
        inst = self.inst.select(_sid=self.inst.inst_id, _stier=self.inst.tier)
        r = r.join(inst, r.from_inst_id == inst._sid)
        came = r.status.isin([s.value for s in ARRIVED])
        done = r.status.isin([s.value for s in COMPLETED])
        asked, finished = _year_of(r.requested_at), _year_of(r.completed_at.fill_null(r.requested_at))
        down = came & (r.direction == "down")
        aggs: dict[str, Any] = {"referrals_completed": _n(done & (finished == self.year))}
        for y, prefix in self.years():
            this = asked == y
            aggs |= {prefix + "up_referrals": _n(this & came & (r.direction == "up")),
                     prefix + "down_referrals": _n(this & down),
                     prefix + "down_referrals_from_county": _n(this & down & (r._stier == Tier.COUNTY))}
        return r.group_by(r.from_inst_id.name("inst_id")).aggregate(**aggs)

    def _postings(self) -> ir.Table:
        y, prm = self.year, self.params
        p = self.extra["postings"]
        frm = self.inst.select(f_id=self.inst.inst_id, f_level=self.inst.level)
        to = self.inst.select(t_id=self.inst.inst_id, t_tier=self.inst.tier)
        p = p.join(frm, p.from_inst_id == frm.f_id).join(to, p.to_inst_id == to.t_id)
        start = ibis.greatest(p.start_date, ibis.date(y, 1, 1))
        end = ibis.least(p.end_date.fill_null(ibis.date(y, 12, 31)), ibis.date(y, 12, 31))
        days = end.delta(start, unit="day") + 1
        p = p.filter(p.title.isin(prm.stationed_titles) & (p.f_level >= prm.stationed_from_min_level)
                     & p.t_tier.isin(PRIMARY_TIERS) & (days >= prm.stationed_min_days))
        return p.group_by(p.to_inst_id.name("inst_id")).aggregate(stationed_doctors=p.staff_id.nunique())


def _sum_over(features: ir.Table, key: str, mapping: ir.Table, names: set[str]) -> ir.Table | None:
    if not names:
        return None
    j = features.join(mapping, key)
    return j.group_by("_s").aggregate(**{n: j[n].sum() for n in sorted(names)})


def compute_measures(inputs: MeasureInputs, *, year: int, params: Parameters, wanted: set[str],
                     backend: str = "duckdb", con: Backend | None = None,
                     share: ClaimsShare | None = None) -> MeasureResult:
    """The measures in ``wanted`` (``name`` or ``prev:name``) for every scope, for ``year``; ``share``: the
    providers' claims statements shared with another pass over the same claims (:class:`ClaimsShare`)."""
    own = con is None
    con = con or connect(backend)
    try:
        eng = _Engine(con, inputs, year, params, share)
        wanted = {m.replace("prev:", PREV) for m in wanted}
        res = {m for m in wanted if MEASURES[m.removeprefix(PREV)].attribution is Attribution.RESIDENTS}
        prov = wanted - res
        frames: list[tuple[pa.Table, tuple[str, ...]]] = []
        available: set[str] = set()
        for feats, key, mapping in ((eng.person_features(res), "_g", eng.person_map()),
                                    (eng.inst_features(prov), "inst_id", eng.inst_map())):
            table, names = feats
            available |= names
            agg = _sum_over(table, key, mapping, names)
            if agg is not None:
                got = to_arrow(agg, con)
                kinds, scopes = eng.labels.label(got.column("_s"))
                got = got.drop_columns(["_s"])
                frames.append((got.add_column(0, "scope", scopes).add_column(0, "scope_kind", kinds),
                               tuple(sorted(names))))
        return MeasureResult(tuple(frames), frozenset(m.replace(PREV, "prev:") for m in available))
    finally:
        if own and con.name != "pyspark":  # the process's one Spark session stays for the next use case
            con.disconnect()


def _melt(wide: pa.Table, names: list[str]) -> pa.Table:
    n = wide.num_rows
    kinds, scopes = wide.column("scope_kind").to_pylist(), wide.column("scope").to_pylist()
    cols: dict[str, list[Any]] = {"scope_kind": [], "scope": [], "measure": [], "value": []}
    for name in names:
        vals = wide.column(name).to_pylist()
        cols["scope_kind"] += kinds
        cols["scope"] += scopes
        cols["measure"] += [name.replace(PREV, "prev:")] * n
        cols["value"] += [0 if v is None else int(v) for v in vals]
    return pa.table({"scope_kind": pa.array(cols["scope_kind"], pa.string()),
                     "scope": pa.array(cols["scope"], pa.string()),
                     "measure": pa.array(cols["measure"], pa.string()),
                     "value": pa.array(cols["value"], pa.int64())})
