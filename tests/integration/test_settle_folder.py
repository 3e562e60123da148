"""Settling a folder of Parquet claims in the engine from end to end (``settle_folder``, a province's path) gives the
same settlement, allocation and ledger as the in-memory path, and the example's expected settlement."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.integration.test_settle_example import read_csv
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.core.policy import CapitationPolicy, Policy
from yigongti.budget.service import settle_data, settle_folder
from yigongti.datafolder.folder import fen_to_yuan, read_folder


@pytest.fixture(scope="module")
def folders(example_input: Path, example_expected: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the example with CSV claims, the same with claims as a folder of Parquet parts), both with the expected
    designations of 2026 and without adjudicated claims (settle adjudicates)."""
    csv_folder = tmp_path_factory.mktemp("csv")
    for f in example_input.iterdir():
        shutil.copyfile(f, csv_folder / f.name)
    earlier = (example_input / "designations.csv").read_text(encoding="utf-8")
    y2026 = (example_expected / "designations.csv").read_text(encoding="utf-8").split("\n", 1)[1]
    (csv_folder / "designations.csv").write_text(earlier.rstrip("\n") + "\n" + y2026, encoding="utf-8")
    pq_folder = tmp_path_factory.mktemp("parquet")
    shutil.copytree(csv_folder, pq_folder, dirs_exist_ok=True)
    (pq_folder / "claims.csv").unlink()
    claims = read_folder(csv_folder)["claims"]
    for n in ("total_cost", "covered_cost"):  # money as decimal yuan, as every contract file has it
        claims = claims.set_column(claims.column_names.index(n), n, fen_to_yuan(claims.column(n)))
    (pq_folder / "claims").mkdir()
    third = claims.num_rows // 3
    for i, (lo, n) in enumerate(((0, third), (third, third), (2 * third, claims.num_rows - 2 * third))):
        pq.write_table(claims.slice(lo, n), pq_folder / "claims" / f"part-{i}.parquet")
    return csv_folder, pq_folder


def _without_hash(t: pa.Table) -> pa.Table:
    return t.drop_columns(["inputs_hash"]) if "inputs_hash" in t.column_names else t


def test_parquet_folder_settles_like_the_in_memory_path(folders: tuple[Path, Path]) -> None:
    csv_folder, pq_folder = folders
    a = settle_data(csv_folder, 2026)
    b = settle_folder(pq_folder, 2026)
    assert b.settlement.equals(a.settlement)
    assert b.allocation.equals(a.allocation)
    assert _without_hash(b.ledger).equals(_without_hash(a.ledger))
    assert b.by_month.sort_by([("consortium_id", "ascending"), ("month", "ascending")]).equals(
        a.by_month.sort_by([("consortium_id", "ascending"), ("month", "ascending")]))
    # the claims files are hashed by their bytes: the same files give the same hash, a changed file another one
    assert settle_folder(pq_folder, 2026).inputs_hash == b.inputs_hash
    assert b.inputs_hash != a.inputs_hash


def test_risk_adjustment_reads_last_years_diagnoses_from_the_parquet_claims(folders: tuple[Path, Path]) -> None:
    csv_folder, pq_folder = folders
    cap = CapitationPolicy(risk_adjustment=True, risk_weights={"dm": Decimal("1.5")},  # type: ignore[arg-type]
                           risk_diagnoses={"dm": ("E11",)})
    a = settle_data(csv_folder, 2026, Policy(capitation=cap))
    b = settle_folder(pq_folder, 2026, Policy(capitation=cap))
    plain = settle_folder(pq_folder, 2026)
    heads = [s.budget.standard_heads for s in b.consortia]
    assert heads == [s.budget.standard_heads for s in a.consortia]
    assert heads != [s.budget.standard_heads for s in plain.consortia]  # the diabetics weigh more


def test_cli_settles_parquet_claims_in_the_engine(folders: tuple[Path, Path], example_expected: Path,
                                                  tmp_path: Path) -> None:
    _, pq_folder = folders
    expected = read_csv(example_expected / "settlement.csv")
    # streamed (automatic above 10 million claims) and, for a county's few claims by default, in memory
    for how in (["--stream"], []):
        result = CliRunner().invoke(app, ["settle", "--data", str(pq_folder), "--year", "2026", "--out",
                                          str(tmp_path / "o"), "--no-reports", *how])
        assert result.exit_code == 0, result.output
        assert ("no appraisal" in result.output) == bool(how)
        got = read_csv(tmp_path / "o" / "settlement.csv")
        assert [{k: g[k] for k in e} for e, g in zip(expected, got, strict=True)] == expected


def test_changed_claims_file_changes_the_hash(folders: tuple[Path, Path], tmp_path: Path) -> None:
    _, pq_folder = folders
    changed = tmp_path / "changed"
    shutil.copytree(pq_folder, changed)
    part = changed / "claims" / "part-2.parquet"
    t = pq.read_table(part)
    pq.write_table(t.slice(0, t.num_rows - 1), part)
    assert settle_folder(changed, 2026).inputs_hash != settle_folder(pq_folder, 2026).inputs_hash
