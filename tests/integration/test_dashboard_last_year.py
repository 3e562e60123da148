"""The dashboards' last year (issue 16, item 2: KPI cards with the trend against last year, the budget burn with last
year's line): a demo county now holds a whole previous year of claims, and every last-year figure of the dashboard
is what the command line's settlement and appraisal compute for that year (``yigongti settle/appraise --year``)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from yigongti.app.factory import create_app
from yigongti.cli import app as cli
from yigongti.demo.county import write_demo_county
from yigongti.platform.accounts import create_user
from yigongti.platform.settings import Settings

YEAR = 2026
PASSWORD = "test-password-1"


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lastyear") / "county"
    write_demo_county(out, persons=1_500, seed=5, year=YEAR)
    return out


@pytest.fixture(scope="module")
def cli_last_year(county: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``yigongti settle`` and ``yigongti appraise`` for the year before, on the same folder."""
    out = tmp_path_factory.mktemp("cli") / f"results-{YEAR - 1}"
    runner = CliRunner()
    for command in ("settle", "appraise"):
        res = runner.invoke(cli, [command, "--data", str(county), "--year", str(YEAR - 1), "--out", str(out),
                                  "--no-reports"])
        assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def web(county: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    application = create_app(Settings(data_dir=tmp_path_factory.mktemp("serve"), data_folder=county,
                                      today=date(YEAR - 1, 11, 15), demo_accounts=False))
    ctx = application.state.ctx
    with ctx.sessions.begin() as s:
        create_user(s, username="ly-bureau", password=PASSWORD, role="insurance_bureau", county_code="510727",
                    now=ctx.clock.now())
    with TestClient(application) as c:
        r = c.post("/api/token", data={"username": "ly-bureau", "password": PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield c
    ctx.engine.dispose()


def _csv(web: TestClient, url: str) -> tuple[list[str], list[list[str]]]:
    r = web.get(url)
    assert r.status_code == 200, (url, r.text[:300])
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    return [h.split()[-1] for h in rows[0]], rows[1:]


def _money(settled: list[dict[str, str]], ids: set[str] | None = None) -> Decimal:
    return sum((Decimal(r["in_network_spend"]) + Decimal(r["out_of_network_deductions"]) for r in settled
                if ids is None or r["consortium_id"] in ids), Decimal(0))


def test_the_demo_holds_a_whole_previous_year(county: Path) -> None:
    claims = _read(county / "claims.csv")
    months = {r["admit_date"][:7] for r in claims if r["admit_date"].startswith(str(YEAR - 1))}
    assert months == {f"{YEAR - 1}-{m:02d}" for m in range(1, 13)}
    assert min(r["admit_date"] for r in claims) >= f"{YEAR - 1}-01-01"


def test_the_burn_chart_has_last_years_line_from_last_years_settlement(web: TestClient, cli_last_year: Path) -> None:
    settled = _read(cli_last_year / "settlement.csv")
    cols, rows = _csv(web, "/dashboard.csv?chart=burn")
    assert cols[-2:] == ["spent_previous", "spent_to_date_previous"]
    at = cols.index("spent_to_date_previous")
    assert Decimal(rows[-1][at]) == _money(settled) > 0
    assert sum(Decimal(r[cols.index("spent_previous")]) for r in rows) == _money(settled)
    running = [Decimal(r[at]) for r in rows]
    assert running == sorted(running) and running[0] > 0  # every month of last year spent something
    page = web.get("/dashboard").text
    svg = page.split('id="chart-burn"')[1].split("</svg>")[0]
    assert "上年累计支出" in svg and "stroke-dasharray" in svg  # dashed: told apart by more than colour
    g1 = next(r["consortium_id"] for r in settled)
    cols, rows = _csv(web, f"/dashboard.csv?chart=burn&consortium={g1}")
    assert Decimal(rows[-1][cols.index("spent_to_date_previous")]) == _money(settled, {g1})


def test_cards_show_last_year_and_the_change_in_words(web: TestClient, cli_last_year: Path) -> None:
    settled = _read(cli_last_year / "settlement.csv")
    cards = web.get("/dashboard").text.split('id="kpi-h"')[1].split("</ul>")[0]
    assert "上年无数据" not in cards
    assert cards.count("较上年") >= 4  # enrollees, spending, burn, the shares
    assert re.search(r"[▲▼＝] (上升|下降|持平) [+-]", cards)
    enrollees = sum(int(r["enrollees"]) for r in settled)
    assert f"上年 {enrollees:,}" in cards
    assert f"上年 {_money(settled):,.2f}" in cards


def test_shares_grid_and_score_of_last_year_are_the_command_lines(web: TestClient, cli_last_year: Path) -> None:
    indicators = {(r["scope"], r["indicator"]): r for r in _read(cli_last_year / "indicators.csv")}
    scores = {r["unit_id"]: r["score"] for r in _read(cli_last_year / "scores.csv")}
    g1 = sorted(r["consortium_id"] for r in _read(cli_last_year / "settlement.csv"))[0]
    cols, grid = _csv(web, f"/dashboard.csv?chart=indicators&consortium={g1}")
    compared = 0
    for row in grid:
        cli_row = indicators[(g1, row[0])]
        mine = row[cols.index("previous")]
        if cli_row["status"] == "ok":
            assert Decimal(mine) == Decimal(cli_row["value"]), row[0]
            compared += 1
        else:
            assert mine == "", row[0]
    assert compared >= 5
    assert {("3.1", g1), ("3.2", g1)} <= {(r[0], g1) for r in grid}
    cols, shares = _csv(web, f"/dashboard.csv?chart=shares&consortium={g1}")
    assert all(r[cols.index("previous")] for r in shares)
    cards = web.get(f"/dashboard?consortium={g1}").text.split('id="kpi-h"')[1].split("</ul>")[0]
    assert f"上年 {Decimal(scores[g1]):.2f}".rstrip("0").rstrip(".") in cards or f"上年 {scores[g1]}" in cards
    cols, units = _csv(web, f"/dashboard.csv?chart=units&consortium={g1}")
    assert any(r[cols.index("spent_previous")] for r in units)
