"""Identifiers for the demo, built column-wise: sequential ids and synthetic resident ID numbers (身份证号码).

The ID numbers follow GB 11643 like :func:`yigongti.core.idnumber.make_id_number` (area code, birth date, a serial
whose last digit is odd for men, ISO 7064 MOD 11-2 check digit), vectorised with numpy; a counter per county, birth
day and sex keeps them unique across chunks.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

__all__ = ["IdNumberSerials", "sequential_ids"]

_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int64)
_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_MAX_DAYS = 260 * 366  # 1850 to about 2110
SERIAL_BASE = 100  # serials run 100, 101, 102 ... (even for women, odd for men)
MAX_PER_DAY = (1000 - SERIAL_BASE) // 2  # 450 persons per birth day and sex and area; beyond, no ID number


def sequential_ids(prefix: str, numbers: NDArray[np.int64], *, width: int) -> pa.Array:
    """``prefix`` followed by each number zero-padded to ``width`` digits, as a string column."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def _digits(values: NDArray[np.int64], width: int) -> NDArray[np.int64]:
    """Decimal digits of each value, most significant first: shape (n, width)."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers[None, :]) % 10


class IdNumberSerials:
    """Hands out unique ID numbers for one area code, chunk after chunk."""

    def __init__(self, area6: str) -> None:
        if len(area6) != 6 or not area6.isdigit():
            raise ValueError(f"area code must be 6 digits: {area6!r}")
        self.area = np.array([int(c) for c in area6], dtype=np.int64)
        self.used = np.zeros((_MAX_DAYS, 2), dtype=np.int64)
        self.epoch = np.datetime64("1850-01-01", "D")

    def make(self, birth: NDArray[np.datetime64], male: NDArray[np.bool_]) -> pa.Array:
        """ID numbers for persons born on ``birth`` (datetime64[D]); null for the rare overflow of a day's serials."""
        n = len(birth)
        day = (birth.astype("datetime64[D]") - self.epoch).astype(np.int64)
        if n and (day.min() < 0 or day.max() >= _MAX_DAYS):
            raise ValueError("birth date out of the supported range 1850-2109 / 出生日期超出支持范围")
        sex = male.astype(np.int64)
        key = day * 2 + sex
        order = np.lexsort((np.arange(n), key))
        sorted_key = key[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_key)) + 1] if n else np.empty(0, np.int64)
        group_start = np.zeros(n, dtype=np.int64)
        if n:
            group_start[starts] = starts
            group_start = np.maximum.accumulate(group_start)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - group_start
        rank += self.used[day, sex]
        np.add.at(self.used, (day, sex), 1)
        ok = rank < MAX_PER_DAY
        serial = SERIAL_BASE + 2 * rank + sex
        y = birth.astype("datetime64[Y]").astype(np.int64) + 1970
        m = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
        d = (birth.astype("datetime64[D]") - birth.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
        first17 = np.hstack((np.broadcast_to(self.area, (n, 6)), _digits(y, 4), _digits(m, 2), _digits(d, 2),
                             _digits(np.where(ok, serial, 0), 3)))
        check = _CHECK[(first17 @ _WEIGHTS) % 11]
        chars = np.hstack((first17.astype(np.uint8) + ord("0"), check[:, None])).astype(np.uint8)
        text = np.ascontiguousarray(chars).view("S18").ravel()
        arr = pa.array(text, pa.binary(18)).cast(pa.string())
        return pc.if_else(pa.array(ok), arr, pa.scalar(None, pa.string()))
