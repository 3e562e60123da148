"""Use case: the performance appraisal of a year (绩效考核): indicators, scores and grades.

``appraise_data`` is what ``yigongti appraise`` runs. It computes every indicator of the indicator set for the county,
each consortium and each member institution; scores consortia and institutions by the set's weights; grades them by
``policy.settlement.grades``. Last year's indicators and scores are computed too when the claims cover every month of
the year before, for the year-on-year columns of the report (and the growth indicators need the same).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yigongti.appraisal.domain import (
    IndicatorValue,
    checklist_value,
    indicator_value,
    points,
    quantize,
)
from yigongti.appraisal.engine import ClaimsShare, MeasureInputs, compute_measures
from yigongti.appraisal.indicator_sets import folder_indicator_set, load_indicator_set
from yigongti.appraisal.indicators import (
    MEASURES,
    SCOPE_KINDS,
    Indicator,
    IndicatorSet,
    ScopeKind,
    measures_in,
    parse_expression,
)
from yigongti.care.engine import controlled_expr, fill_controlled
from yigongti.core.collector import collector_paused
from yigongti.core.engine import Backend, dated_in, memtables_released
from yigongti.core.policy import Policy
from yigongti.core.problems import InvalidInput, Problem
from yigongti.datafolder.folder import DataFolder
from yigongti.datafolder.schema import APPRAISAL_TABLES
from yigongti.workforce.engine import appraisal_tables, reference_problems

__all__ = [
    "ROW",
    "AppraisalResult",
    "appraise_data",
    "appraise_folder",
    "appraisal_written",
    "write_appraisal",
]


# The column of an appraisal table handed in as an engine table (``appraise_data(tables=...)``): each row's position
# in the table (0 for the first), for the problems' row numbers
ROW = "_row"


@dataclass(frozen=True)
class AppraisalResult:
    """``indicators``: CONTRACT columns (scope, indicator, numerator, denominator, value) + year, scope_kind, unit,
    status (``ok`` / ``not_computable``), reason. ``scores``: unit_id, year, score, grade, scope_kind (the shape of the
    ``scores`` input table; units without any computable weighted indicator are left out and listed in ``pending``).
    ``points``: unit_id, indicator, weight, points. ``previous``: last year's indicators, or None."""

    year: int
    indicator_set: IndicatorSet
    indicators: pa.Table
    scores: pa.Table
    points: pa.Table
    previous: pa.Table | None
    names: dict[str, str] = field(default_factory=dict)
    pending: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    grades: tuple[tuple[str, Decimal], ...] = ()  # (name, min score), highest first, from the policy
    previous_scores: dict[str, Decimal] = field(default_factory=dict)  # last year's scores, same indicator set


def _fmt(d: Decimal | None, *, places: int | None = None) -> str | None:
    if d is None:
        return None
    if places is not None:
        return f"{d:.{places}f}"
    if d == d.to_integral_value():
        return str(int(d))
    return f"{d.quantize(Decimal('0.01')):f}"


def _scopes(data: DataFolder) -> list[tuple[str, str]]:
    cons = data["consortia"]
    counties = sorted(set(cons.column("county_code").to_pylist()))
    inst = data["institutions"]
    members = pc.filter(inst, pc.is_valid(inst.column("consortium_id")))
    return ([(ScopeKind.COUNTY, c) for c in counties]
            + [(ScopeKind.CONSORTIUM, c) for c in sorted(cons.column("consortium_id").to_pylist())]
            + [(ScopeKind.INSTITUTION, i) for i in sorted(members.column("inst_id").to_pylist())])


def _names(data: DataFolder) -> dict[str, str]:
    names = dict(zip(data["consortia"].column("consortium_id").to_pylist(),
                     data["consortia"].column("name").to_pylist(), strict=True))
    names |= dict(zip(data["institutions"].column("inst_id").to_pylist(),
                      data["institutions"].column("name").to_pylist(), strict=True))
    for c in set(data["consortia"].column("county_code").to_pylist()):
        names[c] = f"全县 {c} / county {c}"
    return names


