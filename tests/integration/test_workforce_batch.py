"""``yigongti workforce staffing`` on the worked example county with hand-made staff tables
(tests/data/workforce/README.md works every figure by hand), the same 2.1 and 2.3 from ``yigongti appraise``, and bad
input named by file, row and column."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yigongti.cli import app

HAND = Path(__file__).resolve().parents[1] / "data" / "workforce"


def _folder(tmp_path: Path, example_input: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(example_input, folder)
    for name in ("staff.csv", "stationing.csv", "training.csv"):
        shutil.copy(HAND / name, folder / name)
    return folder


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def staffed(tmp_path_factory: pytest.TempPathFactory, example_input: Path) -> tuple[Path, Path, str]:
    tmp = tmp_path_factory.mktemp("wf")
    folder = _folder(tmp, example_input)
    res = CliRunner().invoke(app, ["workforce", "staffing", "--data", str(folder), "--year", "2026",
                                   "--out", str(tmp / "out")])
    assert res.exit_code == 0, res.output
    return folder, tmp / "out", res.output


def test_stationing_coverage_worked_by_hand(staffed: tuple[Path, Path, str]) -> None:
    _, out, output = staffed
    rows = {(r["rule"], r["scope"]): r for r in _read(out / "stationing_coverage.csv")}
    assert len(rows) == 3 + 9  # a city-experts row per consortium, an attending row per township centre
    t1, t2, t3 = (rows[("attending", f"G1-T{i}")] for i in (1, 2, 3))
    assert (t1["met"], t1["days_met"], t1["gaps"]) == ("true", "365", "")
    assert (t2["met"], t2["days_met"], t2["gaps"]) == ("false", "184", "2026-01-01..2026-06-30")
    assert (t3["days_met"], t3["fewest"]) == ("0", "0")
    g1 = rows[("city_experts", "G1")]
    assert (g1["required"], g1["days_met"], g1["fewest"], g1["gaps"]) == ("3", "90", "2", "2026-04-01..2026-12-31")
    assert rows[("city_experts", "G2")]["days_met"] == "0"
    assert "1 / 9" in output and "0 / 3" in output


def test_indicators_and_training_worked_by_hand(staffed: tuple[Path, Path, str]) -> None:
    _, out, _ = staffed
    ind = {(r["scope"], r["indicator"]): r for r in _read(out / "workforce_indicators.csv")}
    assert ind[("513433", "2.1")]["numerator"] == "4" and ind[("G1", "2.1")]["numerator"] == "4"
    assert ind[("G2", "2.1")]["numerator"] == "0"
    assert ind[("G1", "2.3")]["value"] == "0.46" and ind[("513433", "2.3")]["value"] == "0.46"
    assert ind[("G1", "2.3")]["numerator"] == "80000.00" and ind[("G1", "2.3")]["denominator"] == "173333.33"
    assert ind[("G2", "2.3")]["value"] == ""
    train = {r["staff_id"]: r for r in _read(out / "training_hours.csv")}
    assert set(train) == {"T1A", "V1A", "T2A"}
    assert (train["T1A"]["sessions"], train["T1A"]["hours"]) == ("2", "7.5")
    assert (train["V1A"]["hours"], train["V1A"]["works_at_id"], train["T2A"]["hours"]) == ("6.0", "G1-T1-V1", "0.0")


def test_appraisal_reads_the_same_2_1_and_2_3(staffed: tuple[Path, Path, str], tmp_path: Path) -> None:
    folder, out, _ = staffed
    res = CliRunner().invoke(app, ["appraise", "--data", str(folder), "--year", "2026", "--out",
                                   str(tmp_path / "a"), "--no-reports"])
    assert res.exit_code == 0, res.output
    got = {(r["scope"], r["indicator"]): r for r in _read(tmp_path / "a" / "indicators.csv")}
    mine = {(r["scope"], r["indicator"]): r for r in _read(out / "workforce_indicators.csv")}
    for scope in ("513433", "G1", "G2"):  # the folder has no 2026 designations: appraise enrols, the batch cannot
        assert got[(scope, "2.1")]["numerator"].split(".")[0] == mine[(scope, "2.1")]["numerator"]
    assert got[("513433", "2.1")]["value"] == mine[("513433", "2.1")]["value"] == "177.78"  # 4 x 10,000 / 225
    assert got[("G1", "2.1")]["value"] == "869.57" and mine[("G1", "2.1")]["value"] == ""  # 4 x 10,000 / 46
    for scope in ("513433", "G1"):
        assert got[(scope, "2.3")]["value"] == mine[(scope, "2.3")]["value"] == "0.46"


def test_bad_rows_are_named(tmp_path: Path, example_input: Path) -> None:
    folder = _folder(tmp_path, example_input)
    with (folder / "stationing.csv").open("a", encoding="utf-8") as fh:
        fh.write("NOBODY,G1-T1,2026-01-01,\nD1,G1-T1,2026-05-01,2026-04-01\n")
    res = CliRunner().invoke(app, ["workforce", "staffing", "--data", str(folder), "--year", "2026",
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "stationing.csv:11" in res.output.replace(" ", "") or "stationing.csv" in res.output
    assert "NOBODY" in res.output and "end_date" in res.output
    (folder / "staff.csv").write_text("staff_id,name,title,employer_id\nD1,甲,chief,G1-H\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["workforce", "staffing", "--data", str(folder), "--year", "2026",
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "title" in res.output
