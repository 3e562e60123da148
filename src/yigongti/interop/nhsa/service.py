"""Use case: import the platform's settlement records as claims (导入医保结算记录).

``import_records(data, [files], out)`` reads the registry of the data folder (institutions and persons, with their
optional ``nhsa_code`` and ``psn_no`` columns), then the exports in two streamed passes:

1. the keys: every record's transaction (``infno``) and ``setl_id``; duplicates, unknown transactions and
   cancellations (2208, 2305) without their original settlement are input errors;
2. the mapping: each settlement (2207, 2304) becomes a claim, a refusal with its reason, or malformed cells; a
   cancelled settlement and its cancellation are both reported ``cancelled``.

Writes ``OUT/claims.csv`` (the contract's claims columns and ``nhsa_fund_paid``, the platform's own fund payment)
and ``OUT/import_report.csv`` (one row per record). Any input error: nothing is written and :class:`InvalidInput`
names every file, row and field. Memory is bounded by the batch size and the keys (a few dozen bytes a record).
"""

from __future__ import annotations

import heapq
import itertools
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from yigongti.benefits.domain import RULE_TEXT, Rule
from yigongti.benefits.service import adjudicate_data, adjudicate_folder, write_adjudicated
from yigongti.core.idnumber import id_number_problems
from yigongti.core.labels import label
from yigongti.core.money import format_yuan
from yigongti.core.policy import Policy
from yigongti.core.problems import InvalidInput, Problem, shorten
from yigongti.datafolder.folder import find_table_file, iter_table_parts, neutralise_text, parse_table, read_folder
from yigongti.datafolder.schema import ADJUDICATED, ColType, Column, TableSpec
from yigongti.interop.nhsa.codes import CodeSystems, packaged_codes
from yigongti.interop.nhsa.domain import (
    BALANCE_TOLERANCE_FEN,
    FIELD_BY_NAME,
    ListFacts,
    ListPart,
    Malformed,
    NhsaClaim,
    PersonRef,
    Refused,
    institution_code_problem,
    list_row_problems,
    map_settlement,
    required_fields,
)
from yigongti.interop.nhsa.engine import Annotations, Index, Pair, columnar_claims
from yigongti.interop.nhsa.records import BATCH_ROWS, ROW, RecordFile, is_settlement_list, open_list, open_records
from yigongti.interop.nhsa.sample import (
    RECORD_FIELDS,
    list_messages,
    person_columns,
    referral_targets,
    settlement_table,
)

__all__ = ["CLAIM_COLUMNS", "COMPARISON_COLUMNS", "COMPARISON_FILE", "EXPORT_DIR", "LIST_FILE", "MAX_PROBLEMS",
           "REPORT_COLUMNS", "RESULT_FILE", "TOP_DIFFERENCES", "Comparison", "ExportSummary", "FundGroup",
           "ImportSummary", "Outcome", "adjudicate_year", "export_results", "import_records"]

CLAIM_COLUMNS = ("claim_id", "person_id", "inst_id", "setting", "emergency", "admit_date", "discharge_date",
                 "total_cost", "covered_cost", "diagnosis", "referral_from", "unreasonable", "nhsa_fund_paid")
REPORT_COLUMNS = ("setl_id", "outcome", "reason", "infno", "file", "row")
MAX_PROBLEMS = 1000  # problems listed before "... and N more"


class Outcome:
    IMPORTED = "imported"
    CANCELLED = "cancelled"
    REFUSED = "refused"


@dataclass
class ImportSummary:
    """What an import did: records read and their outcomes, money in fen."""

    out: Path
    records: int = 0
    imported: int = 0
    cancelled: int = 0
    refused: int = 0
    unbalanced: int = 0
    listed: int = 0  # settlement list rows joined to their claims
    referrals: int = 0  # claims with referral_from, found through the settlement lists
    total_cost: int = 0
    nhsa_fund_paid: int = 0
    refusals: dict[str, int] = field(default_factory=dict)  # first reason (cut short) -> records


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.more = 0

    def add(self, p: Problem) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(p)
        else:
            self.more += 1

    def raise_if_any(self) -> None:
        if self.items:
            items = list(self.items)
            if self.more:
                items.append(Problem("", 0, "", f"... and {self.more:,} more problems / 另有 {self.more:,} 处错误"))
            raise InvalidInput(items)


@dataclass
class _Registry:
    institutions: dict[str, str]  # nhsa code -> inst_id
    person_keys: pa.Array  # psn_no (or person_id)
    person_ids: pa.Array
    id_numbers: pa.Array
    insurance: pa.Array
    id_ok: pa.Array = field(default_factory=lambda: pa.array([], pa.bool_()))  # id_number well formed
    inst_keys: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    inst_ids: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    counties: tuple[str, ...] = ()  # the registry's own divisions (county_code): known divisions besides GB/T 2260

    def __post_init__(self) -> None:
        self.id_ok = pa.array([bool(v) and not id_number_problems(v, birth_date=None, sex=None)
                               for v in self.id_numbers.to_pylist()], pa.bool_())
        self.inst_keys = pa.array(list(self.institutions), pa.string())
        self.inst_ids = pa.array(list(self.institutions.values()), pa.string())


