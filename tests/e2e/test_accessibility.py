"""Accessibility measured in a real browser (issue 16, item 4): axe-core on every page at a phone and a desktop width,
zero serious or critical violations; sign-in and choosing with the keyboard alone; ``lang`` per language. (The
screenshots of the main pages at both widths are test_screenshots.py's: the same pages and more, with its checks.)

axe-core comes from the npm registry (tests/browser/package.json, pinned; ``npm ci`` in scripts/services.sh, run by
``make test``) and is injected from the local file by Playwright: nothing is fetched at run time. Skipped when chromium,
Playwright or the installed axe-core is missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_fixtures import PASSWORD, Running, needs_chromium, sign_in
from starlette.routing import compile_path

from app_routes import get_paths
from simulation_runs import finished_run
from yigongti.platform.accounts import create_user

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (390, 1440)

pytestmark = [needs_chromium,
              pytest.mark.skipif(not AXE.is_file(), reason="needs axe-core: cd tests/browser && npm ci")]

OFFICIAL = ("/dashboard", "/dashboard?consortium=G1", "/dashboard?consortium=G1&inst=G1-T2",
            "/dashboard?consortium=G1&sort=head_count&dir=desc", "/registry", "/registry?q=卫生院&sort=tier",
            "/head-counts", "/head-counts?year=2026", "/head-counts?year=2026&view=movements", "/persons",
            "/persons?page=2&sort=birth_date", "/finance", "/indicators", "/map", "/no-such-page", "/referral-flows",
            "/diagnoses/centres")
RESIDENT = ("/household", "/persons/R0026/claims", "/persons/R0026/record", "/persons/R0026/record/openings",
            "/persons/R0026/choose", "/persons/R0026/choose?consortium=G1",
            "/persons/R0026/choose?consortium=G1&township=G1-T2")
ANONYMOUS = ("/login",)


def _axe(page: object) -> list[dict[str, object]]:
    """The serious and critical violations axe-core finds on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in found if v["impact"] in ("serious", "critical")]


def _context(browser: object, server: Running, width: int, lang: str = "zh") -> object:
    """A browser window of ``width``; the CSP is bypassed only so that Playwright may inject axe-core (the pages'
    own policy forbids inline scripts)."""
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN", bypass_csp=True)
    context.add_cookies([{"name": "ygt_lang", "value": lang, "url": server.url}])
    return context


def _axe_at_each_width(page: object, widths: tuple[int, ...]) -> dict[int, list[dict[str, object]]]:
    """axe-core on the page as loaded, the window resized to each of ``widths`` in turn (the pages have no script: a
    resize re-applies the style sheet's media queries, the same layout as loading the page at that width)."""
    assert page.evaluate("document.scripts.length") == 0, (page.url, "a script may lay the page out per width")
    found: dict[int, list[dict[str, object]]] = {}
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        found[width] = _axe(page)
    return found


PAGES = {"": ANONYMOUS, "bureau1": OFFICIAL, "resident1": RESIDENT}
"""The pages of the sweeps in a language or display mode, by who opens them ("" signed out)."""


def _sweep(browser: object, server: Running, widths: tuple[int, ...], variants: tuple[tuple[str, str], ...],
           pages: dict[str, tuple[str, ...]] = PAGES) -> dict[int, dict[str, list[dict[str, object]]]]:
    """axe-core on every page, signed in as whom it is for (the sign-in page anonymous), in each (language, display
    mode) of ``variants``, at each of ``widths`` (each page loaded once); ``<html lang>`` must name the page's
    language. The violations found, by width and page."""
    problems: dict[int, dict[str, list[dict[str, object]]]] = {width: {} for width in widths}
    for username, paths in pages.items():
        if not paths:
            continue
        for lang, display in variants:
            context = _context(browser, server, widths[0], lang)
            context.add_cookies([{"name": "ygt_display", "value": display, "url": server.url}])
            pg = context.new_page()
            pg.set_default_timeout(45_000)
            try:
                if username:
                    sign_in(pg, server, username)
                    pg.wait_for_load_state()
                for path in paths:
                    pg.set_viewport_size({"width": widths[0], "height": 900})
                    pg.goto(server.url + path)
                    assert pg.get_attribute("html", "lang") == ("en" if lang == "en" else "zh-CN"), (path, lang)
                    for width, found in _axe_at_each_width(pg, widths).items():
                        if found:
                            problems[width][f"{width}px {lang} {display} {path}"] = found
            finally:
                context.close()
    return problems


# the role sweep's account of the same role as each account of PAGES (the same anchor: county 513433, person R0026)
SAME_ROLE = {"": "", "bureau1": "sweep-bureau", "resident1": "sweep-resident"}


