"""Dashboards during warm-up (issue 16): while the year's figures are being computed, a page says 正在计算 (503 with
``Retry-After``) after the cache's ``wait`` instead of waiting for them, and no lock holds a request longer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, make_user, page_client
from fastapi import FastAPI

from yigongti.app.factory import create_app
from yigongti.budget.analytics import FiguresPending
from yigongti.platform.settings import Settings

WAIT = 0.3


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, example_input: Path) -> Iterator[FastAPI]:
    a = create_app(Settings(data_dir=tmp_path_factory.mktemp("warm"), data_folder=example_input, today=INSIDE_WINDOW,
                            demo_accounts=False, figures_wait_seconds=WAIT))
    make_user(a, "warm-bureau", "insurance_bureau", county_code="513433")
    yield a
    a.state.ctx.engine.dispose()


def _wait_ready(cache: object, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            cache.get()  # type: ignore[attr-defined]
            cache.last_year()  # type: ignore[attr-defined]
            return
        except FiguresPending:
            assert time.monotonic() < deadline, "the figures were never computed"
            time.sleep(0.2)


def test_a_page_says_computing_while_the_figures_are_held_up(app: FastAPI) -> None:
    cache = app.state.ctx.figures
    _wait_ready(cache)
    c = page_client(app, "warm-bureau")
    try:
        assert c.get("/dashboard").status_code == 200
        cache._figures = None  # as after a start: not computed yet
        with cache._lock:  # a computation that takes long (here: held by the test)
            started = time.monotonic()
            page = c.get("/dashboard")
            took = time.monotonic() - started
            assert page.status_code == 503, page.text[:500]
            assert "正在计算" in page.text and page.headers["Retry-After"] == "1"
            assert "warm-bureau" in page.text or "退出" in page.text  # the signed-in header stays
            assert 'href="/dashboard"' in page.text  # the reload link
            assert took < WAIT + 5, took  # waited about ``wait``, not for the lock
            api = c.get("/api/persons/R0026/claims")
            assert api.status_code in (503, 401, 403, 404), api.status_code
        _wait_ready(cache)  # the computation goes on once the lock is free; the next request finds the figures
        assert c.get("/dashboard").status_code == 200
    finally:
        c.close()


def test_the_computation_runs_once_for_many_waiting_callers(app: FastAPI) -> None:
    cache = app.state.ctx.figures
    _wait_ready(cache)
    cache._figures = None
    with cache._lock:
        for _ in range(5):
            with pytest.raises(FiguresPending):
                cache.get()
        running = [t for t in __import__("threading").enumerate() if t.name == "figures-year"]
        assert len(running) == 1, running
    _wait_ready(cache)
    assert cache.get() is not None


def test_the_warm_up_outlasts_the_wait(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the warm-up thread (``serve``'s start) waited ``wait`` seconds for the year, then died of
    FiguresPending with a traceback in the log, and last year's figures were not warmed."""
    cache = app.state.ctx.figures
    _wait_ready(cache)
    died: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: died.append(args.exc_value))
    cache._figures = None  # as after a start: not computed yet
    with cache._lock:  # the year's computation held up past ``wait``
        cache.warm()
        time.sleep(3 * WAIT)
    warm = [t for t in threading.enumerate() if t.name == "figures"]
    for t in warm:
        t.join(120)
    assert not died, died
    assert warm and not any(t.is_alive() for t in warm) and cache._figures is not None