def _registry(data: Path, codes: CodeSystems, problems: _Problems) -> _Registry:
    folder = read_folder(data, tables=["institutions", "persons"])
    inst, persons = folder["institutions"], folder["persons"]
    counties = tuple(sorted({*pc.unique(inst.column("county_code")).to_pylist(),
                             *pc.unique(persons.column("county_code")).to_pylist()} - {None}))
    codes = codes.with_divisions(counties)
    inst_label = (find_table_file(data, "institutions") or Path("institutions.csv")).name
    ids = inst.column("inst_id").to_pylist()
    codes_col = inst.column("nhsa_code").to_pylist() if "nhsa_code" in inst.column_names else [None] * len(ids)
    institutions: dict[str, str] = {}
    for row, (inst_id, code) in enumerate(zip(ids, codes_col, strict=True), start=2):
        key = (code or "").strip() or inst_id
        if code and (shape := institution_code_problem(key, codes)):
            problems.add(Problem(inst_label, row, "nhsa_code", shape))
        if key in institutions:
            problems.add(Problem(inst_label, row, "nhsa_code", f"code {key} already names {institutions[key]} / "
                                                               "医保机构编码重复"))
        institutions[key] = inst_id
    person_ids = persons.column("person_id").combine_chunks()
    if "psn_no" in persons.column_names:
        psn = pc.utf8_trim_whitespace(persons.column("psn_no").combine_chunks())
        keys = pc.if_else(pc.or_kleene(pc.is_null(psn), pc.equal(psn, "")), person_ids, psn)
        counts = pa.table({"k": keys}).group_by("k").aggregate([("k", "count")])
        dup = counts.filter(pc.greater(counts.column("k_count"), 1)).column("k")
        if len(dup):
            label = (find_table_file(data, "persons") or Path("persons.csv")).name
            for i in pc.indices_nonzero(pc.is_in(keys, value_set=dup)).to_pylist()[:MAX_PROBLEMS]:
                problems.add(Problem(label, i + 2, "psn_no", f"psn_no {keys[i].as_py()} names two persons / "
                                                              "人员编号重复"))
    else:
        keys = person_ids
    n = len(person_ids)
    id_numbers = (persons.column("id_number").combine_chunks() if "id_number" in persons.column_names
                  else pa.nulls(n, pa.string()))
    return _Registry(institutions, keys, person_ids, id_numbers, persons.column("insurance").combine_chunks(),
                     counties=counties)


def _infno(batch: pa.Table) -> pa.Array:
    if "infno" in batch.column_names:
        return pc.utf8_trim_whitespace(batch.column("infno").combine_chunks())
    return pa.array([""] * batch.num_rows, pa.string())


def _kinds(codes: CodeSystems, kind: str) -> list[str]:
    return [c for c, e in codes.infno.items() if e.get("kind") == kind]


def _pass_keys(files: list[RecordFile], codes: CodeSystems, problems: _Problems, rows: int, index: Index) -> None:
    """Pass 1 over the records: each row's transaction and setl_id checked, the keys into the index; then the
    settlement ids settled twice, cancelled twice, and cancellations without their original."""
    settles, cancels, lists = _kinds(codes, "settles"), _kinds(codes, "cancels"), _kinds(codes, "lists")
    known_set = pa.array(settles + cancels)
    for k, rf in enumerate(files):
        for batch in rf.batches(rows=rows):
            infno = _infno(batch)
            setl = pc.utf8_trim_whitespace(batch.column("setl_id").combine_chunks())
            row = batch.column(ROW).combine_chunks()
            known = pc.or_(pc.is_in(infno, value_set=known_set), pc.equal(infno, ""))
            if "infno" in batch.column_names:
                known = pc.and_(known, pc.not_equal(infno, ""))
            for i in pc.indices_nonzero(pc.invert(known)).to_pylist():
                value = infno[i].as_py()
                hint = (" (a settlement list goes in a file of its own / 结算清单请单独成文件)"
                        if value in lists else "")
                problems.add(Problem(rf.label, row[i].as_py(), "infno",
                                     f"unknown transaction {shorten(value)!r} (settles: "
                                     f"{', '.join(codes.infno[c].shown() for c in settles)}; cancels: "
                                     f"{', '.join(codes.infno[c].shown() for c in cancels)}){hint} / 交易编号未知"))
            for i in pc.indices_nonzero(pc.equal(setl, "")).to_pylist():
                problems.add(Problem(rf.label, row[i].as_py(), "setl_id", "结算ID setl_id is required / 必填"))
            index.add_records(k, batch, infno, setl, row)
    for p in index.repeated("rec", "NOT cancel", MAX_PROBLEMS + 1):
        problems.add(Problem(files[p.file].label, p.row, "setl_id", f"setl_id {p.setl_id} was settled before at "
                                                                   f"{_at(files, p)} / 结算ID重复"))
    for p in index.repeated("rec", "cancel", MAX_PROBLEMS + 1):
        problems.add(Problem(files[p.file].label, p.row, "setl_id", f"setl_id {p.setl_id} was already cancelled "
                                                                   f"at {_at(files, p)} / 重复撤销"))
    for p in index.cancellations(MAX_PROBLEMS + 1):
        entry = _shown(codes, p.infno)
        if p.other_file is None:
            problems.add(Problem(files[p.file].label, p.row, "setl_id",
                                 f"{entry} cancels setl_id {shorten(p.setl_id)}, which no record settles / "
                                 "撤销的结算不存在"))
        else:
            problems.add(Problem(files[p.file].label, p.row, "infno",
                                 f"{entry} cannot cancel setl_id {p.setl_id}, a {_shown(codes, p.other_infno)} / "
                                 "撤销交易与原结算交易不符"))