def _checklists(data: DataFolder, year: int, iset: IndicatorSet) -> dict[tuple[str, str], tuple[int, int]] | None:
    """(scope, indicator id) -> (passed, items) from the checklist table; county rows add up its consortia."""
    table = data.get("checklist")
    if table is None:
        return None
    table = pc.filter(table, pc.equal(table.column("year"), year))
    county_of = dict(zip(data["consortia"].column("consortium_id").to_pylist(),
                         data["consortia"].column("county_code").to_pylist(), strict=True))
    out: dict[tuple[str, str], tuple[int, int]] = {}
    ids = [i.id for i in iset.indicators if i.kind == "checklist"]
    for unit, item, passed in zip(*(table.column(c).to_pylist() for c in ("unit_id", "item", "passed")), strict=True):
        for ind in ids:
            if item == ind or item.startswith(ind + "."):
                targets = [unit] + ([county_of[unit]] if unit in county_of else [])
                for t in targets:
                    p, n = out.get((t, ind), (0, 0))
                    out[(t, ind)] = (p + int(bool(passed)), n + 1)
    return out


def _whole_year(claims: pa.Table | ir.Table, year: int) -> bool:
    """Whether the claims have admissions in every month of ``year`` (last year's costs are only comparable then)."""
    if isinstance(claims, ir.Table):  # a province's claims in the engine: one scan of admit_date
        d = claims.admit_date
        n = claims.filter(dated_in(d, [year])).aggregate(n=d.month().nunique()).to_pyarrow()["n"][0].as_py()
        return int(n or 0) == 12
    dates = pc.unique(claims.column("admit_date"))  # a few hundred days, not a month per claim
    months = pc.unique(pc.filter(pc.month(dates), pc.equal(pc.year(dates), year)))
    return len(months) == 12


def _covers(adjudicated: pa.Table | ir.Table | None, claims: pa.Table | ir.Table | None, year: int) -> bool:
    if adjudicated is None or claims is None:
        return False
    if isinstance(claims, ir.Table):  # the engine's adjudication of these very claims: it covers the year when it
        # holds any of its claims (``run`` appraises last year too, whose claims its adjudication of the year lacks)
        t = adjudicated if isinstance(adjudicated, ir.Table) and "admit_date" in adjudicated.columns else claims
        d = t.admit_date
        return int(t.filter(dated_in(d, [year])).count().to_pyarrow().as_py() or 0) > 0
    years = pc.year(claims.column("admit_date"))
    first = pc.index(years, year).as_py()  # the year's first claim (-1: none)
    if first < 0:
        return False
    done = adjudicated.column("claim_id")
    if pc.any(pc.equal(done, claims.column("claim_id")[first])).as_py():  # the usual case: the year's first claim
        return True  # is among them (one comparison per adjudicated claim, not a hash set of them all)
    ids = pc.filter(claims.column("claim_id"), pc.equal(years, year))
    return bool(pc.any(pc.is_in(ids, value_set=done)).as_py())


def _of_year(designations: pa.Table, year: int) -> pa.Table:
    return pc.filter(designations, pc.equal(designations.column("year"), year))


def _indicator_rows(data: DataFolder, year: int, iset: IndicatorSet, designations: pa.Table,
                    adjudicated: pa.Table | ir.Table | None, backend: str, *, claims: pa.Table | ir.Table | None,
                    con: Backend | None = None, whole: bool | None = None,
                    tables: Mapping[str, ir.Table] | None = None, adjudicated_claims: bool = False,
                    share: ClaimsShare | None = None) -> IndicatorPass:
    """``whole``: whether the claims cover every month of the year before (computed when None). ``tables``: appraisal
    tables as engine tables of ``con``, instead of ``data``'s. ``adjudicated_claims``: as :func:`appraise_data`'s.
    ``share``: the providers' claims statements shared with the other year's pass (:class:`ClaimsShare`)."""
    # the share's table of the year when it has one (the same table: its scope groups computed once)
    des = share.designations[year] if share is not None and year in share.designations else \
        _of_year(designations, year)
    extra: dict[str, pa.Table | ir.Table] = {t.name: data[t.name] for t in APPRAISAL_TABLES
                                             if data.get(t.name) is not None}
    extra |= {name: t.drop(ROW) for name, t in (tables or {}).items()}
    extra |= appraisal_tables(data, year)  # 2.1 and 2.3 from the workforce tables when the folder has them
    adj = adjudicated if _covers(adjudicated, claims, year) else None
    inputs = MeasureInputs(data["institutions"], data["consortia"], data["persons"], des, claims, adj, extra,
                           previous_year=claims is not None and (_whole_year(claims, year - 1) if whole is None
                                                                 else whole),
                           adjudicated_claims=adjudicated_claims and adj is not None)
    # a caller's connection (``run`` on a province) lets go of the measures' in-memory tables (the persons, the
    # year's designations, the scope maps) once they are computed, not when it closes: last year's pass and the
    # settlement do not hold this year's
    with memtables_released(con) if con is not None else nullcontext():
        result = compute_measures(inputs, year=year, params=iset.parameters, wanted=iset.needed_measures(),
                                  backend=backend, con=con, share=share)
    scopes = _scopes(data)
    checks = _checklists(data, year, iset)
    columns = result.columns(pa.array([k for k, _ in scopes], pa.string()), pa.array([s for _, s in scopes],
                                                                                    pa.string()))
    with collector_paused():
        return indicator_pass(iset, year, scopes, columns, checks)


