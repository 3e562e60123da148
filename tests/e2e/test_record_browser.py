"""The shared health record in a real browser (Debian's chromium, Playwright), at 390 and 1440 px: a township doctor
refers a patient designated elsewhere to another consortium's county hospital, whose doctor opens the patient's shared
record from the referral worklist (the basis: that referral) without sideways scrolling; a clinician with no care
relationship is refused (403), and the bureau reads who opened it. Uses the server and browser fixtures of
tests/e2e/conftest.py (its own server for this module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_fixtures import PASSWORD, Running, needs_chromium, sign_in

from yigongti.platform.accounts import create_user

PERSON = "R0126"  # designated to the village clinic G1-T1-V1 (consortium G1)
pytestmark = needs_chromium


@pytest.fixture(scope="module")
def doctors(server: Running) -> Iterator[None]:
    ctx = server.app.state.ctx
    with ctx.sessions.begin() as s:
        for name, inst in (("rec-doc-t", "G1-T1"), ("rec-doc-h2", "G2-H"), ("rec-doc-g2t", "G2-T1")):
            create_user(s, username=name, password=PASSWORD, role="clinician", inst_id=inst, now=ctx.clock.now())
    yield



@pytest.mark.parametrize("width", [390, 1440])
def test_the_receiving_doctor_opens_the_record_from_the_worklist(browser: object, server: Running, doctors: None,
                                                                 width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    try:
        pg = context.new_page()
        pg.set_default_timeout(45_000)
        token = pg.request.post(server.url + "/api/token",
                                form={"username": "rec-doc-t", "password": PASSWORD}).json()["access_token"]
        made = pg.request.post(server.url + "/api/referrals", headers={"Authorization": f"Bearer {token}"},
                               data={"person_id": PERSON, "from_inst_id": "G1-T1", "to_inst_id": "G2-H",
                                     "direction": "up", "diagnosis": "I63.9", "reason": "脑梗死后评估"})
        assert made.status == 201, made.text()
        rid = made.json()["referral_id"]
        sign_in(pg, server, "rec-doc-h2")
        pg.goto(server.url + "/referrals")
        pg.click(f"#r{rid} a[data-record]")
        pg.wait_for_url(f"**/persons/{PERSON}/record?referral_id={rid}")
        assert pg.get_attribute("[data-basis]", "data-basis") == "referral"
        assert "共享健康档案" in pg.inner_text("h1")
        assert pg.locator("#referrals tbody tr").count() >= 1 and "I63.9" in pg.inner_text("#diagnoses")
        assert pg.evaluate("document.documentElement.scrollWidth") <= width + 1
        pg.goto(server.url + "/lang/en")
        pg.goto(server.url + f"/persons/{PERSON}/record?referral_id={rid}")
        assert "Shared health record" in pg.inner_text("h1") and "referral" in pg.inner_text("[data-basis]")
        assert pg.evaluate("document.documentElement.scrollWidth") <= width + 1
    finally:
        context.close()
    stranger = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    try:
        pg = stranger.new_page()
        sign_in(pg, server, "rec-doc-g2t")
        resp = pg.goto(server.url + f"/persons/{PERSON}/record")
        assert resp is not None and resp.status == 403 and "无诊疗关系" in pg.content()
    finally:
        stranger.close()
    official = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    try:
        pg = official.new_page()
        sign_in(pg, server, "bureau1")
        pg.goto(server.url + f"/persons/{PERSON}/record/openings")
        text = pg.inner_text("table.openings")
        assert "rec-doc-h2（家庭医生）" in text and "rec-doc-g2t（家庭医生）" in text and "转诊" in text
        assert pg.evaluate("document.documentElement.scrollWidth") <= width + 1
    finally:
        official.close()
