"""Use case: run a county's year end to end (年度运行): enroll -> adjudicate -> appraise -> settle.

The steps share one read of the data folder and hand their tables to each other; every step's outputs are written
into one output folder, in the contract's names, so that a later ``settle --data OUT`` or ``appraise --data OUT``
reads them instead of computing them again. Scores for the P4P reserve come from the appraisal; the policy's
``settlement.scores`` and a ``scores`` input table override them (rules.md D3). The settlement is
``budget.service.settle_year``, the one that ``yigongti settle`` runs: same folder, same files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from yigongti.appraisal.indicator_sets import folder_indicator_set
from yigongti.appraisal.service import ROW, AppraisalResult, appraisal_written, appraise_data, write_appraisal
from yigongti.benefits.engine import DESIGNATED_COLUMNS, OUTPUT_COLUMNS
from yigongti.benefits.folder_check import check_claims_on
from yigongti.benefits.service import (
    adjudicate_data,
    adjudicated_expr,
    adjudicated_format,
    adjudicated_once,
    check_claims_files,
    claims_look,
    designations_for,
    folder_designations,
    parquet_claims,
    parquet_claims_path,
    parquet_files,
    parquet_rows,
    summarize,
    write_adjudicated,
    write_spilled,
)
from yigongti.budget.opening_service import resolve_opening
from yigongti.budget.service import (
    SPILLED_COLUMNS,
    STREAM_CLAIMS,
    SettlementResult,
    appraisal_scores,
    policy_with_scores,
    settle_streamed,
    settle_year,
    write_settlement,
)
from yigongti.core.engine import (
    Backend,
    arrow_system_pool,
    connect,
    memtables_released,
    read_parquet,
    release_memory,
)
from yigongti.core.policy import Policy
from yigongti.core.policy_files import folder_policy
from yigongti.core.problems import InvalidInput, Problem, errors
from yigongti.datafolder.folder import DataFolder, check_folder, find_table_file, read_folder
from yigongti.datafolder.partslook import PartsLook
from yigongti.datafolder.schema import APPRAISAL_TABLES, INPUT_TABLES
from yigongti.enrollment.report import enrollment_outputs, write_enrollment
from yigongti.enrollment.service import enroll_data

__all__ = ["STEPS", "YearResult", "appraisal_scores", "policy_with_scores", "run_year"]

DESIGNATION_COLUMNS = ["person_id", "year", "consortium_id", "township_id", "village_id"]
# DuckDB's memory when a province's claims stream through ``run`` (its default, 80% of the machine, is not a bound
# when 70 M claims are sorted for adjudicated.csv or joined); YIGONGTI_ENGINE_MEMORY overrides it. 3 GB: at 10 M
# persons the appraisal's shared claims statement (``ClaimsShare``) took the run to 8.0 GB with 4 GB here, and to
# 7.0 GB with 3 GB, in 7% less CPU (benchmarks/RESULTS.md)
ENGINE_MEMORY = "3GB"
MEMORY_ENV = "YIGONGTI_ENGINE_MEMORY"
STEPS = ("check", "enroll", "adjudicate", "appraise", "settle")
# Tables only the appraisal reads (follow-ups, contracts, ...: 2.5 GB in Arrow at 10 M persons): on the streamed path
# they are checked with the others, then parked on disk until the appraisal, not held while the claims are checked,
# the persons enrolled and the claims adjudicated
PARKED_TABLES = tuple(t.name for t in APPRAISAL_TABLES)
# Of those, the tables of persons (follow-ups, contracts, deaths, referrals: 2.2 GB in Arrow at 10 M persons) are not
# read back into memory for the appraisal: its engine reads them from the parked files (with ``_row``, each row's
# position in the table, for the problems), as it reads the claims
ENGINE_PARKED = ("followups", "contracts", "deaths", "referrals")
# The persons' columns read after the enrollment (adjudication: insurance; appraisal: county_code, birth_date;
# settlement: birth_date, lives_away)
PERSONS_KEPT = ("person_id", "insurance", "county_code", "birth_date", "lives_away")
# what the streamed run's appraisal and settlement read of the adjudication's spill: the claims columns ``settle``
# spills (SPILLED_COLUMNS: the settlement's and the appraisal's), the outputs, the designations
_RUN_ADJ_COLUMNS = tuple(dict.fromkeys([*SPILLED_COLUMNS, *OUTPUT_COLUMNS, *DESIGNATED_COLUMNS]))


@dataclass(frozen=True)
class YearResult:
    year: int
    designated: int
    claims: int
    appraisal: AppraisalResult
    settlement: SettlementResult
    out: Path


def run_year(folder: Path | str, year: int, out: Path | str, *, policy: Policy | None = None,
             backend: str = "duckdb", reports: bool = True,
             step: Callable[[str], None] | None = None, opening: Path | str | None = None,
             stream_above: int = STREAM_CLAIMS, fmt: str | None = None, sort: bool | None = None) -> YearResult:
    """Run ``year`` on a data folder and write every output into ``out``. ``opening``: last year's surplus.csv (or
    an opening table; default the folder's ``opening`` table). Raises InvalidInput on bad input (nothing is written
    then: the folder and the opening balances are validated before the first step). ``stream_above``: Parquet
    claims of more rows stream through the engine, as in ``settle_year`` (the default is the engine's; tests lower
    it). On Spark, Parquet claims of any number are read by the executors (:func:`_run_spark`), never here.
    ``fmt``: the adjudicated file's format, csv or parquet (default the claims': ``adjudicated_format``); ``sort``:
    its rows ordered by claim_id (default: CSV yes, Parquet no; as ``adjudicate``'s)."""
    folder, out = Path(folder), Path(out)
    tell = step or (lambda _name: None)
    fmt = adjudicated_format(folder, fmt)
    claims_path = parquet_claims_path(folder)
    if claims_path is not None and find_table_file(folder, "adjudicated") is None:
        # on Spark the executors read Parquet claims whatever their number (never the driver); on DuckDB a
        # county's few claims are read into memory, a province's stream
        if backend == "spark":
            return _run_spark(folder, claims_path, year, out, policy=policy, reports=reports, tell=tell,
                              opening=opening, fmt=fmt, sort=sort)
        if backend == "duckdb" and parquet_rows(claims_path) > stream_above:
            return _run_streamed(folder, claims_path, year, out, policy=policy, reports=reports, tell=tell,
                                 opening=opening, fmt=fmt, sort=sort)
    tell("check")
    data = read_folder(folder)
    policy = policy or folder_policy(folder)
    balances = resolve_opening(data, year, opening)

    tell("enroll")
    designations = _enrolled(data, year, policy, out, backend=backend)

    tell("adjudicate")
    adjudicated = adjudicate_data(data, year, policy, designations, backend=backend)
    write_adjudicated(adjudicated, out, fmt=fmt)  # ordered by claim_id (``adjudicate_data``'s), whatever ``sort``

    tell("appraise")
    appraisal = appraise_data(data, year, policy, designations, adjudicated,
                              indicator_set=folder_indicator_set(folder), backend=backend)
    write_appraisal(appraisal, out, reports=reports)

    tell("settle")
    settlement = settle_year(data, year, policy, backend=backend, designations=designations,
                             adjudicated=adjudicated, appraisal=appraisal, opening=balances)
    write_settlement(settlement, out, reports=reports)
    return YearResult(year, _count(designations, year), summarize(adjudicated, year).claims, appraisal, settlement,
                      out)


def _run_streamed(folder: Path, claims_path: Path, year: int, out: Path, *, policy: Policy | None, reports: bool,
                  tell: Callable[[str], None], opening: Path | str | None, fmt: str = "csv",
                  sort: bool | None = None) -> YearResult:
    """:func:`run_year` on a province's Parquet claims (more than ``STREAM_CLAIMS`` rows, DuckDB), as ``settle``
    streams them: the claims are never held in memory. They are checked once (with the other tables) and adjudicated
    once, from the files into a Parquet spill in the engine's temporary folder (removed at the end); the adjudicated
    file (``write_spilled``: adjudicated.parquet one copy of the spill in no order, adjudicated.csv sorted by
    claim_id, as the in-memory path writes it), the appraisal's measures and the settlement's sums read the spill,
    and only sums come out of the engine. Same
    files as the in-memory path (the appraisal with last year's indicators, the claims hashed by their bytes)."""
    with arrow_system_pool():  # Arrow's memory handed back between the steps (mimalloc kept its threads' pages)
        return _run_streamed_steps(folder, claims_path, year, out, policy=policy, reports=reports, tell=tell,
                                   opening=opening, fmt=fmt, sort=sort)


def _run_streamed_steps(folder: Path, claims_path: Path, year: int, out: Path, *, policy: Policy | None,
                        reports: bool, tell: Callable[[str], None], opening: Path | str | None, fmt: str,
                        sort: bool | None) -> YearResult:
    tell("check")
    spill = Path(tempfile.mkdtemp(prefix="yigongti-run-"))
    # the appraisal's files are written while the settlement runs (its reports drawn by other processes: the
    # settlement reads the appraisal's result, not its files) and put into ``out`` at the end
    writing = ExitStack()
    with writing:
        settlement, appraisal, designations, written = _streamed_steps(
            folder, claims_path, year, out, spill, writing, policy=policy, reports=reports, tell=tell,
            opening=opening, fmt=fmt, sort=sort)
    return YearResult(year, _count(designations, year), written, appraisal, settlement, out)


def _streamed_steps(folder: Path, claims_path: Path, year: int, out: Path, spill: Path, writing: ExitStack, *,
                    policy: Policy | None, reports: bool, tell: Callable[[str], None],
                    opening: Path | str | None, fmt: str,
                    sort: bool | None) -> tuple[SettlementResult, AppraisalResult, pa.Table, int]:
    try:
        # past the memory limit the sort of adjudicated.csv and the joins spill to disk; DuckDB's allocator hands the
        # pages its queries free back to the system as it goes (background threads; for the whole process, so the
        # check's own engine too), instead of keeping them (0.8 GB after a group-by of 10 M rows, on top of the limit)
        con = connect("duckdb", joins_as_written=True, memory_limit=os.environ.get(MEMORY_ENV) or ENGINE_MEMORY,
                      temp_directory=str(spill), allocator_background_threads=True)
        try:
            data, parked, claims_checked = _check_parking(folder, spill, claims_path)
            policy = policy or folder_policy(folder)
            balances = resolve_opening(data, year, opening)
            trim = claims_checked()  # whether any text cell is padded (the claims' problems raised here, as before)

            release_memory()
            tell("enroll")
            designations = _enrolled(data, year, policy, out)
            _drop_enrollment_inputs(data)

            release_memory()
            tell("adjudicate")
            with memtables_released(con):  # each step lets go of its in-memory tables on the run's connection
                spilled = adjudicated_once(con, data, claims_path, designations, policy, year,
                                           spill / "adjudicated.parquet", trim=trim)
                written = write_spilled(con, spilled, out, fmt=fmt, sort=sort)

            release_memory()
            tell("appraise")
            with memtables_released(con):
                in_engine = _unpark(data, parked, con)
                # the spill carries every claims column: this year's measures read the year's claims from it
                # (``adjudicated_claims``: no join of both years' claims with it by claim_id); last year's read
                # the claims
                adj = spilled.select(*_RUN_ADJ_COLUMNS)
                claims = parquet_claims(con, folder, checked=True, trim=trim)
                appraisal = appraise_data(data, year, policy, designations, adj,
                                          indicator_set=folder_indicator_set(folder), claims=claims, con=con,
                                          tables=in_engine, adjudicated_claims=True)
                del in_engine
            writing.enter_context(appraisal_written(appraisal, out, reports=reports))
            for name in parked:  # the settlement does not read them
                data.tables.pop(name, None)

            release_memory()
            tell("settle")
            settlement = settle_streamed(data, year, policy, con, designations, adj, claims,
                                         claim_files=parquet_files(claims_path), appraisal=appraisal,
                                         opening=balances)
        finally:
            con.disconnect()
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    write_settlement(settlement, out, reports=reports)
    return settlement, appraisal, designations, written


def _run_spark(folder: Path, claims_path: Path, year: int, out: Path, *, policy: Policy | None, reports: bool,
               tell: Callable[[str], None], opening: Path | str | None, fmt: str = "csv",
               sort: bool | None = None) -> YearResult:
    """:func:`run_year` on Spark with Parquet claims, as ``adjudicate`` and ``settle --engine spark`` run them: the
    executors read and check the claims (never the driver) before the first step, then adjudicate them once into
    Parquet parts in a scratch folder of ``out`` (``OUT/.run.spark/``: on a cluster, ``--out`` is storage every
    worker mounts); the adjudicated file is written from the parts by this machine's DuckDB (``write_spilled``: the
    bytes of ``adjudicate --engine spark``), and the appraisal's measures and the settlement's sums read them on
    Spark. The small tables are read and checked on the driver. Same files as ``run`` on DuckDB (the appraisal with
    last year's indicators, the claims hashed by their bytes); the scratch folder is removed."""
    tell("check")
    data = read_folder(folder, tables=[t for t in INPUT_TABLES if t != "claims"])
    policy = policy or folder_policy(folder)
    balances = resolve_opening(data, year, opening)
    con = connect("spark", keep_order=False, joins_as_written=True)  # the process's session: never disconnected
    trim = check_claims_on(con, data, claims_path)  # whether any text cell is padded

    tell("enroll")
    designations = _enrolled(data, year, policy, out, backend="spark")

    tell("adjudicate")
    scratch = out.resolve() / ".run.spark"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        con.to_parquet(adjudicated_expr(con, data, claims_path, designations, policy, year, designated=True,
                                        checked=True, trim=trim), str(scratch / "adjudicated"))
        parts = str(scratch / "adjudicated" / "*.parquet")
        duck = connect("duckdb")
        try:
            written = write_spilled(duck, duck.read_parquet(parts), out, fmt=fmt, sort=sort)
        finally:
            duck.disconnect()
        adj = read_parquet(con, parts).select(*_RUN_ADJ_COLUMNS)

        tell("appraise")
        claims = parquet_claims(con, folder, checked=True, trim=trim)
        appraisal = appraise_data(data, year, policy, designations, adj, indicator_set=folder_indicator_set(folder),
                                  backend="spark", claims=claims, con=con, adjudicated_claims=True)
        write_appraisal(appraisal, out, reports=reports)

        tell("settle")
        settlement = settle_streamed(data, year, policy, con, designations, adj, claims,
                                     claim_files=parquet_files(claims_path), appraisal=appraisal, opening=balances)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_settlement(settlement, out, reports=reports)
    return YearResult(year, _count(designations, year), written, appraisal, settlement, out)


def _check_parking(folder: Path, spill: Path,
                   claims_path: Path) -> tuple[DataFolder, dict[str, Path], Callable[[], bool]]:
    """The folder's tables but the claims, validated as ``read_folder`` validates them (the same problems, raised
    together as InvalidInput); those of :data:`PARKED_TABLES` are checked one at a time and written into ``spill``
    (Parquet files, as typed, with ``_row``: each row's position) instead of being kept: their names and files. (No
    check across tables involves them: ``datafolder.crosschecks.CROSS_COLUMNS``.) The third: the verdict of
    ``check_claims_files`` on the Parquet claims at ``claims_path``: returns whether a text cell is padded, or raises
    what the check raised.

    Another thread takes the first look at the claims files (``claims_look``: it needs no table) and checks the
    parked tables while this one checks the other tables, then the claims (their references to the persons and
    institutions need those checked): Arrow's kernels, Parquet's decoding and DuckDB's queries let go of the GIL,
    so the two cores share the check. What is raised, and in what order, is what
    the steps one after the other raise: the tables' problems (the parked ones' after the others', in the same list),
    and the claims' only when the tables have none, when the caller asks for the verdict (after the policy and the
    opening balances are read)."""
    small = [t for t in INPUT_TABLES if t != "claims" and t not in PARKED_TABLES]
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="yigongti-parking") as pool:
        looking = pool.submit(claims_look, claims_path)
        parking = pool.submit(_parked_tables, folder, spill, stop)
        try:
            data, problems = check_folder(folder, tables=small)
            # the claims' verdict while the parked tables are checked; not asked for when a table has a problem
            claims_checked = _claims_verdict(data, claims_path, looking) if not errors(problems) else _never
            found, parked = parking.result()
        except BaseException:
            # an error or an interrupt (Ctrl-C) on this thread: the other one is not waited for past the table it
            # checks (the parked tables not started are not checked; the caller removes the spill)
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    problems += found
    if errors(problems):
        raise InvalidInput(errors(problems))
    return data, parked, claims_checked


