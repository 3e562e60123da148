"""The simulator's report page in chromium: an official ticks the scenarios to compare and reads their rows."""

from __future__ import annotations

from pathlib import Path

from yigongti.simulator.domain import CountyYear, SimulationResult, load_scenarios
from yigongti.simulator.report import write_report

SCENARIOS = """
[scenarios.baseline]
label = "现行政策 Current policy"
[scenarios.low_copay]
label = "基层低自付 Lower primary copay"
[scenarios.fee_for_service]
payment = "fee_for_service"
"""


def _row(scenario: str, replicate: int, year: int, primary: int) -> CountyYear:
    return CountyYear("demo", scenario, "global_budget", replicate, year, 1000, 4000, 150, 120, primary,
                      9_000_000, 6_000_000, 7_000_000, 6_500_000, 500_000, 10)


def test_the_official_picks_the_scenarios_compared(browser: object, tmp_path: Path) -> None:
    scenarios = load_scenarios(SCENARIOS)
    result = SimulationResult(scenarios, ["demo"], 1, 2, 1,
                              rows=[_row(s.name, r, 2027, 2000 + 100 * i + r) for i, s in enumerate(scenarios)
                                    for r in (1, 2)],
                              observed=[_row("observed", 0, 2026, 2000)])
    write_report(result, tmp_path)
    context = browser.new_context(locale="zh-CN")  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto((tmp_path / "report.html").as_uri())
    rows = page.locator("#compare tbody tr")
    assert rows.count() == 3 and page.locator("#compare tbody tr:visible").count() == 3
    assert "基层低自付" in rows.nth(1).inner_text()
    page.get_by_label("现行政策 Current policy").uncheck()
    page.get_by_label("fee_for_service").uncheck()
    visible = page.locator("#compare tbody tr:visible")
    assert visible.count() == 1 and "基层低自付" in visible.first.inner_text()
    page.get_by_label("fee_for_service").check()
    assert page.locator("#compare tbody tr:visible").count() == 2
    context.close()
