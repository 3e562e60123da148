"""One settlement for a folder (一条清算路径): ``yigongti run`` and ``yigongti settle`` write byte-identical
settlement, allocation and ledger files, on the demo county and on the worked example; a Parquet folder settles to
the same fen whether its claims stream through the engine or sit in memory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from yigongti.benefits.service import adjudicate_data, designations_for
from yigongti.budget.service import settlement_inputs
from yigongti.cli import app
from yigongti.core.policy_files import folder_policy
from yigongti.datafolder.folder import read_folder
from yigongti.demo.county import write_demo_county

OUTPUTS = ("settlement.csv", "allocation.csv", "ledger.csv")
# seed 4 at 8,000 persons has an admission of 2026-01-12 referred by one of 2025-12-31 whose person changed
# consortium between the years: the referring admission's deductible is that of its own year's designation
DEMO_SEED, DEMO_PERSONS, YEAR = 4, 8000, 2026
CROSS_YEAR_CLAIM = "C510727-000008953"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "county"
    write_demo_county(out, persons=DEMO_PERSONS, seed=DEMO_SEED, year=YEAR, fmt="csv")
    return out


def _run_and_settle(folder: Path, tmp: Path, *extra: str) -> tuple[Path, Path]:
    runner = CliRunner()
    for command, target in (("run", tmp / "run"), ("settle", tmp / "settle")):
        result = runner.invoke(app, [command, "--data", str(folder), "--year", str(YEAR), "--out", str(target),
                                     "--no-reports", *extra])
        assert result.exit_code == 0, result.output
    return tmp / "run", tmp / "settle"


def test_a_referring_admission_of_last_year_keeps_last_years_designation(demo: Path) -> None:
    """settle computed its adjudication with the year's designations only: the referring admission of 2025 was then
    classified with the person's 2026 consortium, and its deductible (so the continuous deductible of the 2026
    admission and the money charged) changed. Every year's designations go in, as ``adjudicate`` gives them."""
    data = read_folder(demo)
    policy = folder_policy(demo)
    _, adjudicated = settlement_inputs(data, YEAR, policy)
    reference = adjudicate_data(data, YEAR, policy, designations_for(data, YEAR, policy))

    def fund(t: object, claim: str) -> int:
        assert hasattr(t, "filter")
        row = t.filter(pc.equal(t.column("claim_id"), claim))  # type: ignore[attr-defined]
        assert row.num_rows == 1
        return int(row.column("fund_paid")[0].as_py())

    assert fund(adjudicated, CROSS_YEAR_CLAIM) == fund(reference, CROSS_YEAR_CLAIM)
    assert pc.sum(adjudicated.column("fund_paid")).as_py() == pc.sum(reference.column("fund_paid")).as_py()


def test_run_and_settle_write_identical_files_on_the_demo_county(demo: Path, tmp_path: Path) -> None:
    run, settle = _run_and_settle(demo, tmp_path)
    for name in OUTPUTS:
        assert (run / name).read_bytes() == (settle / name).read_bytes(), name


def test_run_and_settle_write_identical_files_on_the_worked_example(example_input: Path, tmp_path: Path) -> None:
    folder = tmp_path / "example"
    shutil.copytree(example_input, folder)
    run, settle = _run_and_settle(folder, tmp_path)
    for name in OUTPUTS:
        assert (run / name).read_bytes() == (settle / name).read_bytes(), name
