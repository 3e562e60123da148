"""A prescription review from draw to score in a real browser (Debian's chromium, Playwright): the consortium's
quality centre opens 处方点评与病历质控 from the navigation, draws a period's prescriptions of a township centre
(pasted list: prescription, prescribing doctor), scores one of them with a note, and sees the score in the
per-doctor table (and the review scored in the list, its form gone); the health commission reads the same page
without any form.

Uses the server and browser fixtures of tests/e2e/conftest.py (its own server for this module, the example county)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_fixtures import PASSWORD, Running, needs_chromium, sign_in

from yigongti.platform.accounts import create_user
from yigongti.workforce.store import StaffRow

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def quality_staff(server: Running) -> Iterator[None]:
    ctx = server.app.state.ctx
    now = ctx.clock.now()
    with ctx.sessions.begin() as s:
        create_user(s, username="qb-g1", password=PASSWORD, role="consortium_admin", consortium_id="G1", now=now)
        create_user(s, username="qb-hc", password=PASSWORD, role="health_commission", county_code="513433", now=now)
        for sid, name in (("BQD1", "孙合理"), ("BQD2", "周用药")):
            s.add(StaffRow(staff_id=sid, name=name, title="intermediate", profession="doctor", department="全科",
                           employer_id="G1-T2", works_at_id="G1-T2", updated_at=now))
    yield


def test_a_review_from_draw_to_score_in_the_per_doctor_table(browser: object, page: object, server: Running,
                                                             quality_staff: None) -> None:
    year = server.app.state.ctx.clock.today().year
    sign_in(page, server, "qb-g1")
    page.wait_for_url("**/dashboard")
    page.click("nav.tabs a[href='/workforce/quality']")
    page.wait_for_url("**/workforce/quality")
    page.click("#draw summary")
    page.select_option("#draw select[name=inst_id]", "G1-T2")
    page.fill("#draw input[name=period]", f"{year}-Q4")
    page.fill("#draw textarea[name=prescriptions]", "BRX-1,BQD1\nBRX-2,BQD2\nBRX-3,BQD1")
    page.click("#draw button[type=submit]")
    page.wait_for_url(re.compile(r"/workforce/quality\?done=drawn-3"))
    assert "已抽取处方" in page.inner_text("[role=status]")
    row = page.locator("#reviews tr", has_text="BRX-1")
    assert row.locator("form.score").count() == 1  # drawn, waiting for its score
    row.locator("input[name=score]").fill("85")
    row.locator("input[name=note]").fill("用法用量适宜")
    row.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/workforce/quality\?done=scored-\d+"))
    scored = page.locator("#reviews tr", has_text="BRX-1")
    assert scored.locator("form.score").count() == 0 and "85" in scored.inner_text()
    assert "用法用量适宜" in scored.inner_text()
    doctor = page.locator("#by-doctor tr[data-staff=BQD1][data-measure=prescription_review]")
    cells = doctor.locator("td").all_inner_texts()
    assert "孙合理" in cells[1] and cells[2:] == ["1", "85", "1", "85.0"]  # one reviewed, 85 points, passed, mean
    inst = page.locator("#by-institution tr[data-inst=G1-T2]").locator("td").all_inner_texts()
    assert inst[1:3] == ["1", "85.0"]

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    reader = context.new_page()
    reader.set_default_timeout(45_000)
    try:
        sign_in(reader, server, "qb-hc")
        reader.wait_for_url("**/dashboard")
        reader.goto(server.url + "/workforce/quality")
        assert reader.locator("form.score").count() == 0 and reader.locator("#draw").count() == 0
        assert "85.0" in reader.inner_text("#by-doctor")
    finally:
        context.close()
