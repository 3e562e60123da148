"""The key populations in a real browser (Debian's chromium, Playwright) on a phone (390 px): the family doctor opens
the key-population list from the worklists, taps 今日已服务 on a person due; the consortium admin opens the duty list
from the tab, drills down consortium -> village clinic, without sideways scrolling. Uses the server and browser
fixtures of tests/e2e/conftest.py (its own server for this module), with the demo care and key-population data."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_fixtures import INSIDE_WINDOW, PASSWORD, Running, needs_chromium
from sqlalchemy import delete, func, select

from yigongti.care.sample import link_doctor, seed_demo_care, seed_demo_keypops
from yigongti.care.store import ContractRow, KeyServiceRow, TeamRow
from yigongti.enrollment.store import PersonRow
from yigongti.platform.accounts import create_user
from yigongti.registry.store import InstitutionRow

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def world(server: Running) -> Iterator[tuple[str, str]]:
    """(village clinic, consortium) of the GP ``kp-gp``, whose elderly have their check of the year still to do;
    ``kp-cons`` is the consortium's admin."""
    ctx = server.app.state.ctx
    with ctx.sessions.begin() as s:
        seed_demo_care(s, today=INSIDE_WINDOW, policy=ctx.policy.care, seed=3)
        seed_demo_keypops(s, today=INSIDE_WINDOW, policy=ctx.policy.care, seed=3)
        old = INSIDE_WINDOW.replace(year=INSIDE_WINDOW.year - 66)
        village = s.execute(select(TeamRow.inst_id).join(ContractRow, ContractRow.team_id == TeamRow.team_id)
                            .join(PersonRow, PersonRow.person_id == ContractRow.person_id)
                            .join(InstitutionRow, InstitutionRow.inst_id == TeamRow.inst_id)
                            .where(InstitutionRow.tier == "village", PersonRow.birth_date < old)
                            .group_by(TeamRow.inst_id).order_by(func.count().desc(), TeamRow.inst_id)
                            .limit(1)).scalar_one()
        consortium = s.get(InstitutionRow, village).consortium_id  # type: ignore[union-attr]
        create_user(s, username="kp-gp", password=PASSWORD, role="clinician", inst_id=village, now=ctx.clock.now())
        create_user(s, username="kp-cons", password=PASSWORD, role="consortium_admin", consortium_id=consortium,
                    now=ctx.clock.now())
        gp = link_doctor(s, "kp-gp", [village])
        panel = select(ContractRow.person_id).where(ContractRow.gp_member_id == gp)
        s.execute(delete(KeyServiceRow).where(KeyServiceRow.population == "elderly",
                                              KeyServiceRow.person_id.in_(panel)))
    yield village, str(consortium)


def _sign_in(pg: object, server: Running, username: str) -> None:
    pg.goto(server.url + "/login")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", PASSWORD)
    pg.click("main button[type=submit]")
    pg.wait_for_url("**/dashboard")


def _no_sideways_scroll(pg: object) -> None:
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390 + 1


def test_a_service_from_the_doctors_list_and_the_duty_list_drilled_down(browser: object, page: object,
                                                                        server: Running,
                                                                        world: tuple[str, str]) -> None:
    village, consortium = world
    doctor = page
    _sign_in(doctor, server, "kp-gp")
    doctor.click("nav.tabs a[href='/care']")
    doctor.wait_for_url("**/care")
    doctor.click("main a[href='/care/key']")
    doctor.wait_for_url("**/care/key")
    _no_sideways_scroll(doctor)
    line = doctor.locator("li[data-population=elderly]").first
    pid = line.get_attribute("data-person")
    line.locator("button.go").click()
    doctor.wait_for_url(re.compile(rf"/care/key\?done={re.escape(str(pid))}"))
    assert "已记录服务" in doctor.inner_text("#done")
    assert doctor.locator(f"li[data-person='{pid}'][data-population=elderly]").count() == 0

    official = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    duty = official.new_page()
    duty.set_default_timeout(45_000)
    try:
        _sign_in(duty, server, "kp-cons")
        duty.click("nav.tabs a[href='/care/duties']")
        duty.wait_for_url("**/care/duties")
        assert "公共卫生责任清单" in duty.inner_text("h1")
        _no_sideways_scroll(duty)
        duty.click(f"tr[data-inst='{consortium}'] a")
        duty.wait_for_url(re.compile(rf"consortium={re.escape(consortium)}"))
        duty.click(f"tr[data-inst='{village}'] a")
        duty.wait_for_url(re.compile(rf"inst={re.escape(village)}"))
        assert duty.locator(".kpi[data-population=elderly] strong").inner_text().strip() != ""
        _no_sideways_scroll(duty)
        assert duty.locator("a[href^='/care/duties.csv']").count() == 1
    finally:
        official.close()
