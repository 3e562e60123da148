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

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from yigongti.core.problems import InvalidInput, Problem, shorten
from yigongti.datafolder.folder import find_table_file, neutralise_text, read_folder
from yigongti.interop.nhsa.codes import CodeSystems, packaged_codes
from yigongti.interop.nhsa.domain import (
    FIELD_BY_NAME,
    Malformed,
    NhsaClaim,
    PersonRef,
    Refused,
    institution_code_problem,
    map_settlement,
    required_fields,
)
from yigongti.interop.nhsa.records import BATCH_ROWS, ROW, RecordFile, open_records

__all__ = ["CLAIM_COLUMNS", "MAX_PROBLEMS", "REPORT_COLUMNS", "ImportSummary", "Outcome", "import_records"]

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


def _registry(data: Path, codes: CodeSystems, problems: _Problems) -> _Registry:
    folder = read_folder(data, tables=["institutions", "persons"])
    inst, persons = folder["institutions"], folder["persons"]
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
    return _Registry(institutions, keys, person_ids, id_numbers, persons.column("insurance").combine_chunks())


@dataclass
class _Keys:
    """Pass 1: where each settlement is, and the cancellations."""

    settle_ids: list[pa.Array] = field(default_factory=list)
    settle_infno: list[pa.Array] = field(default_factory=list)
    settle_file: list[pa.Array] = field(default_factory=list)
    settle_row: list[pa.Array] = field(default_factory=list)
    cancels: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # setl_id -> (infno, file, row)
    cancelled_by: dict[str, str] = field(default_factory=dict)  # setl_id -> "file:row (infno)"
    original_of: dict[str, str] = field(default_factory=dict)  # setl_id -> "file:row"


def _infno(batch: pa.Table) -> pa.Array:
    if "infno" in batch.column_names:
        return pc.utf8_trim_whitespace(batch.column("infno").combine_chunks())
    return pa.array([""] * batch.num_rows, pa.string())


