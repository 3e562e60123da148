"""Money (金额) as integer fen (分). Never float.

Yuan strings carry up to 2 decimals on input and exactly 2 on output. A rate applied to an amount is rounded
half-up to the fen at once; a split uses the largest-remainder method so the parts sum exactly.
Rates are integer basis points (1% = 100 bp) so that all arithmetic stays in integers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

__all__ = [
    "BP",
    "apply_rate_bp",
    "format_yuan",
    "half_up_div",
    "largest_remainder",
    "parse_yuan",
    "rate_to_bp",
]

BP = 10_000  # basis points in 100%

_YUAN_RE = re.compile(r"^-?\d+(\.\d{1,2})?$")


def parse_yuan(text: str) -> int:
    """``"12.30"`` -> 1230 fen. Raises ValueError on anything but a plain decimal with up to 2 decimals."""
    s = text.strip()
    if not _YUAN_RE.match(s):
        raise ValueError(f"not an amount in yuan with at most 2 decimals: {text!r}")
    neg = s.startswith("-")
    if neg:
        s = s[1:]
    whole, _, frac = s.partition(".")
    fen = int(whole) * 100 + int((frac + "00")[:2])
    return -fen if neg else fen


def format_yuan(fen: int) -> str:
    """1230 -> ``"12.30"``; -5 -> ``"-0.05"``."""
    sign = "-" if fen < 0 else ""
    q, r = divmod(abs(int(fen)), 100)
    return f"{sign}{q}.{r:02d}"


def rate_to_bp(rate: float | str | Decimal) -> int:
    """A percentage or fraction given in config -> basis points, exactly. ``0.9`` or ``"90%"`` -> 9000."""
    try:
        if isinstance(rate, str) and rate.strip().endswith("%"):
            d = Decimal(rate.strip()[:-1]) * 100
        else:
            d = Decimal(str(rate)) * BP
    except InvalidOperation as exc:
        raise ValueError(f"not a rate: {rate!r}") from exc
    if d != d.to_integral_value():
        raise ValueError(f"rate {rate!r} is finer than a basis point")
    return int(d)


def half_up_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, in integers (denominator > 0)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return q if numerator >= 0 else -q


def apply_rate_bp(amount_fen: int, rate_bp: int) -> int:
    """amount x rate, half-up to the fen: (2*a*bp + 10000) // 20000 for non-negative amounts."""
    return half_up_div(amount_fen * rate_bp, BP)


def largest_remainder(total: int, weights: Sequence[int | Decimal]) -> list[int]:
    """Split ``total`` fen in proportion to non-negative ``weights`` so the parts sum exactly to ``total``.

    Each part gets floor(total * w / W); what is left goes one fen at a time to the largest remainders,
    ties to the earlier position. A negative total is split as its absolute value, then negated.
    All weights zero: an equal split.
    """
    n = len(weights)
    if n == 0:
        if total != 0:
            raise ValueError("cannot split a non-zero amount into no parts")
        return []
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    if total < 0:
        return [-p for p in largest_remainder(-total, weights)]
    ws = [Decimal(w) for w in weights]
    if sum(ws) == 0:
        ws = [Decimal(1)] * n
    # scale Decimal weights to integers exactly
    exp = min((w.as_tuple().exponent for w in ws), default=0)
    scale = 10 ** (-exp) if isinstance(exp, int) and exp < 0 else 1
    iw = [int(w * scale) for w in ws]
    wsum = sum(iw)
    parts = [total * w // wsum for w in iw]
    rems = [total * w % wsum for w in iw]
    left = total - sum(parts)
    order = sorted(range(n), key=lambda i: (-rems[i], i))
    for i in order[:left]:
        parts[i] += 1
    return parts
