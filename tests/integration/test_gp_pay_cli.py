"""``yigongti care gp-pay``: every GP's pay from a small data folder (the worked example's institutions and persons,
contracts with gp_id, follow-ups), checked by hand to the fen; bad input exits 2 naming the file."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

from tests.integration.test_settle_example import read_csv
from typer.testing import CliRunner

from yigongti.cli import app

CONTRACTS = """person_id,inst_id,start_date,end_date,gp_id
R0001,G1-T1-V1,2026-01-01,2026-12-31,D1
R0002,G1-T1-V1,2026-01-01,,D1
R0003,G1-T1-V1,2025-07-01,2026-06-30,D1
R0004,G1-T1-V1,2024-07-01,2025-06-30,D1
R0005,G1-T1,2026-03-01,,D2
R0006,G1-H,2026-01-01,,D3
R0007,G1-H,2026-01-01,,D3
R0008,G1-H,2026-01-01,,
"""
FOLLOWUPS = """person_id,inst_id,date,disease,controlled,systolic,diastolic,fasting_glucose
R0001,G1-T1-V1,2026-02-01,hypertension,,150,95,
R0001,G1-T1-V1,2026-05-01,hypertension,,138,88,
R0001,G1-T1-V1,2026-08-01,hypertension,,136,86,
R0001,G1-T1-V1,2026-11-01,hypertension,,132,84,
R0002,G1-T1-V1,2026-03-01,diabetes,,,,8.0
R0004,G1-T1-V1,2026-03-01,diabetes,,,,5.0
"""


def _folder(example_input: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in ("institutions.csv", "persons.csv", "consortia.csv"):
        shutil.copyfile(example_input / name, target / name)
    (target / "contracts.csv").write_text(CONTRACTS, encoding="utf-8")
    (target / "followups.csv").write_text(FOLLOWUPS, encoding="utf-8")
    return target


def test_gp_pay_by_hand(example_input: Path, tmp_path: Path) -> None:
    folder = _folder(example_input, tmp_path / "in")
    result = CliRunner().invoke(app, ["care", "gp-pay", "--data", str(folder), "--year", "2026", "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    rows = {r["gp_id"]: r for r in read_csv(tmp_path / "out" / "gp_pay.csv")}
    assert list(rows) == ["D1", "D2", "D3"]  # the contract without a GP is not anyone's
    d1 = rows["D1"]  # R0001-R0003 (R0004's ended in 2025); R0001 standardized and controlled, R0002 neither
    assert (d1["tier"], d1["heads"], d1["registered"], d1["under_management"], d1["standardized"],
            d1["controlled"]) == ("village", "3", "2", "2", "1", "1")
    assert d1["quality_score"] == "0.5000"  # 60% x 1/2 + 40% x 1/2
    assert (d1["base_pay"], d1["quality_pay"], d1["rural_allowance"], d1["total"]) == ("120.00", "30.00", "3600.00",
                                                                                        "3750.00")
    assert (rows["D2"]["quality_pay"], rows["D2"]["rural_allowance"], rows["D2"]["total"]) == ("0.00", "2400.00",
                                                                                               "2440.00")
    assert (rows["D3"]["tier"], rows["D3"]["total"]) == ("county", "80.00")
    for r in rows.values():
        parts = sum(Decimal(r[k]) for k in ("base_pay", "quality_pay", "rural_allowance"))
        assert parts == Decimal(r["total"])
    assert "3 位家庭医生" in result.output


def test_policy_changes_the_pay(example_input: Path, tmp_path: Path) -> None:
    folder = _folder(example_input, tmp_path / "in")
    (folder / "policy.toml").write_text('[care.gp_pay]\nper_head = "10"\nvillage_allowance = "0"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["care", "gp-pay", "--data", str(folder), "--year", "2026", "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    d1 = {r["gp_id"]: r for r in read_csv(tmp_path / "out" / "gp_pay.csv")}["D1"]
    assert (d1["base_pay"], d1["rural_allowance"], d1["total"]) == ("30.00", "0.00", "60.00")


def test_without_gp_ids_exit_2_naming_the_file(example_input: Path, tmp_path: Path) -> None:
    folder = _folder(example_input, tmp_path / "in")
    (folder / "contracts.csv").write_text("person_id,inst_id,start_date\nR0001,G1-T1-V1,2026-01-01\n",
                                          encoding="utf-8")
    result = CliRunner().invoke(app, ["care", "gp-pay", "--data", str(folder), "--year", "2026", "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "contracts.csv" in result.output and "gp_id" in result.output
