"""Fixtures of the browser tests: the app on uvicorn (a free loopback port, the example county, a resident R0026 and
a bureau official), Debian's chromium, a phone-sized page. Helpers and constants: browser_fixtures.py.

Each module gets a server of its own (its tests change what the county holds), on a copy of the example county loaded
once per run (prepared_dirs.py). One chromium serves all the modules of this folder (each test opens its own browser
context: its own cookies and storage); it is closed after the folder's last test, so that no Playwright event loop is
left running in the thread of the tests that follow (``asyncio.run`` refuses to start inside one)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from browser_fixtures import CHROMIUM, CHROMIUM_ARGS, INSIDE_WINDOW, PASSWORD, Running, free_port, playwright_api

from prepared_dirs import prepared_data_dir
from yigongti.app.factory import create_app
from yigongti.platform.accounts import create_user
from yigongti.platform.settings import Settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, example_input: Path) -> Iterator[Running]:
    data_dir = prepared_data_dir(tmp_path_factory, tmp_path_factory.mktemp("e2e"), example_input, INSIDE_WINDOW)
    app = create_app(Settings(data_dir=data_dir, data_folder=example_input, today=INSIDE_WINDOW, demo_accounts=False))
    ctx = app.state.ctx
    with ctx.sessions.begin() as s:
        create_user(s, username="resident1", password=PASSWORD, role="resident", person_id="R0026", now=ctx.clock.now())
        create_user(s, username="bureau1", password=PASSWORD, role="insurance_bureau", county_code="513433",
                    now=ctx.clock.now())
        create_user(s, username="g2admin", password=PASSWORD, role="consortium_admin", consortium_id="G2",
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


HERE = Path(__file__).resolve().parent
_CHROMIUM: list[tuple[object, object]] = []  # (Playwright, its chromium) while this folder's tests run


@pytest.fixture(scope="module")
def browser() -> object:
    """The folder's one chromium, launched by the first module that asks for it."""
    if not _CHROMIUM:
        p = playwright_api.sync_playwright().start()
        _CHROMIUM.append((p, p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)))
    return _CHROMIUM[0][1]


def _close_chromium() -> None:
    while _CHROMIUM:
        p, b = _CHROMIUM.pop()
        b.close()
        p.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After the fixtures of the folder's last test are torn down: close chromium and stop Playwright."""
    try:
        return (yield)
    finally:
        if nextitem is None or HERE not in nextitem.path.parents:
            _close_chromium()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A run stopped early (``-x``, Ctrl-C) does not reach the folder's last test: close chromium here."""
    _close_chromium()


@pytest.fixture
def page(browser: object, server: Running) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")  # a phone
    pg = context.new_page()
    pg.set_default_timeout(45_000)
    yield pg
    context.close()
    server.app.state.ctx.clock.fixed = INSIDE_WINDOW
