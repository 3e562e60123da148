"""The surplus carried forward arrives next year (期初余额): ``yigongti settle`` of 2026 on the worked example county,
then 2027 with ``--opening`` 2026's surplus.csv; a data folder's ``opening.csv``; the platform's finance page; bad
opening files named by file, row and field, with nothing written."""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, make_user, page_client
from fastapi import FastAPI
from tests.integration.test_settle_example import example_folder, read_csv
from typer.testing import CliRunner

from yigongti.app.factory import create_app
from yigongti.cli import app
from yigongti.core.money import parse_yuan
from yigongti.core.problems import InvalidInput
from yigongti.platform.settings import Settings

POLICY = """
[surplus]
reserve_share = "10%"
carry_forward = "50%"
"""


def _settle(folder: Path, year: int, out: Path, *extra: str) -> str:
    result = CliRunner().invoke(app, ["settle", "--data", str(folder), "--year", str(year), "--out", str(out),
                                      "--no-reports", *extra])
    assert result.exit_code == 0, result.output
    return result.output


def _sum(rows: list[dict[str, str]], **where: str) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for r in rows:
        if all(r[k] == v for k, v in where.items()):
            out[r["consortium_id"]] += parse_yuan(r["amount"])
    return out


@pytest.fixture(scope="module")
def county(example_input: Path, example_expected: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = example_folder(example_input, example_expected, tmp_path_factory.mktemp("county"))
    (folder / "policy.toml").write_text(POLICY, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def years(county: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(2026, 2027 opening with 2026's surplus.csv, 2027 opening at 0)."""
    y1, y2, bare = (tmp_path_factory.mktemp(n) for n in ("y2026", "y2027", "bare2027"))
    _settle(county, 2026, y1)
    _settle(county, 2027, y2, "--opening", str(y1 / "surplus.csv"))
    _settle(county, 2027, bare)
    return y1, y2, bare


def test_next_year_opens_with_what_the_year_before_carried_forward(years: tuple[Path, Path, Path]) -> None:
    y1, y2, bare = years
    s1, s2 = read_csv(y1 / "surplus.csv"), read_csv(y2 / "surplus.csv")
    carried_out = {c: -v for c, v in _sum(s1, account="surplus", kind="carried_forward").items()}
    reserve_out = _sum(s1, account="reserve")
    assert any(carried_out.values()) and any(reserve_out.values())  # 2026 left something to bring in
    assert {c: v for c, v in _sum(s2, account="surplus", kind="carried_in").items() if v} == \
        {c: v for c, v in carried_out.items() if v}
    assert {c: v for c, v in _sum(s2, account="reserve", kind="carried_in").items() if v} == \
        {c: v for c, v in reserve_out.items() if v}
    assert {r["period"] for r in s2} == {"2027"}
    # the reserve's balance after 2027: brought in + funded - drawn, in surplus.csv and in the ledger alike
    ledger = read_csv(y2 / "ledger.csv")
    assert _sum(ledger, account="reserve") == _sum(s2, account="reserve")
    assert _sum(ledger, account="pool", kind="carried_in") == _sum(s2, account="surplus", kind="carried_in")
    for account in ("budget", "pool", "public_health"):
        assert not any(_sum(ledger, account=account).values()), account  # each closes at 0.00
    # what was carried in is shared this year (50% of it: the rest is carried forward again), to the fen
    alloc, alloc_bare = _sum(read_csv(y2 / "allocation.csv")), _sum(read_csv(bare / "allocation.csv"))
    carried_again = _sum(s2, account="surplus", kind="carried_forward")
    carried_bare = _sum(read_csv(bare / "surplus.csv"), account="surplus", kind="carried_forward")
    for c, came_in in carried_out.items():
        assert alloc[c] - alloc_bare[c] == came_in + carried_again[c] - carried_bare[c], c
    # the balances brought in are inputs: the hash says so
    assert read_csv(y2 / "ledger.csv")[0]["inputs_hash"] != read_csv(bare / "ledger.csv")[0]["inputs_hash"]


def test_the_columns_of_surplus_csv_stay_as_they_were(years: tuple[Path, Path, Path]) -> None:
    header = (years[1] / "surplus.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == '"entry_id","consortium_id","account","kind","amount","period","form"'


def test_the_folders_opening_table_is_what_an_overspend_draws_on_first(
        county: Path, years: tuple[Path, Path, Path], tmp_path: Path) -> None:
    folder = tmp_path / "county"
    shutil.copytree(county, folder)
    (folder / "opening.csv").write_text("consortium_id,year,carried_in,risk_reserve\nG2,2026,0.00,5000.00\n",
                                        encoding="utf-8")
    out = tmp_path / "out"
    _settle(folder, 2026, out)
    settlement = {r["consortium_id"]: r for r in read_csv(out / "settlement.csv")}
    assert parse_yuan(settlement["G2"]["consortium_overspend"]) > 500_000  # G2 overspent more than the reserve
    surplus = read_csv(out / "surplus.csv")
    assert _sum(surplus, account="reserve", kind="carried_in") == {"G2": 500_000}
    assert _sum(surplus, account="overspend")["G2"] == 500_000
    assert _sum(surplus, account="reserve")["G2"] == 0  # the whole balance drawn
    # the members of G2 bear 5,000.00 less of the overspend than without the reserve brought in
    alloc, alloc_before = _sum(read_csv(out / "allocation.csv")), _sum(read_csv(years[0] / "allocation.csv"))
    assert alloc["G2"] - alloc_before["G2"] == 500_000
    assert alloc["G1"] == alloc_before["G1"] and alloc["G3"] == alloc_before["G3"]


@pytest.mark.parametrize(("content", "year", "where"), [
    (None, 2028, ":2:period:"),  # 2026's surplus.csv handed to 2028
    ('"entry_id","consortium_id","account","kind","amount","period","form"\n'
     '"1","G9","reserve","reserve_funded","10.00","2026",""\n', 2027, ":2:consortium_id: unknown consortium G9"),
    ('"entry_id","consortium_id","account","kind","amount","period","form"\n'
     '"1","G1","reserve","reserve_funded","10.00","2026",""\n'
     '"2","G1","surplus","carried_forward","25.00","2026",""\n', 2027, ":3:amount:"),
    ("consortium_id,carried_in,risk_reserve\nG1,-1.00,0\n", 2027, ":2:carried_in:"),
    ("consortium_id,year,carried_in,risk_reserve\nG1,2026,1.00,0\n", 2027, ":2:year:"),
])
def test_a_bad_opening_file_is_named_and_nothing_is_written(
        county: Path, years: tuple[Path, Path, Path], tmp_path: Path, content: str | None, year: int,
        where: str) -> None:
    given = years[0] / "surplus.csv"
    if content is not None:
        given = tmp_path / "opening-in.csv"
        given.write_text(content, encoding="utf-8")
    for command in ("settle", "run"):
        out = tmp_path / f"out-{command}"
        result = CliRunner().invoke(app, [command, "--data", str(county), "--year", str(year), "--out", str(out),
                                          "--opening", str(given)])
        assert result.exit_code == 2, result.output
        text = re.sub(r"\s*\n\s*", "", result.output)  # the console wraps long lines
        assert f"{given.name}{where}" in text, result.output
        assert not out.exists()


def test_run_brings_in_the_balances_too(county: Path, years: tuple[Path, Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--data", str(county), "--year", "2027", "--out", str(out),
                                      "--no-reports", "--opening", str(years[0] / "surplus.csv")])
    assert result.exit_code == 0, result.output
    assert _sum(read_csv(out / "surplus.csv"), kind="carried_in") == \
        _sum(read_csv(years[1] / "surplus.csv"), kind="carried_in")
    printed = " ".join(result.output.split())  # each step's seconds, the check first
    assert "用时 / time: 检查 / check" in printed and "总额清算 / settle" in printed and "合计 / total" in printed


@pytest.fixture(scope="module")
def platform(example_input: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    folder = tmp_path_factory.mktemp("served")
    for f in example_input.iterdir():
        shutil.copyfile(f, folder / f.name)
    (folder / "opening.csv").write_text(
        "consortium_id,year,carried_in,risk_reserve\nG1,2026,1234.56,0\nG2,2026,0,5000.00\n", encoding="utf-8")
    api = create_app(Settings(data_dir=tmp_path_factory.mktemp("serve"), data_folder=folder, today=INSIDE_WINDOW,
                              demo_accounts=False))
    yield api
    api.state.ctx.engine.dispose()


def test_the_finance_page_shows_the_balances_brought_in(platform: FastAPI) -> None:
    make_user(platform, "open-bureau", "insurance_bureau", county_code="513433")
    with page_client(platform, "open-bureau") as c:
        page = c.get("/finance")
        c.cookies.set("ygt_lang", "en")
        en = c.get("/finance").text
    assert page.status_code == 200
    blocks = {cid: page.text.split(f'<span class="muted">{cid}</span>', 1)[1].split("</section>", 1)[0]
              for cid in ("G1", "G2")}
    assert re.search(r"data-carried-in>1,234.56<", blocks["G1"])
    assert re.search(r"data-reserve-opening>5,000.00<", blocks["G2"])
    assert "风险基金期初余额" in page.text and "上年结转" in page.text
    assert "Risk reserve brought in" in en
    # G2 overspent: the reserve brought in covers what it can, the balance on the dashboard is what is left
    figures = platform.state.ctx.figures.get()
    g2 = next(s for s in figures.settlement.consortia if s.consortium_id == "G2")
    assert g2.reserve_drawn == min(500_000, g2.consortium_overspend) > 0
    shown = re.search(r'data-reserve>([\d,.-]+)<', blocks["G2"])
    assert shown and parse_yuan(shown.group(1).replace(",", "")) == 500_000 - g2.reserve_drawn


def test_the_platform_refuses_to_start_on_an_opening_of_another_year(example_input: Path, tmp_path: Path) -> None:
    folder = tmp_path / "served"
    shutil.copytree(example_input, folder)
    (folder / "opening.csv").write_text("consortium_id,year,carried_in,risk_reserve\nG1,2025,1.00,0\n",
                                        encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        create_app(Settings(data_dir=tmp_path / "serve", data_folder=folder, today=INSIDE_WINDOW,
                            demo_accounts=False))
    assert [(p.file, p.row, p.column) for p in caught.value.problems] == [("opening.csv", 2, "year")]
