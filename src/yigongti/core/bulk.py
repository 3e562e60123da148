"""Bulk writes (批量写入): Arrow tables into any table on SQLite and PostgreSQL alike (``INSERT ... ON CONFLICT``;
``COPY`` on PostgreSQL), and database errors with every resident ID number masked."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from yigongti.core.idnumber import mask_id_number

__all__ = ["BulkWriteError", "count_rows", "scrub_id_numbers", "upsert_table"]

_ID_NUMBER_RE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_UPSERTS = {"postgresql": pg_insert, "sqlite": sqlite_insert}


class BulkWriteError(RuntimeError):
    """A bulk write the database refused; the message names the table, with any ID number masked."""


def scrub_id_numbers(text: str) -> str:
    """``text`` with every 18-character resident ID number masked (a database error may quote a whole row)."""
    return _ID_NUMBER_RE.sub(lambda m: mask_id_number(m.group(0)), text)


def count_rows(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def upsert_table(session: Session, model: type[Any], rows: pa.Table, *, key: Sequence[str],
                 touch: Sequence[str] = (), only_where: ColumnElement[bool] | None = None,
                 insert_only: bool = False) -> None:
    """Write the Arrow table ``rows`` (columns named as the table's) into ``model``'s table, in the session's
    transaction: a row whose ``key`` is new is inserted; an existing one is updated, and only where a value differs
    (an identical row is left untouched). Columns in ``touch`` (an ``updated_at``) are not compared, only updated
    along with a real change. ``only_where``: a condition on the existing row, which is left alone when it does not
    hold. ``insert_only``: existing rows are never changed.

    PostgreSQL: ``COPY`` into a temporary table, then one ``INSERT ... SELECT ... ON CONFLICT``. SQLite: one
    ``executemany`` of ``INSERT ... ON CONFLICT``. No per-row SQLAlchemy processing, so 174,000 persons take seconds.
    Raises :class:`BulkWriteError` (ID numbers masked in its message) when the database refuses the rows.
    """
    if rows.num_rows == 0:
        return
    try:
        _upsert_table(session, model, rows, key=key, touch=touch, only_where=only_where, insert_only=insert_only)
    except DBAPIError as exc:
        reason = scrub_id_numbers(str(exc.orig))
        raise BulkWriteError(f"writing {model.__table__.name} failed / 写入失败: {reason}") from None


def _upsert_table(session: Session, model: type[Any], rows: pa.Table, *, key: Sequence[str],
                  touch: Sequence[str], only_where: ColumnElement[bool] | None, insert_only: bool) -> None:
    conn = session.connection()
    dialect = conn.dialect
    table: Table = model.__table__
    q = dialect.identifier_preparer.quote
    cols = list(rows.column_names)
    name = q(table.name)
    changing = [c for c in cols if c not in key]
    compared = [c for c in changing if c not in touch]
    if insert_only or not changing:
        conflict = f"ON CONFLICT ({', '.join(q(k) for k in key)}) DO NOTHING"
    else:
        distinct = "IS DISTINCT FROM" if dialect.name == "postgresql" else "IS NOT"
        differs = " OR ".join(f"{name}.{q(c)} {distinct} excluded.{q(c)}" for c in compared) or "false"
        where = f"({differs})"
        if only_where is not None:
            cond = only_where.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
            where = f"({cond}) AND {where}"
        sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in changing)
        conflict = f"ON CONFLICT ({', '.join(q(k) for k in key)}) DO UPDATE SET {sets} WHERE {where}"
    col_list = ", ".join(q(c) for c in cols)
    if dialect.name == "postgresql":
        stage = q(f"_stage_{table.name}")
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {stage} AS SELECT {col_list} FROM {name} WITH NO DATA")
        # rows keep their order (serial ids follow it, as on SQLite): later rows of a file are recorded later
        conn.exec_driver_sql(f"ALTER TABLE {stage} ADD COLUMN _ord BIGSERIAL")
        buf = io.BytesIO()
        pacsv.write_csv(rows, buf, write_options=pacsv.WriteOptions(quoting_style="needed"))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {stage} ({col_list}) FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write(buf.getvalue())
        # keys are unique in ``rows`` (validated input): ON CONFLICT may not meet one key twice in a statement
        conn.exec_driver_sql(f"INSERT INTO {name} ({col_list}) SELECT {col_list} FROM {stage} ORDER BY _ord "
                             f"{conflict}")
        conn.exec_driver_sql(f"DROP TABLE {stage}")
        return
    if dialect.name == "sqlite":
        marks = ", ".join("?" for _ in cols)
        values = list(zip(*(_sqlite_values(rows.column(c)) for c in cols), strict=True))
        conn.exec_driver_sql(f"INSERT INTO {name} ({col_list}) VALUES ({marks}) {conflict}", values)
        return
    raise NotImplementedError(f"bulk writes on {dialect.name} / 不支持的数据库")


def _sqlite_values(col: pa.ChunkedArray) -> list[Any]:
    """A column as SQLite stores it through SQLAlchemy: dates and date-times as ISO text, booleans as 0/1."""
    t = col.type
    if pa.types.is_timestamp(t):
        text = pc.strftime(pc.cast(col, pa.timestamp("s")), format="%Y-%m-%d %H:%M:%S")
        col = pc.binary_join_element_wise(text, ".000000", "")
    elif pa.types.is_date(t):
        col = pc.strftime(col, format="%Y-%m-%d")
    elif pa.types.is_boolean(t):
        col = pc.cast(col, pa.int64())
    values: list[Any] = col.to_pylist()
    return values
