"""Formula injection (公式注入) against the live app on SQLite and PostgreSQL: names that are spreadsheet formulas
come out of every CSV and Excel download as inert text (a leading single quote, stored as a string), numbers stay
numbers; the settlement and appraisal report files are neutralised the same way."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from security_fixtures import EVIL_CONSORTIUM, EVIL_TOWNSHIP, Live, hostile_folder, live  # noqa: F401

TRIGGERS = "=+-@\t\r"


def _plain_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _inert_csv(body: bytes) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    for row in rows:
        for cell in row:
            assert not cell or cell[0] not in TRIGGERS or _plain_number(cell), cell
    return rows


def _inert_xlsx(body: bytes) -> list[object]:
    wb = load_workbook(io.BytesIO(body))
    values: list[object] = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert cell.value[0] not in TRIGGERS or _plain_number(cell.value), cell.value
                values.append(cell.value)
    return values


@pytest.fixture(scope="module")
def bureau(live: Live) -> dict[str, str]:  # noqa: F811
    return live.login("formula-bureau", "insurance_bureau", county_code="513433")


def test_registry_csv(live: Live, bureau: dict[str, str]) -> None:  # noqa: F811
    r = live.client.get("/registry.csv", headers=bureau)
    assert r.status_code == 200
    rows = _inert_csv(r.content)
    names = [row[1] for row in rows[1:]]
    assert "'" + EVIL_TOWNSHIP in names and EVIL_TOWNSHIP not in names
    lon = [row[8] for row in rows[1:] if row[8]]
    assert lon and all(_plain_number(v) for v in lon)  # numbers stay numbers


def test_head_counts_csv(live: Live, bureau: dict[str, str]) -> None:  # noqa: F811
    r = live.client.get("/head-counts.csv?year=2026", headers=bureau)
    assert r.status_code == 200
    rows = _inert_csv(r.content)
    names = {row[1] for row in rows[1:]}
    assert {"'" + EVIL_CONSORTIUM, "'" + EVIL_TOWNSHIP} <= names
    assert all(row[4].isdigit() for row in rows[1:])


def test_indicators_downloads(live: Live, bureau: dict[str, str]) -> None:  # noqa: F811
    csv_r = live.client.get("/indicators.csv", headers=bureau)
    assert csv_r.status_code == 200
    _inert_csv(csv_r.content)
    x = live.client.get("/indicators.xlsx", headers=bureau)
    assert x.status_code == 200
    values = _inert_xlsx(x.content)
    assert "'" + EVIL_CONSORTIUM in values and EVIL_CONSORTIUM not in values
    assert any(isinstance(v, float) for v in values)  # scores and points are still numbers


def test_finance_downloads(live: Live, bureau: dict[str, str]) -> None:  # noqa: F811
    for name in ("settlement", "allocation", "by-month"):
        r = live.client.get(f"/finance/{name}.csv", headers=bureau)
        assert r.status_code == 200, name
        _inert_csv(r.content)
    x = live.client.get("/finance/G1.xlsx", headers=bureau)
    assert x.status_code == 200
    values = _inert_xlsx(x.content)
    assert any(isinstance(v, float) for v in values)


def test_report_files_of_the_batch_commands(tmp_path: Path, example_input: Path) -> None:
    """``yigongti enroll`` / ``appraise`` write CSV and Excel through the same rule."""
    from typer.testing import CliRunner

    from yigongti.cli import app as cli

    folder = hostile_folder(example_input, tmp_path)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["appraise", "--data", str(folder), "--out", str(out), "--year", "2026"])
    assert res.exit_code == 0, res.output
    written = [p for p in out.rglob("*") if p.suffix in (".csv", ".xlsx")]
    assert any(p.suffix == ".xlsx" for p in written) and any(p.suffix == ".csv" for p in written)
    seen: list[object] = []
    for p in written:
        seen += _inert_xlsx(p.read_bytes()) if p.suffix == ".xlsx" else [c for r in _inert_csv(p.read_bytes())
                                                                           for c in r]
    assert "'" + EVIL_CONSORTIUM in seen and EVIL_CONSORTIUM not in seen
