"""A follow-up from the family doctor's worklist to the official's control-rate dashboard in a real browser (Debian's
chromium, Playwright) on a phone (390 px): the doctor opens the worklists from the tab, taps 随访 on a patient not
controlled at the last visit, types the blood pressure (numeric keyboard), saves; the patient leaves the list; the
consortium admin then finds the village clinic's control count up by one on the dashboard, drilled down from the
consortium. Uses the server and browser fixtures of tests/e2e/conftest.py (its own server for this module), with the
demo care data seeded into it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from browser_fixtures import INSIDE_WINDOW, PASSWORD, Running, needs_chromium
from sqlalchemy import func, select

from yigongti.care.sample import link_doctor, seed_demo_care
from yigongti.care.store import ContractRow, FollowupRow, RegistryRow, TeamRow
from yigongti.platform.accounts import create_user
from yigongti.registry.store import InstitutionRow

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def care(server: Running) -> Iterator[tuple[str, str, str]]:
    """(village clinic, consortium) of the GP ``br-gp``, and a hypertension patient of theirs under management whose
    last reading was not controlled (or who was never followed up); ``br-cons`` is the consortium's admin."""
    ctx = server.app.state.ctx
    with ctx.sessions.begin() as s:
        seed_demo_care(s, today=INSIDE_WINDOW, policy=ctx.policy.care, seed=3)
        village = s.execute(select(TeamRow.inst_id).join(ContractRow, ContractRow.team_id == TeamRow.team_id)
                            .join(RegistryRow, RegistryRow.person_id == ContractRow.person_id)
                            .join(InstitutionRow, InstitutionRow.inst_id == TeamRow.inst_id)
                            .where(InstitutionRow.tier == "village").group_by(TeamRow.inst_id)
                            .order_by(func.count().desc(), TeamRow.inst_id).limit(1)).scalar_one()
        consortium = s.get(InstitutionRow, village).consortium_id  # type: ignore[union-attr]
        create_user(s, username="br-gp", password=PASSWORD, role="clinician", inst_id=village, now=ctx.clock.now())
        create_user(s, username="br-cons", password=PASSWORD, role="consortium_admin", consortium_id=consortium,
                    now=ctx.clock.now())
        gp = link_doctor(s, "br-gp", [village])
        panel = set(s.scalars(select(ContractRow.person_id).where(ContractRow.gp_member_id == gp)))
        last = {f.person_id: f for f in s.scalars(select(FollowupRow).where(
            FollowupRow.person_id.in_(panel), FollowupRow.disease == "hypertension")
            .order_by(FollowupRow.date, FollowupRow.followup_id))}
        registered = s.execute(select(RegistryRow.person_id, RegistryRow.registered_on).where(
            RegistryRow.person_id.in_(panel), RegistryRow.disease == "hypertension")).all()
    pid = sorted(p for p, on in registered if on < date(2025, 8, 1)
                 and (p not in last or (last[p].control != "controlled" and last[p].date < INSIDE_WINDOW)))[0]
    yield village, str(consortium), pid


def _sign_in(pg: object, server: Running, username: str) -> None:
    pg.goto(server.url + "/login")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", PASSWORD)
    pg.click("main button[type=submit]")
    pg.wait_for_url("**/dashboard")


def _no_sideways_scroll(pg: object) -> None:
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390 + 1


def _controlled(pg: object) -> int:
    """The village clinic's controlled count this month: the control-rate card's note, "controlled / managed"."""
    note = pg.locator(".kpi .note").nth(2).inner_text().strip()
    assert re.match(r"^\d[\d,]* / \d[\d,]*$", note), note
    return int(note.split(" / ")[0].replace(",", ""))


