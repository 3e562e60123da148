"""Use case: the balances a year opens with (期初余额: 上年结转与风险基金余额), read back from last year.

Each consortium brings into the year the surplus carried forward last year and its risk reserve's balance
(``budget.reserve.Balances``). They come from ``settle --opening FILE`` (``FILE`` last year's ``OUT/surplus.csv``,
or a table of the ``opening`` contract) or, when none is given, from the data folder's ``opening`` table; without
either a year opens at 0. Every row is checked before anything is settled or written: the consortium known, the year
the one before (a ``surplus.csv``) or the year settled (an ``opening`` table), no negative balance; the problems name
the file, the row and the field (InvalidInput).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pyarrow as pa

from yigongti.budget.reserve import Balances, opening_from_rows, opening_from_surplus
from yigongti.core.problems import InvalidInput, Problem, errors
from yigongti.datafolder.folder import DataFolder, find_table_file, parse_table, read_folder, read_raw_table
from yigongti.datafolder.schema import TABLES

__all__ = ["folder_opening", "opening_table", "read_opening", "resolve_opening"]


def _consortia(data: DataFolder) -> set[str]:
    return {str(c) for c in data["consortia"].column("consortium_id").to_pylist()}


def read_opening(path: Path | str, *, year: int, consortia: Collection[str] | None = None) -> dict[str, Balances]:
    """The balances ``year`` opens with from ``path``: last year's ``surplus.csv`` (it has an ``account`` column) or
    an ``opening`` table (CSV, Excel or Parquet). Raises InvalidInput naming the file, row and field."""
    path = Path(path)
    label = str(path)
    if not path.exists():
        raise InvalidInput([Problem(label, 0, "", "no such file / 文件不存在")])
    try:
        raw = read_raw_table(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise InvalidInput([Problem(label, 0, "", f"cannot be read / 无法读取: {exc}")]) from exc
    spec = TABLES["surplus" if "account" in raw.column_names else "opening"]
    table, problems = parse_table(spec, raw, file=label)
    read = opening_from_surplus if spec.name == "surplus" else opening_from_rows
    rows = [{"year": None, **r} for r in table.to_pylist()] if table.num_rows else []
    balances, more = read(rows, year=year, file=label, consortia=consortia)  # every problem at once
    if errors(problems) or more:
        raise InvalidInput(errors(problems) + more)
    return balances


def folder_opening(data: DataFolder, year: int) -> dict[str, Balances]:
    """The balances ``year`` opens with from the folder's ``opening`` table (none: {}). Raises InvalidInput."""
    table = data.get("opening")
    if table is None:
        return {}
    where = find_table_file(data.path, "opening")
    label = where.name if where is not None else "opening"
    rows = [{"year": None, **r} for r in table.to_pylist()]
    balances, problems = opening_from_rows(rows, year=year, file=label, consortia=_consortia(data))
    if problems:
        raise InvalidInput(problems)
    return balances


def resolve_opening(data: DataFolder | Path | str, year: int, file: Path | str | None = None) -> dict[str, Balances]:
    """The opening balances of ``year``: from ``file`` when given (checked against the folder's consortia), else the
    folder's ``opening`` table, else none. Reads only the tables it needs of a folder given by path."""
    if not isinstance(data, DataFolder):
        data = read_folder(Path(data), tables=["consortia"] if file is not None else ["consortia", "opening"])
    if file is not None:
        return read_opening(file, year=year, consortia=_consortia(data))
    return folder_opening(data, year)


def opening_table(opening: dict[str, Balances]) -> pa.Table:
    """The balances as an ``opening`` table in consortium order (fen): what the inputs hash covers."""
    ids = sorted(opening)
    return pa.table({
        "consortium_id": pa.array(ids, pa.string()),
        "carried_in": pa.array([opening[c].carried for c in ids], pa.int64()),
        "risk_reserve": pa.array([opening[c].reserve for c in ids], pa.int64()),
    })