def _shown(codes: CodeSystems, infno: str) -> str:
    entry = codes.infno.get(infno)
    return entry.shown() if entry is not None else infno


def _at(files: list[RecordFile], p: Pair) -> str:
    return f"{files[p.other_file or 0].label}:{p.other_row}"


_LIST_REQUIRED = {ListPart.SETLINFO: ("setl_id",), ListPart.DISEINFO: ("setl_id", "diag_code"),
                  ListPart.OPRNINFO: ("setl_id", "oprn_oprt_code")}


def _pass_lists(lists: list[RecordFile], codes: CodeSystems, problems: _Problems, rows: int, index: Index,
                first: int) -> None:
    """Pass 1 over the settlement lists: every row checked (codes, ICD-10, operations), into the index; then a
    settlement listed twice and a list with two main diagnoses."""
    for k, rf in enumerate(lists, start=first):
        if rf.part is not None and not rf.problems:
            for name in _LIST_REQUIRED[rf.part]:
                if name not in rf.fields:
                    f = FIELD_BY_NAME[name]
                    problems.add(Problem(rf.label, 1, name, f"missing column {name} ({f.label}) of the settlement "
                                                            f"list's {rf.part.value} / 结算清单缺少列"))
        if rf.problems:
            continue
        for part, batch in rf.list_batches(rows=rows):
            numbers = batch.column(ROW).to_pylist()
            for number, rec in zip(numbers, _rows(batch), strict=True):
                for name, message in list_row_problems(part, rec, codes):
                    problems.add(Problem(rf.label, number, name, message))
            index.add_list(k, part, batch)
    everything: list[RecordFile | None] = [*([None] * first), *lists]
    for table, field_name, what in (("setl", "setl_id", "is listed before at / 结算清单重复"),
                                    ("dise", "maindiag_flag", "has its main diagnosis before at / 主诊断重复")):
        where = "true" if table == "setl" else "main"
        for p in index.repeated(table, where, MAX_PROBLEMS + 1):
            here, other = everything[p.file], everything[p.other_file or 0]
            assert here is not None and other is not None
            problems.add(Problem(here.label, p.row, field_name, f"setl_id {p.setl_id} {what.split(' / ')[0]} "
                                                              f"{other.label}:{p.other_row} / {what.split(' / ')[1]}"))


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


class _Writer:
    """A CSV file written batch by batch under a temporary name, moved into place by :meth:`commit`."""

    def __init__(self, path: Path, columns: tuple[str, ...], text: tuple[str, ...]) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.tmp")
        self.columns = columns
        self.text = text  # columns neutralised against formulas
        schema = pa.schema([(c, pa.string()) for c in columns])
        self.writer = pacsv.CSVWriter(self.tmp, schema, write_options=pacsv.WriteOptions(quoting_style="needed"))

    def write(self, cols: dict[str, list[str]]) -> None:
        arrays = [neutralise_text(pa.array(cols[c], pa.string())) if c in self.text else pa.array(cols[c], pa.string())
                  for c in self.columns]
        self.writer.write_table(pa.table(arrays, names=list(self.columns)))

    def write_sorted(self, cols: dict[str, list[str]], at: list[int], arrays: dict[str, pa.Array],
                     arrays_at: np.ndarray) -> None:
        """Rows from two sources (lists by row and columns), written in the order of their positions ``at``."""
        first = pa.table({c: pa.array(cols[c], pa.string()) for c in self.columns})
        second = pa.table({c: pc.cast(arrays[c], pa.string()) for c in self.columns})
        both = pa.concat_tables([first, second])
        order = np.argsort(np.concatenate([np.asarray(at, dtype=np.int64), arrays_at.astype(np.int64)]),
                           kind="stable")
        both = both.take(pa.array(order))
        self.write({c: both.column(c).to_pylist() for c in self.columns})

    def write_batches(self, batches: Iterator[dict[str, list[str]]]) -> None:
        for cols in batches:
            self.write(cols)

    def close(self) -> None:
        self.writer.close()

    def clear(self, column: str, values: pa.Array) -> int:
        """Empty ``column`` where it holds one of ``values`` (after :meth:`close`, streamed through a second
        temporary file); the number of cells emptied."""
        done = self.tmp.with_name(self.tmp.name + "2")
        schema = pa.schema([(c, pa.string()) for c in self.columns])
        cleared = 0
        reader = pacsv.open_csv(self.tmp, convert_options=pacsv.ConvertOptions(
            column_types=schema, strings_can_be_null=False, quoted_strings_can_be_null=False))
        with pacsv.CSVWriter(done, schema, write_options=pacsv.WriteOptions(quoting_style="needed")) as w:
            for batch in reader:
                col = batch.column(column)
                hit = pc.is_in(col, value_set=values)
                cleared += pc.sum(hit).as_py() or 0
                w.write_batch(batch.set_column(self.columns.index(column), column,
                                               pc.if_else(hit, "", col)))
        done.replace(self.tmp)
        return cleared

    def commit(self) -> None:
        self.tmp.replace(self.path)

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