@pytest.fixture(scope="module")
def chinese_sweep(browser: object, server: Running,
                  role_sweep: RoleSweep) -> dict[int, dict[str, list[dict[str, object]]]]:
    """The sweep in Chinese at both widths, run once for the module (each page loaded once, axe-core at each width),
    on the pages of PAGES that the role sweep (also in Chinese, at both widths, same checks) did not open as the same
    role: the addresses with a query (a consortium, a sort, a page) and the missing page. The role sweep's findings
    on the others count here too, so that this test still covers every page of PAGES."""
    left = {user: tuple(p for p in paths if p not in role_sweep.opened.get(SAME_ROLE[user], set()))
            for user, paths in PAGES.items()}
    assert sum(map(len, left.values())) < sum(map(len, PAGES.values())), left  # the role sweep opened some
    problems = _sweep(browser, server, WIDTHS, (("zh", ""),), left)
    for width in WIDTHS:
        for user, paths in PAGES.items():
            for path in set(paths) - set(left[user]):
                found = role_sweep.problems[width].get(f"{width}px {SAME_ROLE[user] or 'anonymous'} {path}")
                if found:
                    problems[width][f"{width}px zh  {path}"] = found
    return problems


@pytest.mark.parametrize("width", WIDTHS)
def test_no_serious_or_critical_violation_on_any_page(chinese_sweep: dict[int, dict[str, list[dict[str, object]]]],
                                                      width: int) -> None:
    """Every page in Chinese at a phone and a desktop width: nothing serious or critical."""
    problems = chinese_sweep[width]
    assert problems == {}, json.dumps(problems, ensure_ascii=False, indent=1)


@pytest.fixture(scope="module")
def english_and_contrast_sweep(browser: object, server: Running) -> dict[int, dict[str, list[dict[str, object]]]]:
    return _sweep(browser, server, WIDTHS, (("en", ""), ("zh", "large contrast")))


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_no_violation_in_english_or_in_large_text_with_high_contrast(
        english_and_contrast_sweep: dict[int, dict[str, list[dict[str, object]]]], width: int) -> None:
    """The same in English, and in large text with high contrast (about a minute a width: -m slow)."""
    problems = english_and_contrast_sweep[width]
    assert problems == {}, json.dumps(problems, ensure_ascii=False, indent=1)


# every role, as whom the sweep opens every page it may see (usernames of this module; created once per server)
SWEEP_ROLES = (("", "", {}), ("sweep-resident", "resident", {"person_id": "R0026"}),
               ("sweep-clinician", "clinician", {"inst_id": "G1-T2"}),
               ("sweep-institution", "institution_admin", {"inst_id": "G1-T2"}),
               ("sweep-consortium", "consortium_admin", {"consortium_id": "G1"}),
               ("sweep-bureau", "insurance_bureau", {"county_code": "513433"}),
               ("sweep-commission", "health_commission", {"county_code": "513433"}),
               ("sweep-admin", "system_admin", {}))
# GET routes that are not pages: downloads, the switches that set a cookie and go back, the API
NOT_PAGES = ("/api", "/static")
SWITCHES = {"/", "/lang/{lang}", "/display/{mode}"}
# pages with an id in their path that the sweep opens through the first link to them it finds on another page;
# those that no page of the example county links to, with the reason (the other tests open them)
SKIP = {
    "/public-health/cards/{card_id}": "the example county has no infectious-disease card until a clinician reports one "
                                      "(test_public_health_browser.py reports and opens one)",
    "/diagnoses/{order_id}": "the example county has no remote-diagnosis order until one is made "
                             "(test_centres_browser.py orders and opens one)",
    "/care/persons/{person_id}": "the example county has no chronic-disease registry until the care demo is seeded "
                                 "(test_care_browser.py seeds it and runs axe-core on this page)",
    "/care/persons/{person_id}/followup": "as /care/persons/{person_id} (test_care_browser.py runs axe-core on it)",
}
# pages with an id that no page links to (opened by typing the address): the address the sweep opens
SEEDS = {"/persons/{person_id}/record/openings": "/persons/R0026/record/openings"}


def _is_page(path: str) -> bool:
    return not (path.startswith(NOT_PAGES) or path.endswith((".csv", ".xlsx", ".json")) or path in SWITCHES)


@pytest.fixture(scope="module")
def sweep_accounts(server: Running) -> tuple[tuple[str, str, dict[str, str]], ...]:
    ctx = server.app.state.ctx
    with ctx.sessions.begin() as s:
        for username, role, anchor in SWEEP_ROLES:
            if username:
                create_user(s, username=username, password=PASSWORD, role=role, now=ctx.clock.now(), **anchor)
    finished_run(server.app)  # /simulator links to it: the sweep opens a run's page with its comparison
    return SWEEP_ROLES


@dataclass
class RoleSweep:
    problems: dict[int, dict[str, list[dict[str, object]]]]  # by width, then "<width>px <username> <url>"
    never: list[str]  # the page routes no role could open and no link led to
    opened: dict[str, set[str]]  # by username ("" signed out): the addresses it opened and swept


