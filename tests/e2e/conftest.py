"""Fixtures of the browser tests: the app on uvicorn (a free loopback port, the example county, a resident R0026 and
a bureau official), Debian's chromium, a phone-sized page. Helpers and constants: browser_fixtures.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from browser_fixtures import CHROMIUM, CHROMIUM_ARGS, INSIDE_WINDOW, PASSWORD, Running, free_port, playwright_api

from yigongti.app.factory import create_app
from yigongti.platform.accounts import create_user
from yigongti.platform.settings import Settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, example_input: Path) -> Iterator[Running]:
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("e2e"), data_folder=example_input,
                              today=INSIDE_WINDOW, demo_accounts=False))
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


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: object, server: Running) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")  # a phone
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()
    server.app.state.ctx.clock.fixed = INSIDE_WINDOW