def _pass_keys(files: list[RecordFile], codes: CodeSystems, problems: _Problems, rows: int) -> _Keys:
    keys = _Keys()
    settles = [c for c, e in codes.infno.items() if e.get("kind") == "settles"]
    cancels = [c for c, e in codes.infno.items() if e.get("kind") == "cancels"]
    for k, rf in enumerate(files):
        for batch in rf.batches(rows=rows):
            infno = _infno(batch)
            setl = pc.utf8_trim_whitespace(batch.column("setl_id").combine_chunks())
            row = batch.column(ROW).combine_chunks()
            known = pc.or_(pc.is_in(infno, value_set=pa.array(settles + cancels)), pc.equal(infno, ""))
            if "infno" in batch.column_names:
                known = pc.and_(known, pc.not_equal(infno, ""))
            for i in pc.indices_nonzero(pc.invert(known)).to_pylist():
                problems.add(Problem(rf.label, row[i].as_py(), "infno",
                                     f"unknown transaction {shorten(infno[i].as_py())!r} (settles: "
                                     f"{', '.join(codes.infno[c].shown() for c in settles)}; cancels: "
                                     f"{', '.join(codes.infno[c].shown() for c in cancels)}) / 交易编号未知"))
            for i in pc.indices_nonzero(pc.equal(setl, "")).to_pylist():
                problems.add(Problem(rf.label, row[i].as_py(), "setl_id", "结算ID setl_id is required / 必填"))
            is_cancel = pc.is_in(infno, value_set=pa.array(cancels))
            settle = pc.invert(is_cancel)
            keys.settle_ids.append(pc.filter(setl, settle))
            keys.settle_infno.append(pc.filter(infno, settle))
            keys.settle_file.append(pa.array([k] * pc.sum(settle).as_py(), pa.int32()) if len(setl) else
                                    pa.array([], pa.int32()))
            keys.settle_row.append(pc.filter(row, settle))
            for i in pc.indices_nonzero(is_cancel).to_pylist():
                sid, r = setl[i].as_py(), row[i].as_py()
                if sid in keys.cancels:
                    inf, f0, r0 = keys.cancels[sid]
                    problems.add(Problem(rf.label, r, "setl_id", f"setl_id {sid} was already cancelled at "
                                                                  f"{files[f0].label}:{r0} / 重复撤销"))
                elif sid:
                    keys.cancels[sid] = (infno[i].as_py(), k, r)
    ids = pa.chunked_array(keys.settle_ids, pa.string()).combine_chunks()
    if len(ids):
        counts = pa.table({"k": ids}).group_by("k").aggregate([("k", "count")])
        dup = counts.filter(pc.and_(pc.greater(counts.column("k_count"), 1),
                                    pc.not_equal(counts.column("k"), ""))).column("k")
        if len(dup):
            files_col = pa.chunked_array(keys.settle_file, pa.int32()).combine_chunks()
            rows_col = pa.chunked_array(keys.settle_row, pa.int64()).combine_chunks()
            first: dict[str, str] = {}
            for i in pc.indices_nonzero(pc.is_in(ids, value_set=dup)).to_pylist():
                sid = ids[i].as_py()
                where = f"{files[files_col[i].as_py()].label}:{rows_col[i].as_py()}"
                if sid in first:
                    problems.add(Problem(files[files_col[i].as_py()].label, rows_col[i].as_py(), "setl_id",
                                         f"setl_id {sid} was settled before at {first[sid]} / 结算ID重复"))
                else:
                    first[sid] = where
    if keys.cancels:
        wanted = pa.array(list(keys.cancels), pa.string())
        at = pc.index_in(wanted, value_set=ids)
        infnos = pa.chunked_array(keys.settle_infno, pa.string()).combine_chunks()
        files_col = pa.chunked_array(keys.settle_file, pa.int32()).combine_chunks()
        rows_col = pa.chunked_array(keys.settle_row, pa.int64()).combine_chunks()
        for sid, idx in zip(wanted.to_pylist(), at.to_pylist(), strict=True):
            inf, k, r = keys.cancels[sid]
            entry = codes.infno[inf]
            if idx is None:
                problems.add(Problem(files[k].label, r, "setl_id",
                                     f"{entry.shown()} cancels setl_id {shorten(sid)}, which no record settles / "
                                     "撤销的结算不存在"))
                continue
            original = infnos[idx].as_py()
            if original and original != entry.get("cancels"):
                problems.add(Problem(files[k].label, r, "infno",
                                     f"{entry.shown()} cannot cancel setl_id {sid}, a "
                                     f"{codes.infno[original].shown()} / 撤销交易与原结算交易不符"))
            keys.cancelled_by[sid] = f"{files[k].label}:{r} ({inf})"
            keys.original_of[sid] = f"{files[files_col[idx].as_py()].label}:{rows_col[idx].as_py()}"
    return keys


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

    def close(self) -> None:
        self.writer.close()

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
                   codes: CodeSystems | None = None, batch_rows: int = BATCH_ROWS) -> ImportSummary:
    """Import settlement exports ``records`` against the registry of ``data``; write OUT/claims.csv and
    OUT/import_report.csv. Raises :class:`InvalidInput` (nothing written) on malformed input."""
    data, out = Path(data), Path(out)
    codes = codes or packaged_codes()
    problems = _Problems()
    registry = _registry(data, codes, problems)
    labels = [p.name for p in records]
    if len(set(labels)) < len(labels):
        labels = [str(p) for p in records]
    files = [open_records(p, label=lab, encoding=encoding) for p, lab in zip(records, labels, strict=True)]
    for rf in files:
        for p in rf.problems:
            problems.add(p)
        if not rf.problems:
            missing = [n for n in required_fields("settles") if n not in rf.fields]
            if rf.kind != "jsonl":
                for name in missing:
                    f = FIELD_BY_NAME[name]
                    problems.add(Problem(rf.label, 1, name, f"missing column {name} ({f.label}) / 缺少列"))
        rf.problems = []
    problems.raise_if_any()
    keys = _pass_keys(files, codes, problems, batch_rows)
    for rf in files:
        for p in rf.problems:
            problems.add(p)
        rf.problems = []
    problems.raise_if_any()

    out.mkdir(parents=True, exist_ok=True)
    claims = _Writer(out / "claims.csv", CLAIM_COLUMNS, ("claim_id", "person_id", "inst_id", "diagnosis"))
    report = _Writer(out / "import_report.csv", REPORT_COLUMNS, ("setl_id", "reason", "infno", "file"))
    summary = ImportSummary(out=out)
    cancelled = pa.array(list(keys.cancelled_by), pa.string())
    try:
        for rf in files:
            for batch in rf.batches(rows=batch_rows):
                _map_batch(rf, batch, registry, codes, keys, cancelled, claims, report, summary, problems)
            for p in rf.problems:
                problems.add(p)
    finally:
        claims.close()
        report.close()
    if problems.items:
        claims.discard()
        report.discard()
        problems.raise_if_any()
    claims.commit()
    report.commit()
    return summary


