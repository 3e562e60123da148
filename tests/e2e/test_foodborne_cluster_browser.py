"""A food-borne cluster (食源性聚集性病例) from its second case to its report, in a real browser (Debian's chromium,
Playwright).

A township doctor records a case of food poisoning with the place of eating (就餐地点) and the suspected food: one
case, no cluster. A second case of the same place (picked from the form's suggestions) makes a cluster: at the top
of the food-borne page, due within 2 hours and counting down, with no report button for the doctor. The consortium's
public-health staff find it on their alert list, report it from the food-borne page; it shows as reported on time,
by whom, and leaves the alert list.

Uses the server and browser fixtures of tests/e2e/conftest.py (its own server for this module, the example county,
"today" 2025-11-15) and the demo seed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_fixtures import PASSWORD, Running, needs_chromium, sign_in

from yigongti.demo.workflows import seed_workflows
from yigongti.platform.accounts import create_user

PERSONS = ("R0008", "R0009")  # designated to the township G1-T1
PLACE = "测试村张家满月酒"
pytestmark = needs_chromium


@pytest.fixture(scope="module")
def staff(server: Running) -> Iterator[None]:
    ctx = server.app.state.ctx
    with ctx.sessions.begin() as s:
        seed_workflows(s, policy=ctx.policy, now=ctx.clock.now())
        create_user(s, username="fc-doc", password=PASSWORD, role="clinician", inst_id="G1-T1", now=ctx.clock.now())
        create_user(s, username="fc-g1", password=PASSWORD, role="consortium_admin", consortium_id="G1",
                    now=ctx.clock.now())
    yield


def _signed_in(pg: object, server: Running, username: str) -> None:
    sign_in(pg, server, username)
    pg.wait_for_url("**/dashboard")


def _record(doctor: object, server: Running, person: str, place: str) -> None:
    doctor.goto(server.url + "/public-health")
    doctor.fill("#new-diagnosis input[name=person_id]", person)
    doctor.fill("#new-diagnosis input[name=icd10]", "T62.9")
    doctor.fill("#new-diagnosis input[name=exposure_place]", place)
    doctor.fill("#new-diagnosis input[name=suspected_food]", "凉拌野菜")
    doctor.click("#new-diagnosis button[type=submit]")
    doctor.wait_for_url(re.compile(r"/public-health/foodborne\?done=\d+"))


def test_a_cluster_from_the_second_case_to_its_report(browser: object, page: object, server: Running,
                                                      staff: None) -> None:
    doctor = page
    _signed_in(doctor, server, "fc-doc")
    doctor.click("nav.tabs a[href='/public-health']")
    doctor.wait_for_url("**/public-health")
    _record(doctor, server, PERSONS[0], PLACE)
    assert doctor.locator(f"table.clusters tr:has-text('{PLACE}')").count() == 0  # one case: no cluster
    doctor.goto(server.url + "/public-health")
    assert doctor.locator(f"#places option[value='{PLACE}']").count() == 1  # suggested, to be typed alike
    _record(doctor, server, PERSONS[1], PLACE)
    row = doctor.locator(f"table.clusters tr:has-text('{PLACE}')")
    assert row.count() == 1 and row.get_attribute("data-group") == "due_soon"
    text = row.inner_text()
    assert "剩余" in text and "凉拌野菜" in text and "即将到期" in text
    assert row.locator("button").count() == 0  # a doctor does not report a cluster
    cluster_id = int((row.get_attribute("id") or "k0")[1:])
    box = doctor.locator("#clusters").bounding_box()
    cases = doctor.locator("table.foodborne").bounding_box()
    assert box and cases and box["y"] < cases["y"]  # clusters at the top of the page

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    staff_page = context.new_page()
    staff_page.set_default_timeout(45_000)
    try:
        _signed_in(staff_page, server, "fc-g1")
        staff_page.click("nav.tabs a[href='/public-health']")
        staff_page.wait_for_url("**/public-health")
        assert PLACE in staff_page.inner_text(f"#k{cluster_id}")  # on the alert list
        staff_page.click("a[href='/public-health/foodborne']")
        staff_page.wait_for_url("**/public-health/foodborne")
        staff_page.click(f"#k{cluster_id} button[type=submit]")
        staff_page.wait_for_url(re.compile(rf"/public-health/foodborne\?cluster={cluster_id}"))
        row = staff_page.locator(f"#k{cluster_id}")
        assert row.get_attribute("data-group") == "on_time"
        text = row.inner_text()
        assert "按时报告" in text and "fc-g1" in text and "报告于" in text
        assert row.locator("button").count() == 0
        staff_page.goto(server.url + "/public-health")
        assert staff_page.locator(f"#k{cluster_id}").count() == 0  # off the alert list
    finally:
        context.close()
