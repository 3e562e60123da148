"""Pages people are glad to open (issue 16): no code words in the Chinese interface, short tab titles, next year's
head counts marked provisional, visits dated after today not shown as past, an error page that keeps the signed-in
header and speaks Chinese first, large text and high contrast kept in a cookie."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from datetime import date

import pytest
from api_fixtures import PASSWORD, api_app, make_user  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient

from yigongti.core.labels import LABELS

# every code that must not reach a Chinese page as a word of its own (ids such as G1-T2 are not words here)
CODE_WORDS = sorted({code for group in ("tier", "kind", "grade", "rule", "network_status", "unit", "scope_kind",
                                        "insurance", "source", "charge", "role", "setting", "record_basis",
                                        "record_source", "consult_status")
                     for code in LABELS[group] if code != "%"} | {"M", "F"})
WORD = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in CODE_WORDS) + r")(?![\w-])")
OFFICIAL_PAGES = ("/dashboard", "/dashboard?consortium=G1", "/dashboard?consortium=G1&inst=G1-T2",
                  "/dashboard?consortium=G1&inst=G1-T1-V1", "/registry", "/registry?sort=tier", "/head-counts",
                  "/head-counts?year=2026", "/head-counts?year=2026&view=movements", "/persons", "/finance",
                  "/indicators", "/map", "/referral-flows", "/diagnoses/centres", "/workflow-indicators")
RESIDENT_PAGES = ("/household", "/persons/R0026/claims", "/persons/R0026/record", "/persons/R0026/record/openings",
                  "/persons/R0026/choose", "/persons/R0026/choose?consortium=G1",
                  "/persons/R0026/choose?consortium=G1&township=G1-T2")


def visible_text(page: str) -> str:
    """The text a person reads: no tags, attributes, styles or scripts; entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", page))


def _signed_in(app: FastAPI, username: str) -> TestClient:
    c = TestClient(app)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
    assert token
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf": token.group(1)},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


@pytest.fixture(scope="module")
def bureau(api_app: FastAPI) -> TestClient:  # noqa: F811
    make_user(api_app, "bureau-read", "insurance_bureau", county_code="513433")
    return _signed_in(api_app, "bureau-read")


@pytest.fixture(scope="module")
def resident(api_app: FastAPI) -> TestClient:  # noqa: F811
    make_user(api_app, "res-read", "resident", person_id="R0026")
    return _signed_in(api_app, "res-read")


@pytest.fixture
def today(api_app: FastAPI) -> Iterator[object]:  # noqa: F811
    clock = api_app.state.ctx.clock
    kept = clock.fixed
    yield clock
    clock.fixed = kept


def _pages(bureau: TestClient, resident: TestClient) -> Iterator[tuple[str, str]]:
    for path in OFFICIAL_PAGES:
        r = bureau.get(path)
        assert r.status_code == 200, path
        yield path, r.text
    for path in RESIDENT_PAGES:
        r = resident.get(path)
        assert r.status_code == 200, path
        yield path, r.text


def test_no_code_word_on_any_chinese_page(bureau: TestClient, resident: TestClient) -> None:
    found = {path: sorted(set(WORD.findall(visible_text(page)))) for path, page in _pages(bureau, resident)}
    assert {p: w for p, w in found.items() if w} == {}


def test_names_beside_ids_and_thousands_separators(bureau: TestClient) -> None:
    text = visible_text(bureau.get("/registry").text)
    assert "乡镇卫生院" in text and "村卫生室" in text and "中医医院" in text
    finance = bureau.get("/finance").text
    assert re.search(r"\d{1,3}(,\d{3})+\.\d\d", finance), "money without thousands separators"
    assert not re.search(r">\s*-?\d{4,}\.\d\d\s*<", finance), "a money cell without separators"


def test_every_tab_title_is_short(bureau: TestClient, resident: TestClient) -> None:
    for path, page in _pages(bureau, resident):
        titles = re.findall(r"<title>(.*?)</title>", page.split("</head>")[0], flags=re.S)
        assert len(titles) == 1, path
        assert len(titles[0]) <= 60 and "<" not in titles[0], (path, len(titles[0]))


def test_next_years_head_counts_are_marked_provisional(bureau: TestClient) -> None:
    this_year = visible_text(bureau.get("/head-counts?year=2025").text)
    next_year = visible_text(bureau.get("/head-counts?year=2026").text)  # today 2025-11-15: the window is open
    assert "暂定" not in this_year
    assert "暂定" in next_year and "选择窗口结束前" in next_year
    assert "暂定" in visible_text(bureau.get("/dashboard").text)


def test_visits_dated_after_today_are_not_shown_as_past(resident: TestClient, today: object) -> None:
    today.fixed = date(2026, 3, 1)  # type: ignore[attr-defined]
    page = resident.get("/persons/R0026/claims").text
    dates = re.findall(r"<h2>(\d{4}-\d\d-\d\d) ", page)
    assert dates, "R0026 has visits in the example"
    future = [d for d in dates if d > "2026-03-01"]
    marked = re.findall(r"<h2>(\d{4}-\d\d-\d\d) [^<]*<span class=\"tag\">日期在今天之后", page)
    assert marked == future
    today.fixed = date(2027, 1, 1)  # type: ignore[attr-defined]
    assert "日期在今天之后" not in resident.get("/persons/R0026/claims").text


def test_not_found_keeps_the_header_and_speaks_chinese_first(bureau: TestClient) -> None:
    r = bureau.get("/no-such-page")
    assert r.status_code == 404
    assert 'lang="zh-CN"' in r.text
    text = visible_text(r.text)
    assert "退出" in text and "nav" in r.text and 'class="tabs"' in r.text  # the signed-in header and tabs
    assert "页面不存在" in text and "Not Found" not in text
    bureau.cookies.set("ygt_lang", "en")
    try:
        assert "Page not found" in bureau.get("/no-such-page").text
    finally:
        bureau.cookies.delete("ygt_lang")
    anonymous = TestClient(bureau.app).get("/no-such-page")
    assert anonymous.status_code == 404 and "页面不存在" in anonymous.text


def test_large_text_and_high_contrast_are_kept_in_a_cookie(resident: TestClient) -> None:
    r = resident.get("/display/large", headers={"referer": "http://testserver/household"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/household"
    resident.cookies.set("ygt_display", r.cookies["ygt_display"])
    assert '<body class="large">' in resident.get("/household").text
    r = resident.get("/display/contrast", follow_redirects=False)
    resident.cookies.set("ygt_display", r.cookies["ygt_display"].strip('"'))
    assert '<body class="large contrast">' in resident.get("/household").text
    r = resident.get("/display/large", follow_redirects=False)
    resident.cookies.set("ygt_display", r.cookies["ygt_display"].strip('"'))
    assert '<body class="contrast">' in resident.get("/household").text
    resident.cookies.set("ygt_display", "<script>")
    assert '<body class="">' in resident.get("/household").text
    resident.cookies.delete("ygt_display")


def test_household_says_what_each_member_may_do_and_the_rules_in_plain_words(resident: TestClient) -> None:
    text = visible_text(resident.get("/household").text)
    assert "您可以为自己选择或更换定点" in text
    assert "您可以代其选择或更换定点" in text  # R0030, a child
    assert "由其本人选择定点" in text  # the other adults
    assert "每次只付 20 元" in text
