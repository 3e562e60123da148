"""A referral from request to return in a real browser (Debian's chromium, Playwright): a township doctor refers a
patient up from the worklist, the county hospital accepts, the township books a place of the hospital's slot, the
hospital records the arrival and the completion and sends the patient back with a care plan, which the township
doctor then reads; and a stable case the hospital's claims propose is referred down with one click. Uses the server
and browser fixtures of tests/e2e/conftest.py (its own server for this module)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_fixtures import PASSWORD, Running, needs_chromium

from yigongti.platform.accounts import create_user

PERSON = "R0008"  # designated to the township G1-T1 in 2025 and 2026
DONE = re.compile(r"/referrals\?done=\d+")
pytestmark = needs_chromium


@pytest.fixture(scope="module")
def doctors(server: Running) -> Iterator[None]:
    ctx = server.app.state.ctx
    with ctx.sessions.begin() as s:
        create_user(s, username="br-doc-t", password=PASSWORD, role="clinician", inst_id="G1-T1", now=ctx.clock.now())
        create_user(s, username="br-doc-h", password=PASSWORD, role="clinician", inst_id="G1-H", now=ctx.clock.now())
        create_user(s, username="br-admin-h", password=PASSWORD, role="institution_admin", inst_id="G1-H",
                    now=ctx.clock.now())
    yield


def _sign_in(pg: object, server: Running, username: str) -> None:
    pg.goto(server.url + "/login")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", PASSWORD)
    pg.click("main button[type=submit]")
    pg.wait_for_url("**/dashboard")


def _act(pg: object, server: Running, rid: int, to: str) -> None:
    pg.goto(server.url + "/referrals")
    pg.click(f"#r{rid} form:has(input[name=to][value={to}]) button")
    pg.wait_for_url(DONE)
    assert pg.get_attribute(f"#r{rid}", "data-status") == to


def test_a_referral_from_request_to_return(browser: object, page: object, server: Running,
                                           doctors: None) -> None:
    token = page.request.post(server.url + "/api/token",
                              form={"username": "br-admin-h", "password": PASSWORD}).json()["access_token"]
    slot = page.request.post(server.url + "/api/slots", headers={"Authorization": f"Bearer {token}"},
                             data={"inst_id": "G1-H", "kind": "bed", "start": "2025-11-20T08:00:00", "capacity": 5})
    assert slot.status == 201

    township = page
    _sign_in(township, server, "br-doc-t")
    township.click("nav.tabs a[href='/referrals']")
    township.wait_for_url("**/referrals")
    township.goto(server.url + f"/referrals?person_id={PERSON}")
    assert township.input_value("#new-referral input[name=person_id]") == PERSON
    township.select_option("#new-referral select[name=to_inst_id]", "G1-H")
    township.select_option("#new-referral select[name=direction]", "up")
    township.fill("#new-referral input[name=diagnosis]", "I63.9")
    township.fill("#new-referral textarea[name=reason]", "右侧肢体无力两小时，疑似脑梗死")
    township.click("#new-referral button[type=submit]")
    township.wait_for_url(DONE)
    rid = int(re.search(r"done=(\d+)", township.url).group(1))  # type: ignore[union-attr]
    assert township.get_attribute(f"#r{rid}", "data-status") == "requested"

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    hospital = context.new_page()
    hospital.set_default_timeout(45_000)
    try:
        _sign_in(hospital, server, "br-doc-h")
        _act(hospital, server, rid, "accepted")

        township.goto(server.url + "/referrals")
        township.select_option(f"#r{rid} select[name=slot_id]", str(slot.json()["slot_id"]))
        township.click(f"#r{rid} form:has(input[name=to][value=booked]) button")
        township.wait_for_url(DONE)
        assert township.get_attribute(f"#r{rid}", "data-status") == "booked"

        _act(hospital, server, rid, "arrived")
        assert "建议下转" in hospital.inner_text(f"#r{rid}")
        _act(hospital, server, rid, "completed")
        hospital.fill(f"#r{rid} textarea[name=care_plan]", "阿司匹林每日一次，每周随访血压")
        hospital.click(f"#r{rid} form:has(input[name=to][value=returned]) button")
        hospital.wait_for_url(DONE)
    finally:
        context.close()

    township.goto(server.url + "/referrals")
    assert township.get_attribute(f"#r{rid}", "data-status") == "returned"
    assert "阿司匹林每日一次，每周随访血压" in township.inner_text(f"#r{rid}")
    assert "已回转" in township.inner_text(f"#r{rid}")


def test_a_proposed_down_referral_from_the_claims_in_one_click(browser: object, server: Running,
                                                                doctors: None) -> None:
    """The county hospital's worklist lists what its claims show (基层首诊提示, 建议下转); one click on 下转 refers the
    stable case down to the designated township, and the referral appears among those sent."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    hospital = context.new_page()
    hospital.set_default_timeout(45_000)
    try:
        _sign_in(hospital, server, "br-doc-h")
        hospital.goto(server.url + "/referrals")
        assert "基层首诊提示" in hospital.inner_text("#claims-check ~ h3 >> nth=1")
        assert hospital.locator("table.flags tbody tr[data-claim]").count() > 0
        proposal = hospital.locator("table.proposals tbody tr[data-claim]:has(form.refer-down)").first
        person = proposal.locator("input[name=person_id]").get_attribute("value")
        proposal.locator("form.refer-down button").click()
        hospital.wait_for_url(DONE)
        rid = int(re.search(r"done=(\d+)", hospital.url).group(1))  # type: ignore[union-attr]
        row = hospital.inner_text(f"#r{rid}")
        assert person in row and "下转" in row and hospital.get_attribute(f"#r{rid}", "data-status") == "requested"
    finally:
        context.close()
