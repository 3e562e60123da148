"""Use case: run a county's year end to end (年度运行): enroll -> adjudicate -> appraise -> settle.

The steps share one read of the data folder and hand their tables to each other; every step's outputs are written
into one output folder, in the contract's names, so that a later ``settle --data OUT`` or ``appraise --data OUT``
reads them instead of computing them again. Scores for the P4P reserve come from the appraisal; the policy's
``settlement.scores`` and a ``scores`` input table override them (docs/en/rules.md D3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from yigongti.core.policy import Policy
from yigongti.benefits.service import adjudicate_data, folder_designations, summarize, write_adjudicated
from yigongti.appraisal.service import AppraisalResult, appraise_data, write_appraisal
from yigongti.enrollment.service import enroll_data
from yigongti.enrollment.report import enrollment_outputs, write_enrollment
from yigongti.appraisal.indicator_sets import folder_indicator_set
from yigongti.core.policy_files import folder_policy
from yigongti.budget.service import SettlementResult, settle_data, write_settlement
from yigongti.datafolder.folder import DataFolder, read_folder

__all__ = ["STEPS", "YearResult", "appraisal_scores", "policy_with_scores", "run_year", "settle_appraised"]

DESIGNATION_COLUMNS = ["person_id", "year", "consortium_id", "township_id", "village_id"]
STEPS = ("enroll", "adjudicate", "appraise", "settle")


@dataclass(frozen=True)
class YearResult:
    year: int
    designated: int
    claims: int
    appraisal: AppraisalResult
    settlement: SettlementResult
    out: Path


def appraisal_scores(appraisal: AppraisalResult) -> dict[str, Decimal]:
    """Scores by unit id (consortia and institutions) that the appraisal could compute."""
    return {r["unit_id"]: Decimal(r["score"]) for r in appraisal.scores.to_pylist() if r["score"] not in (None, "")}


def policy_with_scores(policy: Policy, computed: dict[str, Decimal]) -> Policy:
    """The policy whose ``settlement.scores`` are the computed scores, overridden by those the policy itself names."""
    merged = {**computed, **policy.settlement.scores}
    return policy.model_copy(update={"settlement": policy.settlement.model_copy(update={"scores": merged})})


def with_previous_designations(data: DataFolder, designations: pa.Table, year: int) -> pa.Table:
    """The year's designations plus the folder's of year - 1 (for last year's indicators)."""
    cols = designations.select(DESIGNATION_COLUMNS)
    earlier = data.get("designations")
    if earlier is None:
        return cols
    prev = earlier.filter(pc.equal(earlier.column("year"), year - 1)).select(DESIGNATION_COLUMNS)
    return pa.concat_tables([cols, prev.cast(cols.schema)])


def run_year(folder: Path | str, year: int, out: Path | str, *, policy: Policy | None = None,
             backend: str = "duckdb", reports: bool = True,
             step: Callable[[str], None] | None = None) -> YearResult:
    """Run ``year`` on a data folder and write every output into ``out``. Raises InvalidInput on bad input
    (nothing is written then: the folder is validated before the first step)."""
    folder, out = Path(folder), Path(out)
    tell = step or (lambda _name: None)
    data = read_folder(folder)
    policy = policy or folder_policy(folder)

    tell("enroll")
    designations = folder_designations(data, year)
    if designations is None:
        enrolled = enroll_data(data, year, policy)
        write_enrollment(enrollment_outputs(data, enrolled, policy), out)
        designations = enrolled.designations
    designations = with_previous_designations(data, designations, year)

    tell("adjudicate")
    adjudicated = adjudicate_data(data, year, policy, designations, backend=backend)
    write_adjudicated(adjudicated, out)

    tell("appraise")
    appraisal = appraise_data(data, year, policy, designations, adjudicated,
                              indicator_set=folder_indicator_set(folder), backend=backend)
    write_appraisal(appraisal, out, reports=reports)

    tell("settle")
    settlement = _settle(data, year, policy, designations, adjudicated, appraisal, backend)
    write_settlement(settlement, out, reports=reports)
    return YearResult(year, _count(designations, year), summarize(adjudicated, year).claims, appraisal, settlement,
                      out)


def _count(designations: pa.Table, year: int) -> int:
    return int(pc.sum(pc.equal(designations.column("year"), year)).as_py() or 0)


def _settle(data: DataFolder, year: int, policy: Policy, designations: pa.Table, adjudicated: pa.Table,
            appraisal: AppraisalResult, backend: str) -> SettlementResult:
    scored = policy_with_scores(policy, appraisal_scores(appraisal))
    this_year = designations.filter(pc.equal(designations.column("year"), year))
    return settle_data(data, year, scored, backend=backend, designations=this_year, adjudicated=adjudicated)


def settle_appraised(folder: Path | str, year: int, policy: Policy, *, backend: str = "duckdb") -> SettlementResult:
    """``settle`` with the P4P scores of the appraisal (what ``yigongti settle`` runs): designations and adjudicated
    claims are read from the folder when there, else computed; the appraisal's scores are overridden by the
    policy's and by a ``scores`` table."""
    from yigongti.budget.service import settlement_inputs

    data = read_folder(Path(folder))
    designations, adjudicated = settlement_inputs(data, year, policy)
    this_year = designations.filter(pc.equal(designations.column("year"), year))
    designations = with_previous_designations(data, this_year, year)
    appraisal = appraise_data(data, year, policy, designations, adjudicated,
                              indicator_set=folder_indicator_set(Path(folder)), backend=backend)
    return _settle(data, year, policy, designations, adjudicated, appraisal, backend)
