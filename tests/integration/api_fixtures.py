"""A running app on the worked example county for the API tests (SQLite file, "today" pinned inside the window).

``api_app`` is built once per test module, on a copy of the example county loaded once per run (prepared_dirs.py),
or, in a module that sets ``FIRST_START = True`` (it tests what a first start makes), in an empty data directory;
``make_user`` adds a user with a known password; ``login`` returns the Authorization header of a bearer token.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from prepared_dirs import prepared_data_dir
from yigongti.app.factory import create_app
from yigongti.platform.accounts import create_user
from yigongti.platform.settings import Settings

__all__ = ["INSIDE_WINDOW", "PASSWORD", "api_app", "client", "csrf_of", "login", "make_user", "page_client",
           "read_csv"]

INSIDE_WINDOW = date(2025, 11, 15)  # the 2026 switch window is 2025-10-01 .. 2025-12-31
PASSWORD = "test-password-1"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def api_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            example_input: Path) -> Iterator[FastAPI]:
    data_dir = tmp_path_factory.mktemp("serve")
    if not getattr(request.module, "FIRST_START", False):
        prepared_data_dir(tmp_path_factory, data_dir, example_input, INSIDE_WINDOW)
    app = create_app(Settings(data_dir=data_dir, data_folder=example_input, today=INSIDE_WINDOW,
                              demo_accounts=False, login_burst=3, login_refill_seconds=3600))
    yield app
    app.state.ctx.engine.dispose()


@pytest.fixture(scope="module")
def client(api_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(api_app) as c:
        yield c


def make_user(app: FastAPI, username: str, role: str, **anchor: str) -> str:
    ctx = app.state.ctx
    with ctx.sessions.begin() as s:
        create_user(s, username=username, password=PASSWORD, role=role, now=ctx.clock.now(), **anchor)
    return username


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "form without a CSRF token"
    return m.group(1)


def page_client(app: FastAPI, username: str, password: str = PASSWORD) -> TestClient:
    """A browser-like client signed in on the login page (a page session cookie); close it when done."""
    c = TestClient(app)
    r = c.post("/login", data={"username": username, "password": password, "csrf": csrf_of(c.get("/login").text)},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return c
