"""The status of every choice in a table (选择状态), columnar: valid or refused with its code, and a content key.

Used when a data folder's ``choices`` are loaded into the database: each choice is checked against its own year's
switch window and the registry with the batch rules of ``enrollment.engine.refusal_columns`` (the same codes and
messages as ``enrollment.domain.validate_choice``), and gets a ``choice_key``: the MD5 of its content plus its
occurrence number among identical rows, so that loading the same file twice adds nothing and two identical rows in
one file stay two rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from ibis.backends import BaseBackend

from yigongti.core.engine import register_arrow
from yigongti.enrollment.engine import refusal_columns

__all__ = ["CHECKED_SCHEMA", "CHOICE_COLUMNS", "checked_choices"]

CHOICE_COLUMNS = ("person_id", "year", "consortium_id", "township_id", "village_id", "chosen_at")
_INPUT_SCHEMA = pa.schema([("person_id", pa.string()), ("year", pa.int64()), ("consortium_id", pa.string()),
                          ("township_id", pa.string()), ("village_id", pa.string()),
                          ("chosen_at", pa.timestamp("s"))])
CHECKED_SCHEMA = pa.schema([*_INPUT_SCHEMA, ("choice_key", pa.string()), ("status", pa.string()),
                           ("refusal_code", pa.string()), ("refusal_message", pa.string())])


def checked_choices(con: BaseBackend, *, choices: pa.Table, persons: pa.Table, institutions: pa.Table,
                    consortia: pa.Table, window: Callable[[int], tuple[date, date]],
                    key_prefix: str = "file:") -> pa.Table:
    """Every row of ``choices`` (in its order) with ``choice_key``, ``status`` (valid / refused), ``refusal_code``
    and ``refusal_message``; ``window(year)`` gives the switch window of a year (``policy.enrollment.window``)."""
    t = choices.select(list(CHOICE_COLUMNS)).cast(_INPUT_SCHEMA)
    if t.num_rows == 0:
        return CHECKED_SCHEMA.empty_table()
    t = t.append_column("_row", pa.array(np.arange(t.num_rows, dtype=np.int64)))
    ch = register_arrow(con, t)
    p = register_arrow(con, persons.select(["person_id", "county_code"]))
    p = p.select(_pid=p.person_id, person_county=p.county_code)
    inst = register_arrow(con, institutions.select(["inst_id", "tier", "consortium_id", "parent_id"]))
    cons = register_arrow(con, consortia.select(["consortium_id", "county_code"]))
    j = ch.left_join(p, ch.person_id == p._pid).drop("_pid")
    years = sorted(y for y in set(t.column("year").to_pylist()) if y is not None)
    parts = [refusal_columns(j.filter(j.year == y), consortia=cons, institutions=inst, year=y, window=window(y))
             .select(*CHOICE_COLUMNS, "_row", "reason", "message") for y in years]
    u: ir.Table = parts[0] if len(parts) == 1 else ibis.union(*parts)
    occurrence = ibis.row_number().over(group_by=[u[c] for c in CHOICE_COLUMNS], order_by=u._row)
    content = ibis.literal("\x1f").join(
        [u[c].cast("string").fill_null("") for c in CHOICE_COLUMNS] + [occurrence.cast("string")])
    out = u.mutate(
        choice_key=ibis.literal(key_prefix) + content.hexdigest("md5"),
        status=ibis.ifelse(u.reason.isnull(), "valid", "refused"),
        refusal_code=u.reason, refusal_message=u.message,
    ).order_by("_row")
    return out.select(*CHECKED_SCHEMA.names).to_pyarrow().cast(CHECKED_SCHEMA)
