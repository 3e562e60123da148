"""Report plumbing (报告基础) shared by every report: charts drawn headless with matplotlib in a Chinese font when one
is installed, PNG bytes without time stamps, and xlsx files whose bytes depend on content only."""

from __future__ import annotations

import functools
import io
import multiprocessing
import os
import re
import zipfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["CJK_FONTS", "PRINT_DPI", "PRINT_WIDTH_IN", "REPORT_WORKERS_ENV", "chart_png", "chart_text", "chart_title",
           "cjk_font", "deterministic_zip", "legend_outside", "plain_axis", "pyplot", "report_workers",
           "spawned_pool", "wan_yuan"]

REPORT_WORKERS_ENV = "YIGONGTI_REPORT_WORKERS"
"""Environment variable: processes that render reports (a settlement's per-consortium reports, a province's
appraisal report; default: the machine's cores, at most 8; ``1`` renders them in this process). The files are
byte-identical whatever the number."""

PRINT_DPI = 150
"""Charts are drawn for print: an A4 page at 150 dpi (a printed figure of 6.7 inches is 1,005 pixels wide)."""
PRINT_WIDTH_IN = 6.7
"""The text width of an A4 page with 2 cm margins, in inches: a chart this wide prints at 100 %."""

CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "Microsoft YaHei", "SimHei", "PingFang SC")
"""Fonts with simplified Chinese glyphs that charts use when the machine has one (first found wins); Debian's
``fonts-wqy-microhei`` (1.6 MB) or ``fonts-noto-cjk`` provide one."""
_CJK_FILES = ("notosanscjk", "sourcehansans", "wqy-", "msyh", "simhei", "pingfang")


@functools.cache
def cjk_font() -> str | None:
    """The first of :data:`CJK_FONTS` installed on this machine, or None. Fonts installed after matplotlib built
    its font cache are found among the system fonts and added."""
    from matplotlib import font_manager

    def installed() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((n for n in CJK_FONTS if n in names), None)

    found = installed()
    if found is None:
        for path in font_manager.findSystemFonts():
            if any(k in Path(path).name.lower() for k in _CJK_FILES):
                font_manager.fontManager.addfont(path)
        found = installed()
    return found


def chart_text(zh: str, en: str) -> str:
    """A chart's title, axis label or legend entry: Chinese first, then English, when a Chinese font is installed
    (:func:`cjk_font`); English alone otherwise (a chart without the glyphs would show empty boxes)."""
    return f"{zh} {en}" if cjk_font() else en


def chart_title(zh: str, en: str) -> str:
    """A chart's title: Chinese on the first line and English on the second (one long line overlapped the next
    chart's title at print size); English alone without a Chinese font."""
    return f"{zh}\n{en}" if cjk_font() else en


def wan_yuan(fen: int) -> float:
    """Fen as 万元 (10,000 yuan) for a money axis: a county's budget reads 1,234 万元, never ``1e6``. For plotting only;
    every printed figure is exact text (:func:`yigongti.core.labels.format_money`)."""
    return fen / 1_000_000


def plain_axis(ax: Any, axis: str = "y", *, decimals: int = 0) -> None:
    """Tick labels of ``axis`` with thousands separators, never in scientific notation or with an offset."""
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _pos: f"{v:,.{decimals}f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def legend_outside(ax: Any, *, columns: int = 3) -> None:
    """The legend under the plot, outside the bars (it covered the bars inside the axes)."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=columns, frameon=False, fontsize=8)


@functools.cache
def pyplot() -> Any:
    """matplotlib's pyplot, headless (Agg), set once to draw text in the Chinese font when one is installed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font()
    if font is not None:
        matplotlib.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
        matplotlib.rcParams["font.family"] = "sans-serif"
        matplotlib.rcParams["axes.unicode_minus"] = False  # the CJK fonts lack U+2212
    return plt


def chart_png(draw: Any, *, size: tuple[float, float] = (PRINT_WIDTH_IN, 3.4)) -> bytes:
    """Render ``draw(ax)`` to PNG bytes at print size (:data:`PRINT_DPI`) without time stamps (so the same data
    give the same bytes); what is drawn outside the axes (a legend under the plot) is kept."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=size, dpi=PRINT_DPI)
    try:
        draw(ax)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=PRINT_DPI, bbox_inches="tight", pad_inches=0.1,
                    metadata={"Software": None})
        return buf.getvalue()
    finally:
        plt.close(fig)


def report_workers() -> int:
    """The processes reports are rendered with: :data:`REPORT_WORKERS_ENV`, else the cores (at most 8)."""
    raw = os.environ.get(REPORT_WORKERS_ENV, "").strip()
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            raise ValueError(f"{REPORT_WORKERS_ENV}={raw!r}: expected a whole number of processes "
                             "/ 应为进程数") from None
    return max(1, min(os.cpu_count() or 1, 8))


def spawned_pool(workers: int, *, initializer: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes that render reports: spawned, not forked (the parent may hold DuckDB's and
    the hasher's threads); they talk with this one through pipes only."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=initializer)


def deterministic_zip(data: bytes, *, stamp: str) -> bytes:
    """Rewrite an xlsx so that its bytes depend on content only: fixed zip times and document dates."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)",
                                 rb"\g<1>" + stamp.encode() + rb"\g<2>", content)
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, content)
    return out.getvalue()
