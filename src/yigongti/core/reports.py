"""Report plumbing (报告基础) shared by every report: charts drawn headless with matplotlib in a Chinese font when one
is installed, PNG bytes without time stamps, and xlsx files whose bytes depend on content only."""

from __future__ import annotations

import functools
import io
import re
import zipfile
from pathlib import Path
from typing import Any

__all__ = ["CJK_FONTS", "chart_png", "chart_text", "cjk_font", "deterministic_zip", "pyplot"]

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


def chart_png(draw: Any, *, size: tuple[float, float] = (7.0, 3.2)) -> bytes:
    """Render ``draw(ax)`` to PNG bytes without time stamps (so the same data give the same bytes)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=size, dpi=100)
    try:
        draw(ax)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        return buf.getvalue()
    finally:
        plt.close(fig)


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
