"""A remote ECG in a real browser (Debian's chromium, Playwright): a township doctor opens the order form from the
persons page, orders an ECG from the county hospital's centre, the centre accepts it and writes the report on its
worklist, the township doctor reads the report; ordering the same kind again inside its validity shows the
recognised result instead of a new read. Uses the server and browser fixtures of tests/e2e/conftest.py."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_fixtures import PASSWORD, Running, needs_chromium

from yigongti.platform.accounts import create_user

PERSON = "R0008"  # designated to the township G1-T1 in 2025 and 2026
DONE = re.compile(r"/diagnoses\?done=\d+")
ORDER = re.compile(r"/diagnoses/(\d+)$")
pytestmark = needs_chromium


@pytest.fixture(scope="module")
def staff(server: Running) -> Iterator[None]:
    ctx = server.app.state.ctx
    with ctx.sessions.begin() as s:
        create_user(s, username="dx-doc-t", password=PASSWORD, role="clinician", inst_id="G1-T1", now=ctx.clock.now())
        create_user(s, username="dx-doc-h", password=PASSWORD, role="clinician", inst_id="G1-H", now=ctx.clock.now())
    yield


def _sign_in(pg: object, server: Running, username: str) -> None:
    pg.goto(server.url + "/login")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", PASSWORD)
    pg.click("main button[type=submit]")
    pg.wait_for_url("**/dashboard")


def _order(pg: object, server: Running) -> int:
    pg.goto(server.url + f"/persons?q={PERSON}")
    pg.click(f"a[data-order][href='/diagnoses?person_id={PERSON}']")
    pg.wait_for_url("**/diagnoses?person_id=*")
    assert pg.input_value("#new-order input[name=person_id]") == PERSON
    pg.select_option("#new-order select[name=to_inst_id]", "G1-H")
    pg.select_option("#new-order select[name=kind]", "ecg")
    pg.fill("#new-order textarea[name=question]", "心悸两天，排除心律失常")
    pg.click("#new-order button[type=submit]")
    pg.wait_for_url(ORDER)
    return int(ORDER.search(pg.url).group(1))  # type: ignore[union-attr]


def test_a_remote_ecg_from_order_to_report(browser: object, page: object, server: Running, staff: None) -> None:
    township = page
    _sign_in(township, server, "dx-doc-t")
    oid = _order(township, server)
    assert township.get_attribute("[data-status]", "data-status") == "ordered"

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    centre = context.new_page()
    centre.set_default_timeout(45_000)
    try:
        _sign_in(centre, server, "dx-doc-h")
        centre.click("nav.tabs a[href='/diagnoses']")
        centre.wait_for_url("**/diagnoses")
        centre.click(f"#o{oid} form:has(input[name=to][value=accepted]) button")
        centre.wait_for_url(DONE)
        assert centre.get_attribute(f"#o{oid}", "data-status") == "accepted"
        centre.fill(f"#o{oid} textarea[name=report]", "窦性心律，偶发房性早搏")
        centre.check(f"#o{oid} input[name=abnormal][value=yes]")
        centre.click(f"#o{oid} form:has(input[name=to][value=reported]) button")
        centre.wait_for_url(DONE)
        assert centre.get_attribute(f"#o{oid}", "data-status") == "reported"
    finally:
        context.close()

    township.goto(server.url + f"/diagnoses/{oid}")
    assert "窦性心律，偶发房性早搏" in township.inner_text("#report")
    again = _order(township, server)
    assert again != oid and township.get_attribute("[data-status]", "data-status") == "recognised"
    assert "窦性心律，偶发房性早搏" in township.inner_text("#report")