def _parked_tables(folder: Path, spill: Path, stop: threading.Event) -> tuple[list[Problem], dict[str, Path]]:
    """The tables of :data:`PARKED_TABLES` checked one at a time (their problems, in that order) and, while none has
    a problem, written into ``spill`` (:func:`_check_parking`): their files. Ends before the next table once ``stop``
    is set (the check given up on the other thread)."""
    problems: list[Problem] = []
    parked: dict[str, Path] = {}
    for name in PARKED_TABLES:
        if stop.is_set():
            break
        one, found = check_folder(folder, tables=[name])
        problems += found
        table = one.get(name)
        if table is None or errors(problems):
            continue
        parked[name] = spill / f"{name}.parquet"
        pq.write_table(table.append_column(ROW, pa.array(np.arange(table.num_rows, dtype=np.int64))), parked[name],
                       compression="none")
        del one, table
    return problems, parked


def _claims_verdict(data: DataFolder, claims_path: Path, looking: Future[PartsLook]) -> Callable[[], bool]:
    """``check_claims_files`` run now (with the first ``looking`` at the files when it was taken: else the check
    takes it, and raises what it raises); its answer given, or what it raised raised, when the result is called."""
    try:
        look = None if looking.exception() is not None else looking.result()
        trim = check_claims_files(data, claims_path, look=look)
    except Exception as exc:  # noqa: BLE001 - raised as it was when the caller asks (after the tables' problems)
        failure = exc

        def failed() -> bool:
            raise failure

        return failed
    return lambda: trim


