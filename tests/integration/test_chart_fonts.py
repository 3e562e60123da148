"""Charts of the reports speak Chinese first: with a Chinese font installed (``scripts/services.sh`` installs Debian's
fonts-wqy-microhei), labels are Chinese and English and every glyph is drawn; without one they would be boxes."""

from __future__ import annotations

import warnings
from typing import Any

from yigongti.core.reports import CJK_FONTS, chart_png, chart_text, cjk_font, pyplot

TITLE = ("逐月预算与支出", "Budget vs spending by month")


def _missing_glyphs(draw: Any) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = chart_png(draw)
    assert png.startswith(b"\x89PNG")
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_a_chinese_font_is_found_and_labels_are_chinese_first() -> None:
    font = cjk_font()
    assert font in CJK_FONTS
    assert chart_text(*TITLE) == "逐月预算与支出 Budget vs spending by month"


def test_every_glyph_of_a_chinese_label_is_drawn() -> None:
    def draw(ax: Any) -> None:
        ax.bar([1, 2], [3, -4], label=chart_text("医共体内", "in-network"))
        ax.set_title(chart_text(*TITLE))
        ax.set_ylabel(chart_text("元", "yuan"))
        ax.legend()

    assert _missing_glyphs(draw) == []


def test_without_the_chinese_font_the_same_label_loses_its_glyphs() -> None:
    # what the check above guards against: the default font has no Chinese glyphs
    plt = pyplot()
    saved = list(plt.rcParams["font.sans-serif"])
    plt.rcParams["font.sans-serif"] = ["DejaVu Sans"]
    try:
        missing = _missing_glyphs(lambda ax: ax.set_title(chart_text(*TITLE)))
    finally:
        plt.rcParams["font.sans-serif"] = saved
    assert missing
