"""The batch path of chronic-disease care (慢病管理批处理): read a data folder's ``followups`` (with readings),
``claims`` and ``institutions``, check the references, compute the monthly measures (``care.engine``) and write
``care_measures.csv``; and the GP pay of a year (家庭医生薪酬, ``gp_pay.csv``) from the ``contracts`` with their
``gp_id``."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from yigongti.care.domain import GpPay, gp_pay, quality_score
from yigongti.care.engine import Measures, measures, patients_at_year_end
from yigongti.core.policy import Policy
from yigongti.core.problems import InvalidInput, Problem

__all__ = ["GP_PAY_COLUMNS", "GP_PAY_FILE", "MEASURES_FILE", "GpPayRow", "claim_rows", "gp_pay_folder",
           "gp_pay_rows", "gp_pay_table", "measures_folder", "write_gp_pay", "write_measures"]

MEASURES_FILE = "care_measures"
GP_PAY_FILE = "gp_pay"
GP_PAY_COLUMNS = ("gp_id", "inst_id", "tier", "year", "heads", "registered", "under_management", "standardized",
                  "controlled", "quality_score", "base_pay", "quality_pay", "rural_allowance", "total")


def _check(followups: pa.Table, institutions: pa.Table, persons: pa.Table | None) -> None:
    problems: list[Problem] = []
    refs = [("inst_id", institutions.column("inst_id"))]
    if persons is not None:
        refs.append(("person_id", persons.column("person_id")))
    for col, known in refs:
        bad = pc.invert(pc.is_in(followups.column(col), value_set=known))
        for i in pc.indices_nonzero(bad).to_pylist()[:100]:
            problems.append(Problem("followups.csv", i + 2, col,
                                    f"'{followups.column(col)[i].as_py()}' is not a known id / 编码不存在"))
    if problems:
        raise InvalidInput(problems)


def measures_folder(folder: Path | str, year: int, policy: Policy, *, backend: str = "duckdb") -> Measures:
    """The measures of ``year`` from the data folder (``followups`` is required here)."""
    from yigongti.datafolder.folder import read_folder

    data = read_folder(folder, tables=["institutions", "persons", "claims", "followups"])
    followups = data.get("followups")
    if followups is None:
        raise InvalidInput([Problem("followups.csv", 0, "", "the follow-ups are needed for the chronic-disease "
                                                           "measures / 缺少慢病随访表")])
    _check(followups, data["institutions"], data.get("persons"))
    return measures(followups, data["institutions"], year, policy.care, claims=data.get("claims"),
                    backend=backend)


def write_measures(result: Measures, out: Path | str) -> Path:
    """Write ``care_measures.csv`` into ``out``."""
    from yigongti.datafolder.folder import write_table

    return write_table(result.table, out, MEASURES_FILE)


def claim_rows(claims: pa.Table) -> Iterator[tuple[str, str, str, date, str | None]]:
    """(claim_id, person_id, inst_id, admit_date, diagnosis) of the claims that carry a diagnosis."""
    c = claims.filter(pc.is_valid(claims.column("diagnosis")))
    cols = [c.column(n).to_pylist() for n in ("claim_id", "person_id", "inst_id", "admit_date", "diagnosis")]
    yield from zip(*cols, strict=True)


@dataclass(frozen=True)
class GpPayRow:
    """One GP's pay for a year with the counts it comes from."""

    gp_id: str
    inst_id: str
    tier: str
    heads: int
    registered: int
    under_management: int
    standardized: int
    controlled: int
    pay: GpPay


def _active(contracts: pa.Table, year: int) -> pa.Table:
    """The contracts in force on some day of ``year`` that name a GP."""
    lo, hi = pa.scalar(date(year, 1, 1), pa.date32()), pa.scalar(date(year, 12, 31), pa.date32())
    end = contracts.column("end_date")
    keep = pc.and_(pc.and_(pc.is_valid(contracts.column("gp_id")), pc.less_equal(contracts.column("start_date"), hi)),
                   pc.or_kleene(pc.is_null(end), pc.greater_equal(end, lo)))
    return contracts.filter(keep)


