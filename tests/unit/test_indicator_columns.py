"""The appraisal's one pass over all scopes (``indicator_columns``: one indicator at a time over the measure columns,
each distinct input evaluated once; scores with points cached per value) gives exactly what evaluating one scope at a
time gives: the same Decimal values, the same printed numerator / denominator / value, the same "not computable"
reasons, the same rows in the same order, the same scores (property: random measures, some missing, many repeated or
zero, random checklists)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.appraisal.domain import IndicatorValue, checklist_value, indicator_value, score
from yigongti.appraisal.indicator_sets import load_indicator_set
from yigongti.appraisal.indicators import MEASURES, IndicatorSet, ScopeKind, ScoringRules
from yigongti.appraisal.service import _distinct_rows, _fmt, indicator_columns, indicator_pass, score_columns

ISET = load_indicator_set()
KEYS = sorted(ISET.needed_measures())
SCOPES = ([(ScopeKind.COUNTY, "C1")] + [(ScopeKind.CONSORTIUM, f"G{i}") for i in range(2)]
          + [(ScopeKind.INSTITUTION, f"I{i}") for i in range(8)])
CHECKLISTS = [i.id for i in ISET.indicators if i.kind == "checklist"]


def _per_scope(columns: dict[str, list[int]], checks: dict[tuple[str, str], tuple[int, int]] | None,
               ) -> tuple[dict[tuple[str, str], list[IndicatorValue]], list[dict[str, object]]]:
    """What the appraisal computed before: a dict of every available measure per scope, then each indicator."""
    dec = ISET.scoring.decimals
    values: dict[tuple[str, str], list[IndicatorValue]] = {}
    rows: list[dict[str, object]] = []
    for pos, (kind, scope) in enumerate(SCOPES):
        mv: dict[str, Decimal | None] = {}
        for m, col in columns.items():
            raw = Decimal(col[pos])
            mv[m] = raw / 100 if MEASURES[m.removeprefix("prev:")].money else raw
        vals = []
        for ind in ISET.indicators:
            if kind not in ind.scopes:
                continue
            if ind.kind == "checklist":
                pn = None if checks is None else checks.get((scope, ind.id), (0, 0))
                v = checklist_value(ind, pn[0] if pn else None, pn[1] if pn else None, decimals=dec)
            else:
                v = indicator_value(ind, mv, decimals=dec)
            vals.append(v)
            rows.append({"scope": scope, "indicator": ind.id, "numerator": _fmt(v.numerator),
                         "denominator": _fmt(v.denominator), "value": _fmt(v.value, places=dec), "year": 2026,
                         "scope_kind": kind, "unit": ind.unit.value,
                         "status": "ok" if v.computable else "not_computable", "reason": v.reason})
        values[(kind, scope)] = vals
    return values, rows


_raw = st.one_of(st.just(0), st.integers(0, 5), st.integers(0, 10**9))
_columns = st.fixed_dictionaries({}, optional={k: st.lists(_raw, min_size=len(SCOPES), max_size=len(SCOPES))
                                               for k in KEYS})
_checks = st.one_of(st.none(), st.dictionaries(
    st.tuples(st.sampled_from([s for _, s in SCOPES]), st.sampled_from(CHECKLISTS or ["none"])),
    st.tuples(st.integers(0, 3), st.integers(0, 3)).map(lambda t: (min(t), t[1])), max_size=10))


@settings(max_examples=60, deadline=None)
@given(_columns, _checks)
def test_one_pass_is_per_scope(columns: dict[str, list[int]],
                               checks: dict[tuple[str, str], tuple[int, int]] | None) -> None:
    arrays = {k: pa.array(v, pa.int64()) for k, v in columns.items()}
    values, table = indicator_columns(ISET, 2026, SCOPES, arrays, checks)
    want_values, want_rows = _per_scope(columns, checks)
    assert values == want_values
    assert table.to_pylist() == want_rows
    _scores_are_domains(ISET, arrays, checks, want_values)


def _scores_are_domains(iset: IndicatorSet, arrays: dict[str, pa.Array],
                        checks: dict[tuple[str, str], tuple[int, int]] | None,
                        want_values: dict[tuple[str, str], list[IndicatorValue]]) -> None:
    """The scores as columns are ``domain.score`` of each unit's values: its score, and its points rows in order."""
    units, points = score_columns(iset, indicator_pass(iset, 2026, SCOPES, arrays, checks))
    want_units: list[tuple[int, str, str, Decimal | None]] = []
    want_points: list[dict[str, object]] = []
    for pos, ((kind, scope), vals) in enumerate(want_values.items()):
        if kind == ScopeKind.COUNTY:
            continue
        s = score(iset, vals, kind)
        want_units.append((pos, kind, scope, s.score))
        want_points += [{"unit_id": scope, "indicator": i, "weight": _fmt(iset.get(i).weight_for(kind)),
                         "points": _fmt(p, places=iset.scoring.decimals)} for i, p in s.points.items()]
    assert units == want_units
    assert points.to_pylist() == want_points


