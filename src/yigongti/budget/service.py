"""Use case: the capitation budget and year-end settlement of a county-year (总额付费、年终清算).

``settle_year`` is the one settlement of a data folder: ``yigongti settle``, ``yigongti run``, the platform's
figures and the benchmarks call it. It takes what it needs from the folder (running enrollment and adjudication
first when their outputs are not there, with every year's designations), appraises the year for the P4P scores
(绩效考核; a ``scores`` table or the policy override them), aggregates claims with the engine (DuckDB or Spark),
applies the pure rules of ``budget.capitation`` and ``budget.domain`` and returns the contract tables;
``write_settlement`` writes them.

Whether the claims stream or sit in memory is decided here by their size, never by the caller, and never changes a
fen: Parquet claims of more than :data:`STREAM_CLAIMS` rows (DuckDB) are adjudicated, appraised and summed in the
engine straight from the files; otherwise the folder is read into memory. The inputs hash does not depend on it
either: when the adjudication is computed from Parquet claims, the hash covers those files' bytes (in file-name
order) on both paths; otherwise the adjudicated claims' values.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yigongti.appraisal.engine import ADJUDICATED_CLAIM_COLUMNS
from yigongti.appraisal.indicator_sets import folder_indicator_set
from yigongti.appraisal.service import AppraisalResult, appraise_data
from yigongti.benefits.engine import DESIGNATED_COLUMNS
from yigongti.benefits.service import (
    ADJUDICATED_COLUMNS,
    adjudicated_expr,
    adjudicated_once,
    check_claims_files,
    load_adjudicated,
    parquet_claims,
    parquet_claims_path,
    parquet_files,
    parquet_rows,
    settlement_inputs,
)
from yigongti.benefits.service import adjudicated_for as _adjudicated_for
from yigongti.benefits.service import designations_of_every_year as _designations_for
from yigongti.budget import engine as q
from yigongti.budget.agreement_table import agreed_budgets, with_budget_source
from yigongti.budget.capitation import Budget, HeadCount, county_budgets
from yigongti.budget.domain import (
    Allocation,
    ConsortiumSettlement,
    LedgerEntry,
    Member,
    Spending,
    consortium_ledger,
    inputs_hash,
    lives_away_ledger,
    member_allocations,
    number_ledger,
    public_health_accounts,
    settle_consortium,
    with_surplus,
)
from yigongti.budget.opening_service import folder_opening, opening_table
from yigongti.budget.package import PackageLine, StatementRow, closing_balances, member_statements, package_lines
from yigongti.budget.reserve import (
    Balances,
    InterimRow,
    SurplusOutcome,
    SurplusYear,
    interim_rows,
    quarter_balances,
    surplus_year,
)
from yigongti.core.collector import heap_frozen
from yigongti.core.engine import Backend, connect, partition_by_county, register_arrow, to_arrow
from yigongti.core.policy import DISTRIBUTION_FORMS, Policy, policy_to_toml
from yigongti.core.policy_files import folder_policy
from yigongti.core.prefixes import rows_by_prefix
from yigongti.core.problems import InvalidInput, Problem
from yigongti.datafolder.folder import (
    DataFolder,
    find_table_file,
    read_folder,
    write_table,
)
from yigongti.datafolder.schema import INPUT_TABLES

__all__ = [
    "SETTLED_CLAIMS_COLUMNS", "SPILLED_COLUMNS", "STREAM_CLAIMS", "SettlementResult", "appraisal_scores",
    "format_heads", "interim_table", "load_adjudicated", "package_table", "package_year", "policy_with_scores",
    "settle_data",
    "settle_streamed", "settle_worlds", "settle_year", "settlement_inputs", "spent_by_month", "statements_table",
    "surplus_table", "write_package", "write_settlement",
]

# Parquet claims of more rows than this are settled streaming from the files through the engine (at 10 M claims
# the in-memory path took 40.8 s and 6.9 GB against 12.5 s and 1.6 GB streamed); the money is the same either way
STREAM_CLAIMS = 1_000_000

_HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inputs-hash")

# the claims columns the settlement asks of the engine's adjudication (the rest of ADJUDICATED_COLUMNS it computes)
SETTLED_CLAIMS_COLUMNS = [c for c in ADJUDICATED_COLUMNS if c not in ("fund_paid", "rule")]
# what ``settle``'s streamed path adjudicates the claims with: the settlement's columns and those the appraisal's
# measures read the year's claims from (``appraise_data(adjudicated_claims=True)``: no join by claim_id)
SPILLED_COLUMNS = list(dict.fromkeys([*SETTLED_CLAIMS_COLUMNS, *ADJUDICATED_CLAIM_COLUMNS]))
# the adjudication's outputs neither the settlement (:data:`ADJUDICATED_COLUMNS`) nor the appraisal reads: not spilled
_UNREAD_OUTPUTS = ("network_status", "deductible", "patient_paid")
# what ``settle``'s own spill holds: :data:`SPILLED_COLUMNS` but the claim ids, which none of its readers reads (the
# appraisal's measures read the claims' columns it carries, the settlement's sums the designation's, and the inputs
# hash the claims' files): a unique text a claim, the dearest column to write (about 0.8 of 3.5 CPU s at 10 M claims)
_SETTLE_SPILLED = [c for c in SPILLED_COLUMNS if c != "claim_id"]


@dataclass
class SettlementResult:
    """Everything a settlement produced: contract tables (Arrow, money int64 fen) and the figures of the reports."""

    year: int
    settlement: pa.Table
    allocation: pa.Table
    ledger: pa.Table
    inputs_hash: str
    consortia: list[ConsortiumSettlement]
    allocations: list[Allocation]
    by_month: pa.Table
    by_tier: pa.Table
    top_diagnoses: pa.Table
    names: dict[str, str] = field(default_factory=dict)
    lives_away: dict[int, int] = field(default_factory=dict)  # month -> fen the fund paid for persons living away
    appraisal: AppraisalResult | None = None  # the appraisal whose scores paid the P4P (None: not appraised)
    appraisal_problem: str | None = None  # why the appraisal could not run (only with appraisal_errors="report")
    adjudicated: pa.Table | None = None  # the year's adjudicated claims when they were in memory (not streamed)
    streamed: bool = False  # the claims streamed from Parquet through the engine
    budget_sources: dict[str, str] = field(default_factory=dict)  # consortium -> formula / signed agreement vN ...
    formula_budgets: dict[str, Budget] = field(default_factory=dict)  # the formula's, signed agreement or not
    surplus: list[SurplusOutcome] = field(default_factory=list)  # the surplus rules' outcome by consortium
    surplus_opening: dict[str, Balances] = field(default_factory=dict)  # the balances the year opened with
    package: list[PackageLine] = field(default_factory=list)  # the internal package (包干) of the year
    statements: list[StatementRow] = field(default_factory=list)  # the members' monthly statements
    interim: list[InterimRow] = field(default_factory=list)  # quarter by quarter, when the policy says quarterly


def format_heads(h: Decimal) -> str:
    """Standard heads as exact text with at least 2 decimals (57.15, 12.345)."""
    q2 = h.quantize(Decimal("0.01"))
    return f"{q2:f}" if q2 == h else f"{h.normalize():f}"


def _score_text(s: Decimal | None) -> str | None:
    return None if s is None else f"{s.normalize():f}"


# --------------------------------------------------------------------------------------------- inputs

def _register(con: Backend, table: pa.Table) -> ir.Table:
    """An Arrow table for the engine: zero-copy on DuckDB (an in-memory table), a temp view on Spark."""
    return ibis.memtable(table) if con.name == "duckdb" else register_arrow(con, table)


def _canonical(table: pa.Table, columns: list[str], key: list[str]) -> Iterator[memoryview]:
    """The values of ``columns`` in ``key`` order as byte strings that depend on the values only (not on chunking,
    buffer layout or input order): per column its null bits and its values (fixed width little-endian; strings as
    32-bit lengths then UTF-8)."""
    t = table.select(columns)
    if not _is_sorted(t, key):
        t = t.take(pc.sort_indices(t, sort_keys=[(k, "ascending") for k in key]))

    def raw(a: np.ndarray) -> memoryview:
        return memoryview(np.ascontiguousarray(a).data).cast("B")

    for name in columns:
        col = t.column(name)
        yield memoryview(name.encode("utf-8"))
        yield raw(np.packbits(np.asarray(pc.is_null(col).to_numpy(zero_copy_only=False), dtype=bool)))
        typ = col.type
        if pa.types.is_string(typ) or pa.types.is_large_string(typ):
            arr = pc.fill_null(col, "").combine_chunks().cast(pa.large_string())
            offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset: arr.offset + len(arr) + 1]
            data = arr.buffers()[2]
            yield raw(np.diff(offsets).astype("<u4"))
            yield memoryview(b"") if data is None else memoryview(data)[int(offsets[0]): int(offsets[-1])]
        elif pa.types.is_boolean(typ):
            yield raw(np.packbits(np.asarray(pc.fill_null(col, False).to_numpy(zero_copy_only=False), dtype=bool)))
        elif pa.types.is_date(typ):
            yield raw(np.asarray(pc.fill_null(col.cast(pa.date32()).cast(pa.int32()), 0).to_numpy(), dtype="<i4"))
        else:
            yield raw(np.asarray(pc.fill_null(col.cast(pa.int64()), 0).to_numpy(), dtype="<i8"))


def _is_sorted(t: pa.Table, key: list[str]) -> bool:
    """True when the rows are already in strictly ascending order of a single-column key (cheap check)."""
    if len(key) != 1 or t.num_rows < 2:
        return bool(t.num_rows < 2)
    k = t.column(key[0]).combine_chunks()
    ordered = pc.less(k.slice(0, len(k) - 1), k.slice(1))
    return bool(np.all(np.asarray(pc.fill_null(ordered, False).to_numpy(zero_copy_only=False), dtype=bool)))


def _file_bytes(files: list[Path]) -> Iterator[memoryview]:
    """Each file's name and bytes, in name order, read in pieces (a province's claims are never held whole)."""
    for f in sorted(files, key=lambda p: p.name):
        yield memoryview(f.name.encode("utf-8"))
        with f.open("rb") as fh:
            while piece := fh.read(1 << 23):
                yield memoryview(piece)


def _hash_inputs(*, tables: dict[str, tuple[pa.Table, list[str], list[str]]], policy: Policy, year: int,
                 files: list[Path] | None = None) -> str:
    parts: dict[str, bytes | Iterator[memoryview]] = {
        name: _canonical(t, cols, key) for name, (t, cols, key) in tables.items()}  # streamed
    if files:
        parts["claims files"] = _file_bytes(files)
    parts["policy.toml"] = policy_to_toml(policy).encode("utf-8")
    parts["year"] = str(year).encode("ascii")
    return inputs_hash(parts)


# --------------------------------------------------------------------------------------------- the use case

def appraisal_scores(appraisal: AppraisalResult) -> dict[str, Decimal]:
    """Scores by unit id (consortia and institutions) that the appraisal could compute."""
    return {r["unit_id"]: Decimal(r["score"]) for r in appraisal.scores.to_pylist() if r["score"] not in (None, "")}


def policy_with_scores(policy: Policy, computed: dict[str, Decimal]) -> Policy:
    """The policy whose ``settlement.scores`` are the computed scores, overridden by those the policy itself names."""
    merged = {**computed, **policy.settlement.scores}
    return policy.model_copy(update={"settlement": policy.settlement.model_copy(update={"scores": merged})})


def settle_year(data: DataFolder | Path | str, year: int, policy: Policy | None = None, *,
                backend: str = "duckdb", con: Backend | None = None, designations: pa.Table | None = None,
                adjudicated: pa.Table | None = None, appraisal: AppraisalResult | None = None,
                appraise: bool = True, appraisal_errors: str = "raise", top_diagnoses: int = 10,
                stream_above: int = STREAM_CLAIMS, opening: Mapping[str, Balances] | None = None) -> SettlementResult:
    """The settlement of ``year`` for every consortium of a data folder (年终清算): the one use case.

    ``designations`` (every year's, as ``designations_for`` gives them), ``adjudicated`` (the year's claims) and
    ``appraisal`` are what the caller computed already (``run`` hands in what it wrote); what is not handed in is
    read from the folder or computed. ``appraise``: the P4P scores come from the year's appraisal, overridden by the
    policy's ``settlement.scores`` and a ``scores`` table (False: only those). ``appraisal_errors``: ``"raise"`` (an
    appraisal that cannot run stops the settlement) or ``"report"`` (the settlement is paid by the policy's and the
    scores table's scores only, and ``appraisal_problem`` says why, for a caller that shows it). ``stream_above``:
    Parquet claims of more rows stream through the engine (the default is the engine's; tests lower it).
    ``opening``: each consortium's risk reserve and surplus carried in from last year (budget.reserve); None: the
    folder's ``opening`` table (budget.opening_service), else 0. Raises InvalidInput on bad input."""
    if appraisal_errors not in ("raise", "report"):
        raise ValueError(f"appraisal_errors must be 'raise' or 'report', not {appraisal_errors!r}")
    folder = data.path if isinstance(data, DataFolder) else Path(data)
    path = parquet_claims_path(folder)
    # the claims' files are hashed whenever the adjudication is of the folder's Parquet claims (computed here or
    # handed in by ``run``), on either path: not when the folder has its own adjudicated table
    claim_files = (parquet_files(path) if path is not None and find_table_file(folder, "adjudicated") is None
                   else None)
    # on Spark the executors read Parquet claims whatever their number (never the driver); on DuckDB a county's
    # few claims are read into memory, a province's stream
    if (path is not None and claim_files is not None and adjudicated is None and con is None
            and not isinstance(data, DataFolder) and (backend != "duckdb" or _rows_or_none(path) > stream_above)):
        return _settle_streamed(folder, year, policy, backend=backend, designations=designations,
                                appraisal=appraisal, appraise=appraise, appraisal_errors=appraisal_errors,
                                top_diagnoses=top_diagnoses, opening=opening)
    if not isinstance(data, DataFolder):
        data = read_folder(folder)
    policy = policy or folder_policy(folder)
    if designations is None:
        designations = _designations_for(data, year, policy, backend=backend)
    if adjudicated is None:
        adjudicated = _adjudicated_for(data, year, policy, designations, backend=backend)
    appraisal, problem = _appraised(appraisal, appraise, appraisal_errors, lambda: appraise_data(
        data, year, policy, designations, adjudicated, indicator_set=folder_indicator_set(folder), backend=backend))
    scored = policy_with_scores(policy, appraisal_scores(appraisal)) if appraisal is not None else policy
    result = settle_data(data, year, scored, backend=backend, con=con, designations=designations,
                         adjudicated=adjudicated, top_diagnoses=top_diagnoses, claim_files=claim_files,
                         opening=opening)
    result.appraisal, result.appraisal_problem, result.adjudicated = appraisal, problem, adjudicated
    return result


def settle_worlds(stacked: DataFolder, tags: Sequence[str], worlds: Sequence[tuple[DataFolder, pa.Table, pa.Table,
                                                                                 AppraisalResult | None]],
                  year: int, policy: Policy, *, designations: pa.Table, adjudicated: pa.Table,
                  backend: str = "duckdb", hashed: bool = True) -> list[SettlementResult]:
    """The settlements of many worlds (a simulator's replicates) with ONE run of the engine's figures: ``stacked``
    holds every world's tables with every key (person, institution, consortium, township, village, claim ids)
    prefixed by the world's tag (``tags``, all of one width), ``designations`` and ``adjudicated`` are the stacked
    ones. The head counts and the persons living away are grouped by world too (the capitation pool is per world:
    each world's rate is its pool over its own heads), the other figures are per consortium or institution, hence
    per world; they are split by the prefix, which is removed, and each world is settled from its own figures, as
    :func:`settle_year` would settle ``worlds[i]`` = (its data folder, designations, adjudicated claims, appraisal)
    with ``policy`` (same money, same tables, same inputs hash: hashed from the world's own tables). ``hashed=False``:
    no inputs hash (``inputs_hash`` and the ledger's column empty), for a caller that keeps none of them (the
    simulator: a hash per world and year was about a third of the CPU of its settlements); the money and the other
    tables are the same."""
    if not tags or len({len(t) for t in tags}) != 1 or len(tags) != len(worlds):
        raise ValueError("settle_worlds needs one tag per world, all of one width")
    width = len(tags[0])
    institutions = stacked["institutions"].select(["inst_id", "tier", "kind", "consortium_id"])
    persons = _persons_with_lives_away(stacked["persons"])
    des = designations.select(["person_id", "year", "consortium_id", "township_id", "village_id"])
    des = des.filter(pc.equal(des.column("year"), year))
    adj = adjudicated.select([*ADJUDICATED_COLUMNS,
                              *(c for c in DESIGNATED_COLUMNS if c in adjudicated.column_names)])
    cap = policy.capitation
    risk_classes = dict(sorted(cap.risk_diagnoses.items())) if cap.risk_adjustment else {}
    claims = stacked.get("claims")
    con = connect(backend, joins_as_written=True)
    try:
        tables = _engine_tables(con, year=year, policy=policy, des=des, persons=persons, institutions=institutions,
                                adj=adj, claims=claims if risk_classes else None, risk_classes=risk_classes,
                                top_diagnoses=10, world=width)
        costs = _last_year_costs(con, claims, year) if policy.package.part("history") else _no_costs()
    finally:
        if con.name != "pyspark":
            con.disconnect()
    per_consortium = ("consortium_id", ["consortium_id"])
    keyed = {"counts": ("world", ["consortium_id"]), "away": ("world", []), "heads": ("inst_id", ["inst_id"]),
             "charges": ("consortium_id", ["consortium_id", "inst_id"]), "by_month": per_consortium,
             "by_tier": per_consortium, "top": per_consortium}
    split = {name: rows_by_prefix(t, keyed[name][0], tags, keyed[name][1]) for name, t in tables.items()}
    split_costs = rows_by_prefix(costs, "inst_id", tags, ["inst_id"])
    out = []
    for i, (data, w_des, w_adj, appraisal) in enumerate(worlds):
        mine = {name: parts[i].drop_columns(["world"]) if "world" in parts[i].column_names else parts[i]
                for name, parts in split.items()}
        folder = data.path
        path = parquet_claims_path(folder)
        claim_files = (parquet_files(path) if path is not None and find_table_file(folder, "adjudicated") is None
                       else None)
        scored = policy_with_scores(policy, appraisal_scores(appraisal)) if appraisal is not None else policy
        result = _settle(data, year, scored, None, w_des, w_adj, 10, claim_files=claim_files,
                         figures=(_figures_of(mine), split_costs[i]), hashed=hashed)
        result.appraisal, result.appraisal_problem, result.adjudicated = appraisal, None, w_adj
        out.append(result)
    return out


def package_year(data: DataFolder | Path | str, year: int, policy: Policy | None = None, *,
                 backend: str = "duckdb") -> list[PackageLine]:
    """The internal package of ``year`` at its start (年初包干, budget.package): the lines :func:`settle_year` charges
    the members' statements against. It depends on the budgets, the members and last year's claims only, never on
    the year's claims or appraisal, so it is the same at the start of the year and at its end."""
    return settle_year(data, year, policy, backend=backend, appraise=False).package


def write_package(lines: list[PackageLine], out: Path | str) -> Path:
    """Write ``package.csv`` into ``out``."""
    return write_table(package_table(lines), out, "package")


def _rows_or_none(path: Path) -> int:
    """The Parquet claims' row count from the files' footers; -1 when a part is unreadable (then the folder is read
    in memory, and reading it names the part: exit 2)."""
    try:
        return parquet_rows(path)
    except (OSError, ValueError):
        return -1


def _appraised(given: AppraisalResult | None, appraise: bool, errors: str,
               compute: Any) -> tuple[AppraisalResult | None, str | None]:
    """The appraisal to pay the P4P by: the one given, else computed (when ``appraise``); with ``errors="report"``
    an appraisal that cannot run gives (None, the reason) instead of raising."""
    if given is not None or not appraise:
        return given, None
    try:
        return compute(), None
    except InvalidInput as exc:
        if errors == "raise":
            raise
        return None, str(exc)


def settle_data(data: DataFolder | Path | str, year: int, policy: Policy | None = None, *,
                backend: str = "duckdb", con: Backend | None = None, designations: pa.Table | None = None,
                adjudicated: pa.Table | None = None, top_diagnoses: int = 10,
                claim_files: list[Path] | None = None,
                opening: Mapping[str, Balances] | None = None) -> SettlementResult:
    """The in-memory core of :func:`settle_year` with the P4P scores the policy (and a scores table) give, no
    appraisal: the claims are Arrow tables. ``claim_files``: the Parquet claims the adjudication was computed from,
    hashed instead of its values. Raises InvalidInput on bad input."""
    if not isinstance(data, DataFolder):
        data = read_folder(Path(data))
    policy = policy or folder_policy(data.path)
    if designations is None:
        designations = _designations_for(data, year, policy, backend=backend)
    if adjudicated is None:
        adjudicated = _adjudicated_for(data, year, policy, designations, backend=backend)
    own_con = con is None
    con = con or connect(backend, joins_as_written=True)
    try:
        return _settle(data, year, policy, con, designations, adjudicated, top_diagnoses, claim_files=claim_files,
                       opening=opening)
    finally:
        if own_con and con.name != "pyspark":
            con.disconnect()


def _settle_streamed(folder: Path, year: int, policy: Policy | None, *, backend: str,
                     designations: pa.Table | None, appraisal: AppraisalResult | None, appraise: bool,
                     appraisal_errors: str, top_diagnoses: int,
                     opening: Mapping[str, Balances] | None = None) -> SettlementResult:
    """:func:`settle_year` for a province's Parquet claims (``claims.parquet`` or ``claims/*.parquet``): they stream
    from the files through adjudication (unsorted) into the appraisal's measures and the charged spending
    aggregation, and are never held in memory or written out (checked once). The other tables are read and validated
    as usual. The appraisal computes this year's indicators only (its ``previous`` is None: no score depends on it)."""
    path = parquet_claims_path(folder)
    assert path is not None
    data = read_folder(folder, tables=[t for t in INPUT_TABLES if t != "claims"])
    policy = policy or folder_policy(folder)
    if designations is None:
        designations = _designations_for(data, year, policy, backend=backend)
    con = connect(backend, keep_order=False, joins_as_written=True)  # only sums come out
    spill: Path | None = None
    try:
        trim = True  # on Spark: the adjudication checks the claims itself; this read trims always (no cost there)
        if con.name == "duckdb":
            # checked once, for every read below, which trim the text cells only when one of them is padded
            trim = check_claims_files(data, path)
            # adjudicated once into a Parquet spill (as ``run`` does): the appraisal's measures, its coverage test and
            # the settlement's sums read it instead of running the adjudication (windows, joins) again each; on disk,
            # so the peak stays that of the sums at any size
            spill = Path(tempfile.mkdtemp(prefix="yigongti-settle-"))
            adj = adjudicated_once(con, data, path, designations, policy, year, spill / "adjudicated.parquet",
                                   columns=_SETTLE_SPILLED, trim=trim, without=_UNREAD_OUTPUTS)
        else:
            adj = adjudicated_expr(con, data, path, designations, policy, year, designated=True,
                                   columns=SPILLED_COLUMNS)
        # the claims as read (last year's for the appraisal and risk classes)
        claims = parquet_claims(con, folder, checked=True, trim=trim)
        # the scores, hence the money, need this year's indicators only (last year's are the appraisal report's)
        appraisal, problem = _appraised(appraisal, appraise, appraisal_errors, lambda: appraise_data(
            data, year, policy, designations, adj, indicator_set=folder_indicator_set(folder), backend=backend,
            claims=claims, con=con, with_previous=False, adjudicated_claims=True))
        result = settle_streamed(data, year, policy, con, designations, adj, claims, claim_files=parquet_files(path),
                                 appraisal=appraisal, top_diagnoses=top_diagnoses, opening=opening)
    finally:
        if con.name != "pyspark":
            con.disconnect()
        if spill is not None:
            shutil.rmtree(spill, ignore_errors=True)
    result.appraisal_problem = problem
    return result


def settle_streamed(data: DataFolder, year: int, policy: Policy, con: Backend, designations: pa.Table,
                    adjudicated: ir.Table, claims: ir.Table, *, claim_files: list[Path],
                    appraisal: AppraisalResult | None, top_diagnoses: int = 10,
                    opening: Mapping[str, Balances] | None = None) -> SettlementResult:
    """The settlement of a province's claims that stay in the engine ``con``: ``adjudicated`` is the engine's
    adjudication of the Parquet ``claim_files`` (:func:`~yigongti.benefits.service.adjudicated_expr` with the
    designated consortium and :data:`SETTLED_CLAIMS_COLUMNS`), ``claims`` the same files as read (checked once),
    ``appraisal`` the year's (its scores pay the P4P reserve; None: the policy's and the scores table's only).
    The streamed path of :func:`settle_year`, and ``run``'s on such a folder."""
    scored = policy_with_scores(policy, appraisal_scores(appraisal)) if appraisal is not None else policy
    result = _settle(data, year, scored, con, designations, adjudicated, top_diagnoses, claims=claims,
                     claim_files=claim_files, opening=opening)
    result.appraisal, result.streamed = appraisal, True
    return result


@dataclass(frozen=True)
class _Figures:
    """What the engine computes for a settlement (small tables, Arrow)."""

    head_counts: list[dict[str, Any]]
    inst_heads: dict[str, int]
    by_month: pa.Table
    by_tier: pa.Table
    top: pa.Table
    lives_away: dict[int, int]
    member_charges: dict[tuple[str, str], dict[int, int]]  # (consortium, member) -> month -> fen (budget.package)


def _settle(data: DataFolder, year: int, policy: Policy, con: Backend | None, designations: pa.Table,
            adjudicated: pa.Table | ir.Table, top_diagnoses: int, *, claims: pa.Table | ir.Table | None = None,
            claim_files: list[Path] | None = None, opening: Mapping[str, Balances] | None = None,
            figures: tuple[_Figures, pa.Table] | None = None, hashed: bool = True) -> SettlementResult:
    """``adjudicated`` and ``claims`` (for the risk classes and last year's costs of the package; default: the
    folder's) as Arrow tables or as engine tables; hashed by value, or by the bytes of the Parquet ``claim_files``
    they come from when given. ``figures``: the engine's figures and last year's costs at each member computed
    already (:func:`settle_worlds`), else by ``con``. ``hashed=False``: no inputs hash (empty)."""
    institutions = data["institutions"].select(["inst_id", "tier", "kind", "consortium_id"])
    if con is not None:  # None: the figures were computed already (settle_worlds)
        partition_by_county(con, data["persons"])  # Spark: person-keyed tables spread by the person's county
    persons = _persons_with_lives_away(data["persons"])
    des = designations.select(["person_id", "year", "consortium_id", "township_id", "village_id"])
    des = des.filter(pc.equal(des.column("year"), year))
    columns = adjudicated.column_names if isinstance(adjudicated, pa.Table) else adjudicated.columns
    # (``settle``'s spill has no claim_id: nothing below reads it from an engine table)
    adj = adjudicated.select([*(c for c in ADJUDICATED_COLUMNS if c != "claim_id" or c in columns),
                              *(c for c in DESIGNATED_COLUMNS if c in columns)])
    consortia_t = data["consortia"]
    cap = policy.capitation
    risk_classes = dict(sorted(cap.risk_diagnoses.items())) if cap.risk_adjustment else {}
    if claims is None:
        claims = data.get("claims")
    inputs: dict[str, tuple[pa.Table, list[str], list[str]]] = {
        "persons": (persons, ["person_id", "birth_date", "lives_away"], ["person_id"]),
        "institutions": (institutions, ["inst_id", "tier", "kind", "consortium_id"], ["inst_id"]),
        "consortia": (consortia_t, ["consortium_id"], ["consortium_id"]),
        "designations": (des, ["person_id", "consortium_id", "township_id", "village_id"], ["person_id"]),
        "scores": (_scores_table(data), ["unit_id", "year", "score"], ["unit_id", "year"]),
    }
    agreements = data.get("budget_agreements")
    if agreements is not None:  # the signed figures change the money
        inputs["budget_agreements"] = (agreements, ["consortium_id", "year", "amount", "version"],
                                       ["consortium_id", "year"])
    if opening is None:  # the balances brought in from last year: the folder's opening table, else none
        opening = folder_opening(data, year)
    if opening:  # they change the money
        inputs["opening"] = (opening_table(dict(opening)), ["consortium_id", "carried_in", "risk_reserve"],
                             ["consortium_id"])
    if isinstance(adj, pa.Table) and not claim_files:
        inputs["adjudicated"] = (adj, ADJUDICATED_COLUMNS, ["claim_id"])
    if isinstance(claims,
                  pa.Table) and risk_classes and not claim_files:  # last year's diagnoses decide the risk classes
        inputs["claims"] = (claims, ["claim_id", "person_id", "admit_date", "diagnosis"], ["claim_id"])
    # last year's medical costs at each member weigh the package's history part (budget.package)
    if figures is not None:
        last_costs = figures[1]
    elif policy.package.part("history"):
        assert con is not None
        last_costs = _last_year_costs(con, claims, year)
    else:
        last_costs = _no_costs()
    inputs["last_year_costs"] = (last_costs, ["inst_id", "total_cost"], ["inst_id"])
    # the inputs hash runs beside the engine (hashing and Arrow release the GIL)
    hashing = (_HASHER.submit(_hash_inputs, policy=policy, year=year, tables=inputs, files=claim_files or [])
               if hashed else None)
    if figures is not None:
        fig = figures[0]
    else:
        assert con is not None
        fig = _engine_figures(con, year=year, policy=policy, des=des, persons=persons, institutions=institutions,
                              adj=adj, claims=claims if risk_classes else None, risk_classes=risk_classes,
                              top_diagnoses=top_diagnoses)

    cons_ids = sorted(consortia_t.column("consortium_id").to_pylist())
    names = dict(zip(consortia_t.column("consortium_id").to_pylist(), consortia_t.column("name").to_pylist(),
                     strict=True))
    counts: dict[str, list[HeadCount]] = {c: [] for c in cons_ids}
    class_names = sorted(risk_classes)
    for r in fig.head_counts:
        risk_set = tuple(n for i, n in enumerate(class_names) if r.get(f"risk_{i}"))
        counts.setdefault(r["consortium_id"], []).append(HeadCount(int(r["band"]), int(r["persons"]), risk_set))
    formula_budgets = county_budgets(cap, counts)
    budgets, budget_sources = agreed_budgets(cap, formula_budgets, agreements, year)  # a signed figure wins

    spend_in: dict[str, dict[int, int]] = defaultdict(dict)
    spend_out: dict[str, dict[int, int]] = defaultdict(dict)
    for r in fig.by_month.to_pylist():
        if r["in_network"]:
            spend_in[r["consortium_id"]][int(r["month"])] = int(r["in_network"])
        if r["out_of_network"]:
            spend_out[r["consortium_id"]][int(r["month"])] = int(r["out_of_network"])

    scores = _scores(data, year, policy)
    sp = policy.settlement
    members: dict[str, list[Member]] = defaultdict(list)
    for r in institutions.to_pylist():
        c, tier = r["consortium_id"], r["tier"]
        if c and tier in sp.tier_shares:
            # a county-tier unit has no designated persons: it weighs by its duty weight (domain.split_basis)
            heads = 0 if tier == "county" else fig.inst_heads.get(r["inst_id"], 0)
            score = scores.get(r["inst_id"])
            if score is None and sp.institution_score_from_consortium:
                score = scores.get(c)
            members[c].append(Member(r["inst_id"], tier, r["kind"], heads, score))

    enrolled = {c: sum(h.persons for h in counts.get(c, [])) for c in budgets}
    ph_accounts = public_health_accounts(sp, cap.pool_public_health or 0,
                                         {c: (enrolled[c], scores.get(c)) for c in budgets})
    # the package at the start of the year: public health by heads and duties only (no appraisal yet)
    ph_start = public_health_accounts(sp, cap.pool_public_health or 0,
                                      {c: (enrolled[c], Decimal(100)) for c in budgets})
    costs = {r["inst_id"]: int(r["total_cost"]) for r in last_costs.to_pylist()}
    try:
        package = [line for c, b in budgets.items() for line in package_lines(
            policy, consortium_id=c, prospective=b.prospective, public_health=ph_start.get(c, 0),
            members=members[c], last_year_costs=costs)]
    except ValueError as exc:
        raise InvalidInput([Problem("institutions", 0, "consortium_id",
                                    f"{exc} / 医共体无成员单位可分配包干")]) from exc
    statements = member_statements(package, fig.member_charges)
    balances = closing_balances(statements)
    outcomes: list[SurplusOutcome] = []
    interim: list[InterimRow] = []
    settled: list[ConsortiumSettlement] = []
    allocations: list[Allocation] = []
    entries: list[LedgerEntry] = []
    for c, b in budgets.items():
        spending = Spending(spend_in.get(c, {}), spend_out.get(c, {}))
        s = settle_consortium(sp, consortium_id=c, enrollees=enrolled[c], budget=b, spending=spending,
                              score=scores.get(c))
        s = dataclasses.replace(s, public_health=ph_accounts.get(c, 0))
        spent = {m: spending.in_network.get(m, 0) + spending.out_of_network.get(m, 0) for m in range(1, 13)}
        outcome = surplus_year(policy.surplus, SurplusYear(c, year, s.retained_surplus, s.consortium_overspend,
                                                           quarter_balances(b.prepayments, spent)),
                               (opening or {}).get(c, Balances()))
        s = with_surplus(s, outcome)  # the members share what the reserve and the carry-forward leave
        if policy.surplus.interim_share:  # 季度预结算: the quarters, the year end reconciling them
            interim.extend(interim_rows(outcome, b.prepayments, spent))
        alloc = member_allocations(sp, consortium_id=c, amount=s.amount_to_share, public_health=s.public_health,
                                   members=members[c], balances=balances.get(c, {}),
                                   balance_share=policy.package.balance_share)
        outcomes.append(outcome)
        settled.append(s)
        allocations.extend(alloc)
        entries.extend(consortium_ledger(s, year=year, spending=spending, allocations=alloc))
    entries.extend(lives_away_ledger(fig.lives_away, year=year))

    digest = hashing.result() if hashing is not None else ""
    return SettlementResult(
        year=year, settlement=with_budget_source(_settlement_table(settled), budget_sources),
        allocation=_allocation_table(allocations), ledger=_ledger_table(number_ledger(entries), digest),
        inputs_hash=digest, consortia=settled, allocations=allocations, by_month=fig.by_month, by_tier=fig.by_tier,
        top_diagnoses=fig.top, names=names, budget_sources=budget_sources, formula_budgets=formula_budgets,
        lives_away=fig.lives_away, surplus=outcomes, surplus_opening=dict(opening or {}), package=package,
        statements=statements, interim=interim)


def _no_costs() -> pa.Table:
    return pa.table({"inst_id": pa.array([], pa.string()), "total_cost": pa.array([], pa.int64())})


def _last_year_costs(con: Backend, claims: pa.Table | ir.Table | None, year: int) -> pa.Table:
    """(inst_id, total_cost): last year's medical costs by the institution that provided them (empty: no claims)."""
    if claims is None:
        return _no_costs()
    t = _register(con, claims) if isinstance(claims, pa.Table) else claims
    cols = [c for c in ("inst_id", "admit_date", "total_cost", "unreasonable") if c in t.columns]
    return to_arrow(q.costs_at_institutions(t.select(*cols), year=year - 1), con).select(["inst_id", "total_cost"])


def spent_by_month(by_month: pa.Table, consortium_id: str) -> dict[int, int]:
    """Month -> a consortium's charged spending (in and out of the network, fen) from ``SettlementResult.by_month``."""
    out: dict[int, int] = {}
    for r in by_month.to_pylist():
        if r["consortium_id"] == consortium_id:
            out[int(r["month"])] = int(r["in_network"] or 0) + int(r["out_of_network"] or 0)
    return out


def _persons_with_lives_away(persons: pa.Table) -> pa.Table:
    """(person_id, birth_date, lives_away): the contract's optional column, false when absent or empty."""
    if "lives_away" in persons.column_names:
        flag = pc.fill_null(persons.column("lives_away"), False)
    else:
        flag = pa.chunked_array([pa.array([False] * persons.num_rows, pa.bool_())])
    return pa.table({"person_id": persons.column("person_id"), "birth_date": persons.column("birth_date"),
                     "lives_away": flag})


def _engine_tables(con: Backend, *, year: int, policy: Policy, des: pa.Table, persons: pa.Table,
                   institutions: pa.Table, adj: pa.Table | ir.Table, claims: pa.Table | ir.Table | None,
                   risk_classes: dict[str, tuple[str, ...]], top_diagnoses: int,
                   world: int = 0) -> dict[str, pa.Table]:
    """The engine's figures as Arrow tables (head counts, institution heads, member charges, persons living away,
    spending by month and tier, top diagnoses): the claims are scanned and joined once. ``world``: the width of
    the key prefix of stacked worlds (head counts and persons living away then carry a ``world`` column)."""
    t_des = _register(con, des)
    t_per = _register(con, persons)
    t_inst = _register(con, institutions)
    t_adj = _register(con, adj) if isinstance(adj, pa.Table) else adj
    risk = None
    if claims is not None:
        t_claims = _register(con, claims) if isinstance(claims, pa.Table) else claims
        risk = q.risk_flags(t_claims.select("person_id", "admit_date", "diagnosis"), risk_classes, year=year - 1)
    out = {"counts": to_arrow(q.head_counts(t_des, t_per, year=year, policy=policy.capitation, risk=risk,
                                            world=world), con)}
    summary = to_arrow(q.charged_summary(q.charged_spending(t_adj, t_des, t_inst, year=year)), con)
    t_sum = _register(con, summary)
    out["heads"] = to_arrow(q.institution_heads(t_des, year=year), con)
    out["charges"] = to_arrow(q.member_charges(t_sum), con)
    if pc.any(persons.column("lives_away")).as_py():  # one more scan of the claims only when someone lives away
        out["away"] = to_arrow(q.lives_away_by_month(t_adj, t_des, t_per, year=year, world=world), con)
    out["by_month"] = to_arrow(q.spending_by_month(t_sum), con)
    out["by_tier"] = to_arrow(q.spending_by_tier(t_sum), con)
    out["top"] = to_arrow(q.top_out_of_network_diagnoses(t_sum, top=top_diagnoses), con)
    return out


def _figures_of(tables: dict[str, pa.Table]) -> _Figures:
    charges: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    t = tables["charges"]  # column by column: a province's members x months are 145,000 rows
    for c, inst, month, paid in zip(*(t.column(n).to_pylist() for n in ("consortium_id", "inst_id", "month",
                                                                        "fund_paid")), strict=True):
        charges[(c, inst)][int(month)] = int(paid)
    away = tables.get("away")
    return _Figures(
        head_counts=tables["counts"].to_pylist(),
        inst_heads={r["inst_id"]: int(r["heads"]) for r in tables["heads"].to_pylist()},
        by_month=tables["by_month"], by_tier=tables["by_tier"], top=tables["top"],
        lives_away={} if away is None else {int(r["month"]): int(r["fund_paid"]) for r in away.to_pylist()},
        member_charges=dict(charges))


def _engine_figures(con: Backend, *, year: int, policy: Policy, des: pa.Table, persons: pa.Table,
                    institutions: pa.Table, adj: pa.Table | ir.Table, claims: pa.Table | ir.Table | None,
                    risk_classes: dict[str, tuple[str, ...]], top_diagnoses: int) -> _Figures:
    """Head counts and charged spending from the engine: the claims are scanned and joined once."""
    return _figures_of(_engine_tables(con, year=year, policy=policy, des=des, persons=persons,
                                      institutions=institutions, adj=adj, claims=claims, risk_classes=risk_classes,
                                      top_diagnoses=top_diagnoses))


def _scores_table(data: DataFolder) -> pa.Table:
    s = data.get("scores")
    if s is None:
        return pa.table({"unit_id": pa.array([], pa.string()), "year": pa.array([], pa.int64()),
                         "score": pa.array([], pa.string())})
    return s.select(["unit_id", "year", "score"])


def _scores(data: DataFolder, year: int, policy: Policy) -> dict[str, Decimal]:
    """Scores by unit id: the policy's, overridden by the scores table's rows for ``year``."""
    out = dict(policy.settlement.scores)
    for r in _scores_table(data).to_pylist():
        if r["year"] == year and r["score"] not in (None, ""):
            out[r["unit_id"]] = Decimal(r["score"])
    return out


def _table_of(rows: Sequence[Any], cols: dict[str, tuple[pa.DataType, Any]],
              order: list[str] | None = None) -> pa.Table:
    """An Arrow table with a column per ``cols`` entry (name -> (type, the value of a row)), in ``order`` if given."""
    return pa.table({n: pa.array([cols[n][1](r) for r in rows], cols[n][0]) for n in (order or list(cols))})


def _settlement_table(rows: list[ConsortiumSettlement]) -> pa.Table:
    money = pa.int64()
    cols: dict[str, tuple[pa.DataType, Any]] = {
        "consortium_id": (pa.string(), lambda s: s.consortium_id),
        "enrollees": (pa.int64(), lambda s: s.enrollees),
        "standard_heads": (pa.string(), lambda s: format_heads(s.budget.standard_heads)),
        "rate": (money, lambda s: s.budget.rate),
        "gross_budget": (money, lambda s: s.budget.gross),
        "p4p_reserve": (money, lambda s: s.budget.reserve),
        "prospective_budget": (money, lambda s: s.budget.prospective),
        "in_network_spend": (money, lambda s: s.in_network_spend),
        "out_of_network_deductions": (money, lambda s: s.out_of_network_deductions),
        "balance": (money, lambda s: s.balance),
        "retained_surplus": (money, lambda s: s.retained_surplus),
        "fund_overspend_share": (money, lambda s: s.fund_overspend_share),
        "consortium_overspend": (money, lambda s: s.consortium_overspend),
        "score": (pa.string(), lambda s: _score_text(s.score)),
        "grade": (pa.string(), lambda s: s.grade),
        "p4p_paid": (money, lambda s: s.p4p_paid),
        "public_health_allocated": (money, lambda s: s.public_health),
        "amount_to_share": (money, lambda s: s.amount_to_share),
    }
    return _table_of(rows, cols)


def _allocation_table(rows: list[Allocation]) -> pa.Table:
    return pa.table({
        "consortium_id": pa.array([a.consortium_id for a in rows], pa.string()),
        "inst_id": pa.array([a.inst_id for a in rows], pa.string()),
        "tier": pa.array([a.tier for a in rows], pa.string()),
        "amount": pa.array([a.amount for a in rows], pa.int64()),
        "public_health": pa.array([a.public_health for a in rows], pa.int64()),
        "score": pa.array([_score_text(a.score) for a in rows], pa.string()),
        "performance_pay_ceiling": pa.array([a.performance_pay_ceiling for a in rows], pa.int64()),
    })


def _ledger_table(rows: list[LedgerEntry], digest: str) -> pa.Table:
    return pa.table({
        "entry_id": pa.array([e.entry_id for e in rows], pa.int64()),
        "consortium_id": pa.array([e.consortium_id for e in rows], pa.string()),
        "inst_id": pa.array([e.inst_id for e in rows], pa.string()),
        "kind": pa.array([e.kind for e in rows], pa.string()),
        "amount": pa.array([e.amount for e in rows], pa.int64()),
        "month": pa.array([e.month for e in rows], pa.string()),
        "inputs_hash": pa.array([digest] * len(rows), pa.string()),
        "account": pa.array([e.account for e in rows], pa.string()),
    })


def package_table(lines: list[PackageLine]) -> pa.Table:
    """The ``package`` contract table (package.csv): a member's allocation of the prospective budget and its parts."""
    return _table_of(lines, _attributes(
        ["consortium_id", "inst_id", "tier", "kind"], ["heads"],
        ["last_year_costs", "duty", "history", "by_heads", "allocation", "public_health"],
        duty_weight=(pa.string(), lambda p: f"{p.duty_weight.normalize():f}")), order=[
        "consortium_id", "inst_id", "tier", "kind", "heads", "duty_weight", "last_year_costs", "duty", "history",
        "by_heads", "allocation", "public_health"])


def statements_table(rows: list[StatementRow]) -> pa.Table:
    """The ``member_statements`` contract table (member_statements.csv): member x month, money in fen."""
    return _table_of(rows, _attributes(
        ["consortium_id", "inst_id"], ["month"],
        ["allocated", "charged", "allocated_to_date", "charged_to_date", "balance"]))


def interim_table(rows: list[InterimRow]) -> pa.Table:
    """The ``interim`` contract table (interim.csv): consortium x quarter, money in fen, a column per form."""
    forms = {form: (pa.int64(), lambda r, f=form: r.forms.get(f, 0)) for form in DISTRIBUTION_FORMS}
    return _table_of(rows, _attributes(
        ["consortium_id"], ["quarter"],
        ["prepaid_to_date", "spent_to_date", "balance_to_date", "distributed", "distributed_to_date"], **forms),
        order=["consortium_id", "quarter", "prepaid_to_date", "spent_to_date", "balance_to_date", "distributed",
               *DISTRIBUTION_FORMS, "distributed_to_date"])


def _attributes(text: list[str], counts: list[str], money: list[str],
                **computed: tuple[pa.DataType, Any]) -> dict[str, tuple[pa.DataType, Any]]:
    """Columns read from attributes of the same name (text, int64 counts, int64 fen), then the ``computed`` ones."""
    def of(kind: pa.DataType, names: list[str]) -> dict[str, tuple[pa.DataType, Any]]:
        return {n: (kind, attrgetter(n)) for n in names}
    return {**of(pa.string(), text), **of(pa.int64(), counts), **of(pa.int64(), money), **computed}


def surplus_table(outcomes: list[SurplusOutcome]) -> pa.Table:
    """The ``surplus`` contract table: entry ids 1, 2, ... in booking order, money in fen."""
    rows = [e for o in outcomes for e in o.entries]
    return pa.table({
        "entry_id": pa.array(range(1, len(rows) + 1), pa.int64()),
        "consortium_id": pa.array([e.consortium_id for e in rows], pa.string()),
        "account": pa.array([e.account for e in rows], pa.string()),
        "kind": pa.array([e.kind for e in rows], pa.string()),
        "amount": pa.array([e.amount for e in rows], pa.int64()),
        "period": pa.array([e.period for e in rows], pa.string()),
        "form": pa.array([e.form for e in rows], pa.string()),
    })


# --------------------------------------------------------------------------------------------- output

def write_settlement(result: SettlementResult, out: Path | str, *, reports: bool = True) -> list[Path]:
    """Write settlement.csv, allocation.csv, ledger.csv, surplus.csv, package.csv, member_statements.csv,
    interim.csv (when the policy settles quarterly) and the per-consortium reports into ``out``.

    Everything is first written to a temporary folder inside ``out``, then moved into place file by file, so a
    failure leaves no half-written output. Same result -> byte-identical files."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".settle-", dir=out))
    # the process's objects (the result's rows, the libraries') left out of the collector's passes that the
    # tables' and the workbooks' cells set off: about 0.4 of 3 CPU s of a province's 100 consortia
    try:
        with heap_frozen():
            write_table(result.settlement.drop_columns(["amount_to_share"]), tmp, "settlement")
            write_table(result.allocation, tmp, "allocation")
            write_table(result.ledger, tmp, "ledger")
            write_table(surplus_table(result.surplus), tmp, "surplus")
            write_table(package_table(result.package), tmp, "package")
            write_table(statements_table(result.statements), tmp, "member_statements")
            if result.interim:
                write_table(interim_table(result.interim), tmp, "interim")
            if reports:
                from yigongti.budget.report import write_reports

                write_reports(result, tmp / "reports")
            written: list[Path] = []
            for path in sorted(tmp.rglob("*")):
                if path.is_file():
                    target = out / path.relative_to(tmp)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, target)
                    written.append(target)
            return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
