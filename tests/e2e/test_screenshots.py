"""Screenshots of the main pages at a phone and a desktop width (issue 16, item 4), looked at before each release.

Every page of :data:`SCREENS` (the list docs/en/web.md gives) is opened in chromium at 390 and 1440 px as whom it is
for, saved as a full-page PNG into a folder under pytest's temporary directory (or ``$YIGONGTI_SCREENSHOTS`` when set,
to keep them for the review), and must render (text in ``<main>``, a picture of many colours, the window's width)
without scrolling sideways. The example county has no previous year (the dashboard says 「上年无数据」); a small demo
county with a whole previous year shows the dashboard's cards with their trend and the burn chart with last year.
Needs only chromium and Playwright (not axe-core, unlike test_accessibility.py).
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from browser_fixtures import INSIDE_WINDOW, PASSWORD, Running, free_port, needs_chromium, sign_in

from yigongti.app.factory import create_app
from yigongti.demo.county import write_demo_county
from yigongti.platform.accounts import create_user
from yigongti.platform.settings import Settings

pytestmark = needs_chromium

WIDTHS = (390, 1440)
SCREENS: dict[str, tuple[str, ...]] = {
    "": ("/login",),
    "bureau1": ("/dashboard", "/dashboard?consortium=G1", "/dashboard?consortium=G1&inst=G1-T2", "/registry",
                "/head-counts", "/persons", "/finance", "/indicators", "/map", "/finance/agreements"),
    "g2admin": ("/dashboard",),
    "resident1": ("/household", "/persons/R0026/claims", "/persons/R0026/choose?consortium=G1"),
}
"""The example county's main pages, by who opens them ("" signed out)."""
DEMO_SCREENS = ("/dashboard", "/dashboard?consortium=510727-G1", "/dashboard?consortium=510727-G1&inst=510727-T01")
"""The demo county's dashboards (a whole previous year: the trend against last year)."""


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kept = os.environ.get("YIGONGTI_SCREENSHOTS")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("demo-shots") / "county"
    write_demo_county(folder, persons=1_500, seed=2)
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("demo-serve"), data_folder=folder,
                              today=INSIDE_WINDOW, demo_accounts=False))
    ctx = app.state.ctx
    with ctx.sessions.begin() as s:
        create_user(s, username="demo-bureau", password=PASSWORD, role="insurance_bureau", county_code="510727",
                    now=ctx.clock.now())
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Running(app, f"http://127.0.0.1:{port}")
    srv.should_exit = True
    thread.join(timeout=10)
    ctx.engine.dispose()


def _name(path: str) -> str:
    return path.strip("/").replace("/", "_").replace("?", "_").replace("=", "-").replace("&", "_") or "home"


def _shoot(pg: object, url: str, target: Path, width: int) -> None:
    """Open ``url``, save the full page as ``target`` and check it: no sideways scroll, text in main, a picture."""
    from PIL import Image

    pg.goto(url)
    pg.wait_for_load_state()
    wide = pg.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    assert wide <= width, (url, width, wide)
    assert pg.locator("main h1").count() == 1 and len(pg.inner_text("main").strip()) >= 8, (url, "empty main")
    body = pg.screenshot(path=str(target), full_page=True)
    image = Image.open(io.BytesIO(body)).convert("RGB")
    assert image.width == width and image.height >= 400, (target, image.size)
    colours = image.resize((64, 64)).getcolors(64 * 64)
    assert colours is None or len(colours) > 20, (target, "blank or nearly blank")


def _context(browser: object, width: int) -> object:
    return browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")


@pytest.mark.parametrize("width", WIDTHS)
def test_screenshots_of_the_main_pages(browser: object, server: Running, shots: Path, width: int) -> None:
    taken = []
    for username, paths in SCREENS.items():
        context = _context(browser, width)
        pg = context.new_page()
        pg.set_default_timeout(45_000)
        try:
            if username:
                sign_in(pg, server, username)
                pg.wait_for_load_state()
            for path in paths:
                target = shots / f"{username or 'anonymous'}-{_name(path)}-{width}.png"
                _shoot(pg, server.url + path, target, width)
                taken.append(target)
        finally:
            context.close()
    assert len(taken) == sum(len(p) for p in SCREENS.values())
    assert all(t.stat().st_size > 10_000 for t in taken)


@pytest.mark.parametrize("width", WIDTHS)
def test_screenshots_of_the_dashboards_with_last_year(browser: object, demo_server: Running, shots: Path,
                                                       width: int) -> None:
    context = _context(browser, width)
    pg = context.new_page()
    pg.set_default_timeout(60_000)  # the first dashboard waits for both years' figures
    try:
        sign_in(pg, demo_server, "demo-bureau")
        pg.wait_for_load_state()
        for path in DEMO_SCREENS:
            _shoot(pg, demo_server.url + path, shots / f"demo-{_name(path)}-{width}.png", width)
            cards = pg.inner_text("ul.kpis")
            assert "较上年" in cards and "上年无数据" not in cards, (path, cards)
        pg.goto(demo_server.url + "/dashboard")
        assert pg.locator("#chart-burn ~ svg polyline[stroke-dasharray]").count() == 1
    finally:
        context.close()
