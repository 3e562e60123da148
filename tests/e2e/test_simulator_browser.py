"""The simulator's page in a real browser (Debian's chromium, Playwright): a bureau official opens 试点模拟 from the
menu, ticks two scenarios, asks for 1 year and 2 replicates, starts the run; the run's page reloads itself until the
run is done and then shows the comparison, whose out-of-pocket figure is the report's band of the stored run. axe-core
finds nothing serious or critical on the form nor on the result (at a phone's and a desktop's width).

Uses the server and browser fixtures of tests/e2e/conftest.py (its own server for this module, the example county)."""

from __future__ import annotations

import re

import pytest
from browser_fixtures import Running, needs_chromium, sign_in
from test_accessibility import AXE, WIDTHS, _axe_at_each_width, _context

from yigongti.simulator import runs
from yigongti.simulator.report import band_text, summary_rows
from yigongti.simulator.store import SimulationRunRepository

pytestmark = needs_chromium


def test_an_official_picks_two_scenarios_and_reads_the_comparison(browser: object, server: Running) -> None:
    context = _context(browser, server, WIDTHS[0])  # bypasses the CSP only so that axe-core may be injected
    pg = context.new_page()
    pg.set_default_timeout(45_000)
    try:
        sign_in(pg, server, "bureau1")
        pg.wait_for_url("**/dashboard")
        pg.click("nav.tabs a[href='/simulator']")
        pg.wait_for_url("**/simulator")
        assert pg.locator("#start tr[data-scenario]").count() == 9
        if AXE.is_file():
            assert _axe_at_each_width(pg, WIDTHS) == {w: [] for w in WIDTHS}
        pg.check("tr[data-scenario='fee_for_service'] input[type=checkbox]")
        pg.check("tr[data-scenario='global_budget'] input[type=checkbox]")
        pg.fill("input[name=years]", "1")
        pg.fill("input[name=replicates]", "2")
        pg.fill("input[name=seed]", "3")
        pg.click("#start button[type=submit]")
        pg.wait_for_url(re.compile(r"/simulator/runs/\d+$"))
        run_id = int(pg.url.rsplit("/", 1)[1])
        pg.wait_for_selector("p.status[data-status='done'], p.status[data-status='failed']", timeout=180_000)
        assert pg.get_attribute("p.status", "data-status") == "done", pg.inner_text("main")

        ctx = server.app.state.ctx
        with ctx.sessions() as s:
            record = SimulationRunRepository(s).get(run_id)
        assert record is not None and record.results
        result = runs.decode_result(record.results, runs.RunParameters.from_json(record.parameters))
        oop = next(r for r in summary_rows(result)
                   if (r.scenario, r.year, r.metric) == ("global_budget", 2027, "out_of_pocket_share"))
        cell = pg.locator("section[data-metric='out_of_pocket_share'] tr[data-year='2027'] "
                          "td[data-scenario='global_budget']")
        assert cell.inner_text() == band_text(oop)
        assert pg.locator("svg.chart").count() == 4
        assert pg.locator("a[href$='/simulation.xlsx']").count() == 1
        if AXE.is_file():
            assert _axe_at_each_width(pg, WIDTHS) == {w: [] for w in WIDTHS}
        pg.click("a[href='/simulator']")
        pg.wait_for_url("**/simulator")
        assert pg.get_attribute(f"tr[data-run='{run_id}']", "data-status") == "done"
    finally:
        context.close()


@pytest.fixture(autouse=True)
def _no_run_left(server: Running) -> object:
    yield
    assert not runs.is_busy()
