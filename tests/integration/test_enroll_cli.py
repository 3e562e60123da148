"""``yigongti enroll`` end to end on files: outputs, idempotence, invalid input, all-or-nothing."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yigongti.cli import app

runner = CliRunner()


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_enroll_writes_every_output_and_is_idempotent(example_input: Path, example_expected: Path,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = runner.invoke(app, ["enroll", "--data", str(example_input), "--year", "2026", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "225" in res.output
    names = {p.name for p in out.iterdir()}
    assert names == {"designations.csv", "refused_choices.csv", "unassigned.csv", "stale_carried.csv",
                     "headcounts.csv", "movements.csv", "movement_summary.csv", "enrollment_report.html"}
    with (out / "designations.csv").open(encoding="utf-8") as f:
        got = list(csv.DictReader(f))
    with (example_expected / "designations.csv").open(encoding="utf-8") as f:
        assert got == list(csv.DictReader(f))
    with (out / "refused_choices.csv").open(encoding="utf-8") as f:
        refused = list(csv.DictReader(f))
    assert len(refused) == 33 and {"person_id", "year", "chosen_at", "reason"} <= set(refused[0])
    html = (out / "enrollment_report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "http" not in html.replace("http-equiv", "")
    first = _digest(out)
    res = runner.invoke(app, ["enroll", "--data", str(example_input), "--year", "2026", "--out", str(out)])
    assert res.exit_code == 0 and _digest(out) == first


def test_invalid_input_exits_2_listing_problems_and_writes_nothing(example_input: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(example_input, data)
    text = (data / "persons.csv").read_text(encoding="utf-8").replace("R0003,", "R0003 X,", 1)
    (data / "persons.csv").write_text(text.replace(",1983-07-07,", ",1983-13-07,", 1), encoding="utf-8")
    out = tmp_path / "out"
    res = runner.invoke(app, ["enroll", "--data", str(data), "--year", "2026", "--out", str(out)])
    assert res.exit_code == 2
    assert "persons.csv:3:birth_date" in res.output and "persons.csv:4:person_id" in res.output
    assert not out.exists()


def test_policy_window_changes_the_outcome(example_input: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(example_input, data)
    (data / "policy.toml").write_text('[enrollment]\nwindow_start = "09-30"\n', encoding="utf-8")
    out = tmp_path / "out"
    res = runner.invoke(app, ["enroll", "--data", str(data), "--year", "2026", "--out", str(out)])
    assert res.exit_code == 0, res.output
    with (out / "refused_choices.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    late = [r for r in rows if r["reason"] == "outside_window"]
    assert late and not any(r["chosen_at"].startswith("2025-09-30") for r in late)
    assert "2025-09-30 至 2025-12-31" in late[0]["message"]
    assert len(rows) < 33


def test_enrolling_into_the_data_folder_keeps_earlier_years(example_input: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(example_input, data)
    for _ in range(2):  # the second run reads the 2026 rows back and replaces them: same file
        res = runner.invoke(app, ["enroll", "--data", str(data), "--year", "2026", "--out", str(data)])
        assert res.exit_code == 0, res.output
        with (data / "designations.csv").open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert [r["year"] for r in rows].count("2025") == 27 and [r["year"] for r in rows].count("2026") == 225
        assert rows == sorted(rows, key=lambda r: (r["year"], r["person_id"]))
    res = runner.invoke(app, ["check", str(data)])
    assert res.exit_code == 0, res.output


def test_a_failure_while_writing_leaves_the_old_outputs(example_input: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    res = runner.invoke(app, ["enroll", "--data", str(example_input), "--year", "2026", "--out", str(out)])
    assert res.exit_code == 0
    before = _digest(out)
    import yigongti.enrollment.report as report

    real = report.write_table

    def failing(table: object, folder: Path, name: str, **kw: object) -> Path:
        if name == "movements":
            raise OSError("disk full")
        return real(table, folder, name, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(report, "write_table", failing)
    res = runner.invoke(app, ["enroll", "--data", str(example_input), "--year", "2027", "--out", str(out)])
    assert res.exit_code != 0
    assert _digest(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folder left behind
