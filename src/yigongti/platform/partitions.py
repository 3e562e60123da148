"""PostgreSQL partitions (分区) of the tables that grow with the years: one partition per year and a DEFAULT one.

Partitioned (migration ``0017``), on PostgreSQL only (SQLite has no partitions; nothing changes there):

- ``designations`` (定点): ``PARTITION BY RANGE (year)``, partitions ``designations_y2027`` ... and
  ``designations_default``; primary key ``(designation_id, year)``, the unique key ``(person_id, year)`` unchanged
  (it holds the partition key, so ``INSERT ... ON CONFLICT (person_id, year)`` works as before);
- ``audit_log`` (审计日志): ``PARTITION BY RANGE (at)``, one partition per calendar year, ``audit_log_default``;
  primary key ``(audit_id, at)``; the append-only trigger is on the parent (cloned to every partition).

A year without its partition goes to the DEFAULT partition, so any year works. To give a year its own partition
(before the switch window opens, or later: rows already in DEFAULT are moved), run
``yigongti db partitions --year 2028`` (:func:`add_year`), in one transaction.

Why not by county, and why not the other tables, is in docs/en/capacity.md ("Partitions").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, text

__all__ = ["PARTITIONED", "Partitioned", "add_year", "include_name", "partition_all", "partitions", "unpartition_all"]


@dataclass(frozen=True)
class Partitioned:
    table: str
    key: str  # the partition key column
    id_column: str  # the serial id (its sequence is kept)
    dated: bool  # the key is a timestamp (a year is [Jan 1, next Jan 1)), else an integer year

    def bounds(self, year: int) -> str:
        if self.dated:
            return f"FROM ('{year}-01-01') TO ('{year + 1}-01-01')"
        return f"FROM ({year}) TO ({year + 1})"

    def year_of(self) -> str:
        """SQL for the year of a row."""
        return f"EXTRACT(YEAR FROM {self.key})::int" if self.dated else self.key


PARTITIONED = (
    Partitioned("designations", "year", "designation_id", dated=False),
    Partitioned("audit_log", "at", "audit_id", dated=True),
)
_PARTITION = re.compile("(?:" + "|".join(p.table for p in PARTITIONED) + r")_(?:y\d{4}|default)")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """For Alembic's comparison of the models with a database: the partitions are not tables of the models (their
    parent is)."""
    return not (type_ == "table" and name is not None and _PARTITION.fullmatch(name) is not None)


def _rows(conn: Connection, sql: str, **params: object) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.execute(text(sql), params)]


def _is_partitioned(conn: Connection, table: str) -> bool:
    return bool(conn.execute(text("SELECT c.relkind = 'p' FROM pg_class c JOIN pg_namespace n "
                                  "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname = :t"),
                             {"t": table}).scalar())


def _rebuild(conn: Connection, spec: Partitioned, *, partitioned: bool, years: set[int]) -> None:
    """Rebuild ``spec.table`` as a partitioned table (or back to a plain one), rows copied, with the same columns,
    defaults, sequence, constraints (the primary key with or without the partition key), indexes and triggers."""
    t = spec.table
    incoming = _rows(conn, "SELECT conname FROM pg_constraint WHERE confrelid = CAST(:t AS regclass)", t=t)
    if incoming:
        raise RuntimeError(f"{t} is referenced by foreign keys {incoming}: not partitioned here")
    constraints = _rows(conn, "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                              "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u', 'f', 'c') "
                              "ORDER BY contype DESC, conname", t=t)
    names = {str(c[0]) for c in constraints}
    indexes = [str(d) for n, d in _rows(conn, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = "
                                              "current_schema() AND tablename = :t ORDER BY indexname", t=t)
               if n not in names]
    triggers = [str(r[0]) for r in _rows(conn, "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = "
                                                "CAST(:t AS regclass) AND NOT tgisinternal AND tgparentid = 0 "
                                                "ORDER BY tgname", t=t)]
    sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": t, "c": spec.id_column}).scalar()
    old = f"{t}_rebuilt_from"
    conn.execute(text(f"ALTER TABLE {t} RENAME TO {old}"))
    if sequence:
        conn.execute(text(f"ALTER SEQUENCE {sequence} OWNED BY NONE"))
    clause = f" PARTITION BY RANGE ({spec.key})" if partitioned else ""
    conn.execute(text(f"CREATE TABLE {t} (LIKE {old} INCLUDING DEFAULTS){clause}"))
    if partitioned:
        for year in sorted(years):
            conn.execute(text(f"CREATE TABLE {t}_y{year} PARTITION OF {t} FOR VALUES {spec.bounds(year)}"))
        conn.execute(text(f"CREATE TABLE {t}_default PARTITION OF {t} DEFAULT"))
    conn.execute(text(f"INSERT INTO {t} SELECT * FROM {old}"))
    conn.execute(text(f"DROP TABLE {old}"))
    if sequence:
        conn.execute(text(f"ALTER SEQUENCE {sequence} OWNED BY {t}.{spec.id_column}"))
    for name, kind, definition in constraints:
        definition = str(definition)
        if kind == "p":
            match = re.fullmatch(r"PRIMARY KEY \((.*)\)", definition)
            assert match is not None, definition
            cols = [c.strip() for c in match.group(1).split(",")]
            cols = [c for c in cols if c != spec.key] + ([spec.key] if partitioned else [])
            definition = f"PRIMARY KEY ({', '.join(cols)})"
        elif kind == "u" and partitioned and spec.key not in re.findall(r"\w+", definition):
            raise RuntimeError(f"{t}: unique constraint {name} lacks the partition key {spec.key}")
        conn.execute(text(f"ALTER TABLE {t} ADD CONSTRAINT {name} {definition}"))
    for statement in indexes + triggers:
        conn.execute(text(statement))


def _years(conn: Connection, spec: Partitioned, around: int) -> set[int]:
    """The years of the table's rows, and ``around - 1`` to ``around + 3``."""
    rows = _rows(conn, f"SELECT DISTINCT {spec.year_of()} FROM {spec.table}")
    found = {int(str(y)) for (y,) in rows if y is not None}
    return found | set(range(around - 1, around + 4))


