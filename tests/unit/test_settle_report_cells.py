"""A settlement workbook's money cell from its fen directly (``_plain_yuan``) is the very Decimal the cell was
written from before (``_plain(_yuan_cell(fen))``): the same digits and exponent, hence the same bytes in the sheet
(XlsxWriter prints a Decimal with ``.16G``: ``1E+2`` and ``100`` differ)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from yigongti.budget.report import _plain, _plain_yuan


def _yuan_cell(fen: int) -> Decimal:
    """The money cell as it was written before ``_plain_yuan``: exact Decimal yuan, then ``_plain``."""
    return Decimal(int(fen)) / 100


def _same(fen: int) -> None:
    want, got = _plain(_yuan_cell(fen)), _plain_yuan(fen)
    assert got.as_tuple() == want.as_tuple()
    assert f"{got:.16G}" == f"{want:.16G}"


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_a_money_cell_is_the_same_decimal(fen: int) -> None:
    _same(fen)


def test_whole_yuan_tens_and_zero() -> None:
    for fen in (0, 1, -1, 10, -10, 100, -100, 1000, 10_000, 12_300, 12_340, 12_345, -12_340, 10**14):
        _same(fen)
    assert _plain_yuan(10_000) == Decimal(100) and _plain_yuan(10_000).as_tuple().exponent == 0