def gp_pay_rows(contracts: pa.Table, institutions: pa.Table, patients: pa.Table, year: int,
                policy: Policy) -> list[GpPayRow]:
    """Every GP's pay for ``year``, by gp_id: heads = the distinct residents under a contract with the GP in force on
    some day of the year; their chronic patients (``patients``: :func:`~yigongti.care.engine.patients_at_year_end`)
    give the quality score; the GP's institution is the one of most of their contracts (ties: the smaller id), its
    tier the rural allowance."""
    active = _active(contracts, year)
    heads: dict[str, set[str]] = defaultdict(set)
    insts: dict[str, Counter[str]] = defaultdict(Counter)
    for gp, person, inst in zip(*(active.column(c).to_pylist() for c in ("gp_id", "person_id", "inst_id")),
                                strict=True):
        heads[gp].add(person)
        insts[gp][inst] += 1
    by_person: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for person, um, st, ctl in zip(*(patients.column(c).to_pylist() for c in
                                     ("person_id", "under_management", "standardized", "controlled")), strict=True):
        by_person[person].append((um, st, ctl))
    tiers = dict(zip(institutions.column("inst_id").to_pylist(), institutions.column("tier").to_pylist(),
                     strict=True))
    rows = []
    for gp in sorted(heads):
        inst = min(insts[gp].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        mine = [p for person in heads[gp] for p in by_person.get(person, [])]
        counts = {"registered": len(mine), "under_management": sum(p[0] for p in mine),
                  "standardized": sum(p[1] for p in mine), "controlled": sum(p[2] for p in mine)}
        score = quality_score(**counts, policy=policy.care.gp_pay)
        tier = str(tiers.get(inst, ""))
        rows.append(GpPayRow(gp, inst, tier, len(heads[gp]), **counts,
                             pay=gp_pay(heads=len(heads[gp]), tier=tier, score=score, policy=policy.care.gp_pay)))
    return rows


def gp_pay_folder(folder: Path | str, year: int, policy: Policy, *, backend: str = "duckdb") -> list[GpPayRow]:
    """The GP pay of ``year`` from a data folder: ``contracts`` (with ``gp_id``) is required, ``followups`` and
    ``claims`` give the chronic registry and the quality."""
    from yigongti.datafolder.folder import read_folder

    data = read_folder(folder, tables=["institutions", "persons", "claims", "followups", "contracts"])
    contracts = data.get("contracts")
    if contracts is None or pc.all(pc.is_null(contracts.column("gp_id"))).as_py() is not False:
        raise InvalidInput([Problem("contracts.csv", 0, "gp_id", "GP pay needs the family-doctor contracts with "
                                                                 "their gp_id / 缺少签约表或家庭医生编码 gp_id")])
    followups = data.get("followups")
    if followups is not None:
        _check(followups, data["institutions"], data.get("persons"))
    patients = patients_at_year_end(followups, year, policy.care, claims=data.get("claims"), backend=backend)
    return gp_pay_rows(contracts, data["institutions"], patients, year, policy)


def _yuan(fen: int) -> str:
    return str(Decimal(fen).scaleb(-2).quantize(Decimal("0.01")))


def gp_pay_table(rows: list[GpPayRow], year: int) -> pa.Table:
    """The rows as ``gp_pay.csv``: money in yuan with 2 decimals (exact: the fen are summed, then written), the
    quality score as a decimal with 4 places (half up; the pay is computed from the exact score)."""
    def score(r: GpPayRow) -> str:
        s = r.pay.score
        return str((Decimal(s.numerator) / Decimal(s.denominator)).quantize(Decimal("0.0001")))

    cols: dict[str, list[object]] = {
        "gp_id": [r.gp_id for r in rows], "inst_id": [r.inst_id for r in rows], "tier": [r.tier for r in rows],
        "year": [year] * len(rows), "heads": [r.heads for r in rows],
        "registered": [r.registered for r in rows], "under_management": [r.under_management for r in rows],
        "standardized": [r.standardized for r in rows], "controlled": [r.controlled for r in rows],
        "quality_score": [score(r) for r in rows], "base_pay": [_yuan(r.pay.base) for r in rows],
        "quality_pay": [_yuan(r.pay.quality) for r in rows], "rural_allowance": [_yuan(r.pay.rural) for r in rows],
        "total": [_yuan(r.pay.total) for r in rows]}
    return pa.table({k: pa.array(v, pa.int64() if k in ("year", "heads", "registered", "under_management",
                                                          "standardized", "controlled") else pa.string())
                     for k, v in cols.items()})


def write_gp_pay(rows: list[GpPayRow], year: int, out: Path | str) -> Path:
    """Write ``gp_pay.csv`` into ``out``."""
    from yigongti.datafolder.folder import write_table

    return write_table(gp_pay_table(rows, year), out, GP_PAY_FILE)
