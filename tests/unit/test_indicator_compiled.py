"""An indicator expression compiled once computes what walking its tree computes: the same Decimal, or the same
NotComputable reason (property: random expressions over measures, some missing, some zero)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.appraisal.indicators import NotComputable, compiled_expression, evaluate, parse_expression

_NAMES = ["visits", "population", "fund_res", "prev:visits", "prev:fund_res"]


def _term(name: str) -> str:
    return f"prev({name.removeprefix('prev:')})" if name.startswith("prev:") else name


_leaf = st.one_of(st.sampled_from(_NAMES).map(_term), st.integers(0, 100).map(str), st.sampled_from(["0.5", "100"]))
_expr = st.recursive(_leaf, lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    inner.map(lambda e: f"-{e}")), max_leaves=6)
_value = st.one_of(st.none(), st.just(Decimal(0)), st.integers(-1000, 10**6).map(lambda n: Decimal(n) / 100))


def _outcome(f: object) -> tuple[str, object]:
    try:
        return "value", f()  # type: ignore[operator]
    except NotComputable as exc:
        return "not computable", str(exc)


@settings(max_examples=300, deadline=None)
@given(_expr, st.fixed_dictionaries({n: _value for n in _NAMES}))
def test_compiled_is_evaluate(text: str, values: dict[str, Decimal | None]) -> None:
    walked = _outcome(lambda: evaluate(parse_expression(text), values))
    compiled = _outcome(lambda: compiled_expression(text)(values))
    assert compiled == walked