@pytest.fixture(scope="module")
def role_sweep(browser: object, server: Running,
               sweep_accounts: tuple[tuple[str, str, dict[str, str]], ...]) -> RoleSweep:
    """Every GET page route of the app (read from its router: a new page is swept without being listed here), as
    every role that may open it, each page loaded once and axe-core run on it at a phone's and a desktop's width.
    A page with an id in its path is opened through the first link to it found on the pages already swept."""
    routes = [p for p in dict.fromkeys(get_paths(server.app)) if _is_page(p)]
    plain = [p for p in routes if "{" not in p]
    with_ids = {p: compile_path(p)[0] for p in routes if "{" in p and p not in SKIP}
    assert "/dashboard" in plain and "/persons/{person_id}/claims" in with_ids, routes
    problems: dict[int, dict[str, list[dict[str, object]]]] = {width: {} for width in WIDTHS}
    swept: set[str] = set()
    opened: dict[str, set[str]] = {}
    for username, _role, _anchor in sweep_accounts:
        context = _context(browser, server, WIDTHS[0])
        pg = context.new_page()
        pg.set_default_timeout(45_000)
        links: list[str] = []
        try:
            if username:
                sign_in(pg, server, username)
                pg.wait_for_load_state()

            def sweep(url: str, route: str) -> None:
                pg.set_viewport_size({"width": WIDTHS[0], "height": 900})
                answer = pg.goto(server.url + url)
                if answer is None or answer.status != 200 or not pg.url.startswith(server.url + url.split("?")[0]):
                    return  # not this role's page (403, 404 or back to the sign-in page)
                swept.add(route)
                opened.setdefault(username, set()).add(url)
                assert pg.get_attribute("html", "lang") == "zh-CN", url
                links.extend(pg.eval_on_selector_all("a[href^='/']", "els => els.map(e => e.getAttribute('href'))"))
                for width, found in _axe_at_each_width(pg, WIDTHS).items():
                    if found:
                        problems[width][f"{width}px {username or 'anonymous'} {url}"] = found

            for path in plain:
                sweep(path, path)
            for route, pattern in with_ids.items():
                url = next((h for h in dict.fromkeys(links) if pattern.match(h.split("?")[0])), SEEDS.get(route))
                if url is not None:
                    sweep(url, route)
        finally:
            context.close()
    return RoleSweep(problems, sorted((set(plain) | set(with_ids)) - swept), opened)


@pytest.mark.parametrize("width", WIDTHS)
def test_axe_on_every_page_of_the_app_as_every_role(role_sweep: RoleSweep, width: int) -> None:
    """Every GET page route of the app, as every role that may open it, at a phone's and a desktop's width (one sweep
    for both, ``role_sweep``): zero serious or critical axe-core violations. A page no role could open, and no link
    led to, fails the test unless ``SKIP`` says why."""
    problems = role_sweep.problems[width]
    assert problems == {}, json.dumps(problems, ensure_ascii=False, indent=1)
    never = role_sweep.never
    assert never == [], ("pages no role could open and no link led to: add a link, or say why in SKIP", never)


def _focus(page: object, selector: str, *, tabs: int = 80) -> None:
    """Press Tab until the element ``selector`` matches has the focus (a keyboard user can reach it)."""
    for _ in range(tabs):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached with Tab")


def test_sign_in_and_choose_with_the_keyboard_alone(browser: object, server: Running) -> None:
    context = _context(browser, server, 390)
    pg = context.new_page()
    pg.set_default_timeout(45_000)
    try:
        pg.goto(server.url + "/login")
        _focus(pg, "input[name=username]")
        pg.keyboard.type("resident1")
        _focus(pg, "input[name=password]")
        pg.keyboard.type("browser-pass-1")
        _focus(pg, "main button[type=submit]")
        pg.keyboard.press("Enter")
        pg.wait_for_url("**/household")
        _focus(pg, "a[href='/persons/R0026/choose']")
        pg.keyboard.press("Enter")
        pg.wait_for_url("**/persons/R0026/choose")
        _focus(pg, "a[href='?consortium=G1']")
        pg.keyboard.press("Enter")
        pg.wait_for_url("**consortium=G1")
        _focus(pg, "a[href='?consortium=G1&township=G1-T2']")
        pg.keyboard.press("Enter")
        pg.wait_for_url("**township=G1-T2")
        _focus(pg, "input[name=village_id]")
        pg.keyboard.press("Space")
        assert pg.evaluate("document.activeElement.checked")
        _focus(pg, "main button[type=submit]")
        pg.keyboard.press("Enter")
        pg.wait_for_selector("h1.ok")
        assert "已受理" in pg.inner_text("h1")
    finally:
        context.close()


def test_focus_is_visible(browser: object, server: Running) -> None:
    """A keyboard user sees where the focus is: the focused link has an outline."""
    context = _context(browser, server, 1440)
    pg = context.new_page()
    try:
        pg.goto(server.url + "/login")
        _focus(pg, "a")
        outline = pg.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("none", ""), outline
    finally:
        context.close()