def _map_batch(rf: RecordFile, batch: pa.Table, registry: _Registry, codes: CodeSystems, keys: _Keys,
               cancelled: pa.Array, claims: _Writer, report: _Writer, summary: ImportSummary,
               problems: _Problems) -> None:
    n = batch.num_rows
    psn = (pc.utf8_trim_whitespace(batch.column("psn_no").combine_chunks()) if "psn_no" in batch.column_names
           else pa.nulls(n, pa.string()))
    at = pc.index_in(psn, value_set=registry.person_keys)
    pid = registry.person_ids.take(at).to_pylist()
    idn = registry.id_numbers.take(at).to_pylist()
    ins = registry.insurance.take(at).to_pylist()
    infnos = _infno(batch).to_pylist()
    rows = batch.column(ROW).to_pylist()
    setl = pc.utf8_trim_whitespace(batch.column("setl_id").combine_chunks())
    gone = pc.is_in(setl, value_set=cancelled).to_pylist()
    cancels = {c for c, e in codes.infno.items() if e.get("kind") == "cancels"}
    c_cols: dict[str, list[str]] = {c: [] for c in CLAIM_COLUMNS}
    r_cols: dict[str, list[str]] = {c: [] for c in REPORT_COLUMNS}

    def outcome(setl_id: str, what: str, reason: str, infno: str, row: int) -> None:
        for c, v in zip(REPORT_COLUMNS, (setl_id, what, reason, infno, rf.label, str(row)), strict=True):
            r_cols[c].append(v)

    for i, rec in enumerate(_rows(batch)):
        summary.records += 1
        sid, infno, row = setl[i].as_py(), infnos[i], rows[i]
        if infno in cancels:
            summary.cancelled += 1
            outcome(sid, Outcome.CANCELLED, f"{codes.infno[infno].shown()}：撤销 {keys.original_of.get(sid, '')} 的结算"
                                            f" / cancels the settlement at {keys.original_of.get(sid, '')}", infno, row)
            continue
        if gone[i]:
            summary.cancelled += 1
            outcome(sid, Outcome.CANCELLED, f"已被 {keys.cancelled_by[sid]} 撤销 / cancelled by "
                                            f"{keys.cancelled_by[sid]}", infno, row)
            continue
        person = PersonRef(pid[i], idn[i], ins[i]) if pid[i] is not None else None
        inst_id = registry.institutions.get((rec.get("fixmedins_code") or "").strip())
        result = map_settlement(rec, codes=codes, inst_id=inst_id, person=person)
        if isinstance(result, Malformed):
            for name, message in result.problems:
                problems.add(Problem(rf.label, row, name, message))
            continue
        if isinstance(result, Refused):
            summary.refused += 1
            first = result.reason.split("; ")[0]
            key = first if len(first) <= 80 else first[:80] + "..."
            summary.refusals[key] = summary.refusals.get(key, 0) + 1
            outcome(sid, Outcome.REFUSED, result.reason, infno, row)
            continue
        _add_claim(c_cols, result)
        summary.imported += 1
        summary.total_cost += result.total_cost
        summary.nhsa_fund_paid += result.nhsa_fund_paid
        if any(note.startswith("不平衡") for note in result.notes):
            summary.unbalanced += 1
        outcome(sid, Outcome.IMPORTED, "; ".join(result.notes), infno, row)
    claims.write(c_cols)
    report.write(r_cols)


def _add_claim(cols: dict[str, list[str]], c: NhsaClaim) -> None:
    values = (c.claim_id, c.person_id, c.inst_id, c.setting, "true" if c.emergency else "false",
              c.admit_date.isoformat(), c.discharge_date.isoformat() if c.discharge_date else "", _yuan(c.total_cost),
              _yuan(c.covered_cost), c.diagnosis or "", "", "false", _yuan(c.nhsa_fund_paid))
    for name, v in zip(CLAIM_COLUMNS, values, strict=True):
        cols[name].append(v)