def _never() -> bool:
    raise AssertionError("the claims are not checked when the other tables have problems")


def _unpark(data: DataFolder, parked: dict[str, Path], con: Backend) -> dict[str, ir.Table]:
    """Put the tables :func:`_check_parking` wrote back into ``data`` (the same typed columns), but those of
    :data:`ENGINE_PARKED`: those are returned as engine tables of ``con`` read from their files (with ``_row``)."""
    in_engine: dict[str, ir.Table] = {}
    for name, path in parked.items():
        if name in ENGINE_PARKED:
            in_engine[name] = con.read_parquet(path)
        else:
            data.tables[name] = pq.read_table(path).drop_columns([ROW])
    return in_engine


def _enrolled(data: DataFolder, year: int, policy: Policy, out: Path, *, backend: str = "duckdb") -> pa.Table:
    """The enrollment step of every path of :func:`run_year`: when ``data`` has no designations for ``year``, every
    insured person designated (``enroll_data`` on ``backend``) and the enrollment's files written into ``out``; then
    every year's designations, as settle takes them (a referring admission of last year keeps last year's)."""
    enrolled = None
    if folder_designations(data, year) is None:
        result = enroll_data(data, year, policy, backend=backend)
        write_enrollment(enrollment_outputs(data, result, policy), out)
        enrolled = result.designations
        del result  # (its refused choices and other tables let go before the designations are put together)
    return designations_for(data, year, policy, enrolled=enrolled)


def _drop_enrollment_inputs(data: DataFolder) -> None:
    """Once the year's designations are made, release what only enrollment read: the choices, the folder's
    designations (every year's are in the run's own table now) and the persons' columns that no later step reads
    (ID numbers, households, coordinates)."""
    for name in ("choices", "designations"):
        data.tables.pop(name, None)
    persons = data["persons"]
    data.tables["persons"] = persons.select([c for c in persons.column_names if c in PERSONS_KEPT])


def _count(designations: pa.Table, year: int) -> int:
    return int(pc.sum(pc.equal(designations.column("year"), year)).as_py() or 0)
