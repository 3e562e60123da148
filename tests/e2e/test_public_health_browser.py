"""An infectious-disease report card from diagnosis to submission, and a drug shortage from registration to delivery,
in a real browser (Debian's chromium, Playwright).

1. A township doctor records a diagnosis of cholera (甲类, 2 hours) on the report page; the card's page opens,
   pending and counting down; the consortium's public-health staff find it on their alert list (filtered to
   Class A), open it and submit it (网络直报); it shows as reported on time and leaves the alert list.
2. A village clinic registers a shortage; the county central pharmacy (the lead hospital's admin) dispatches it with
   a tracking number; the clinic sees it dispatched and confirms the delivery; each state in Chinese.

Uses the server and browser fixtures of tests/e2e/conftest.py (its own server for this module, the example county,
"today" 2025-11-15); the drug catalogue and the central pharmacy's stock come from the demo seed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_fixtures import PASSWORD, Running, needs_chromium, sign_in

from yigongti.demo.workflows import seed_workflows
from yigongti.platform.accounts import create_user

PERSON = "R0008"  # designated to the township G1-T1
pytestmark = needs_chromium


@pytest.fixture(scope="module")
def staff(server: Running) -> Iterator[None]:
    ctx = server.app.state.ctx
    with ctx.sessions.begin() as s:
        seed_workflows(s, policy=ctx.policy, now=ctx.clock.now())
        create_user(s, username="ph-doc-t", password=PASSWORD, role="clinician", inst_id="G1-T1", now=ctx.clock.now())
        create_user(s, username="ph-g1", password=PASSWORD, role="consortium_admin", consortium_id="G1",
                    now=ctx.clock.now())
        create_user(s, username="rx-village", password=PASSWORD, role="institution_admin", inst_id="G1-T3-V2",
                    now=ctx.clock.now())
        create_user(s, username="rx-central", password=PASSWORD, role="institution_admin", inst_id="G1-H",
                    now=ctx.clock.now())
    yield


def _signed_in(pg: object, server: Running, username: str) -> None:
    sign_in(pg, server, username)
    pg.wait_for_url("**/dashboard")


def test_a_card_from_diagnosis_to_submission(browser: object, page: object, server: Running, staff: None) -> None:
    doctor = page
    _signed_in(doctor, server, "ph-doc-t")
    doctor.click("nav.tabs a[href='/public-health']")
    doctor.wait_for_url("**/public-health")
    doctor.fill("#new-diagnosis input[name=person_id]", PERSON)
    doctor.fill("#new-diagnosis input[name=icd10]", "A00.9")
    doctor.click("#new-diagnosis button[type=submit]")
    doctor.wait_for_url(re.compile(r"/public-health/cards/\d+\?done=new"))
    card_id = int(re.search(r"/cards/(\d+)", doctor.url).group(1))  # type: ignore[union-attr]
    assert doctor.get_attribute("#card", "data-status") == "pending"
    facts = doctor.inner_text("#card")
    assert "霍乱" in facts and "甲类" in facts and "剩余" in facts and "2 小时内报告" in facts

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    staff_page = context.new_page()
    staff_page.set_default_timeout(45_000)
    try:
        _signed_in(staff_page, server, "ph-g1")
        staff_page.click("nav.tabs a[href='/public-health']")
        staff_page.wait_for_url("**/public-health")
        staff_page.click("nav.filters a[data-class=A]")
        staff_page.wait_for_url("**/public-health?cls=A")
        row = staff_page.inner_text(f"#c{card_id}")
        assert "霍乱" in row and "甲类" in row and "剩余" in row
        staff_page.click(f"#c{card_id} a")
        staff_page.wait_for_url(f"**/public-health/cards/{card_id}")
        staff_page.click("#submit-card button[type=submit]")
        staff_page.wait_for_url(f"**/public-health/cards/{card_id}?done=submitted")
        assert staff_page.get_attribute("#card", "data-status") == "submitted"
        assert "按时报告" in staff_page.inner_text("#card")
        staff_page.goto(server.url + "/public-health?cls=A")
        assert staff_page.locator(f"#c{card_id}").count() == 0
    finally:
        context.close()

    doctor.goto(server.url + f"/public-health/cards/{card_id}")
    assert doctor.get_attribute("#card", "data-status") == "submitted"
    assert doctor.locator("#submit-card").count() == 0


def test_a_shortage_from_registration_to_delivery(browser: object, page: object, server: Running,
                                                  staff: None) -> None:
    clinic = page
    _signed_in(clinic, server, "rx-village")
    clinic.click("nav.tabs a[href='/pharmacy']")
    clinic.wait_for_url("**/pharmacy")
    clinic.click("details:has(#new-shortage) summary")
    clinic.select_option("#new-shortage select[name=drug_code]", index=0)
    clinic.fill("#new-shortage input[name=quantity]", "60")
    clinic.fill("#new-shortage textarea[name=note]", "流感高发，退热药将尽")
    clinic.click("#new-shortage button[type=submit]")
    clinic.wait_for_url(re.compile(r"/pharmacy\?done=\d+"))
    sid = int(re.search(r"done=(\d+)", clinic.url).group(1))  # type: ignore[union-attr]
    assert clinic.get_attribute(f"#s{sid}", "data-status") == "registered"
    assert "已登记" in clinic.inner_text(f"#s{sid}")

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    central = context.new_page()
    central.set_default_timeout(45_000)
    try:
        _signed_in(central, server, "rx-central")
        central.goto(server.url + "/pharmacy")
        central.fill(f"#s{sid} input[name=tracking]", "PS-20251115-01")
        central.click(f"#s{sid} form.dispatch button")
        central.wait_for_url(re.compile(rf"/pharmacy\?done={sid}"))
        assert central.get_attribute(f"#s{sid}", "data-status") == "dispatched"
    finally:
        context.close()

    clinic.goto(server.url + "/pharmacy")
    text = clinic.inner_text(f"#s{sid}")
    assert "已发出" in text and "PS-20251115-01" in text
    clinic.click(f"#s{sid} form.deliver button")
    clinic.wait_for_url(re.compile(rf"/pharmacy\?done={sid}"))
    assert clinic.get_attribute(f"#s{sid}", "data-status") == "delivered"
    assert "已送达" in clinic.inner_text(f"#s{sid}")


AXE_FILE = Path(__file__).resolve().parents[2] / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
AXE = AXE_FILE if AXE_FILE.is_file() else None


@pytest.mark.skipif(AXE is None, reason="needs axe-core: cd tests/browser && npm ci")
@pytest.mark.parametrize("width", [390, 1440])
def test_the_pages_have_no_serious_accessibility_problem(browser: object, server: Running, staff: None,
                                                         width: int) -> None:
    """axe-core on each page of this capability, at a phone's and a desktop's width (as tests/e2e/
    test_accessibility.py does for the other pages): no serious or critical violation."""
    problems: dict[str, list[object]] = {}
    for username, paths in (("ph-g1", ("/public-health", "/public-health?cls=B", "/public-health/timeliness",
                                        "/public-health/cards/1", "/public-health/foodborne",
                                        "/pharmacy")),
                            ("ph-doc-t", ("/public-health",)), ("rx-village", ("/pharmacy",))):
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN", bypass_csp=True)
        pg = context.new_page()
        pg.set_default_timeout(45_000)
        try:
            _signed_in(pg, server, username)
            for path in paths:
                pg.goto(server.url + path)
                pg.add_script_tag(path=str(AXE))
                found = pg.evaluate("""async () => {
                    const r = await axe.run(document, {resultTypes: ['violations']});
                    return r.violations.map(v => ({id: v.id, impact: v.impact,
                                                   nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
                }""")
                bad = [v for v in found if v["impact"] in ("serious", "critical")]
                if bad:
                    problems[f"{username} {path}"] = bad
        finally:
            context.close()
    assert not problems, problems