@dataclass(frozen=True)
class IndicatorPass:
    """Every indicator for every scope, coded: for each indicator of the set (in order), the positions of the scopes
    it is computed for (``rows``, into ``scopes``), the distinct values it takes (``distinct``) and which one each of
    those scopes has (``which``); ``table``: the indicator rows as written (indicators.csv)."""

    scopes: list[tuple[str, str]]
    coded: list[tuple[np.ndarray, np.ndarray, list[IndicatorValue]]]
    table: pa.Table

    def values(self) -> dict[tuple[str, str], list[IndicatorValue]]:
        """Each scope's indicator values, in the set's order."""
        out: dict[tuple[str, str], list[IndicatorValue]] = {key: [] for key in self.scopes}
        for rows, which, distinct in self.coded:
            for i, j in zip(rows.tolist(), which.tolist(), strict=True):
                out[self.scopes[i]].append(distinct[j])
        return out


def indicator_columns(iset: IndicatorSet, year: int, scopes: list[tuple[str, str]], columns: Mapping[str, pa.Array],
                      checks: Mapping[tuple[str, str], tuple[int, int]] | None,
                      ) -> tuple[dict[tuple[str, str], list[IndicatorValue]], pa.Table]:
    """Every indicator of ``iset`` for every scope (:func:`indicator_pass`) as each scope's values and the rows."""
    done = indicator_pass(iset, year, scopes, columns, checks)
    return done.values(), done.table


