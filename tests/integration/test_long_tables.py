"""Long tables searched, sorted and paged on the server (issue 16, item 2), through ``platform.tables``: the scores
of every unit on /indicators and, with their own search box, the indicator values; the helper's own invariants."""

from __future__ import annotations

import re
from decimal import Decimal

from api_fixtures import api_app, make_user, page_client  # noqa: F401
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from yigongti.platform.tables import TableQuery, labels_text, page_of

SCORE_ROW = re.compile(r'<tr><td>(?:<a [^>]*>)?([^<]+?)(?:</a>)? <span class="muted">([^<]+)</span></td><td>[^<]*</td>'
                       r'<td class="num">([^<]+)</td>')


def _scores(html: str) -> list[tuple[str, str, Decimal]]:
    return [(n, i, Decimal(v.replace(",", ""))) for n, i, v in SCORE_ROW.findall(html) if v != "—"]


def test_indicator_scores_are_searched_sorted_and_paged(api_app: FastAPI) -> None:  # noqa: F811
    make_user(api_app, "long-bureau", "insurance_bureau", county_code="513433")
    c = page_client(api_app, "long-bureau")
    try:
        every = _scores(c.get("/indicators").text)
        assert len(every) > 2, every
        g1 = _scores(c.get("/indicators", params={"q": "G1"}).text)
        assert g1 and all("G1" in i for _, i, _ in g1) and len(g1) < len(every)
        page = c.get("/indicators", params={"sort": "score", "dir": "desc"}).text
        values = [v for _, _, v in _scores(page)]
        assert values == sorted(values, reverse=True) and 'aria-sort="descending"' in page
        graded = c.get("/indicators", params={"q": "合格"}).text  # a grade found by its Chinese label
        assert _scores(graded) and len(_scores(graded)) <= len(every)
    finally:
        c.close()


VALUE_ROW = re.compile(r'<td class="indicator">[^<]*<span class="muted">([^<]+)</span>')


def test_indicator_values_have_their_own_search_sort_and_pages(api_app: FastAPI) -> None:  # noqa: F811
    """``iq``/``isort``/``idir``/``ipage`` ask the indicator values; the scores answer only ``q``/``sort``/``page``,
    and a link of either table keeps the other's state."""
    make_user(api_app, "long-values", "insurance_bureau", county_code="513433")
    c = page_client(api_app, "long-values")
    try:
        page = c.get("/indicators").text
        every, scores = VALUE_ROW.findall(page), _scores(page)
        assert len(every) > 2, every
        one = every[1]
        found = c.get("/indicators", params={"iq": one.lower()}).text
        assert one in VALUE_ROW.findall(found) and len(VALUE_ROW.findall(found)) < len(every)
        assert _scores(found) == scores  # the scores do not answer the values' box
        assert VALUE_ROW.findall(c.get("/indicators", params={"q": "G1"}).text) == every  # nor the other way round
        down = c.get("/indicators", params={"isort": "indicator", "idir": "desc"}).text
        ids = VALUE_ROW.findall(down)
        order = lambda i: (0, int(i), "") if i.isdigit() else (1, 0, i)  # noqa: E731  "2" before "10"
        assert ids == sorted(every, key=order, reverse=True) and ids != every
        assert 'href="?isort=indicator&amp;idir=desc&amp;sort=score&amp;dir=asc"' in down  # keeps the values' sort
        assert c.get("/indicators", params={"ipage": "x"}).status_code == 422
        assert c.get("/indicators", params={"idir": "up"}).status_code == 422
    finally:
        c.close()


def test_second_table_pages_differ_and_links_keep_the_prefix() -> None:
    """A second table's page 2 holds other rows than page 1 and its links carry its prefix."""
    rows = list(range(120))
    first = page_of(rows, TableQuery(prefix="i", q=""), text=str, keys={"n": lambda r: r})
    second = page_of(rows, TableQuery(prefix="i", page=2), text=str, keys={"n": lambda r: r}, extra={"q": "G1"})
    assert first.rows == rows[:50] and second.rows == rows[50:100] and not set(first.rows) & set(second.rows)
    assert second.href(page=3) == "?q=G1&ipage=3" and second.sort_href("n") == "?q=G1&isort=n&idir=asc"


def test_labels_text_finds_a_code_by_either_label() -> None:
    text = labels_text("tier", "township")
    assert "township" in text and "乡镇卫生院/社区卫生服务中心" in text and "township centre" in text
    assert labels_text("tier", None) == "" and labels_text("tier", "") == ""


@given(st.lists(st.tuples(st.text(max_size=6), st.integers(-50, 50)), max_size=130), st.integers(1, 5),
       st.sampled_from(["asc", "desc"]), st.text(max_size=3))
def test_pages_cover_the_found_rows_once_in_order(rows: list[tuple[str, int]], page: int, direction: str,
                                                   q: str) -> None:
    """Every row that matches is on exactly one page, in the sorted order; a page past the last shows the last."""
    query = TableQuery(q=q, sort="n", dir=direction, size=20)  # type: ignore[arg-type]
    words = query.words
    found = [r for r in rows if all(w in r[0].casefold() for w in words)]
    first = page_of(rows, query, text=lambda r: r[0], keys={"n": lambda r: r[1]})
    assert first.total == len(found)
    seen = []
    for p in range(1, first.pages + 1):
        seen += page_of(rows, TableQuery(q=q, sort="n", dir=direction, page=p, size=20),  # type: ignore[arg-type]
                        text=lambda r: r[0], keys={"n": lambda r: r[1]}).rows
    assert sorted(seen) == sorted(found)
    assert [n for _, n in seen] == sorted((n for _, n in found), reverse=direction == "desc")
    beyond = page_of(rows, TableQuery(q=q, page=first.pages + page, size=20), text=lambda r: r[0], keys={})
    assert beyond.page == first.pages


def test_every_data_table_of_the_templates_can_be_reached_with_the_keyboard() -> None:
    """A wide table scrolls in its own box; axe-core's scrollable-region-focusable needs it focusable: every table of
    the templates carries ``tabindex="0"`` (16 did not, found by the sweep of every page)."""
    from pathlib import Path

    import yigongti.platform

    templates = Path(yigongti.platform.__file__).parent / "templates"
    missing = [f"{t.name}: {m.group(0)}" for t in sorted(templates.glob("*.html"))
               for m in re.finditer(r"<table\b[^>]*>", t.read_text(encoding="utf-8"))
               if 'tabindex="0"' not in m.group(0)]
    assert missing == []
