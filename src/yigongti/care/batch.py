"""The batch path of chronic-disease care (慢病管理批处理): read a data folder's ``followups`` (with readings),
``claims`` and ``institutions``, check the references, compute the monthly measures (``care.engine``) and write
``care_measures.csv``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from yigongti.care.engine import Measures, measures
from yigongti.core.policy import Policy
from yigongti.core.problems import InvalidInput, Problem

__all__ = ["MEASURES_FILE", "claim_rows", "measures_folder", "write_measures"]

MEASURES_FILE = "care_measures"


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