_weights = st.lists(st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(1), Decimal("2.25"), Decimal(7)]),
                    min_size=len(ISET.indicators), max_size=len(ISET.indicators))


@settings(max_examples=25, deadline=None)
@given(_columns, _checks, _weights, _weights, st.sampled_from(["exclude", "zero"]), st.integers(0, 3))
def test_scores_as_columns_are_the_domains_on_any_weights(columns: dict[str, list[int]],
                                                          checks: dict[tuple[str, str], tuple[int, int]] | None,
                                                          weights: list[Decimal], unit_weights: list[Decimal],
                                                          missing: str, decimals: int) -> None:
    """Other weights (fractions too, some indicators unweighted), both rules for what is missing, other decimals:
    the column pass's scores and points are still ``domain.score``'s (the set is checked by the model: weights of
    each kind sum to 100, so they are rescaled here)."""
    def to_100(ws: list[Decimal]) -> list[Decimal]:
        total = sum(ws, Decimal(0))
        if total == 0:
            ws = [Decimal(1)] + ws[1:]
            total = Decimal(1)
        scaled = [w * 100 / total for w in ws]
        scaled[-1] = 100 - sum(scaled[:-1], Decimal(0))
        return scaled
    cons, inst = to_100(weights), to_100(unit_weights)
    inds = []
    for ind, w, iw in zip(ISET.indicators, cons, inst, strict=True):
        scopes = tuple(dict.fromkeys(ind.scopes + (("consortium",) if w > 0 else ())
                                     + (("institution",) if iw > 0 else ())))
        inds.append(ind.model_copy(update={"weight": w, "institution_weight": iw, "scopes": scopes,
                                           "target": ind.target if ind.target is not None else Decimal(1)}))
    iset = ISET.model_copy(update={"indicators": tuple(inds),
                                   "scoring": ScoringRules(missing=missing, decimals=decimals)})
    arrays = {k: pa.array(v, pa.int64()) for k, v in columns.items()}
    _scores_are_domains(iset, arrays, checks, indicator_columns(iset, 2026, SCOPES, arrays, checks)[0])


def test_many_repeated_scopes_share_one_evaluation() -> None:
    """12,000 institutions with the same measures: the same rows as one of them, repeated."""
    scopes = [(ScopeKind.INSTITUTION, f"I{i:05d}") for i in range(12_000)]
    arrays = {k: pa.array([7] * len(scopes), pa.int64()) for k in KEYS}
    values, table = indicator_columns(ISET, 2026, scopes, arrays, None)
    first = table.slice(0, len(values[scopes[0]])).drop_columns(["scope"]).to_pylist()
    last = table.slice(table.num_rows - len(first)).drop_columns(["scope"]).to_pylist()
    assert first == last
    assert table.num_rows == 12_000 * len(first)



def test_a_units_counted_weight_is_the_exact_sum_of_its_weights() -> None:
    """Weights of 28 significant digits (100/136 and multiples: a set rescaled to 100) sum to more digits than
    Decimal's default context keeps: the score's denominator is their exact sum, in the domain as in the column
    pass (the rounded sum moved a consortium's score from 8 to 9 at 0 decimals; found by the property above)."""
    unit = Decimal(100) / Decimal(136)
    ws = [unit * k for k in (1, 14, 2, 4, 45)] + [Decimal(0)] * (len(ISET.indicators) - 5)
    inds = [ind.model_copy(update={"weight": w, "scopes": tuple(dict.fromkeys((*ind.scopes, "consortium")))})
            for ind, w in zip(ISET.indicators, ws, strict=True)]
    iset = ISET.model_copy(update={"indicators": tuple(inds), "scoring": ScoringRules(missing="exclude", decimals=0)})
    values = [IndicatorValue(i.id, Decimal(1), Decimal(1), Decimal(1)) for i in inds]
    s = score(iset, values, ScopeKind.CONSORTIUM)
    assert Fraction(s.weight_counted) == sum((Fraction(w) for w in ws), Fraction(0))


@settings(deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.lists(
    st.lists(st.sampled_from([-(2**63), -7, -1, 0, 1, 2, 3, 2**63 - 1]), min_size=k, max_size=k),
    min_size=1, max_size=40)))
def test_distinct_rows_are_numpy_s_unique_rows_in_the_same_order(rows: list[list[int]]) -> None:
    matrix = np.array(rows, dtype=np.int64)
    uniq, inverse = _distinct_rows(matrix)
    want, where = np.unique(matrix, axis=0, return_inverse=True)
    assert uniq.dtype == np.int64 and np.array_equal(uniq, want)
    assert np.array_equal(inverse, where.reshape(-1)) and np.array_equal(uniq[inverse], matrix)
