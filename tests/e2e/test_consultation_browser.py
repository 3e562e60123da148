"""A tele-consultation in a real browser (Debian's chromium, Playwright) on a phone (390 px): a township doctor
requests it from the remote-diagnosis page, the county hospital schedules it with the time picker, holds it and
writes the opinion, and the township doctor reads the opinion as a care plan in the patient's shared record. Uses
the server and browser fixtures of tests/e2e/conftest.py (its own server for this module)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_fixtures import PASSWORD, Running, needs_chromium, sign_in

from yigongti.platform.accounts import create_user

PERSON = "R0008"  # designated to the township G1-T1
pytestmark = needs_chromium


@pytest.fixture(scope="module")
def doctors(server: Running) -> Iterator[None]:
    ctx = server.app.state.ctx
    with ctx.sessions.begin() as s:
        for name, inst in (("tc-doc-t", "G1-T1"), ("tc-doc-h", "G1-H")):
            create_user(s, username=name, password=PASSWORD, role="clinician", inst_id=inst, now=ctx.clock.now())
    yield


def _act(pg: object, server: Running, cid: int, to: str) -> None:
    pg.goto(server.url + "/diagnoses")
    pg.click(f"#c{cid} form:has(input[name=to][value={to}]) button")
    pg.wait_for_url(re.compile(r"/diagnoses\?done=\d+"))
    assert pg.get_attribute(f"#c{cid}", "data-status") == to


def test_a_consultation_from_request_to_opinion(browser: object, page: object, server: Running,
                                                doctors: None) -> None:
    township = page
    sign_in(township, server, "tc-doc-t")
    township.goto(server.url + f"/diagnoses?person_id={PERSON}")
    form = township.locator("#new-consultation")
    assert form.locator("input[name=person_id]").input_value() == PERSON
    form.locator("input[name=specialty]").fill("心内科")
    form.locator("textarea[name=question]").fill("高血压合并胸闷，请调整方案")
    form.locator("button[type=submit]").click()
    township.wait_for_url(re.compile(r"/diagnoses\?done=\d+"))
    cid = int(township.url.rsplit("#c", 1)[1])
    assert township.get_attribute(f"#c{cid}", "data-status") == "requested"
    assert township.evaluate("document.documentElement.scrollWidth") <= 391

    hospital = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    try:
        sign_in(hospital, server, "tc-doc-h")
        hospital.goto(server.url + "/diagnoses")
        hospital.fill(f"#c{cid} input[name=scheduled_at]", "2025-11-20T09:30")
        hospital.click(f"#c{cid} form:has(input[name=to][value=scheduled]) button")
        hospital.wait_for_url(re.compile(r"/diagnoses\?done=\d+"))
        assert "2025-11-20 09:30" in hospital.inner_text(f"#c{cid}")
        _act(hospital, server, cid, "held")
        hospital.fill(f"#c{cid} textarea[name=opinion]", "加用β受体阻滞剂，两周后复查心电图")
        hospital.click(f"#c{cid} form:has(input[name=to][value=concluded]) button")
        hospital.wait_for_url(re.compile(r"/diagnoses\?done=\d+"))
        assert hospital.get_attribute(f"#c{cid}", "data-status") == "concluded"
    finally:
        hospital.context.close()

    township.goto(server.url + f"/persons/{PERSON}/record")
    plan = township.locator("article.plan[data-kind=consultation]").first
    assert "加用β受体阻滞剂" in plan.inner_text()
    assert township.evaluate("document.documentElement.scrollWidth") <= 391