def test_a_followup_from_the_worklist_to_the_dashboard(browser: object, page: object, server: Running,
                                                      care: tuple[str, str, str]) -> None:
    village, consortium, pid = care
    official = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    dash = official.new_page()
    dash.set_default_timeout(45_000)
    try:
        _sign_in(dash, server, "br-cons")
        dash.click("nav.tabs a[href='/care/dashboard']")
        dash.wait_for_url("**/care/dashboard")
        dash.click(f"a[href*='consortium={consortium}']")
        dash.click(f"tr[data-inst='{village}'] a")
        dash.wait_for_url(re.compile(rf"inst={re.escape(village)}"))
        before = _controlled(dash)
        _no_sideways_scroll(dash)

        doctor = page
        _sign_in(doctor, server, "br-gp")
        doctor.click("nav.tabs a[href='/care']")
        doctor.wait_for_url("**/care")
        _no_sideways_scroll(doctor)
        line = doctor.locator(f"li[data-person='{pid}'][data-disease=hypertension]").first
        line.locator("a.go").click()
        doctor.wait_for_url(f"**/care/persons/{pid}/followup?disease=hypertension")
        assert doctor.get_attribute("input[name=systolic]", "inputmode") == "numeric"
        assert doctor.get_attribute("input[name=fasting_glucose]", "inputmode") == "decimal"
        _no_sideways_scroll(doctor)
        doctor.fill("input[name=systolic]", "126")
        doctor.fill("input[name=diastolic]", "78")
        doctor.click("button.save")
        doctor.wait_for_url(re.compile(rf"/care\?done={re.escape(str(pid))}"))
        assert "控制满意" in doctor.inner_text("#done")
        for name in ("uncontrolled", "overdue", "lost"):
            assert doctor.locator(f"#{name} li[data-person='{pid}'][data-disease=hypertension]").count() == 0

        doctor.goto(server.url + f"/care/persons/{pid}")
        assert doctor.locator("svg.chart").count() >= 1
        assert "126/78" in doctor.inner_text("table.history")

        dash.reload()
        assert _controlled(dash) == before + 1
        dash.click("section.figure details summary")
        assert dash.locator("table.trend tbody tr").count() == INSIDE_WINDOW.month  # the figures beside the chart
    finally:
        official.close()


def test_the_official_finds_each_gps_pay_from_the_dashboard(browser: object, server: Running,
                                                            care: tuple[str, str, str]) -> None:
    """The consortium admin follows the dashboard's link to the GP pay; every row's components add up to its total
    and the village clinic's GP gets the village allowance."""
    from yigongti.core.money import parse_yuan

    village = care[0]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(60_000)  # the first dashboard computes the measures
    try:
        _sign_in(pg, server, "br-cons")
        pg.goto(server.url + "/care/dashboard")
        pg.click("a[href^='/care/gp-pay']")
        pg.wait_for_url(re.compile(r"/care/gp-pay\?year=\d{4}"))
        assert "家庭医生薪酬" in pg.inner_text("h1")
        rows = pg.locator("table.gp-pay tbody tr")
        assert rows.count() >= 1
        seen = set()
        for i in range(rows.count()):
            cells = [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
            base, quality, rural, total = (parse_yuan(x.replace(",", "")) for x in cells[-4:])
            assert base + quality + rural == total
            seen.add(cells[1])
            if cells[1] == village:
                assert rural == server.app.state.ctx.policy.care.gp_pay.village_allowance
        assert village in seen
    finally:
        context.close()


AXE = Path(__file__).resolve().parents[2] / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.mark.skipif(not AXE.is_file(), reason="needs axe-core: cd tests/browser && npm ci")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_care_pages_have_no_serious_accessibility_violation(browser: object, server: Running,
                                                                care: tuple[str, str, str], lang: str) -> None:
    """axe-core (as in test_accessibility.py) on the doctor's pages and the dashboard at 390 px."""
    village, consortium, pid = care
    problems = {}
    for username, paths in (("br-gp", ("/care", f"/care/persons/{pid}", f"/care/persons/{pid}/followup")),
                            ("br-cons", ("/care/dashboard", f"/care/dashboard?consortium={consortium}",
                                         f"/care/dashboard?consortium={consortium}&inst={village}&disease=diabetes",
                                         "/care/gp-pay"))):
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", bypass_csp=True)
        context.add_cookies([{"name": "ygt_lang", "value": lang, "url": server.url}])
        pg = context.new_page()
        pg.set_default_timeout(45_000)
        try:
            _sign_in(pg, server, username)
            for path in paths:
                pg.goto(server.url + path)
                pg.add_script_tag(path=str(AXE))
                found = pg.evaluate("""async () => {
                    const r = await axe.run(document, {resultTypes: ['violations']});
                    return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                        .map(v => ({id: v.id, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
                }""")
                if found:
                    problems[f"{lang} {path}"] = found
        finally:
            context.close()
    assert not problems, problems