def _rows(batch: pa.Table) -> Iterator[dict[str, str]]:
    names = [n for n in batch.column_names if n != ROW]
    lists = [batch.column(n).to_pylist() for n in names]
    for values in zip(*lists, strict=True):
        yield dict(zip(names, values, strict=True))


def import_records(data: Path | str, records: list[Path], out: Path | str, *, encoding: str | None = None,
                   settlement_lists: list[Path] | None = None, codes: CodeSystems | None = None,
                   batch_rows: int = BATCH_ROWS, vectorised: bool = True) -> ImportSummary:
    """Import settlement exports ``records`` (and their settlement lists, 4101) against the registry of ``data``;
    write OUT/claims.csv and OUT/import_report.csv. Raises :class:`InvalidInput` (nothing written) on malformed
    input. ``vectorised`` False maps every record one by one (the reference the columnar path is tested against).
    A file of ``records`` that is a settlement list (:func:`records.is_settlement_list`) is read as one."""
    data, out = Path(data), Path(out)
    codes = codes or packaged_codes()
    listed = [p for p in records if is_settlement_list(p, encoding=encoding)]
    records = [p for p in records if p not in listed]
    settlement_lists = [*listed, *(settlement_lists or [])]
    problems = _Problems()
    registry = _registry(data, codes, problems)
    codes = codes.with_divisions(registry.counties)
    paths = [*records, *(settlement_lists or [])]
    labels = [p.name for p in paths]
    if len(set(labels)) < len(labels):
        labels = [str(p) for p in paths]
    files = [open_records(p, label=lab, encoding=encoding)
             for p, lab in zip(records, labels[:len(records)], strict=True)]
    lists = [open_list(p, label=lab, encoding=encoding) for p, lab in zip(settlement_lists or [],
                                                                         labels[len(records):], strict=True)]
    for rf in files:
        if not rf.problems and rf.kind != "jsonl":
            for name in required_fields("settles"):
                if name not in rf.fields:
                    f = FIELD_BY_NAME[name]
                    problems.add(Problem(rf.label, 1, name, f"missing column {name} ({f.label}) / 缺少列"))
    for rf in (*files, *lists):
        _move(rf, problems)
    problems.raise_if_any()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".nhsa-index-", dir=out) as tmp:
        index = Index(Path(tmp), codes)
        try:
            index.add_registry(registry.person_keys, list(registry.institutions))
            _pass_keys(files, codes, problems, batch_rows, index)
            _pass_lists(lists, codes, problems, batch_rows, index, len(files))
            for rf in (*files, *lists):
                _move(rf, problems)
            problems.raise_if_any()
            index.link()
            return _pass_map(files, lists, registry, codes, index, out, problems, batch_rows, vectorised)
        finally:
            index.close()


def _move(rf: RecordFile, problems: _Problems) -> None:
    for p in rf.problems:
        problems.add(p)
    rf.problems = []


def _pass_map(files: list[RecordFile], lists: list[RecordFile], registry: _Registry, codes: CodeSystems,
              index: Index, out: Path, problems: _Problems, batch_rows: int, vectorised: bool) -> ImportSummary:
    """Pass 2: each record mapped, the claims and the report written batch by batch."""
    claims = _Writer(out / "claims.csv", CLAIM_COLUMNS, ("claim_id", "person_id", "inst_id", "diagnosis",
                                                          "referral_from"))
    report = _Writer(out / "import_report.csv", REPORT_COLUMNS, ("setl_id", "reason", "infno", "file"))
    summary = ImportSummary(out=out)
    try:
        for k, rf in enumerate(files):
            notes = index.annotations(k, rows=batch_rows)
            try:
                for batch in rf.batches(rows=batch_rows):
                    _map_batch(rf, batch, registry, codes, notes, claims, report, summary, problems, index,
                               [f.label for f in files], vectorised)
            finally:
                notes.close()
            _move(rf, problems)
        report.write_batches(_list_report(lists, len(files), index, summary, batch_rows))
    finally:
        claims.close()
        report.close()
    if problems.items:
        claims.discard()
        report.discard()
        problems.raise_if_any()
    dangling = index.refused_referrers()
    if len(dangling):  # a referral from a settlement refused in pass 2: the claim keeps no referral_from
        summary.referrals -= claims.clear("referral_from", dangling)
    claims.commit()
    report.commit()
    return summary


