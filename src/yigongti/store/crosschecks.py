"""Checks across tables of a data folder: registry rules, references, ID numbers, claim consistency."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yigongti.domain.idnumber import id_number_problems
from yigongti.domain.problems import Problem
from yigongti.domain.registry import CHINA_BOX, Consortium, Institution, Tier, registry_issues

__all__ = ["cross_check", "registry_from_tables"]


def registry_from_tables(institutions: pa.Table, consortia: pa.Table) -> tuple[list[Institution], list[Consortium]]:
    insts = [Institution(r["inst_id"], r["name"], Tier(r["tier"]), int(r["level"]), r["kind"],
                         r["consortium_id"] or None, r["parent_id"] or None, r["county_code"],
                         float(r["lon"]), float(r["lat"]))
             for r in institutions.select(["inst_id", "name", "tier", "level", "kind", "consortium_id", "parent_id",
                                           "county_code", "lon", "lat"]).to_pylist()]
    cons = [Consortium(r["consortium_id"], r["name"], r["county_code"], r["lead_inst_id"])
            for r in consortia.select(["consortium_id", "name", "county_code", "lead_inst_id"]).to_pylist()]
    return insts, cons


def _missing_refs(values: pa.ChunkedArray, known: pa.Array | pa.ChunkedArray) -> np.ndarray:
    present = pc.not_equal(pc.fill_null(values, ""), "")
    missing = pc.and_(present, pc.invert(pc.is_in(values, value_set=pa.array(known.to_pylist() if isinstance(
        known, pa.ChunkedArray) else known))))
    return np.flatnonzero(np.asarray(missing.to_numpy(zero_copy_only=False), dtype=bool))


def cross_check(data: object, labels: dict[str, str]) -> list[Problem]:
    """Problems that need more than one table, or more than one column of a row."""
    tables: dict[str, pa.Table] = getattr(data, "tables")
    out: list[Problem] = []
    inst_t = tables.get("institutions")
    cons_t = tables.get("consortia")
    if inst_t is not None and cons_t is not None:
        insts, cons = registry_from_tables(inst_t, cons_t)
        for issue in registry_issues(insts, cons):
            out.append(Problem(labels[issue.table], issue.index + 2, issue.column, issue.message))

    persons = tables.get("persons")
    if persons is not None:
        out.extend(_person_problems(persons, labels["persons"]))
        person_ids = persons.column("person_id").combine_chunks()
        for name in ("choices", "claims", "designations"):
            t = tables.get(name)
            if t is None:
                continue
            for i in _missing_refs(t.column("person_id"), person_ids):
                out.append(Problem(labels[name], int(i) + 2, "person_id",
                                   f"unknown person {t.column('person_id')[int(i)].as_py()} / 参保人不存在"))
    claims = tables.get("claims")
    if claims is not None:
        out.extend(_claim_problems(claims, inst_t, labels["claims"]))
    return out


def _person_problems(persons: pa.Table, label: str) -> list[Problem]:
    out: list[Problem] = []
    lon0, lon1, lat0, lat1 = CHINA_BOX
    lon = persons.column("lon").to_numpy()
    lat = persons.column("lat").to_numpy()
    for i in np.flatnonzero((lon < lon0) | (lon > lon1)):
        out.append(Problem(label, int(i) + 2, "lon", f"longitude {lon[i]} is outside China / 经度超出中国范围"))
    for i in np.flatnonzero((lat < lat0) | (lat > lat1)):
        out.append(Problem(label, int(i) + 2, "lat", f"latitude {lat[i]} is outside China / 纬度超出中国范围"))
    ids = persons.column("id_number")
    has = np.flatnonzero(np.asarray(pc.not_equal(pc.fill_null(ids, ""), "").to_numpy(zero_copy_only=False), bool))
    if len(has):
        sub = persons.take(pa.array(has)).select(["id_number", "birth_date", "sex"]).to_pylist()
        for i, r in zip(has, sub, strict=True):
            for msg in id_number_problems(r["id_number"], birth_date=r["birth_date"], sex=r["sex"]):
                out.append(Problem(label, int(i) + 2, "id_number", msg))
        # duplicate ID numbers are errors too
        vals = pc.value_counts(ids.filter(pc.not_equal(pc.fill_null(ids, ""), "")))
        dups = vals.field("values").filter(pc.greater(vals.field("counts"), 1))
        if len(dups):
            idx = np.flatnonzero(np.asarray(pc.is_in(ids, value_set=dups).to_numpy(zero_copy_only=False), bool))
            seen: set[str] = set()
            for i in idx:
                v = ids[int(i)].as_py()
                if v in seen:
                    out.append(Problem(label, int(i) + 2, "id_number", "duplicate ID number / 身份证号码重复"))
                seen.add(v)
    return out


def _claim_problems(claims: pa.Table, institutions: pa.Table | None, label: str) -> list[Problem]:
    out: list[Problem] = []
    if institutions is not None:
        for i in _missing_refs(claims.column("inst_id"), institutions.column("inst_id").combine_chunks()):
            out.append(Problem(label, int(i) + 2, "inst_id",
                               f"unknown institution {claims.column('inst_id')[int(i)].as_py()} / 机构不存在"))
    for i in _missing_refs(claims.column("referral_from"), claims.column("claim_id").combine_chunks()):
        out.append(Problem(label, int(i) + 2, "referral_from",
                           f"unknown referring claim {claims.column('referral_from')[int(i)].as_py()} / 转诊来源不存在"))
    inpatient = pc.equal(claims.column("setting"), "inpatient")
    no_discharge = pc.and_(inpatient, pc.is_null(claims.column("discharge_date")))
    for i in np.flatnonzero(np.asarray(pc.fill_null(no_discharge, False).to_numpy(zero_copy_only=False), bool)):
        out.append(Problem(label, int(i) + 2, "discharge_date", "an inpatient claim needs a discharge date / 住院须填出院日期"))
    before = pc.less(claims.column("discharge_date"), claims.column("admit_date"))
    for i in np.flatnonzero(np.asarray(pc.fill_null(before, False).to_numpy(zero_copy_only=False), bool)):
        out.append(Problem(label, int(i) + 2, "discharge_date", "discharge date is before admit date / 出院日期早于入院日期"))
    over = pc.greater(claims.column("covered_cost"), claims.column("total_cost"))
    for i in np.flatnonzero(np.asarray(pc.fill_null(over, False).to_numpy(zero_copy_only=False), bool)):
        out.append(Problem(label, int(i) + 2, "covered_cost", "covered cost exceeds total cost / 政策范围内费用大于总费用"))
    return out
