"""Dashboards and long tables (issue 16, items 1 and 2): the county -> consortium -> institution drill-down shows the
same money as the settlement, each chart has its figures in a table and a CSV, the shares sit against their targets,
every scope is kept; long tables are searched, sorted and paged on the server; every download's header is labelled
from core.labels, Chinese first, the code last."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from api_fixtures import api_app, login, make_user, read_csv  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient

from yigongti.core.labels import LABELS


@pytest.fixture(scope="module")
def web(api_app: FastAPI) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(api_app) as c:
        yield c


@pytest.fixture(scope="module")
def bureau(api_app: FastAPI, web: TestClient) -> dict[str, str]:  # noqa: F811
    make_user(api_app, "dash-bureau", "insurance_bureau", county_code="513433")
    return login(web, "dash-bureau")


@pytest.fixture(scope="module")
def g2_admin(api_app: FastAPI, web: TestClient) -> dict[str, str]:  # noqa: F811
    make_user(api_app, "dash-g2", "consortium_admin", consortium_id="G2")
    return login(web, "dash-g2")


def _csv(web: TestClient, url: str, headers: dict[str, str]) -> tuple[list[str], list[list[str]]]:
    r = web.get(url, headers=headers)
    assert r.status_code == 200, (url, r.status_code, r.text[:200])
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    return rows[0], rows[1:]


def _codes(header: list[str]) -> list[str]:
    return [h.split()[-1] for h in header]


def _yuan(text: str) -> Decimal:
    """A money cell of the expected tables (yuan with 2 decimals)."""
    return Decimal(text)


def test_county_burn_is_the_settlements_money(web: TestClient, bureau: dict[str, str],
                                              example_expected: Path) -> None:
    page = web.get("/dashboard", headers=bureau).text
    assert 'class="card kpi"' in page and "预算执行率" in page
    assert re.search(r'<svg class="chart"[^>]* role="img" aria-label="预算执行', page)
    header, rows = _csv(web, "/dashboard.csv?chart=burn", bureau)
    assert header[0] == "月份 month" and _codes(header) == ["month", "prepaid", "spent", "prepaid_to_date",
                                                            "spent_to_date", "burn_rate", "spent_previous",
                                                            "spent_to_date_previous"]
    assert [int(r[0]) for r in rows] == list(range(1, 13))
    # the example's claims of 2025 are a few December weeks, not a year: no trend, and the page says so
    assert all(r[6] == r[7] == "" for r in rows)
    cards = page.split('id="kpi-h"')[1].split("</ul>")[0]
    assert cards.count("上年无数据") >= 3 and "较上年" not in cards and "▲" not in cards and "▼" not in cards
    settled = read_csv(example_expected / "settlement.csv")
    spent = sum(_yuan(r["in_network_spend"]) + _yuan(r["out_of_network_deductions"]) for r in settled)
    prepaid = sum(_yuan(r["prospective_budget"]) for r in settled)
    assert Decimal(rows[-1][4]) == spent and Decimal(rows[-1][3]) == prepaid
    assert sum(Decimal(r[2]) for r in rows) == spent  # the months add up to the year
    # the table beside the chart says the same, formatted for zh-CN
    assert f"{spent:,.2f}" in page


def test_drill_down_from_county_to_consortium_to_institution(web: TestClient, bureau: dict[str, str],
                                                             example_expected: Path, example_input: Path) -> None:
    county = web.get("/dashboard", headers=bureau).text
    assert 'href="/dashboard?consortium=G1"' in county
    consortium = web.get("/dashboard?consortium=G1", headers=bureau).text
    assert 'href="/dashboard?consortium=G1&amp;inst=G1-T2"' in consortium
    assert 'aria-current="page">示例医共体1' in consortium or "示例医共体1" in consortium
    header, rows = _csv(web, "/dashboard.csv?chart=burn&consortium=G1", bureau)
    g1 = next(r for r in read_csv(example_expected / "settlement.csv") if r["consortium_id"] == "G1")
    assert Decimal(rows[-1][4]) == _yuan(g1["in_network_spend"]) + _yuan(g1["out_of_network_deductions"])
    institution = web.get("/dashboard?consortium=G1&inst=G1-T2", headers=bureau)
    assert institution.status_code == 200 and 'href="/dashboard?consortium=G1"' in institution.text
    _, months = _csv(web, "/dashboard.csv?chart=burn&consortium=G1&inst=G1-T2", bureau)
    admitted = {r["claim_id"]: r["admit_date"] for r in read_csv(example_input / "claims.csv")}
    paid = sum(_yuan(r["fund_paid"]) for r in read_csv(example_expected / "adjudicated.csv")
               if r["inst_id"] == "G1-T2" and admitted[r["claim_id"]].startswith("2026"))
    assert paid > 0
    assert Decimal(months[-1][4]) == paid
    assert web.get("/dashboard?consortium=G1&inst=G2-T1", headers=bureau).status_code == 404  # not G1's member


def test_shares_stand_against_their_targets_as_on_the_indicators_page(web: TestClient,
                                                                      bureau: dict[str, str]) -> None:
    header, shares = _csv(web, "/dashboard.csv?chart=shares&consortium=G1", bureau)
    assert _codes(header) == ["indicator", "value", "target", "previous"]
    _, indicators = _csv(web, "/indicators.csv", bureau)
    values = {(r[0], r[1]): r[4] for r in indicators}
    by_name = {r[0]: r for r in shares}
    assert Decimal(by_name["县域内医保基金支出占比"][1]) == Decimal(values[("G1", "3.2")])
    assert Decimal(by_name["县域内基层医疗卫生机构诊疗量占比"][1]) == Decimal(values[("G1", "3.1")])
    assert by_name["县域内医保基金支出占比"][2] == "60"
    _, grid = _csv(web, "/dashboard.csv?chart=indicators&consortium=G1", bureau)
    assert {r[0] for r in grid} >= {"3.1", "3.2"}


def test_a_consortium_admin_sees_only_their_consortium(web: TestClient, g2_admin: dict[str, str]) -> None:
    assert web.get("/dashboard?consortium=G1", headers=g2_admin).status_code == 404
    assert web.get("/dashboard.csv?chart=burn&consortium=G1", headers=g2_admin).status_code == 404
    _, units = _csv(web, "/dashboard.csv?chart=units", g2_admin)
    assert [r[0] for r in units] == ["G2"]
    assert 'href="/dashboard?consortium=G1"' not in web.get("/dashboard", headers=g2_admin).text


def test_long_tables_are_searched_sorted_and_paged_on_the_server(web: TestClient, bureau: dict[str, str]) -> None:
    villages = web.get("/registry", params={"q": "村卫生室"}, headers=bureau).text
    tiers = set(re.findall(r"<td>(村卫生室/社区卫生服务站|乡镇卫生院/社区卫生服务中心|县级医院)</td>", villages))
    assert tiers == {"村卫生室/社区卫生服务站"}
    by_name = web.get("/registry", params={"sort": "name", "dir": "desc"},
                      headers=bureau).text.split("<h2>机构</h2>")[1]
    assert 'aria-sort="descending"' in by_name
    names = re.findall(r"<tr><td>([^<]+) <span class=\"muted\">", by_name)
    assert names == sorted(names, reverse=True) and len(names) == 42  # the example's institutions, one page

    persons = web.get("/persons", params={"sort": "birth_date", "dir": "desc"}, headers=bureau).text
    assert "sort=birth_date&amp;dir=desc&amp;page=2" in persons  # the pager keeps the order
    born = re.findall(r"<td>(\d{4}-\d\d-\d\d)</td>", persons)
    assert len(born) == 50 and born == sorted(born, reverse=True)
    second = web.get("/persons", params={"sort": "birth_date", "dir": "desc", "page": 2}, headers=bureau).text
    born2 = re.findall(r"<td>(\d{4}-\d\d-\d\d)</td>", second)
    assert born2 and born2[0] <= born[-1] and born2 == sorted(born2, reverse=True)
    assert not set(re.findall(r"<tr><td>(R\d+)</td>", second)) & set(re.findall(r"<tr><td>(R\d+)</td>", persons))
    one = web.get("/persons", params={"q": "R0026"}, headers=bureau).text
    assert re.findall(r"<tr><td>(R\d+)</td>", one) == ["R0026"]
    moves = web.get("/head-counts", params={"year": 2026, "view": "movements", "sort": "net"}, headers=bureau)
    nets = [int(n.replace(",", "")) for n in re.findall(r'<td class="num">(-?[\d,]+)</td></tr>', moves.text)]
    assert nets == sorted(nets)


@pytest.mark.parametrize("params", [{"page": "0"}, {"dir": "up"}, {"sort": "name;drop"}, {"q": "x" * 500}])
def test_hostile_table_parameters_get_a_4xx(web: TestClient, bureau: dict[str, str], params: dict[str, str]) -> None:
    for path in ("/registry", "/persons", "/head-counts", "/dashboard", "/dashboard.csv?chart=units"):
        r = web.get(path, params=params, headers=bureau)
        assert 400 <= r.status_code < 500, (path, params, r.status_code)
    for url in ("/dashboard?consortium=<script>", "/dashboard.csv?chart=secrets",
                "/dashboard?inst=G1-T2&consortium=%00"):
        assert 400 <= web.get(url, headers=bureau).status_code < 500, url


def test_a_sort_key_not_offered_is_ignored(web: TestClient, bureau: dict[str, str]) -> None:
    r = web.get("/registry", params={"sort": "lon"}, headers=bureau)
    assert r.status_code == 200 and 'aria-sort="ascending"' not in r.text


DOWNLOADS = ("/registry.csv", "/head-counts.csv?year=2026", "/indicators.csv", "/finance/settlement.csv",
             "/finance/allocation.csv", "/finance/by-month.csv", "/dashboard.csv?chart=burn",
             "/dashboard.csv?chart=shares", "/dashboard.csv?chart=indicators", "/dashboard.csv?chart=units",
             "/dashboard.csv?chart=burn&consortium=G1&inst=G1-T2")


def test_every_download_header_is_labelled_chinese_first(web: TestClient, bureau: dict[str, str]) -> None:
    columns = LABELS["column"]
    for url in DOWNLOADS:
        header, _ = _csv(web, url, bureau)
        for h in header:
            zh, _, code = h.rpartition(" ")
            assert code in columns and zh == columns[code][0], (url, h)


def test_a_residents_visits_are_searched_and_sorted_on_the_server(api_app: FastAPI,  # noqa: F811
                                                                   web: TestClient) -> None:
    make_user(api_app, "dash-res", "resident", person_id="R0026")
    me = login(web, "dash-res")
    newest = re.findall(r"<h2>(\d{4}-\d\d-\d\d) ", web.get("/persons/R0026/claims", headers=me).text)
    assert len(newest) >= 2 and newest == sorted(newest, reverse=True)
    oldest = re.findall(r"<h2>(\d{4}-\d\d-\d\d) ", web.get("/persons/R0026/claims", params={
        "sort": "admit_date", "dir": "asc"}, headers=me).text)
    assert oldest == sorted(newest)
    one_day = web.get("/persons/R0026/claims", params={"q": newest[-1]}, headers=me).text
    assert set(re.findall(r"<h2>(\d{4}-\d\d-\d\d) ", one_day)) == {newest[-1]}
