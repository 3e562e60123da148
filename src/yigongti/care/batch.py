"""The batch path of chronic-disease care (慢病管理批处理): read a data folder's ``followups`` (with readings),
``claims`` and ``institutions``, check the references, compute the monthly measures (``care.engine``) and write
``care_measures.csv``; and the GP pay of a year (家庭医生薪酬, ``gp_pay.csv``) from the ``contracts`` with their
``gp_id``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from yigongti.care.engine import GpPayRow, Measures, gp_pay_rows, gp_pay_table, measures, patients_at_year_end
from yigongti.core.policy import Policy
from yigongti.core.problems import InvalidInput, Problem

__all__ = ["GP_PAY_FILE", "MEASURES_FILE", "claim_rows", "gp_pay_folder", "measures_folder", "write_gp_pay",
           "write_measures"]

MEASURES_FILE = "care_measures"
GP_PAY_FILE = "gp_pay"


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
    return gp_pay_rows(contracts, data["institutions"], patients, year, policy.care.gp_pay)


def write_gp_pay(rows: list[GpPayRow], year: int, out: Path | str) -> Path:
    """Write ``gp_pay.csv`` into ``out``."""
    from yigongti.datafolder.folder import write_table

    return write_table(gp_pay_table(rows, year), out, GP_PAY_FILE)
