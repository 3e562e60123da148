"""Page flows in a real browser: Debian's chromium driven by Playwright against uvicorn on a free loopback port.

A resident signs in, changes the designation inside the switch window (accepted), and is refused outside it (the
app's clock is moved); an official opens the dashboards; the insurance bureau and a consortium negotiate and sign a
yearly budget agreement, and the finance page then settles on the signed figure. Skipped when /usr/bin/chromium or
Playwright is missing.
"""

from __future__ import annotations

import pytest
from browser_fixtures import OUTSIDE_WINDOW, Running, needs_chromium, sign_in
from fastapi import FastAPI
from sqlalchemy import select

from yigongti.enrollment.store import ChoiceRow, DesignationRow

pytestmark = needs_chromium


def _designation(app: FastAPI, person_id: str, year: int) -> DesignationRow | None:
    with app.state.ctx.sessions() as s:
        return s.scalar(select(DesignationRow).where(DesignationRow.person_id == person_id,
                                                     DesignationRow.year == year))


def test_resident_changes_designation_inside_the_window_and_is_refused_outside(page: object,
                                                                               server: Running) -> None:
    sign_in(page, server, "resident1")
    page.wait_for_url("**/household")
    assert "选择窗口开放中" in page.content()
    page.click("a[href='/persons/R0026/choose']")
    page.click("a[href='?consortium=G1']")
    page.click("a[href='?consortium=G1&township=G1-T2']")
    page.check("input[name=village_id][value='G1-T2-V1']")
    page.click("main button[type=submit]")
    page.wait_for_selector("h1.ok")
    assert "已受理" in page.inner_text("h1")
    d = _designation(server.app, "R0026", 2026)
    assert d is not None and (d.township_id, d.village_id, d.source) == ("G1-T2", "G1-T2-V1", "choice")

    server.app.state.ctx.clock.fixed = OUTSIDE_WINDOW
    page.goto(server.url + "/persons/R0026/choose?consortium=G2&township=G2-T1")
    assert "选择窗口未开放" in page.content()
    page.click("main button[type=submit]")
    page.wait_for_selector("h1.error")
    assert "未受理" in page.inner_text("h1")
    assert page.locator("main [data-code=outside_window]").count() == 1
    assert _designation(server.app, "R0026", 2027) is None
    with server.app.state.ctx.sessions() as s:
        last = s.scalars(select(ChoiceRow).where(ChoiceRow.person_id == "R0026")
                         .order_by(ChoiceRow.choice_id.desc())).first()
    assert last is not None and (last.status, last.refusal_code) == ("refused", "outside_window")


def test_english_switch(page: object, server: Running) -> None:
    sign_in(page, server, "resident1")
    page.wait_for_url("**/household")
    page.click("a.lang")
    page.wait_for_selector("html[lang=en]")
    assert "My household's designations" in page.content()


def test_official_opens_the_dashboards(page: object, server: Running) -> None:
    sign_in(page, server, "bureau1")
    page.wait_for_url("**/dashboard")
    assert page.inner_text("h1").startswith("概览")
    for path, marker in (("/registry", "table.data"), ("/head-counts", "table.data"), ("/persons", "table.data"),
                         ("/finance", "svg.chart"), ("/indicators", "svg.chart"), ("/map", "svg.map circle")):
        page.click(f"nav.tabs a[href='{path}']")
        page.wait_for_url(f"**{path}")
        assert page.locator(marker).count() >= 1, path


def test_bureau_and_consortium_sign_a_budget_agreement(browser: object, server: Running) -> None:
    """The bureau proposes G2's 2026 budget with a capacity factor, the consortium comments and accepts, the bureau
    signs: every version is listed with who did it, and the finance page settles G2 on the signed figure."""
    contexts = [browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN") for _ in range(2)]
    bureau, consortium = (c.new_page() for c in contexts)
    try:
        for pg, user in ((bureau, "bureau1"), (consortium, "g2admin")):
            pg.set_default_timeout(45_000)
            sign_in(pg, server, user)
            pg.wait_for_url("**/dashboard")
        bureau.click("nav.tabs a[href='/finance/agreements']")
        bureau.wait_for_url("**/finance/agreements")
        bureau.click("tr[data-consortium=G2] a")
        bureau.wait_for_url("**/finance/agreements/G2/2026")
        bureau.fill("form[action$='/propose'] input[name=capacity]", "1.10")
        bureau.click("form[action$='/propose'] button[type=submit]")
        bureau.wait_for_selector("[data-status=proposed]")

        consortium.goto(server.url + "/finance/agreements/G2/2026")
        assert consortium.locator("form[action$='/sign'], form[action$='/adjust']").count() == 0
        consortium.fill("form[action$='/comment'] textarea[name=note]", "门诊量上升 / outpatient volume is up")
        consortium.click("form[action$='/comment'] button[type=submit]")
        consortium.wait_for_selector("tr[data-action=comment]")
        consortium.click("form[action$='/accept'] button[type=submit]")
        consortium.wait_for_selector("[data-status=accepted]")

        bureau.reload()
        bureau.click("form[action$='/sign'] button[type=submit]")
        bureau.wait_for_selector("[data-status=signed]")
        amount = bureau.inner_text("[data-amount]")
        steps = bureau.locator("table.versions tbody tr").evaluate_all(
            "rows => rows.map(r => [r.dataset.action, r.cells[5].innerText.split(' ')[0]])")
        assert steps == [["sign", "bureau1"], ["accept", "g2admin"], ["comment", "g2admin"], ["propose", "bureau1"]]
        bureau.click("nav.tabs a[href='/finance']")
        bureau.wait_for_url("**/finance")
        g2 = bureau.locator("section.card", has=bureau.locator("h2 .muted", has_text="G2"))
        assert g2.locator("[data-source=signed]").count() == 1
        assert "按签订的协议金额" in g2.inner_text() and amount in g2.inner_text()
    finally:
        for c in contexts:
            c.close()


PAGES_OF = {"bureau1": ("/dashboard", "/dashboard?consortium=G1", "/dashboard?consortium=G1&inst=G1-T2", "/registry",
                        "/head-counts", "/head-counts?year=2026", "/head-counts?year=2026&view=movements", "/persons",
                        "/finance", "/indicators", "/map", "/finance/agreements", "/finance/agreements/G1/2026",
                        "/finance/agreements/G2/2026", "/no-such-page"),
            "resident1": ("/household", "/persons/R0026/claims", "/persons/R0026/choose?consortium=G1")}


@pytest.mark.parametrize("width", [1440, 390])
def test_no_page_scrolls_sideways(browser: object, server: Running, width: int) -> None:
    """Every page fits the window at a desktop and a phone width, in Chinese and English, in large text too: a wide
    table scrolls inside its own box, never the page."""
    for username, paths in PAGES_OF.items():
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
        pg = context.new_page()
        pg.set_default_timeout(45_000)
        try:
            sign_in(pg, server, username)
            pg.wait_for_load_state()
            for lang, display in (("zh", ""), ("en", ""), ("zh", "large contrast")):
                context.add_cookies([{"name": "ygt_lang", "value": lang, "url": server.url},
                                     {"name": "ygt_display", "value": display, "url": server.url}])
                for path in paths:
                    pg.goto(server.url + path)
                    wide = pg.evaluate("document.documentElement.scrollWidth")
                    assert wide <= width, (username, lang, display, path, wide)
                    assert len(pg.title()) <= 60, (path, pg.title()[:80])
        finally:
            context.close()
