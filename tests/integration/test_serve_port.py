"""``yigongti serve --port`` (``make run PORT=...``): a port already taken is said at once, before anything else is
printed and before the database is prepared; the login page says which demo account to try first."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from yigongti.app.cli import port_refused
from yigongti.app.factory import create_app
from yigongti.enrollment.portal import age_on, may_choose_for
from yigongti.enrollment.store import PersonRow
from yigongti.platform.accounts_store import UserRow
from yigongti.platform.settings import Settings

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_a_taken_port_is_refused_before_anything_else(taken_port: int, tmp_path: Path) -> None:
    data_dir = tmp_path / "platform"
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "yigongti.cli", "serve", "--port", str(taken_port),
                           "--data-dir", str(data_dir), "--persons", "10"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 3, done.stderr
    assert done.stdout == ""  # no address, no accounts
    assert f"端口 {taken_port} 已被占用" in done.stderr and f"--port {taken_port + 1}" in done.stderr
    assert f"PORT={taken_port + 1}" in done.stderr
    assert not data_dir.exists()  # nothing prepared


def test_a_free_port_is_accepted() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    assert port_refused("127.0.0.1", port) is None


def test_the_login_page_names_the_demo_account_to_try_first(tmp_path: Path, example_input: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, data_folder=example_input))
    try:
        page = TestClient(app).get("/login").text
        resident = next(u for role, u, _ in app.state.ctx.demo_accounts if role == "resident")
        assert "先试试演示账户" in page and f"<strong>{resident}</strong>" in page
        assert all(p not in page for _, _, p in app.state.ctx.demo_accounts)  # never a password on a page
        # the demo resident is an adult who may choose for other members of the household
        ctx = app.state.ctx
        with ctx.sessions() as s:
            user = s.scalar(select(UserRow).where(UserRow.username == resident))
            person = s.get(PersonRow, user.person_id)
            assert age_on(person.birth_date, ctx.clock.today()) >= ctx.policy.enrollment.adult_age
            assert len(may_choose_for(s, person.person_id, policy=ctx.policy.enrollment, on=ctx.clock.today())) >= 2
    finally:
        app.state.ctx.engine.dispose()