def _list_report(lists: list[RecordFile], first: int, index: Index, summary: ImportSummary,
                 batch_rows: int) -> Iterator[dict[str, list[str]]]:
    """The report rows of the settlement lists: a row is ``imported`` with its claim, ``cancelled`` or ``refused``
    with its settlement, refused when no record settles it."""
    for batch in index.list_rows(rows=batch_rows):
        cols: dict[str, list[str]] = {c: [] for c in REPORT_COLUMNS}
        for file, row, setl_id, part, outcome in zip(*(batch.column(i).to_pylist() for i in range(5)), strict=True):
            summary.records += 1
            if outcome == Outcome.IMPORTED:
                summary.listed += 1
                reason = f"结算清单 {part}：已并入结算 / settlement list {part}: joined to its claim"
            elif outcome == Outcome.CANCELLED:
                summary.cancelled += 1
                reason = f"结算清单 {part}：其结算已撤销 / settlement list {part}: its settlement was cancelled"
            else:
                why = ("其结算被拒绝 / its settlement was refused" if outcome is not None else
                       "无此结算ID的结算记录 / no record settles this setl_id")
                outcome = Outcome.REFUSED
                summary.refused += 1
                reason = f"结算清单 {part}：{why}"
                key = reason if len(reason) <= 80 else reason[:80] + "..."
                summary.refusals[key] = summary.refusals.get(key, 0) + 1
            for c, v in zip(REPORT_COLUMNS, (setl_id, outcome, reason, "4101", lists[file - first].label, str(row)),
                            strict=True):
                cols[c].append(v)
        yield cols


def _map_batch(rf: RecordFile, batch: pa.Table, registry: _Registry, codes: CodeSystems, notes: Annotations,
               claims: _Writer, report: _Writer, summary: ImportSummary, problems: _Problems, index: Index,
               labels: list[str], vectorised: bool) -> None:
    """Map one batch: the plainly clean records by the columnar path (:func:`engine.columnar_claims`), the rest one
    by one (:func:`domain.map_settlement`); claims and report rows written in the batch's order."""
    n = batch.num_rows
    psn = (pc.utf8_trim_whitespace(batch.column("psn_no").combine_chunks()) if "psn_no" in batch.column_names
           else pa.nulls(n, pa.string()))
    at = pc.index_in(psn, value_set=registry.person_keys)
    infno_arr = _infno(batch)
    rows_arr = batch.column(ROW).combine_chunks()
    setl_arr = pc.utf8_trim_whitespace(batch.column("setl_id").combine_chunks())
    rows = rows_arr.to_pylist()
    ann = notes.upto(rows[-1]) if rows else {}
    if vectorised:
        code = pc.utf8_trim_whitespace(pc.fill_null(batch.column("fixmedins_code").combine_chunks(), ""))
        fast = columnar_claims(
            batch, codes=codes, setl_id=setl_arr, infno=infno_arr,
            row_path=np.isin(rows_arr.to_numpy(), np.fromiter(ann, dtype=np.int64, count=len(ann))),
            person_id=registry.person_ids.take(at), id_number=registry.id_numbers.take(at),
            id_ok=registry.id_ok.take(at), insurance=registry.insurance.take(at),
            inst_id=registry.inst_ids.take(pc.index_in(code, value_set=registry.inst_keys)))
        clean = fast.clean
    else:
        clean = np.zeros(n, dtype=bool)
    slow = np.flatnonzero(~clean)
    part = batch.take(pa.array(slow, pa.int64())) if len(slow) < n else batch
    at_slow = at.take(pa.array(slow, pa.int64()))
    pid = registry.person_ids.take(at_slow).to_pylist()
    idn = registry.id_numbers.take(at_slow).to_pylist()
    ins = registry.insurance.take(at_slow).to_pylist()
    infnos = infno_arr.take(pa.array(slow, pa.int64())).to_pylist()
    setl = setl_arr.take(pa.array(slow, pa.int64())).to_pylist()
    slow_rows = [rows[i] for i in slow.tolist()]
    cancels = set(_kinds(codes, "cancels"))
    c_cols: dict[str, list[str]] = {c: [] for c in CLAIM_COLUMNS}
    r_cols: dict[str, list[str]] = {c: [] for c in REPORT_COLUMNS}
    c_at: list[int] = []
    r_at: list[int] = []
    settled: tuple[list[str], list[str]] = ([], [])

    def outcome(k: int, setl_id: str, what: str, reason: str, infno: str, row: int) -> None:
        for c, v in zip(REPORT_COLUMNS, (setl_id, what, reason, infno, rf.label, str(row)), strict=True):
            r_cols[c].append(v)
        r_at.append(k)
        if infno not in cancels and what != Outcome.CANCELLED:
            settled[0].append(setl_id)
            settled[1].append(what)

    for j, rec in enumerate(_rows(part)):
        k = int(slow[j])
        summary.records += 1
        sid, infno, row = setl[j], infnos[j], slow_rows[j]
        a = ann.get(row)
        if infno in cancels:
            summary.cancelled += 1
            original = f"{labels[a['sfile']]}:{a['srow']}" if a else ""
            outcome(k, sid, Outcome.CANCELLED, f"{codes.infno[infno].shown()}：撤销 {original} 的结算"
                                               f" / cancels the settlement at {original}", infno, row)
            continue
        if a is not None and a["cfile"] is not None:
            summary.cancelled += 1
            by = f"{labels[a['cfile']]}:{a['crow']} ({a['cinfno']})"
            outcome(k, sid, Outcome.CANCELLED, f"已被 {by} 撤销 / cancelled by {by}", infno, row)
            continue
        person = PersonRef(pid[j], idn[j], ins[j]) if pid[j] is not None else None
        inst_id = registry.institutions.get((rec.get("fixmedins_code") or "").strip())
        result = map_settlement(rec, codes=codes, inst_id=inst_id, person=person, listed=_facts(a))
        if isinstance(result, Malformed):
            for name, message in result.problems:
                problems.add(Problem(rf.label, row, name, message))
            continue
        if isinstance(result, Refused):
            summary.refused += 1
            first = result.reason.split("; ")[0]
            key = first if len(first) <= 80 else first[:80] + "..."
            summary.refusals[key] = summary.refusals.get(key, 0) + 1
            outcome(k, sid, Outcome.REFUSED, result.reason, infno, row)
            continue
        _add_claim(c_cols, result)
        c_at.append(k)
        summary.imported += 1
        summary.total_cost += result.total_cost
        summary.nhsa_fund_paid += result.nhsa_fund_paid
        summary.referrals += result.referral_from is not None
        if any(note.startswith("不平衡") for note in result.notes):
            summary.unbalanced += 1
        outcome(k, sid, Outcome.IMPORTED, "; ".join(result.notes), infno, row)
    if vectorised and clean.any():
        done = int(clean.sum())
        summary.records += done
        summary.imported += done
        summary.total_cost += fast.total_cost
        summary.nhsa_fund_paid += fast.nhsa_fund_paid
        keep = pa.array(clean)
        ids = pc.filter(setl_arr, keep)
        at_fast = np.flatnonzero(clean)
        claims.write_sorted(c_cols, c_at, fast.columns, at_fast)
        report.write_sorted(r_cols, r_at, {
            "setl_id": ids, "outcome": pa.array([Outcome.IMPORTED] * done, pa.string()),
            "reason": pa.array([""] * done, pa.string()), "infno": pc.filter(infno_arr, keep),
            "file": pa.array([rf.label] * done, pa.string()), "row": pc.cast(pc.filter(rows_arr, keep), pa.string())},
            at_fast)
        settled[0].extend(ids.to_pylist())
        settled[1].extend([Outcome.IMPORTED] * done)
    else:
        claims.write(c_cols)
        report.write(r_cols)
    index.add_outcomes(*settled)


