"""Resident ID numbers checked column-wise (身份证号码批量校验): the columnar twin of ``core.idnumber``.

:func:`suspect_id_numbers` looks at a whole column at once with numpy over the 18 characters (format, ISO 7064
MOD 11-2 check digit, birth date, sex digit against the ``birth_date`` and ``sex`` columns) and marks the rows that
may be wrong. Only those rows are handed to the domain function :func:`~yigongti.core.idnumber.id_number_problems`,
which has the last word and writes the messages, so the problems are exactly the domain function's.
A row the columnar pass lets through is one the domain function accepts (every non-ASCII or odd row is a suspect).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yigongti.core.idnumber import id_number_problems

__all__ = ["DAYS_IN_MONTH", "days_from_civil", "id_number_rows", "suspect_id_numbers"]

_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int64)
_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
DAYS_IN_MONTH = np.array((0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), dtype=np.int64)
_ZERO, _NINE, _X, _LOWER_X = ord("0"), ord("9"), ord("X"), ord("x")


def _flat(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _bytes_matrix(ids: pa.Array) -> np.ndarray:
    """An (n, 18) uint8 matrix of string values that all have 18 bytes."""
    n = len(ids)
    if n == 0:
        return np.zeros((0, 18), dtype=np.uint8)
    offsets_type = np.int64 if pa.types.is_large_string(ids.type) else np.int32
    _, offsets_buf, data_buf = ids.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=offsets_type)[ids.offset: ids.offset + n + 1]
    start = int(offsets[0])
    return np.frombuffer(data_buf, dtype=np.uint8)[start: start + 18 * n].reshape(n, 18)


def days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm), column-wise."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days: np.ndarray = era * 146097 + doe - 719468
    return days


def suspect_id_numbers(ids: pa.Array | pa.ChunkedArray, birth_date: pa.Array | pa.ChunkedArray,
                       sex: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Boolean mask of rows whose non-empty ID number may have a problem (a superset of the domain's verdict)."""
    ids = _flat(ids)
    if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
        ids = pc.cast(ids, pa.string())
    n = len(ids)
    nbytes = np.asarray(pc.fill_null(pc.binary_length(ids), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    suspect = (nbytes != 0) & (nbytes != 18)
    rows = np.flatnonzero(nbytes == 18)
    if len(rows) == 0:
        return np.asarray(suspect, dtype=bool)
    mat = _bytes_matrix(_flat(ids.take(pa.array(rows))))
    first17 = mat[:, :17]
    last = mat[:, 17]
    well_formed = ((first17 >= _ZERO) & (first17 <= _NINE)).all(axis=1) & (
        ((last >= _ZERO) & (last <= _NINE)) | (last == _X) | (last == _LOWER_X))
    digits = first17.astype(np.int64) - _ZERO
    expected = _CHECK[(digits @ _WEIGHTS) % 11]
    bad = ~well_formed | (np.where(last == _LOWER_X, _X, last) != expected)

    def number(a: int, b: int) -> np.ndarray:
        out = np.zeros(len(rows), dtype=np.int64)
        for k in range(a, b):
            out = out * 10 + digits[:, k]
        return out

    year, month, day = number(6, 10), number(10, 12), number(12, 14)
    month_ok = (month >= 1) & (month <= 12)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    dim = DAYS_IN_MONTH[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    date_ok = (year >= 1) & month_ok & (day >= 1) & (day <= dim)
    bad |= ~date_ok
    births = _flat(birth_date).take(pa.array(rows))
    born_days = pc.cast(births, pa.int32()) if pa.types.is_date32(births.type) else pc.cast(
        pc.cast(births, pa.date32()), pa.int32())
    known = np.asarray(pc.is_valid(born_days).to_numpy(zero_copy_only=False), dtype=bool)
    days = np.asarray(pc.fill_null(born_days, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    bad |= date_ok & known & (days_from_civil(year, month, day) != days)
    sexes = _flat(sex).take(pa.array(rows))
    male = np.asarray(pc.fill_null(pc.equal(sexes, "M"), False).to_numpy(zero_copy_only=False), dtype=bool)
    female = np.asarray(pc.fill_null(pc.equal(sexes, "F"), False).to_numpy(zero_copy_only=False), dtype=bool)
    odd = digits[:, 16] % 2 == 1
    bad |= (male & ~odd) | (female & odd)
    suspect[rows[bad]] = True
    assert len(suspect) == n
    return np.asarray(suspect, dtype=bool)


def id_number_rows(ids: pa.Array | pa.ChunkedArray, birth_date: pa.Array | pa.ChunkedArray,
                   sex: pa.Array | pa.ChunkedArray) -> list[tuple[int, str]]:
    """(row index, message) for every problem of the ID numbers, in row order; only suspects are visited."""
    rows = np.flatnonzero(suspect_id_numbers(ids, birth_date, sex))
    if len(rows) == 0:
        return []
    take = pa.array(rows)
    found: list[tuple[int, str]] = []
    for i, value, born, s in zip(rows.tolist(), _flat(ids).take(take).to_pylist(),
                                 _flat(birth_date).take(take).to_pylist(), _flat(sex).take(take).to_pylist(),
                                 strict=True):
        found.extend((i, msg) for msg in id_number_problems(str(value), birth_date=born, sex=s))
    return found