def _distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of an int64 ``matrix`` in ascending (lexicographic) order and each row's position among
    them: ``np.unique(matrix, axis=0, return_inverse=True)``, by one lexsort of the columns rather than a sort of
    the rows as structured values (a tenth of its CPU over a batch of 25 simulated counties, 6,000 scopes)."""
    order = np.lexsort(matrix.T[::-1])
    ordered = matrix[order]
    new = np.ones(len(ordered), dtype=bool)
    new[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    inverse = np.empty(len(ordered), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


def indicator_pass(iset: IndicatorSet, year: int, scopes: list[tuple[str, str]], columns: Mapping[str, pa.Array],
                   checks: Mapping[tuple[str, str], tuple[int, int]] | None) -> IndicatorPass:
    """Every indicator of ``iset`` for every scope, one indicator at a time over the whole measure columns
    (``columns``: measure key -> int64 column aligned with ``scopes``, the available measures only; money in fen).

    A value depends only on the raw measures its numerator and denominator name: each distinct combination is
    evaluated once with :func:`indicator_value` (the same Decimal arithmetic, rounding and reasons as one scope at a
    time) and its printed fields formatted once; the rows are then put in scope order by one sort."""
    dec = iset.scoring.decimals
    kinds = [k for k, _ in scopes]
    kind_codes = np.array([SCOPE_KINDS.index(k) for k in kinds], dtype=np.int64)
    scope_col = pa.array([s for _, s in scopes], pa.string())
    kind_col = pa.array(kinds, pa.string())
    coded: list[tuple[np.ndarray, np.ndarray, list[IndicatorValue]]] = []
    parts: list[pa.Table] = []
    for pos, ind in enumerate(iset.indicators):
        rows = np.flatnonzero(np.isin(kind_codes, [SCOPE_KINDS.index(k) for k in ind.scopes]))
        keys: list[object]
        if ind.kind == "checklist":
            keys = [None if checks is None else checks.get((scopes[i][1], ind.id), (0, 0)) for i in rows]
            distinct = list(dict.fromkeys(keys))
            where = {k: j for j, k in enumerate(distinct)}
            inverse = np.array([where[k] for k in keys], dtype=np.int64)

            def checklist_key(key: object, ind: Indicator = ind) -> IndicatorValue:
                pn = key if isinstance(key, tuple) else None
                return checklist_value(ind, pn[0] if pn else None, pn[1] if pn else None, decimals=dec)
            evaluate_key: Callable[[object], IndicatorValue] = checklist_key
        else:
            names = sorted((measures_in(parse_expression(ind.numerator))
                            | measures_in(parse_expression(ind.denominator))) & columns.keys())
            if names and len(rows):  # each distinct combination of the raw measures, and where each row has it
                matrix = np.column_stack([columns[m].to_numpy(zero_copy_only=False)[rows] for m in names])
                uniq, inverse = _distinct_rows(matrix)
                distinct = list(map(tuple, uniq.tolist()))  # Python ints, one conversion for the whole array
            else:  # no measure available (or no scope): one combination, the empty one
                distinct, inverse = ([()] if len(rows) else []), np.zeros(len(rows), dtype=np.int64)

            money = [MEASURES[m.removeprefix("prev:")].money for m in names]  # once per indicator, not per key

            def measures_key(key: object, ind: Indicator = ind, names: list[str] = names,
                             money: list[bool] = money) -> IndicatorValue:
                assert isinstance(key, tuple)
                mv: dict[str, Decimal | None] = {}
                for m, raw, fen in zip(names, key, money, strict=True):
                    d = Decimal(raw)
                    mv[m] = d / 100 if fen else d
                return indicator_value(ind, mv, decimals=dec)
            evaluate_key = measures_key
        evaluated = [evaluate_key(key) for key in distinct]
        fields = [(_fmt(v.numerator), _fmt(v.denominator), _fmt(v.value, places=dec),
                   "ok" if v.computable else "not_computable", v.reason) for v in evaluated]
        coded.append((rows, inverse, evaluated))
        m = len(rows)
        at = pa.array(inverse, pa.int64())
        picked = pa.array(rows, pa.int64())

        def column(k: int, fields: list[tuple[str | None, str | None, str | None, str, str]] = fields,
                   at: pa.Array = at) -> pa.Array:
            return pc.take(pa.array([f[k] for f in fields], pa.string()), at)
        parts.append(pa.table({
            "_scope": picked, "_ind": pa.array(np.full(m, pos, dtype=np.int64)),
            "scope": pc.take(scope_col, picked),
            "indicator": pa.array([ind.id] * m, pa.string()),
            "numerator": column(0), "denominator": column(1), "value": column(2),
            "year": pa.array(np.full(m, year, dtype=np.int64)),
            "scope_kind": pc.take(kind_col, picked),
            "unit": pa.array([ind.unit.value] * m, pa.string()),
            "status": column(3), "reason": column(4)}))
    if parts:
        table = pa.concat_tables(parts)
        table = table.take(pc.sort_indices(table, [("_scope", "ascending"), ("_ind", "ascending")]))
        table = table.drop_columns(["_scope", "_ind"])
    else:
        table = pa.table({k: pa.array([], pa.int64() if k == "year" else pa.string())
                          for k in ("scope", "indicator", "numerator", "denominator", "value", "year", "scope_kind",
                                    "unit", "status", "reason")})
    return IndicatorPass(list(scopes), coded, table)


def appraise_data(data: DataFolder, year: int, policy: Policy, designations: pa.Table,
                  adjudicated: pa.Table | ir.Table | None, *, indicator_set: IndicatorSet | None = None,
                  backend: str = "duckdb", with_previous: bool = True, claims: ir.Table | None = None,
                  con: Backend | None = None, tables: Mapping[str, ir.Table] | None = None,
                  checked: bool = False, adjudicated_claims: bool = False) -> AppraisalResult:
    """Indicators, scores and grades of ``year``. ``designations``: designations with a year column (those of
    ``year`` are used; those of ``year - 1`` for last year's indicators when present). ``adjudicated``: at least
    claim_id and fund_paid (int fen) for the claims of the year; None leaves the fund indicators not computable.
    ``claims`` and ``con``: a province's claims as an engine table of ``con`` (read from Parquet, never held in
    memory; ``adjudicated`` is then the engine's adjudication of them), instead of the folder's claims table.
    ``tables``: appraisal tables of persons (follow-ups, contracts, ...) as engine tables of ``con`` with a
    :data:`ROW` column, instead of ``data``'s (a province's, never held in memory). ``checked``: the references of
    the appraisal tables were checked already, by an earlier call on the same tables (the simulator: every year of
    a county has the tables of its observed year, checked when it was prepared; keys prefixed alike in a batch).
    ``adjudicated_claims``: ``adjudicated`` is the adjudication of the claims (``claims``, else the folder's)
    carrying the claims' columns (:data:`~yigongti.appraisal.engine.ADJUDICATED_CLAIM_COLUMNS`, as ``settle``'s
    spill and ``benefits.service.adjudicate_data``'s table do): the year's measures read the year's claims from it,
    not from the claims joined with it by claim_id."""
    iset = indicator_set or load_indicator_set()
    tables = dict(tables or {})
    if not checked:
        _check_references(data, tables, con)
    followups = data.get("followups")
    if followups is not None:  # a follow-up without `controlled` is judged by its readings (policy [care])
        data = DataFolder(data.path, {**data.tables, "followups": fill_controlled(followups, policy.care)})
    if "followups" in tables:  # the same, in the engine, as part of the measures' query (a given cell is kept)
        f = tables["followups"]
        tables["followups"] = f.mutate(controlled=controlled_expr(f, policy.care))
    des_years = set(pc.unique(designations.column("year")).to_pylist())
    if year not in des_years:
        raise InvalidInput([Problem("designations", 0, "year", f"no designations for {year} / 没有 {year} 年的定点")])
    source: pa.Table | ir.Table | None = claims if claims is not None else data.get("claims")
    whole = source is not None and _whole_year(source, year - 1)  # one scan, for the measures and the notes
    prev_des = designations if year - 1 in des_years else _relabel(designations, year, year - 1)
    share = None
    if with_previous and whole and isinstance(source, ir.Table):  # a province's claims in the engine: the claims
        # statements of this year's pass give last year's too, and its pass the scope groups of last year's
        share = ClaimsShare(source, frozenset({year, year - 1}),
                            {year: _of_year(designations, year), year - 1: _of_year(prev_des, year - 1)})
    done = _indicator_rows(data, year, iset, designations, adjudicated, backend, claims=source, con=con,
                           whole=whole, tables=tables, adjudicated_claims=adjudicated_claims and source is not None,
                           share=share)
    notes: list[str] = []
    previous = None
    previous_scores: dict[str, Decimal] = {}
    if source is not None and not whole:
        notes.append(f"{year - 1} 年结算清单不满12个月，增长率指标与同比不可计算 / the claims of {year - 1} do not "
                     "cover every month: growth indicators and the change on last year are not computed")
    if with_previous and whole:
        if year - 1 not in des_years:
            notes.append(f"{year - 1} 年无定点数据，按 {year} 年定点归属 / no designations for {year - 1}: last "
                         f"year's indicators use {year}'s designations")
        last_year = _indicator_rows(data, year - 1, iset, prev_des, adjudicated, backend, claims=source, con=con,
                                    tables=tables, share=share)
        previous = last_year.table
        with collector_paused():
            last_scores, _ = score_columns(iset, last_year)
        previous_scores = {scope: value for _, _, scope, value in last_scores if value is not None}
    dec = iset.scoring.decimals
    with collector_paused():
        units, points = score_columns(iset, done)
    grade_of: dict[Decimal, str] = {}
    score_rows: dict[str, list[object]] = {k: [] for k in ("unit_id", "year", "score", "grade", "scope_kind")}
    pending: list[str] = []
    for _, kind, scope, value in units:
        if value is None:
            pending.append(scope)
            continue
        if value not in grade_of:
            grade_of[value] = policy.settlement.grade(value)[0]
        for k, x in (("unit_id", scope), ("year", year), ("score", _fmt(value, places=dec)),
                     ("grade", grade_of[value]), ("scope_kind", kind)):
            score_rows[k].append(x)
    types = {"year": pa.int64()}
    scores = pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in score_rows.items()})
    grades = tuple((g.name, g.min_score) for g in policy.settlement.grades)
    return AppraisalResult(year, iset, done.table, scores, points, previous, _names(data), tuple(pending),
                           tuple(notes), grades, previous_scores)


def _places(d: Decimal) -> int:
    """Decimal places of a finite Decimal (0 for an integer)."""
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(-exponent, 0)


def score_columns(iset: IndicatorSet, done: IndicatorPass) -> tuple[list[tuple[int, str, str, Decimal | None]],
                                                                   pa.Table]:
    """:func:`~yigongti.appraisal.domain.score` of every consortium and member institution at once, from the coded
    indicator values: the points of each distinct (indicator, scope kind, value) by :func:`points` once, kept as
    integers of the set's last decimal; a unit's earned points and counted weight summed as integers over the
    indicators; its score by the same Decimal division and rounding once per distinct (earned, counted).
    Returns the units in scope order (position, scope kind, scope, score or None: pending) and the points rows
    (unit_id, indicator, weight, points) in the order ``score`` lists them, unit by unit."""
    dec = iset.scoring.decimals
    scopes = done.scopes
    n = len(scopes)
    kinds = np.array([SCOPE_KINDS.index(k) for k, _ in scopes], dtype=np.int64)
    scale = max([_places(ind.weight_for(k)) for ind in iset.indicators for k in ScopeKind] + [0])
    units: list[tuple[int, str, str, Decimal | None]] = []
    parts: list[pa.Table] = []
    scope_col = pa.array([s for _, s in scopes], pa.string())
    texts: dict[Decimal | None, str | None] = {}
    for kind in (ScopeKind.CONSORTIUM, ScopeKind.INSTITUTION):
        at = np.flatnonzero(kinds == SCOPE_KINDS.index(kind))
        earned = np.zeros(n, dtype=np.int64)
        counted = np.zeros(n, dtype=object)  # Python integers: a weight may have many decimals
        weighted = 0
        for pos, (ind, (rows, which, distinct)) in enumerate(zip(iset.indicators, done.coded, strict=True)):
            w = ind.weight_for(kind)
            if w <= 0 or kind not in ind.scopes:
                continue
            weighted += 1
            full = np.full(n, len(distinct), dtype=np.int64)  # a scope without the indicator: not computable
            full[rows] = which
            mine = full[at]
            # the points of the values this kind's units have (the other kinds' values are never looked up here)
            used = np.zeros(len(distinct) + 1, dtype=bool)
            used[mine] = True
            got = [None if v.value is None or not used[j] else points(ind, v.value, kind, decimals=dec)
                   for j, v in enumerate(distinct)]
            ok = np.array([p is not None for p in got] + [False], dtype=bool)
            whole = np.array([0 if p is None else int(p.scaleb(dec)) for p in got] + [0], dtype=np.int64)
            earned[at] += whole[mine]
            weight = np.array([int(w.scaleb(scale)), 0], dtype=object)
            counted[at] += weight[np.where(ok[mine], 0, 1)]
            for p in got:
                if p not in texts:
                    texts[p] = _fmt(p, places=dec)
            text = pa.array([texts[p] for p in got] + [None], pa.string())
            m = len(at)
            parts.append(pa.table({
                "_unit": pa.array(at, pa.int64()), "_ind": pa.array(np.full(m, pos, dtype=np.int64)),
                "unit_id": pc.take(scope_col, pa.array(at, pa.int64())),
                "indicator": pa.array([ind.id] * m, pa.string()),
                "weight": pa.array([_fmt(w)] * m, pa.string()),
                "points": pc.take(text, pa.array(mine, pa.int64()))}))
        totals: dict[tuple[int, int], Decimal | None] = {}
        for i in at.tolist():
            key = (int(earned[i]), int(counted[i]))
            if key not in totals:
                e, c = Decimal(key[0]).scaleb(-dec), Decimal(key[1]).scaleb(-scale)
                if iset.scoring.missing == "zero":
                    totals[key] = quantize(e, dec) if weighted else None
                else:
                    totals[key] = quantize(e * 100 / c, dec) if c > 0 else None
            units.append((i, kind.value, scopes[i][1], totals[key]))
    units.sort(key=lambda u: u[0])
    if parts:
        table = pa.concat_tables(parts)
        table = table.take(pc.sort_indices(table, [("_unit", "ascending"), ("_ind", "ascending")]))
        table = table.drop_columns(["_unit", "_ind"])
    else:
        table = pa.table({k: pa.array([], pa.string()) for k in ("unit_id", "indicator", "weight", "points")})
    return units, table


def _relabel(designations: pa.Table, src: int, dst: int) -> pa.Table:
    des = pc.filter(designations, pc.equal(designations.column("year"), src))
    i = des.column_names.index("year")
    return des.set_column(i, "year", pa.array([dst] * des.num_rows, pa.int64()))


def _check_references(data: DataFolder, tables: Mapping[str, ir.Table] | None = None,
                      con: Backend | None = None) -> None:
    """Institution and person ids in the appraisal tables must exist (file:row:column problems otherwise); those of
    ``tables`` (engine tables of ``con`` with a :data:`ROW` column) are looked up in the engine."""
    inst_ids = data["institutions"].column("inst_id")
    person_ids = data["persons"].column("person_id")
    problems: list[Problem] = []
    refs = {"postings": (("from_inst_id", inst_ids), ("to_inst_id", inst_ids)),
            "remote_diagnoses": (("from_inst_id", inst_ids), ("to_inst_id", inst_ids)),
            "equipment": (("inst_id", inst_ids),), "staff_income": (("inst_id", inst_ids),),
            "followups": (("person_id", person_ids), ("inst_id", inst_ids)), "deaths": (("person_id", person_ids),),
            "surveys": (("inst_id", inst_ids),), "contracts": (("person_id", person_ids), ("inst_id", inst_ids)),
            "referrals": (("person_id", person_ids), ("from_inst_id", inst_ids), ("to_inst_id", inst_ids))}
    unknown = _unknown_ids(data, [(name, col, known) for name, cols in refs.items()
                                  if not (tables and name in tables) and data.get(name) is not None
                                  for col, known in cols])
    for name, cols in refs.items():
        if tables and name in tables:
            assert con is not None
            problems += _engine_references(con, name, tables[name], cols)
            continue
        t = data.get(name)
        if t is None:
            continue
        for col, _ in cols:
            for i in pc.indices_nonzero(unknown[name, col]).to_pylist()[:100]:
                problems.append(Problem(f"{name}.csv", i + 2, col,
                                        f"'{t.column(col)[i].as_py()}' is not a known id / 编码不存在"))
    problems += reference_problems(data)
    checklist = data.get("checklist")
    if checklist is not None:
        units = pa.concat_arrays([data["consortia"].column("consortium_id").combine_chunks(),
                                  data["consortia"].column("county_code").combine_chunks(),
                                  inst_ids.combine_chunks()])
        bad = pc.invert(pc.is_in(checklist.column("unit_id"), value_set=units))
        for i in pc.indices_nonzero(bad).to_pylist()[:100]:
            problems.append(Problem("checklist.csv", i + 2, "unit_id",
                                    f"'{checklist.column('unit_id')[i].as_py()}' is not a consortium, county or "
                                    "institution / 不是医共体、县或机构编码"))
    if problems:
        raise InvalidInput(problems)


def _unknown_ids(data: DataFolder, wanted: list[tuple[str, str, pa.ChunkedArray]]) -> dict[tuple[str, str], pa.Array]:
    """(table, column) -> which of its rows name no value of the known ids given with it (a null names none), for
    each of ``wanted`` (table, column, known ids): the columns checked against the same ids looked up together,
    one hash table of those ids (a province's 720,000 persons' once, not once for each of the follow-ups', the
    deaths' and the contracts' columns: 0.43 -> 0.23 CPU s)."""
    out: dict[tuple[str, str], pa.Array] = {}
    for known in {id(k): k for _, _, k in wanted}.values():
        mine = [(name, col, data[name].column(col)) for name, col, k in wanted if k is known]
        if len({c.type for _, _, c in mine}) > 1:  # columns of other types: looked up one by one
            for name, col, c in mine:
                out[name, col] = pc.invert(pc.is_in(c, value_set=known))
            continue
        together = pa.chunked_array([chunk for _, _, c in mine for chunk in c.chunks], mine[0][2].type)
        bad = pc.invert(pc.is_in(together, value_set=known))
        at = 0
        for name, col, c in mine:
            out[name, col] = bad.slice(at, len(c))
            at += len(c)
    return out


def _engine_references(con: Backend, name: str, table: ir.Table,
                       cols: tuple[tuple[str, pa.ChunkedArray], ...]) -> list[Problem]:
    """:func:`_check_references` of one engine table: its first 100 rows per column whose id is not known (a null
    id is not known either), in the table's order."""
    problems: list[Problem] = []
    for col, known in cols:
        ids = ibis.memtable(pa.table({"_id": known}))
        bad = table.filter(~table[col].isin(ids._id).fill_null(False))
        rows = con.to_pyarrow(bad.select(ROW, col).order_by(ROW).limit(100))
        for i, value in zip(rows.column(ROW).to_pylist(), rows.column(col).to_pylist(), strict=True):
            problems.append(Problem(f"{name}.csv", i + 2, col, f"'{value}' is not a known id / 编码不存在"))
    return problems


def appraise_folder(folder: Path | str, year: int, policy: Policy, *, indicator_set: IndicatorSet | None = None,
                    backend: str = "duckdb") -> AppraisalResult:
    """Read a data folder and appraise ``year`` with ``indicator_set`` (default: the folder's indicator_set.toml, else
    national-2024); the year's designations and adjudicated claims are read from the folder when there, else computed
    by ``enroll`` and ``adjudicate`` (as ``settle`` does)."""
    from yigongti.benefits.service import settlement_inputs
    from yigongti.datafolder.folder import read_folder

    data = read_folder(folder)
    designations, adjudicated = settlement_inputs(data, year, policy, backend=backend)  # every year's
    iset = indicator_set or folder_indicator_set(Path(folder))
    return appraise_data(data, year, policy, designations, adjudicated, indicator_set=iset, backend=backend)


def write_appraisal(result: AppraisalResult, out: Path | str, *, reports: bool = True) -> list[Path]:
    """Write indicators.csv, scores.csv, points.csv (and appraisal.html, appraisal.xlsx) into ``out``: first into a
    temporary folder, then moved file by file, so a failure leaves no half-written output."""
    with appraisal_written(result, out, reports=reports) as written:
        pass
    return written


@contextmanager
def appraisal_written(result: AppraisalResult, out: Path | str, *, reports: bool = True) -> Iterator[list[Path]]:
    """:func:`write_appraisal` around the body of the ``with``: the tables are written on entering, the reports
    drawn meanwhile (by other processes for a province: ``appraisal.report.rendering``), and every file is moved
    into ``out`` when the body ends; the yielded list then holds their paths. If the body raises, nothing is
    written."""
    import os
    import shutil
    import tempfile

    from yigongti.datafolder.folder import write_table

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".appraise-", dir=out))
    written: list[Path] = []
    try:
        write_table(result.indicators, tmp, "indicators")
        write_table(result.scores, tmp, "scores")
        write_table(result.points, tmp, "points")
        if reports:
            from yigongti.appraisal.report import rendering

            with rendering(result) as rendered:
                yield written
                # the collector off while the reports are made: the workbook's cells (a million at 1 M persons) and
                # the charts' artists would otherwise run its passes over every object of the process again and
                # again (a fifth of the reports' CPU)
                with collector_paused():
                    page, workbook = rendered()
                (tmp / "appraisal.html").write_text(page, encoding="utf-8")
                (tmp / "appraisal.xlsx").write_bytes(workbook)
        else:
            yield written
        for path in sorted(tmp.iterdir()):
            target = out / path.name
            os.replace(path, target)
            written.append(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