def _facts(a: dict[str, Any] | None) -> ListFacts | None:
    if a is None or not a["listed"]:
        return None
    return ListFacts(main_diagnosis=a["diag"] or None, adm_way=a["adm_way"] or None, dscg_way=a["dscg_way"] or None,
                     receiver=a["acp"] or None, referral_from=a["referral_from"], referred_to=a["referred_to"],
                     operations=int(a["operations"]), main_operation=a["main_operation"] or None)


def _add_claim(cols: dict[str, list[str]], c: NhsaClaim) -> None:
    values = (c.claim_id, c.person_id, c.inst_id, c.setting, "true" if c.emergency else "false",
              c.admit_date.isoformat(), c.discharge_date.isoformat() if c.discharge_date else "", _yuan(c.total_cost),
              _yuan(c.covered_cost), c.diagnosis or "", c.referral_from or "", "false", _yuan(c.nhsa_fund_paid))
    for name, v in zip(CLAIM_COLUMNS, values, strict=True):
        cols[name].append(v)


# ------------------------------------------------------------------------------------------- results out (回传)

EXPORT_DIR = Path("nhsa")
RESULT_FILE = "setl_results"  # .csv and .jsonl: the settlements as the platform's records (2207, 2304)
LIST_FILE = "setl_list.jsonl"  # the inpatient claims' settlement lists (4101)
COMPARISON_FILE = "fund_comparison"  # .csv (per institution and rule), .html, .xlsx
COMPARISON_COLUMNS = ("inst_id", "fixmedins_code", "inst_name", "rule", "rule_label", "claims", "differing",
                      "total_cost", "covered_cost", "nhsa_fund_paid", "fund_paid", "difference", "explanation")
TOP_DIFFERENCES = 50
_EXPORT_IN = TableSpec("adjudicated", (*ADJUDICATED.columns, Column("nhsa_fund_paid", ColType.MONEY,
                                                                     required=False)))


@dataclass
class FundGroup:
    """Claims of one institution decided by one rule: their cost and both fund payments, fen."""

    inst_id: str
    rule: str
    claims: int = 0
    differing: int = 0  # claims whose two payments differ by more than a fen
    total_cost: int = 0
    covered_cost: int = 0
    nhsa_fund_paid: int = 0
    fund_paid: int = 0

    @property
    def difference(self) -> int:
        return self.fund_paid - self.nhsa_fund_paid


