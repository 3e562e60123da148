"""Engine backends (计算引擎): one Ibis expression runs on embedded DuckDB (default) or Apache Spark (province scale).

Money columns are int64 fen throughout; see engine-notes.md for what keeps results identical on both backends.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import itertools
import operator
import os
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa
import sqlglot as sg
from ibis.backends import BaseBackend
from ibis.common.graph import bfs

__all__ = [
    "COUNTY_MAP_VIEW", "DUCKDB_THREADS_ENV", "SPARK_MASTER_ENV", "Backend", "age_expr", "arrow_batches",
    "arrow_system_pool", "connect", "dated_in",
    "duckdb_sql", "duckdb_threads", "duckdb_threads_here", "icd_expr", "memtable_names", "memtables_released",
    "partition_by_county", "read_parquet", "register_arrow", "release_memory", "set_duckdb_threads",
    "set_spark_master", "spark_master", "sql_shape", "to_arrow"]

Backend = BaseBackend
_counter = itertools.count()

SPARK_MASTER_ENV = "YIGONGTI_SPARK_MASTER"
COUNTY_MAP_VIEW = "yigongti_person_county"  # person_id -> county_code on a Spark session (分县分区)
# Spark settings a province run may set in the environment (defaults: Spark's own, or as noted)
_SPARK_ENV = {
    "YIGONGTI_SPARK_DRIVER_MEMORY": "spark.driver.memory",          # default 4g
    "YIGONGTI_SPARK_EXECUTOR_MEMORY": "spark.executor.memory",      # default Spark's 1g
    "YIGONGTI_SPARK_EXECUTOR_CORES": "spark.executor.cores",
    "YIGONGTI_SPARK_SHUFFLE_PARTITIONS": "spark.sql.shuffle.partitions",  # default 4
}
_master: list[str] = []  # set by --spark-master (set_spark_master), else the environment, else local[*]
DUCKDB_THREADS_ENV = "YIGONGTI_DUCKDB_THREADS"
_threads: list[int] = []  # set by set_duckdb_threads (a process of `simulate --jobs N`), else the environment


def set_duckdb_threads(n: int | None) -> None:
    """The number of threads of every later DuckDB connection of this process (``connect("duckdb")``); None: back to
    ``$YIGONGTI_DUCKDB_THREADS``, else DuckDB's default (every core). A process that shares the machine's cores with
    others of its kind (``yigongti simulate --jobs N``: one thread each on N cores) spends less CPU in DuckDB's
    parallel overhead; results are the same for any number."""
    if n is not None and n < 1:
        raise ValueError(f"DuckDB threads must be at least 1, not {n}")
    _threads[:] = [n] if n is not None else []


_here: ContextVar[int | None] = ContextVar("yigongti_duckdb_threads_here", default=None)


@contextmanager
def duckdb_threads_here(n: int) -> Iterator[None]:
    """Within the block, DuckDB connections made in this thread (this context) use ``n`` threads, whatever the
    process's setting: a simulation run in a background thread of a web worker (``simulator.runs``) leaves the
    worker's other cores to its requests; other threads keep their own."""
    if n < 1:
        raise ValueError(f"DuckDB threads must be at least 1, not {n}")
    token = _here.set(n)
    try:
        yield
    finally:
        _here.reset(token)


