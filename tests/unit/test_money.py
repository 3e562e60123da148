from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.core.money import apply_rate_bp, format_yuan, largest_remainder, parse_yuan, rate_to_bp


@pytest.mark.parametrize(("text", "fen"), [("0", 0), ("12.3", 1230), ("12.30", 1230), ("0.05", 5), ("-1.25", -125)])
def test_parse_yuan(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["1.234", "abc", "", "1,000.00", "1e3"])
def test_parse_yuan_refuses_non_amounts(text: str) -> None:
    with pytest.raises(ValueError):
        parse_yuan(text)


def test_format_yuan() -> None:
    assert [format_yuan(x) for x in (0, 5, 1230, -5, 100000)] == ["0.00", "0.05", "12.30", "-0.05", "1000.00"]


def test_rate_half_up_to_the_fen() -> None:
    # 2.675 yuan at 100% stays; 5 fen * 50% = 2.5 fen -> 3 fen (half up)
    assert apply_rate_bp(5, 5000) == 3
    assert apply_rate_bp(3, 5000) == 2
    assert apply_rate_bp(-5, 5000) == -3
    assert rate_to_bp("90%") == 9000 and rate_to_bp(0.9) == 9000 and rate_to_bp("12.5%") == 1250


@given(st.integers(-10**12, 10**12), st.lists(st.integers(0, 10**6), min_size=1, max_size=30))
def test_largest_remainder_conserves_money(total: int, weights: list[int]) -> None:
    parts = largest_remainder(total, weights)
    assert sum(parts) == total
    wsum = sum(weights) or len(weights)
    ws = weights if sum(weights) else [1] * len(weights)
    for p, w in zip(parts, ws, strict=True):
        exact = Decimal(total) * w / wsum
        assert abs(Decimal(p) - exact) < 1


def test_largest_remainder_ties_go_to_the_first() -> None:
    assert largest_remainder(10, [1, 1, 1]) == [4, 3, 3]
    assert largest_remainder(100, [Decimal("0.5"), Decimal("0.25"), Decimal("0.25")]) == [50, 25, 25]