@dataclass
class Comparison:
    """Our fund payment against the platform's (医保基金支付对比): per institution and benefit rule, and the claims
    that differ most. ``compared`` False when the results carry no platform payment (claims not from an import)."""

    year: int | None
    groups: list[FundGroup]
    institutions: dict[str, tuple[str, str]]  # inst_id -> (platform code, name)
    top: list[dict[str, Any]]  # the claims with the largest differences, largest first
    compared: bool = True

    def explanation(self, g: FundGroup) -> str:
        """Why the payments of a group differ: the rule that decided ours, and by how much and how often."""
        zh, en = RULE_TEXT.get(Rule(g.rule), (g.rule, g.rule)) if g.rule in _RULES else (g.rule, g.rule)
        if not self.compared:
            return f"{zh} / {en}"
        if g.difference == 0 and g.differing == 0:
            return f"{zh}；两者一致 / {en}; the same"
        more = "多付" if g.difference > 0 else "少付"
        return (f"{zh}；本平台{more} {format_yuan(abs(g.difference))} 元（{g.claims:,} 笔中 {g.differing:,} 笔不同） / "
                f"{en}; we pay {format_yuan(abs(g.difference))} yuan {'more' if g.difference > 0 else 'less'} "
                f"({g.differing:,} of {g.claims:,} claims differ)")


_RULES = {r.value for r in Rule}


@dataclass
class ExportSummary:
    out: Path
    records: int = 0
    lists: int = 0
    files: list[Path] = field(default_factory=list)
    comparison: Comparison | None = None


def _platform_registry(data: Path) -> tuple[dict[str, tuple[str, str]], pa.Array, dict[str, pa.Array]]:
    folder = read_folder(data, tables=["institutions", "persons"])
    inst, persons = folder["institutions"], folder["persons"]
    ids = inst.column("inst_id").to_pylist()
    codes = inst.column("nhsa_code").to_pylist() if "nhsa_code" in inst.column_names else [None] * len(ids)
    insts = {i: ((c or "").strip() or i, n) for i, c, n in zip(ids, codes, inst.column("name").to_pylist(),
                                                               strict=True)}
    person_ids = persons.column("person_id").combine_chunks()
    psn = (pc.utf8_trim_whitespace(persons.column("psn_no").combine_chunks()) if "psn_no" in persons.column_names
           else person_ids)
    psn = pc.if_else(pc.or_kleene(pc.is_null(psn), pc.equal(psn, "")), person_ids, psn)
    return (insts, *person_columns(persons, psn))


def adjudicate_year(data: Path | str, year: int, policy: Policy, out: Path | str) -> Path:
    """Adjudicate the claims of ``year`` in ``data`` (the imported claims with their ``nhsa_fund_paid``) into
    OUT/adjudicated.csv, as ``yigongti adjudicate`` does, for :func:`export_results` to read; the file's path."""
    data, out = Path(data), Path(out)
    claims = find_table_file(data, "claims")
    if claims is not None and (claims.is_dir() or claims.suffix == ".parquet"):
        adjudicate_folder(data, year, policy, out, fmt="csv", sort=True)
        return out / "adjudicated.csv"
    return write_adjudicated(adjudicate_data(read_folder(data), year, policy), out, fmt="csv")