def partition_all(conn: Connection, *, around: int) -> None:
    """Partition every table of :data:`PARTITIONED` (PostgreSQL; already partitioned tables are left alone)."""
    for spec in PARTITIONED:
        if not _is_partitioned(conn, spec.table):
            _rebuild(conn, spec, partitioned=True, years=_years(conn, spec, around))


def unpartition_all(conn: Connection) -> None:
    """Back to plain tables, rows kept (the downgrade of 0017)."""
    for spec in reversed(PARTITIONED):
        if _is_partitioned(conn, spec.table):
            _rebuild(conn, spec, partitioned=False, years=set())


def partitions(conn: Connection) -> list[tuple[str, str, str, int]]:
    """(table, partition, bounds, rows) of every partitioned table, in order."""
    out = []
    for spec in PARTITIONED:
        if not _is_partitioned(conn, spec.table):
            continue
        for name, bound in _rows(conn, "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                                       "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST(:t AS regclass) "
                                       "ORDER BY c.relname", t=spec.table):
            rows = int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar() or 0)
            out.append((spec.table, str(name), str(bound), rows))
    return out


def add_year(conn: Connection, year: int) -> list[str]:
    """Give ``year`` its own partition in every partitioned table (the partitions created; those that exist are
    left alone). Rows of ``year`` already in the DEFAULT partition move into it: DEFAULT is detached (which also
    lifts its append-only trigger), the rows moved, DEFAULT attached again, all in the caller's transaction."""
    if not 1900 <= year <= 9999:
        raise ValueError(f"year out of range: {year}")
    made = []
    for spec in PARTITIONED:
        t = spec.table
        if not _is_partitioned(conn, t):
            continue
        name = f"{t}_y{year}"
        if conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar() is not None:
            continue
        conn.execute(text(f"ALTER TABLE {t} DETACH PARTITION {t}_default"))
        conn.execute(text(f"CREATE TABLE {name} PARTITION OF {t} FOR VALUES {spec.bounds(year)}"))
        conn.execute(text(f"WITH moved AS (DELETE FROM {t}_default WHERE {spec.year_of()} = :y RETURNING *) "
                          f"INSERT INTO {name} SELECT * FROM moved"), {"y": year})
        conn.execute(text(f"ALTER TABLE {t} ATTACH PARTITION {t}_default DEFAULT"))
        made.append(name)
    return made
