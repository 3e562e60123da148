"""Checks across tables of a data folder: registry rules, references, ID numbers, claim consistency.

Two kinds: :func:`row_problems` look at one row at a time (several columns of it, or a small table such as the
institutions) and run part by part on a large table; :func:`table_problems` need whole columns (references,
duplicate ID numbers) and run once on the columns named in :data:`CROSS_COLUMNS`. Everything is columnar; only
failing rows are turned into Python values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yigongti.core.codes import Setting
from yigongti.core.problems import Problem
from yigongti.datafolder.duplicates import duplicate_rows
from yigongti.datafolder.idnumbers import id_number_rows
from yigongti.datafolder.keyrows import KeyIndex
from yigongti.registry.domain import CHINA_BOX, Consortium, Institution, Tier, registry_issues

if TYPE_CHECKING:
    from yigongti.datafolder.keystore import KeyStore

__all__ = ["CROSS_COLUMNS", "CROSS_ENCODED", "cross_check", "registry_from_tables", "row_problems", "store_problems",
           "table_problems"]

# The columns table_problems needs of each table (None: all of them; the table is small).
CROSS_COLUMNS: dict[str, tuple[str, ...] | None] = {
    "institutions": None,
    "consortia": None,
    "persons": ("person_id", "id_number"),
    "choices": ("person_id",),
    "designations": ("person_id",),
    "claims": ("claim_id", "person_id", "referral_from"),
}
# Reference columns that may be kept dictionary-encoded (few distinct values per part; 4 bytes a row).
CROSS_ENCODED: dict[str, tuple[str, ...]] = {"claims": ("person_id",), "choices": ("person_id",)}


def registry_from_tables(institutions: pa.Table, consortia: pa.Table) -> tuple[list[Institution], list[Consortium]]:
    insts = [Institution(r["inst_id"], r["name"], Tier(r["tier"]), int(r["level"]), r["kind"],
                         r["consortium_id"] or None, r["parent_id"] or None, r["county_code"],
                         float(r["lon"]), float(r["lat"]))
             for r in institutions.select(["inst_id", "name", "tier", "level", "kind", "consortium_id", "parent_id",
                                           "county_code", "lon", "lat"]).to_pylist()]
    cons = [Consortium(r["consortium_id"], r["name"], r["county_code"], r["lead_inst_id"])
            for r in consortia.select(["consortium_id", "name", "county_code", "lead_inst_id"]).to_pylist()]
    return insts, cons


def _rows(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.flatnonzero(np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool))


def _missing_refs(values: pa.ChunkedArray, known: pa.Array | pa.ChunkedArray | KeyIndex) -> np.ndarray:
    keys = known.keys if isinstance(known, KeyIndex) else known
    if pa.types.is_dictionary(values.type):
        return _missing_encoded_refs(values, keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys)
    present = pc.not_equal(pc.fill_null(values, ""), "")
    index = known if isinstance(known, KeyIndex) else None
    if index is None or not index.in_order:  # (a hash lookup: a set of the known ids)
        keys = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
        return _rows(pc.and_(present, pc.invert(pc.is_in(values, value_set=keys))))
    # the known ids sorted part by part: looked up by binary search (``datafolder.keyrows``)
    unknown = index.rows(values) < 0
    return np.flatnonzero(unknown & np.asarray(present.to_numpy(zero_copy_only=False), dtype=bool))


def _missing_encoded_refs(values: pa.ChunkedArray, known: pa.Array) -> np.ndarray:
    """:func:`_missing_refs` of a dictionary-encoded column: the dictionaries of all chunks are looked up at once."""
    chunks = values.chunks
    if not chunks:
        return np.zeros(0, dtype=np.int64)
    words = pa.concat_arrays([c.dictionary for c in chunks])
    present = pc.not_equal(pc.fill_null(words, ""), "")
    unknown = np.zeros(len(words), dtype=bool)
    unknown[_rows(pc.and_(present, pc.invert(pc.is_in(words, value_set=known))))] = True
    found: list[np.ndarray] = []
    start = base = 0
    for chunk in chunks:
        bad = np.flatnonzero(unknown[start:start + len(chunk.dictionary)])
        start += len(chunk.dictionary)
        if len(bad):
            found.append(_rows(pc.is_in(chunk.indices, value_set=pa.array(bad, chunk.indices.type))) + base)
        base += len(chunk)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _missing_sparse_refs(values: pa.ChunkedArray, known: pa.ChunkedArray) -> np.ndarray:
    """Like :func:`_missing_refs` when few rows hold a value and ``known`` is long (referrals to claims)."""
    present = _rows(pc.not_equal(pc.fill_null(values, ""), ""))
    if len(present) == 0:
        return present
    given = values.take(pa.array(present)).combine_chunks()
    wanted = pc.unique(given)
    found = pc.unique(known.filter(pc.is_in(known, value_set=wanted)))
    return np.asarray(present[_rows(pc.invert(pc.is_in(given, value_set=found)))], dtype=np.int64)


def _problems(label: str, rows: np.ndarray, column: str, messages: list[str], *, base: int = 0) -> list[Problem]:
    return [Problem(label, base + int(i) + 2, column, m) for i, m in zip(rows.tolist(), messages, strict=True)]


def _has(table: pa.Table, *columns: str) -> bool:
    return set(columns) <= set(table.column_names)


def row_problems(name: str, part: pa.Table, label: str, *, base: int = 0,
                 tables: Mapping[str, pa.Table] | None = None) -> list[Problem]:
    """Problems of single rows of table ``name`` (a part starting at row index ``base``); ``tables`` holds the small
    tables read before (institutions, for the claims' references)."""
    if name == "persons":
        return _person_rows(part, label, base)
    if name == "claims":
        institutions = (tables or {}).get("institutions")
        return _claim_rows(part, institutions, label, base)
    return []


def _person_rows(persons: pa.Table, label: str, base: int) -> list[Problem]:
    out: list[Problem] = []
    lon0, lon1, lat0, lat1 = CHINA_BOX
    if _has(persons, "lon", "lat"):
        lon = persons.column("lon")
        lat = persons.column("lat")
        idx = _rows(pc.or_(pc.less(lon, lon0), pc.greater(lon, lon1)))
        out += _problems(label, idx, "lon", [f"longitude {v} is outside China / 经度超出中国范围"
                                             for v in lon.take(pa.array(idx)).to_numpy()], base=base)
        idx = _rows(pc.or_(pc.less(lat, lat0), pc.greater(lat, lat1)))
        out += _problems(label, idx, "lat", [f"latitude {v} is outside China / 纬度超出中国范围"
                                             for v in lat.take(pa.array(idx)).to_numpy()], base=base)
    if _has(persons, "id_number", "birth_date", "sex"):
        found = id_number_rows(persons.column("id_number"), persons.column("birth_date"), persons.column("sex"))
        out += [Problem(label, base + i + 2, "id_number", msg) for i, msg in found]
    return out


def _claim_rows(claims: pa.Table, institutions: pa.Table | None, label: str, base: int) -> list[Problem]:
    out: list[Problem] = []
    if institutions is not None and _has(claims, "inst_id") and _has(institutions, "inst_id"):
        idx = _missing_refs(claims.column("inst_id"), institutions.column("inst_id"))
        out += _problems(label, idx, "inst_id", [f"unknown institution {v} / 机构不存在"
                                                 for v in claims.column("inst_id").take(pa.array(idx)).to_pylist()],
                         base=base)
    if not _has(claims, "setting", "admit_date", "discharge_date", "total_cost", "covered_cost"):
        return out
    inpatient = pc.equal(claims.column("setting"), Setting.INPATIENT.value)
    idx = _rows(pc.and_(inpatient, pc.is_null(claims.column("discharge_date"))))
    out += _problems(label, idx, "discharge_date",
                     ["an inpatient claim needs a discharge date / 住院须填出院日期"] * len(idx), base=base)
    idx = _rows(pc.less(claims.column("discharge_date"), claims.column("admit_date")))
    out += _problems(label, idx, "discharge_date",
                     ["discharge date is before admit date / 出院日期早于入院日期"] * len(idx), base=base)
    idx = _rows(pc.greater(claims.column("covered_cost"), claims.column("total_cost")))
    out += _problems(label, idx, "covered_cost",
                     ["covered cost exceeds total cost / 政策范围内费用大于总费用"] * len(idx), base=base)
    return out


# The columns of the registry rules that must hold a value for a row to be compared (the others may be empty).
_REGISTRY_COLUMNS = {
    "institutions": ("inst_id", "name", "tier", "level", "kind", "consortium_id", "parent_id", "county_code", "lon",
                     "lat"),
    "consortia": ("consortium_id", "name", "county_code", "lead_inst_id"),
}
_REGISTRY_OPTIONAL = {"consortium_id", "parent_id"}


def _comparable(table: pa.Table, name: str) -> tuple[pa.Table, np.ndarray, set[str]]:
    """The rows of a registry table whose values parsed (a cell that did not is null and already a problem): those
    rows, their indices in the table, and the identifiers of the rows left out."""
    needed = [c for c in _REGISTRY_COLUMNS[name] if c not in _REGISTRY_OPTIONAL or name == "consortia"]
    ok = pa.array(np.ones(table.num_rows, dtype=bool))
    for column in needed:
        ok = pc.and_(ok, pc.is_valid(table.column(column)))
    keep = _rows(ok)
    left = pc.invert(ok)
    key = table.column(_REGISTRY_COLUMNS[name][0])
    dropped = {str(v) for v in key.filter(left).to_pylist() if v}
    return table.take(pa.array(keep)), keep, dropped


def _registry_problems(inst_t: pa.Table, cons_t: pa.Table, labels: Mapping[str, str]) -> list[Problem]:
    """The registry rules on the rows that can be compared: a row with a cell that did not parse is left out, and so
    is a problem about a reference to such a row (it exists; its own problem is reported)."""
    insts_ok, inst_rows, inst_dropped = _comparable(inst_t, "institutions")
    cons_ok, cons_rows, cons_dropped = _comparable(cons_t, "consortia")
    dropped = inst_dropped | cons_dropped
    insts, cons = registry_from_tables(insts_ok, cons_ok)
    out: list[Problem] = []
    for issue in registry_issues(insts, cons):
        if dropped and any(word in dropped for word in issue.message.replace("/", " ").split()):
            continue
        index = (inst_rows if issue.table == "institutions" else cons_rows)[issue.index]
        out.append(Problem(labels[issue.table], int(index) + 2, issue.column, issue.message))
    return out


def table_problems(tables: Mapping[str, pa.Table], labels: Mapping[str, str]) -> list[Problem]:
    """Problems that need whole columns: the registry rules, references between tables, duplicate ID numbers."""
    out: list[Problem] = []
    inst_t = tables.get("institutions")
    cons_t = tables.get("consortia")
    if (inst_t is not None and cons_t is not None and _has(inst_t, *_REGISTRY_COLUMNS["institutions"])
            and _has(cons_t, *_REGISTRY_COLUMNS["consortia"])):
        out += _registry_problems(inst_t, cons_t, labels)
    persons = tables.get("persons")
    if persons is not None and _has(persons, "person_id"):
        if _has(persons, "id_number"):
            ids = persons.column("id_number")
            rows, _ = duplicate_rows(pc.if_else(pc.equal(ids, ""), pa.scalar(None, ids.type), ids))
            out += _problems(labels["persons"], rows, "id_number",
                             ["duplicate ID number / 身份证号码重复"] * len(rows))
        person_ids = KeyIndex(persons.column("person_id"))  # (made once for the three tables)
        for name in ("choices", "claims", "designations"):
            t = tables.get(name)
            if t is None or not _has(t, "person_id"):
                continue
            column = t.column("person_id")
            idx = _missing_refs(column, person_ids)
            out += _problems(labels[name], idx, "person_id", [
                f"unknown person {v} / 参保人不存在" for v in column.take(pa.array(idx)).to_pylist()])
    for name in ("budget_agreements", "opening"):  # tables of figures by consortium
        by_consortium = tables.get(name)
        if by_consortium is None or cons_t is None or not _has(by_consortium, "consortium_id") \
                or not _has(cons_t, "consortium_id"):
            continue
        column = by_consortium.column("consortium_id")
        idx = _missing_refs(column, cons_t.column("consortium_id"))
        out += _problems(labels[name], idx, "consortium_id", [
            f"unknown consortium {v} / 医共体不存在" for v in column.take(pa.array(idx)).to_pylist()])
    claims = tables.get("claims")
    if claims is not None and _has(claims, "referral_from", "claim_id"):
        refs = claims.column("referral_from")
        idx = _missing_sparse_refs(refs, claims.column("claim_id"))
        out += _problems(labels["claims"], idx, "referral_from", [
            f"unknown referring claim {v} / 转诊来源不存在" for v in refs.take(pa.array(idx)).to_pylist()])
    return out


def cross_check(data: object, labels: dict[str, str]) -> list[Problem]:
    """Problems that need more than one table, or more than one column of a row (whole tables in memory)."""
    tables: dict[str, pa.Table] = getattr(data, "tables")  # noqa: B009 - any object with tables
    out: list[Problem] = []
    for name, table in tables.items():
        out += row_problems(name, table, labels[name], tables=tables)
    return out + table_problems(tables, labels)


def store_problems(store: KeyStore, tables: Mapping[str, pa.Table], labels: Mapping[str, str],
                   limit: int | None) -> tuple[list[Problem], dict[tuple[str, str], int]]:
    """The checks of :func:`table_problems` on the tables kept in ``store`` (DuckDB, bounded memory): duplicate ID
    numbers, references to persons, to consortia and to referring claims, with the same messages. Returns the first
    ``limit`` problems of each kind and, per (file, column), how many more were found."""
    out: list[Problem] = []
    more: dict[tuple[str, str], int] = {}

    def listed(label: str, column: str, found: tuple[int, list[tuple[object, ...]]], message: str) -> None:
        total, rows = found
        out.extend(Problem(label, int(r[0]) + 2, column,  # type: ignore[call-overload]
                           message.format(value=r[1] if len(r) > 1 else "")) for r in rows)
        if total > len(rows):
            more[(label, column)] = more.get((label, column), 0) + total - len(rows)

    if store.has("persons", "person_id"):
        if store.has("persons", "id_number"):
            listed(labels["persons"], "id_number", store.repeated("persons", "id_number", limit),
                   "duplicate ID number / 身份证号码重复")
        for name in ("choices", "claims", "designations"):
            if store.has(name, "person_id"):
                listed(labels[name], "person_id", store.missing(name, "person_id", "persons", "person_id", limit),
                       "unknown person {value} / 参保人不存在")
    consortia = tables.get("consortia")
    if store.has("budget_agreements", "consortium_id") and consortia is not None and _has(consortia,
                                                                                          "consortium_id"):
        store.register("consortia", consortia.select(["consortium_id"]))
        listed(labels["budget_agreements"], "consortium_id",
               store.missing("budget_agreements", "consortium_id", "consortia", "consortium_id", limit),
               "unknown consortium {value} / 医共体不存在")
    if store.has("claims", "referral_from", "claim_id"):
        listed(labels["claims"], "referral_from", store.missing("claims", "referral_from", "claims", "claim_id", limit,
                             sparse=True),
               "unknown referring claim {value} / 转诊来源不存在")
    return out, more