def export_results(data: Path | str, results: Path | str, out: Path | str) -> ExportSummary:
    """The adjudication results of ``results`` (its ``adjudicated`` table) as the platform's records: writes
    OUT/nhsa/setl_results.csv and .jsonl (2207/2304 setlinfo: our fund payment as fund_pay_sumamt and hifp_pay, the
    patient's as psn_cash_pay, the deductible as act_pay_dedc), OUT/nhsa/setl_list.jsonl (the inpatient claims'
    settlement lists: main diagnosis, referrals) and the comparison with the platform's own fund payment
    (OUT/fund_comparison.csv, read by :func:`fund_comparison`). Institutions and persons are named by their
    platform codes (``institutions.nhsa_code``, ``persons.psn_no``; the ids where absent). Part by part."""
    data, results, out = Path(data), Path(results), Path(out)
    path = find_table_file(results, "adjudicated")
    if path is None:
        raise InvalidInput([Problem(str(results), 0, "", "no adjudicated.csv (or .parquet) here: run yigongti "
                                                         "adjudicate first / 没有待遇结算结果")])
    insts, person_keys, p_cols = _platform_registry(data)
    refer_to = referral_targets(path)
    folder = out / EXPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    summary = ExportSummary(out=out)
    groups: dict[tuple[str, str], FundGroup] = {}
    top: list[tuple[int, int, dict[str, Any]]] = []
    compared, year = True, None
    seq = itertools.count()
    csv_tmp, jsonl_tmp, list_tmp = (folder / f".{RESULT_FILE}.csv.tmp", folder / f".{RESULT_FILE}.jsonl.tmp",
                                    folder / f".{LIST_FILE}.tmp")
    schema = pa.schema([(n, pa.string()) for n in RECORD_FIELDS])
    with pacsv.CSVWriter(csv_tmp, schema, write_options=pacsv.WriteOptions(quoting_style="needed")) as w, \
            jsonl_tmp.open("w", encoding="utf-8") as jf, list_tmp.open("w", encoding="utf-8") as lf:
        for _part, raw in iter_table_parts(path):
            adj, problems = parse_table(_EXPORT_IN, raw, file=path.name)
            if any(not p.warning for p in problems):
                raise InvalidInput(problems)
            if not adj.num_rows:
                continue
            fund = adj.column("fund_paid").to_numpy().astype("int64")
            cash = adj.column("patient_paid").to_numpy().astype("int64")
            table = settlement_table(adj, person_keys, p_cols, insts, fund=fund, acct=fund * 0, cash=cash,
                                     deductible=adj.column("deductible").to_numpy().astype("int64"),
                                     ratio=pa.array([""] * adj.num_rows, pa.string()))
            table = table.select(list(RECORD_FIELDS))
            w.write_table(pa.table([neutralise_text(c) for c in table.columns], schema=schema))
            for rec in table.to_pylist():
                infno = rec.pop("infno")
                jf.write(json.dumps({"infno": infno, "output": {"setlinfo": {k: v for k, v in rec.items() if v}}},
                                    ensure_ascii=False, separators=(",", ":")) + "\n")
            lines = list_messages(adj, person_keys, p_cols["psn_no"], insts, refer_to)
            for line in lines:
                lf.write(line + "\n")
            summary.records += table.num_rows
            summary.lists += len(lines)
            compared = compared and "nhsa_fund_paid" in raw.column_names
            year = year or adj.column("admit_date")[0].as_py().year
            _group(adj, groups, top, compared, seq)
    for tmp, name in ((csv_tmp, f"{RESULT_FILE}.csv"), (jsonl_tmp, f"{RESULT_FILE}.jsonl"), (list_tmp, LIST_FILE)):
        tmp.replace(folder / name)
        summary.files.append(folder / name)
    comparison = Comparison(year, sorted(groups.values(), key=lambda g: (g.inst_id, g.rule)), insts,
                            [r for _, _, r in sorted(top, key=lambda t: (-t[0], -t[1]))], compared)
    summary.comparison = comparison
    summary.files.append(_write_comparison(comparison, out))
    return summary


def _group(adj: pa.Table, groups: dict[tuple[str, str], FundGroup], top: list[tuple[int, int, dict[str, Any]]],
           compared: bool, seq: Iterator[int]) -> None:
    """Add a part's claims to their groups; keep the :data:`TOP_DIFFERENCES` largest differences (a heap: on a tie,
    the earlier claim stays)."""
    cols = ["claim_id", "inst_id", "rule", "total_cost", "covered_cost", "fund_paid", "network_status"]
    theirs = adj.column("nhsa_fund_paid").to_pylist() if compared else [0] * adj.num_rows
    for rec, nhsa in zip(adj.select(cols).to_pylist(), theirs, strict=True):
        g = groups.setdefault((rec["inst_id"], rec["rule"]), FundGroup(rec["inst_id"], rec["rule"]))
        nhsa = nhsa or 0
        g.claims += 1
        g.total_cost += rec["total_cost"]
        g.covered_cost += rec["covered_cost"]
        g.fund_paid += rec["fund_paid"]
        g.nhsa_fund_paid += nhsa
        diff = rec["fund_paid"] - nhsa
        if compared and abs(diff) > BALANCE_TOLERANCE_FEN:
            g.differing += 1
            item = (abs(diff), -next(seq), {**rec, "nhsa_fund_paid": nhsa, "difference": diff})
            if len(top) < TOP_DIFFERENCES:
                heapq.heappush(top, item)
            elif item[:2] > top[0][:2]:
                heapq.heapreplace(top, item)


def _write_comparison(c: Comparison, out: Path) -> Path:
    rows: dict[str, list[str]] = {k: [] for k in COMPARISON_COLUMNS}
    for g in c.groups:
        code, name = c.institutions.get(g.inst_id, (g.inst_id, ""))
        values = (g.inst_id, code, name, g.rule, label("rule", g.rule) if g.rule in _RULES else g.rule, str(g.claims),
                  str(g.differing), _yuan_signed(g.total_cost), _yuan_signed(g.covered_cost),
                  _yuan_signed(g.nhsa_fund_paid), _yuan_signed(g.fund_paid), _yuan_signed(g.difference),
                  c.explanation(g))
        for k, v in zip(COMPARISON_COLUMNS, values, strict=True):
            rows[k].append(v)
    table = pa.table({k: neutralise_text(pa.array(v, pa.string())) for k, v in rows.items()})
    path = out / f"{COMPARISON_FILE}.csv"
    tmp = path.with_name(f".{path.name}.tmp")
    pacsv.write_csv(table, tmp, write_options=pacsv.WriteOptions(quoting_style="needed"))
    tmp.replace(path)
    return path


def _yuan_signed(fen: int) -> str:
    return ("-" if fen < 0 else "") + _yuan(abs(fen))
