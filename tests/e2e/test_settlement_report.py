"""The settlement report opened in chromium from the file a bureau receives: four charts drawn as inline SVG, each
named for a screen reader with its table of values under it, every label inside its chart and no two labels on top
of each other, and a narrow (phone) window scales the charts down instead of cutting them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yigongti.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from test_settle_example import example_folder  # noqa: E402

LABELS = """() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const box = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll('text')].map(t => {
    const r = t.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, t.textContent]; });
  return {id: svg.id, name: svg.getAttribute('aria-labelledby').split(' ').map(i => document.getElementById(i)
          .textContent), box: [box.left, box.top, box.right, box.bottom], texts,
          table: svg.parentElement.nextElementSibling.tagName};
})"""


@pytest.fixture(scope="module")
def report(example_input: Path, example_expected: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = example_folder(example_input, example_expected, tmp_path_factory.mktemp("county"))
    target = tmp_path_factory.mktemp("out")
    result = CliRunner().invoke(app, ["settle", "--data", str(folder), "--year", "2026", "--out", str(target)])
    assert result.exit_code == 0, result.output
    return target / "reports" / "settlement-G2.html"


def _overlap(a: list[float], b: list[float]) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


@pytest.mark.parametrize("width", [1000, 390])
def test_the_charts_are_named_inside_their_box_and_legible(browser: object, report: Path, width: int) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(report.as_uri())
    charts = page.evaluate(LABELS)
    assert [c["id"] for c in charts] == ["chart-monthly", "chart-tiers", "chart-top", "chart-split"]
    for chart in charts:
        title, desc = chart["name"]
        assert title.split(" / ")[0] and " / " in title and "下表" in desc, chart["id"]
        assert chart["table"] == "TABLE"  # the values under the chart
        left, top, right, bottom = chart["box"]
        assert right <= width  # scaled down on a phone, never cut
        texts = chart["texts"]
        assert texts and all(t[2] > t[0] for t in texts)  # drawn: the browser has a font for the Chinese text
        for t in texts:
            assert left - 1 <= t[0] and t[2] <= right + 1 and top - 1 <= t[1] and t[3] <= bottom + 1, (chart["id"], t)
        for i, a in enumerate(texts):
            for b in texts[i + 1:]:
                small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
                assert _overlap(a, b) <= 0.25 * small, (chart["id"], a[4], b[4])
    context.close()
