"""A prescription written at a village clinic and dispensed at the township centre, in a real browser (Debian's
chromium, Playwright): the village doctor writes it on /pharmacy/prescriptions (two drugs); the township doctor sees
it waiting (待取药) with the township's own stock beside each drug, dispenses it there; the township's stock of each
drug goes down by the prescribed quantity; the village doctor sees it dispensed (已发药) at the township; no pharmacy
can dispense it again.

Uses the server and browser fixtures of tests/e2e/conftest.py (its own server for this module, the example county);
the catalogue and stock come from the demo seed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_fixtures import PASSWORD, Running, needs_chromium, sign_in
from sqlalchemy import select

from yigongti.demo.workflows import seed_workflows
from yigongti.pharmacy.store import StockRow
from yigongti.platform.accounts import create_user

PERSON = "R0008"
pytestmark = needs_chromium


@pytest.fixture(scope="module")
def staff(server: Running) -> Iterator[None]:
    ctx = server.app.state.ctx
    with ctx.sessions.begin() as s:
        seed_workflows(s, policy=ctx.policy, now=ctx.clock.now())
        create_user(s, username="rx-vdoc", password=PASSWORD, role="clinician", inst_id="G1-T1-V1",
                    now=ctx.clock.now())
        create_user(s, username="rx-tdoc", password=PASSWORD, role="clinician", inst_id="G1-T1", now=ctx.clock.now())
    yield


def _on_hand(server: Running, code: str) -> int:
    with server.app.state.ctx.sessions() as s:
        return int(s.scalar(select(StockRow.on_hand).where(StockRow.inst_id == "G1-T1", StockRow.drug_code == code))
                   or 0)


def test_a_village_prescription_dispensed_at_the_township(browser: object, page: object, server: Running,
                                                          staff: None) -> None:
    with server.app.state.ctx.sessions() as s:
        codes = list(s.scalars(select(StockRow.drug_code).where(StockRow.inst_id == "G1-T1", StockRow.on_hand > 30)
                               .order_by(StockRow.drug_code).limit(2)))
    assert len(codes) == 2
    doctor = page
    sign_in(doctor, server, "rx-vdoc")
    doctor.wait_for_url("**/dashboard")
    doctor.click("nav.tabs a[href='/pharmacy']")
    doctor.click("a[href='/pharmacy/prescriptions']")
    doctor.wait_for_url("**/pharmacy/prescriptions")
    doctor.click("#new-prescription >> xpath=.. >> summary")
    doctor.fill("#new-prescription input[name=person_id]", PERSON)
    selects = doctor.locator("#new-prescription select[name=drug_code]")
    quantities = doctor.locator("#new-prescription input[name=quantity]")
    selects.nth(0).select_option(codes[0])
    quantities.nth(0).fill("14")
    selects.nth(1).select_option(codes[1])
    quantities.nth(1).fill("7")
    doctor.click("#new-prescription button[type=submit]")
    doctor.wait_for_url(re.compile(r"/pharmacy/prescriptions\?done=\d+"))
    rx = int(re.search(r"done=(\d+)", doctor.url).group(1))  # type: ignore[union-attr]
    assert doctor.get_attribute(f"#rx{rx}", "data-status") == "written"
    assert "待取药" in doctor.inner_text(f"#rx{rx}")
    before = [_on_hand(server, c) for c in codes]

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    township = context.new_page()
    township.set_default_timeout(45_000)
    try:
        sign_in(township, server, "rx-tdoc")
        township.wait_for_url("**/dashboard")
        township.goto(server.url + "/pharmacy/prescriptions")
        row = township.inner_text(f"#rx{rx}")
        assert "待取药" in row and f"({before[0]:,})" in row  # the township's own stock beside the drug
        township.click(f"#rx{rx} form.dispense button")
        township.wait_for_url(re.compile(rf"/pharmacy/prescriptions\?done={rx}"))
        assert township.get_attribute(f"#rx{rx}", "data-status") == "dispensed"
        assert township.locator(f"#rx{rx} form.dispense").count() == 0
    finally:
        context.close()
    assert [_on_hand(server, c) for c in codes] == [before[0] - 14, before[1] - 7]
    doctor.reload()
    mine = doctor.inner_text(f"#rx{rx}")
    township_name = server.app.state.ctx.registry.get().institutions["G1-T1"].name
    assert "已发药" in mine and township_name in mine  # dispensed at the township
    assert doctor.locator(f"#rx{rx} form.cancel").count() == 0