def duckdb_threads() -> int | None:
    """The DuckDB threads in force: :func:`duckdb_threads_here`'s in this context, else ``set_duckdb_threads``'s,
    else ``$YIGONGTI_DUCKDB_THREADS`` (a positive integer), else None (DuckDB's default, every core)."""
    here = _here.get()
    if here is not None:
        return here
    if _threads:
        return _threads[0]
    value = os.environ.get(DUCKDB_THREADS_ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def set_spark_master(url: str | None) -> None:
    """The Spark master every later ``connect("spark")`` of this process uses (``--spark-master``); None: back to
    ``$YIGONGTI_SPARK_MASTER``, else ``local[*]``."""
    _master[:] = [url] if url else []


def spark_master() -> str:
    """The Spark master URL in force: ``set_spark_master``'s, else ``$YIGONGTI_SPARK_MASTER``, else ``local[*]``
    (every core of this machine)."""
    return _master[0] if _master else (os.environ.get(SPARK_MASTER_ENV) or "local[*]")


def connect(kind: str = "duckdb", *, keep_order: bool = True, joins_as_written: bool = False,
            **options: Any) -> BaseBackend:
    """An Ibis connection: ``duckdb`` (in memory unless ``database=`` is given) or ``spark`` (the session of this
    process on :func:`spark_master`: ``local[*]``, or a standalone cluster ``spark://host:7077``, YARN, k8s).

    ``keep_order=False``: results without an ORDER BY may come in any order (DuckDB's preserve_insertion_order off:
    less memory and faster writes for a province's unsorted output).
    ``joins_as_written``: DuckDB builds each join's hash table on the right side as the expression has it, instead of
    on the side it estimates smaller. For expressions written "claims LEFT JOIN lookup" (the adjudication): after a
    few filters DuckDB estimates a province's claims at a twentieth of their number and would hold them in memory to
    probe a lookup of 18 M rows (11.6 GB at 100 M claims instead of 2-3).
    DuckDB's threads: ``threads=``, else :func:`duckdb_threads` (``set_duckdb_threads``, ``$YIGONGTI_DUCKDB_THREADS``).
    Spark: ``master=``, ``shuffle_partitions=``, ``driver_memory=`` override the environment (``_SPARK_ENV``). The
    session is created once per process (``getOrCreate``); later calls get the same one, whatever they ask."""
    if kind == "duckdb":
        config = dict(options)
        threads = duckdb_threads()
        if threads is not None and "threads" not in config:
            config["threads"] = threads
        if not keep_order:
            config["preserve_insertion_order"] = False
        if joins_as_written:
            config["disabled_optimizers"] = "build_side_probe_side"
        return ibis.duckdb.connect(**config)
    if kind == "spark":
        from pyspark.sql import SparkSession

        conf = {"spark.driver.memory": "4g", "spark.sql.shuffle.partitions": "4"}
        conf |= {key: os.environ[env] for env, key in _SPARK_ENV.items() if os.environ.get(env)}
        if "shuffle_partitions" in options:
            conf["spark.sql.shuffle.partitions"] = str(options.pop("shuffle_partitions"))
        if "driver_memory" in options:
            conf["spark.driver.memory"] = str(options.pop("driver_memory"))
        builder = (
            SparkSession.builder.master(str(options.pop("master", None) or spark_master()))
            .appName("yigongti")
            .config("spark.sql.session.timeZone", "Asia/Shanghai")
            .config("spark.ui.enabled", "false")
            # the executors' Python (a Python UDF, if any, runs there): this interpreter unless PYSPARK_PYTHON says
            .config("spark.pyspark.python", os.environ.get("PYSPARK_PYTHON") or sys.executable)
        )
        for key, value in conf.items():
            builder = builder.config(key, value)
        return ibis.pyspark.connect(builder.getOrCreate())
    raise ValueError(f"unknown engine backend {kind!r} (duckdb or spark)")


def partition_by_county(con: BaseBackend, persons: pa.Table) -> None:
    """On Spark, remember each person's county (``persons.county_code``) on the session, so that tables keyed by
    person registered afterwards (claims, designations, adjudicated claims) are spread over the cluster by county:
    every task then holds whole counties, and a province splits along its counties. Nothing on DuckDB."""
    if con.name != "pyspark" or "county_code" not in persons.column_names:
        return
    session = con._session
    session.createDataFrame(persons.select(["person_id", "county_code"])).createOrReplaceTempView(COUNTY_MAP_VIEW)


def register_arrow(con: BaseBackend, table: pa.Table, name: str | None = None) -> ibis.Table:
    """Make an Arrow table available to ``con`` as an Ibis table (a temp view on Spark, a registered table on
    DuckDB).

    On Spark the rows are partitioned by county code (分县分区): by the table's own ``county_code`` column (persons,
    institutions, consortia), else, for a table keyed by ``person_id`` (claims, designations), by the person's county
    once :func:`partition_by_county` has told the session. The partitioning changes where rows are computed, never
    a result: every output is sorted."""
    name = name or f"t_{next(_counter)}"
    if con.name == "pyspark":
        session = con._session
        # straight from Arrow: through pandas a null string would become the text 'NaN'
        _by_county(session, session.createDataFrame(table)).createOrReplaceTempView(name)
        return con.table(name)
    return con.create_table(name, table, temp=True, overwrite=True)


def _by_county(session: Any, df: Any) -> Any:
    """A Spark DataFrame spread by county code (分县分区): by its own ``county_code`` column, else, keyed by
    ``person_id``, by the person's county once :func:`partition_by_county` has told the session; else as it is."""
    cols = df.columns
    if "county_code" in cols:
        return df.repartition("county_code")
    if "person_id" in cols and session.catalog.tableExists(COUNTY_MAP_VIEW):
        county = session.table(COUNTY_MAP_VIEW)
        return df.join(county, "person_id", "left").repartition("county_code").select(*cols)
    return df


def memtable_names(con: BaseBackend) -> set[str]:
    """The Arrow tables Ibis has registered on a DuckDB connection for its in-memory tables (``ibis.memtable``): Ibis
    keeps each one registered, and so alive, until the connection closes (or the process exits). Empty elsewhere."""
    if con.name != "duckdb":
        return set()
    rows = con.con.execute("SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal "
                           "AND view_name LIKE 'ibis\\_%memtable\\_%' ESCAPE '\\'").fetchall()
    return {str(r[0]) for r in rows}


@contextmanager
def memtables_released(con: BaseBackend) -> Iterator[None]:
    """Let go, at the end of the block, of the in-memory tables registered on ``con`` within it (DuckDB; nothing on
    another backend). A connection that lives through several steps of a province's run (``run``) would otherwise
    hold every step's Arrow tables (persons, designations, the scope maps: gigabytes at 10 M persons) until it closes.
    An expression of the block still in use afterwards is registered again when it runs (Ibis forgets the table
    too), so no later query can miss one."""
    before = memtable_names(con)
    try:
        yield
    finally:
        gone = memtable_names(con) - before
        if gone:
            registered = con._memtables  # Ibis's set of the in-memory tables it has registered on this connection
            for op in list(registered):
                if op.name in gone:
                    registered.discard(op)
            for name in sorted(gone):
                con.con.unregister(name)


@contextmanager
def arrow_system_pool() -> Iterator[None]:
    """Arrow allocates from the C library's heap (its system pool) within the block, instead of its default
    (mimalloc), and the pool it had is put back at the end (a buffer is freed to the pool it came from, whenever).
    mimalloc keeps what Arrow's reader threads allocated in those threads' heaps after it is freed (150-300 MB at 1 M
    persons past what Arrow holds, in every step of ``run``, measured); the C library's is handed back by
    :func:`release_memory` (``malloc_trim``). Changes no result."""
    kept = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(kept)


def release_memory() -> None:
    """Hand the memory this process has freed back to the system: the Arrow pool's unused pages and the C library's
    free heap (glibc's ``malloc_trim``; DuckDB allocates with it). Between the steps of a province's run, so that the
    next step's peak does not sit on the last one's freed but retained pages. Changes no result."""
    pa.default_memory_pool().release_unused()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def dated_in(col: ir.DateValue, years: list[int]) -> ir.BooleanValue:
    """Whether a date lies in one of ``years`` (null: no), as ranges of dates rather than the year of each: a
    comparison the engine evaluates as it reads the Parquet column (and a row group out of the range is not read)."""
    spans: list[list[int]] = []
    for y in sorted(set(years)):
        if spans and spans[-1][1] == y:
            spans[-1][1] = y + 1
        else:
            spans.append([y, y + 1])
    conds = [(col >= ibis.date(a, 1, 1)) & (col < ibis.date(b, 1, 1)) for a, b in spans]
    return functools.reduce(operator.or_, conds) if conds else ibis.literal(False)


def read_parquet(con: BaseBackend, source: str, name: str | None = None) -> ibis.Table:
    """Parquet files read by the engine itself, never through this process's memory: ``source`` is a file, a glob
    (``claims/*.parquet``) or, on Spark, any URI its executors read (``hdfs://``, ``file://``, ``s3a://``).

    DuckDB streams them on this machine (by their columns' names when the files' columns differ,
    :func:`_columns_differ`). On Spark the executors read them and the rows are spread by the person's
    county (:func:`partition_by_county`), as :func:`register_arrow` spreads a table the driver hands over; with the
    columns of every file (``mergeSchema``: else Spark takes one file's, and a column only the others hold goes
    unread and unchecked)."""
    if con.name == "pyspark":
        session = con._session
        name = name or f"t_{next(_counter)}"
        if "://" not in source and not source.startswith("file:"):  # a path of this machine: Hadoop's file URI
            source = "file://" + os.path.abspath(source)
        read = session.read.option("mergeSchema", "true").parquet(source)
        _by_county(session, read).createOrReplaceTempView(name)
        return con.table(name)
    if _columns_differ(source):  # DuckDB too takes the first file's columns unless told to match them by name
        return con.read_parquet(source, union_by_name=True)
    return con.read_parquet(source)


def _columns_differ(source: str) -> bool:
    """Whether the Parquet files of ``source`` (a file or a glob of this machine) do not all name the same columns
    (their footers alone are read). Then a column that the first file lacks would go unread, and unchecked, in the
    others: those files are read by their columns' names (``union_by_name``; the columns a file lacks are null)."""
    import glob

    import pyarrow.parquet as pq

    files = sorted(glob.glob(source)) if glob.has_magic(source) else [source]
    names: set[tuple[str, ...]] = set()
    for f in files:
        try:
            names.add(tuple(sorted(pq.read_schema(f).names)))
        except (OSError, pa.ArrowException):  # unreadable: DuckDB's own read says what is wrong with it
            return False
        if len(names) > 1:
            return True
    return False


def to_arrow(expr: ibis.Table, con: BaseBackend | None = None) -> pa.Table:
    """Execute an expression and return Arrow (on DuckDB with its SQL compiled once per shape, :func:`duckdb_sql`);
    on ``con`` when given (``con.to_pyarrow(expr)``: an expression of in-memory tables only runs there, its tables
    registered on it), else on the expression's backend."""
    backend: Any = con if con is not None else expr.get_backend()
    if backend.name != "duckdb":
        return backend.to_pyarrow(expr) if con is not None else expr.to_pyarrow()
    from ibis.backends.duckdb.converter import DuckDBPyArrowData

    backend._run_pre_execute_hooks(expr)  # registers the expression's in-memory tables, as to_pyarrow does
    table = backend.con.sql(duckdb_sql(expr, backend)).to_arrow_table()
    return expr.__pyarrow_result__(table, data_mapper=DuckDBPyArrowData)  # typed as to_pyarrow types it


_SQL_SHAPES: OrderedDict[tuple[Any, ...], str] = OrderedDict()  # the expression's shape (sql_shape) -> SQL
_SQL_SHAPES_MAX = 256
_sql_lock = threading.Lock()
_PLACEHOLDER = "__yigongti_table_{}"
_PLACEHOLDER_RE = re.compile(r'"__yigongti_table_(\d+)"')


def duckdb_sql(expr: ir.Table, con: BaseBackend | None = None) -> str:
    """The DuckDB SQL of ``expr``, what ``backend.compile(expr)`` gives, compiled once per shape of expression.

    Ibis's compilation of a large expression (the adjudication's passes) costs as much CPU as DuckDB's execution of
    a simulator batch's small tables (0.6 CPU s of 8 per batch), and a batch, a replicate or a year after the first
    builds the same expressions again on other tables. The expression's tables (in-memory tables, whose names are
    new each time, and the connection's tables, which belong to one connection) are numbered placeholders of the
    same schema in its shape (:func:`sql_shape`); the SQL of that shape (every column, literal and operation as it
    is: another policy or year is another shape) is kept, and the tables' names are put back in for this
    expression. ``con``: the DuckDB connection that compiles (default the expression's backend)."""
    op = expr.as_table().op()
    graph = bfs(op)
    tables = [t for t in graph if isinstance(t, (ops.InMemoryTable, ops.DatabaseTable))]
    key = sql_shape(graph, {t: i for i, t in enumerate(tables)})
    with _sql_lock:
        sql = _SQL_SHAPES.get(key)
        if sql is not None:
            _SQL_SHAPES.move_to_end(key)
    if sql is None:
        backend: Any = con if con is not None else expr.get_backend()
        holders = {t: ops.UnboundTable(name=_PLACEHOLDER.format(i), schema=t.schema,
                                       namespace=getattr(t, "namespace", ops.Namespace()))
                   for i, t in enumerate(tables)}
        sql = backend.compile((op.replace(holders) if holders else op).to_expr())
        with _sql_lock:
            _SQL_SHAPES[key] = sql
            while len(_SQL_SHAPES) > _SQL_SHAPES_MAX:
                _SQL_SHAPES.popitem(last=False)
    names = [sg.to_identifier(t.name, quoted=True).sql(dialect="duckdb") for t in tables]
    return _PLACEHOLDER_RE.sub(lambda m: names[int(m.group(1))], sql)


_NODE, _MAP, _TABLE = object(), object(), object()  # markers of a shape's rows (equal to nothing else)


def sql_shape(graph: dict[ops.Node, Any], tables: dict[ops.Node, int]) -> tuple[Any, ...]:
    """The shape of an expression as flat rows, one per node of ``graph`` (``ibis.common.graph.bfs`` of its root, in
    that order): a table of ``tables`` as its number, schema and namespace; any other node as its type and arguments,
    a node among them as its row's position. Two expressions have the same shape exactly when replacing their tables
    by placeholders of their numbers gives equal expressions (the breadth-first order and the nodes' equality are
    Ibis's own), so the SQL compiled for one serves the other; cheaper than building that replaced expression (every
    node made again and validated: 0.07 CPU s for an adjudication pass)."""
    at = {node: i for i, node in enumerate(graph)}

    def arg(a: Any) -> Any:
        if isinstance(a, ops.Node):
            return (_NODE, at[a])
        if isinstance(a, (tuple, list)):
            return tuple(arg(x) for x in a)
        if isinstance(a, dict):
            return (_MAP, tuple((arg(k), arg(v)) for k, v in a.items()))
        return a

    rows: list[tuple[Any, ...]] = []
    for node in graph:
        if node in tables:
            rows.append((_TABLE, tables[node], node.schema, getattr(node, "namespace", None)))
        else:
            rows.append((type(node), tuple(arg(a) for a in node.__args__)))
    return tuple(rows)


def age_expr(birth_date: ir.DateValue, year: int) -> ir.IntegerValue:
    """Age on 1 January (1月1日年龄): completed years on Jan 1 of ``year``, 0 for a person born later; the column
    version of :func:`yigongti.core.dates.age_on_jan_1` (tested to agree), the one every engine uses."""
    jan1 = (birth_date.month() == 1) & (birth_date.day() == 1)
    age = ibis.literal(year) - birth_date.year() - ibis.ifelse(jan1, 0, 1)
    return ibis.greatest(age, 0).cast("int64")


def icd_expr(col: ir.StringValue, patterns: Iterable[str]) -> ir.BooleanValue:
    """:func:`yigongti.core.icd.icd_matches` as a column expression (null when the code is null)."""
    code = col.strip().upper().replace(".", "")
    cond: ir.BooleanValue = ibis.literal(False)
    for p in patterns:
        lo, _, hi = p.strip().upper().partition("-")
        if hi:
            cond = cond | code.substr(0, 3).between(lo[:3], hi[:3])
        else:
            cond = cond | code.startswith(lo.replace(".", ""))
    return cond


def arrow_batches(expr: ir.Table, rows: int) -> pa.RecordBatchReader:
    """``expr`` executed on DuckDB as a stream of Arrow batches of at most ``rows`` rows, in the expression's order
    (Ibis's own ``to_pyarrow_batches`` calls a method this DuckDB no longer has)."""
    backend: Any = expr.get_backend()
    backend._run_pre_execute_hooks(expr)  # registers the expression's in-memory tables
    reader: pa.RecordBatchReader = backend.con.sql(str(backend.compile(expr))).to_arrow_reader(rows)
    return reader
