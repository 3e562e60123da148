"""``yigongti appraise`` on the worked example county (with its expected designations and adjudicated claims)."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yigongti.appraisal.indicator_sets import packaged_set_text
from yigongti.cli import app
from yigongti.datafolder.folder import parse_table, read_raw_table
from yigongti.datafolder.schema import SCORES


@pytest.fixture(scope="module")
def example_folder(tmp_path_factory: pytest.TempPathFactory, example_input: Path, example_expected: Path) -> Path:
    folder = tmp_path_factory.mktemp("appraise") / "data"
    shutil.copytree(example_input, folder)
    for p in folder.iterdir():
        p.chmod(0o644)
    earlier = (example_input / "designations.csv").read_text(encoding="utf-8")
    year = (example_expected / "designations.csv").read_text(encoding="utf-8").split("\n", 1)[1]
    (folder / "designations.csv").write_text(earlier.rstrip("\n") + "\n" + year, encoding="utf-8")
    shutil.copy(example_expected / "adjudicated.csv", folder / "adjudicated.csv")
    return folder


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_appraise_writes_contract_tables_and_reports(example_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["appraise", "--data", str(example_folder), "--year", "2026", "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = _read(out / "indicators.csv")
    assert list(rows[0])[:5] == ["scope", "indicator", "numerator", "denominator", "value"]
    scores = _read(out / "scores.csv")
    assert {"G1", "G2", "G3"} <= {r["unit_id"] for r in scores}
    assert list(scores[0])[:3] == ["unit_id", "year", "score"]
    for r in scores:
        s = Decimal(r["score"])
        assert r["grade"] == ("excellent" if s >= 90 else "qualified" if s >= 60 else "unqualified")
    typed, problems = parse_table(SCORES, read_raw_table(out / "scores.csv"), file="scores.csv")
    assert problems == [] and typed.num_rows == len(scores)  # settle can read it as its scores input
    html = (out / "appraisal.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "http" not in html.replace("http-equiv", "")
    assert (out / "appraisal.xlsx").read_bytes()[:2] == b"PK"
    # 3.1 for the county, independently: outpatient claims of 2026 at in-county township/village institutions
    inst = {r["inst_id"]: r for r in _read(example_folder / "institutions.csv")}
    claims = [c for c in _read(example_folder / "claims.csv")
              if c["setting"] == "outpatient" and date.fromisoformat(c["admit_date"]).year == 2026
              and inst[c["inst_id"]]["county_code"] == "513433"]
    primary = [c for c in claims if inst[c["inst_id"]]["tier"] in ("township", "village")]
    row = next(r for r in rows if r["scope"] == "513433" and r["indicator"] == "3.1")
    expected = (Decimal(len(primary)) * 100 / len(claims)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert (row["numerator"], row["denominator"], row["value"]) == (str(len(primary)), str(len(claims)), str(expected))
    # same inputs -> byte-identical outputs
    out2 = tmp_path / "out2"
    CliRunner().invoke(app, ["appraise", "--data", str(example_folder), "--year", "2026", "--out", str(out2)])
    for name in ("indicators.csv", "scores.csv", "points.csv", "appraisal.html", "appraisal.xlsx"):
        assert (out / name).read_bytes() == (out2 / name).read_bytes(), name


def test_a_bad_indicator_set_exits_2_naming_the_key(example_folder: Path, tmp_path: Path) -> None:
    bad = tmp_path / "set.toml"
    text = packaged_set_text()
    bad.write_text(text.replace('id = "3.1"\ngroup = "3"', 'id = "3.1"\ngroup = "3"\nbogus = 1'), encoding="utf-8")
    res = CliRunner().invoke(app, ["appraise", "--data", str(example_folder), "--year", "2026",
                                   "--out", str(tmp_path / "o"), "--indicators", str(bad)])
    assert res.exit_code == 2
    assert "[3.1]" in res.output and "bogus" in res.output
    assert not (tmp_path / "o").exists()


def test_changing_a_weight_in_the_config_changes_the_scores(example_folder: Path, tmp_path: Path) -> None:
    text = packaged_set_text()
    # move 6 points from 3.1 (primary-level visit share) to 4.2 (in-county admissions)
    changed = text.replace('target = 65\nweight = 8\n', 'target = 65\nweight = 2\n', 1).replace(
        'target = 90\nweight = 8\n', 'target = 90\nweight = 14\n', 1)
    assert changed != text
    (tmp_path / "set.toml").write_text(changed, encoding="utf-8")
    outs = []
    for extra in ([], ["--indicators", str(tmp_path / "set.toml")]):
        out = tmp_path / f"o{len(extra)}"
        res = CliRunner().invoke(app, ["appraise", "--data", str(example_folder), "--year", "2026", "--out", str(out),
                                       "--no-reports", *extra])
        assert res.exit_code == 0, res.output
        outs.append({r["unit_id"]: Decimal(r["score"]) for r in _read(out / "scores.csv")})
    assert outs[0] != outs[1]
    points = [r for r in _read(tmp_path / "o0" / "points.csv") if r["points"]]
    for g in ("G1", "G2", "G3"):
        mine = {r["indicator"]: r for r in points if r["unit_id"] == g}
        weights = sum(Decimal(r["weight"]) for r in mine.values())
        earned = sum(Decimal(r["points"]) for r in mine.values())
        f31 = Decimal(mine["3.1"]["points"]) / 8
        f42 = Decimal(mine["4.2"]["points"]) / 8
        new = earned - Decimal(mine["3.1"]["points"]) - Decimal(mine["4.2"]["points"]) + 2 * f31 + 14 * f42
        assert outs[1][g] == pytest.approx(new * 100 / weights, abs=Decimal("0.02")), g
        assert (outs[1][g] > outs[0][g]) == (f42 > f31) or f42 == f31


def test_the_packaged_set_prints_as_a_template_that_loads(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["indicator-set"])
    assert res.exit_code == 0 and 'id = "national-2024"' in res.output
    (tmp_path / "indicator_set.toml").write_text(res.output, encoding="utf-8")
    from yigongti.appraisal.indicator_sets import folder_indicator_set

    assert folder_indicator_set(tmp_path).id == "national-2024"
    assert CliRunner().invoke(app, ["indicator-set", "nope"]).exit_code == 2
