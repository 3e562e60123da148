"""Two real servers on one PostgreSQL database stand for the worker processes (or machines) of one platform: any of
them answers any request. Each is ``yigongti serve`` in a process of its own, with a data directory of its own (so
no secret key file is shared: the session-signing secret comes from the database).

- a page session signed in through A is valid at B, and B takes A's CSRF token on a form (sign-out), after which A
  refuses the cookie too;
- the sign-in limiter counts the wrong passwords of A and B together: the sixth, at B, waits (429);
- the care duty lists kept by B (a per-process cache) follow a write made by another process (an episode closed
  in place), through the database's stamp.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from store_fixtures import pg_unreachable, scratch_url

from yigongti.care.service import DUTY_STAMP, RegisterKey, register_key
from yigongti.care.store import KeyRegisterRow
from yigongti.care.uow import CareUnitOfWork
from yigongti.core.db import make_engine, make_session_factory
from yigongti.core.stamps import read_stamp
from yigongti.platform.accounts import Principal, Role

pytestmark = pytest.mark.postgres

TODAY = date(2026, 11, 25)
SRC = Path(__file__).resolve().parents[2] / "src"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(db_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    log = (data_dir.parent / f"{data_dir.name}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "yigongti.cli", "serve", "--db", db_url, "--port", str(port),
                             "--data-dir", str(data_dir), "--today", TODAY.isoformat(), "--persons", "400",
                             "--pool", "4", "--no-access-log"], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: "
                               f"{(data_dir.parent / f'{data_dir.name}.log').read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(url + "/login", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("server did not come up")


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str, Path]]:
    reason = pg_unreachable()
    if reason:
        pytest.skip(reason)
    with scratch_url("postgresql") as db_url:
        base = tmp_path_factory.mktemp("workers")
        procs = []
        try:
            a, url_a = _start(db_url, base / "a")  # migrates and loads the demo county
            procs.append(a)
            b, url_b = _start(db_url, base / "b")  # finds the database ready
            procs.append(b)
            yield url_a, url_b, db_url, base / "a"
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()


def _account(data_dir: Path, role: str) -> tuple[str, str]:
    accounts = tomllib.loads((data_dir / "demo-accounts.toml").read_text(encoding="utf-8"))["accounts"]
    a = next(x for x in accounts if x["role"] == role)
    return a["username"], a["password"]


def _signed_in(client: httpx.Client, data_dir: Path, role: str) -> None:
    username, password = _account(data_dir, role)
    r = client.post("/login", data={"username": username, "password": password,
                                    "csrf": _csrf(client.get("/login").text)})
    assert r.status_code == 303, r.text


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def _tables(html: str) -> list[str]:
    return re.findall(r"<table[\s\S]*?</table>", html)


def test_a_session_of_one_server_is_valid_at_the_other(two_servers: tuple[str, str, str, Path]) -> None:
    url_a, url_b, _, data_a = two_servers
    with httpx.Client(base_url=url_a, follow_redirects=False, timeout=60) as a:
        _signed_in(a, data_a, "insurance_bureau")
        page_a = a.get("/registry")
        assert page_a.status_code == 200
        cookies = dict(a.cookies)
        with httpx.Client(base_url=url_b, follow_redirects=False, timeout=60, cookies=cookies) as b:
            assert b.get("/registry").status_code == 200  # signed by A, accepted by B
            # a form of B with the CSRF token of A's page: the sign-out is taken
            r = b.post("/logout", data={"csrf": _csrf(page_a.text)})
            assert r.status_code == 303, r.text
        assert a.get("/registry").status_code in (302, 303, 307, 401)  # the session ended for A too


def test_the_sign_in_limiter_counts_both_servers(two_servers: tuple[str, str, str, Path]) -> None:
    url_a, url_b, _, data_a = two_servers
    username, _ = _account(data_a, "resident")
    codes = []
    for n in range(6):  # a burst of 5 per user name and address (the default), 3 at A then 3 at B
        with httpx.Client(base_url=url_a if n < 3 else url_b, timeout=60) as c:
            codes.append(c.post("/api/token", data={"username": username, "password": "wrong-password"}).status_code)
    assert codes == [401, 401, 401, 401, 401, 429]


def test_a_write_elsewhere_is_seen_by_the_cached_duty_page(two_servers: tuple[str, str, str, Path]) -> None:
    url_a, url_b, db_url, data_a = two_servers
    with httpx.Client(base_url=url_b, follow_redirects=False, timeout=120) as b:
        _signed_in(b, data_a, "health_commission")
        first = b.get("/care/duties")
        assert first.status_code == 200
        assert _tables(b.get("/care/duties").text) == _tables(first.text)  # kept: the same figures
        engine = make_engine(db_url)
        sessions = make_session_factory(engine)
        try:
            with sessions() as s:
                before = read_stamp(s, DUTY_STAMP)
                episode = s.scalars(select(KeyRegisterRow).where(KeyRegisterRow.end_date.is_(None),
                                                                 KeyRegisterRow.start_date < TODAY)
                                    .order_by(KeyRegisterRow.register_id)).first()
                assert episode is not None
                gp = Principal(user_id=0, username="gp", role=Role.CLINICIAN, inst_id=episode.inst_id)
                cmd = RegisterKey(episode.person_id, episode.population, episode.start_date, date(2026, 11, 24))
            with sessions() as s:  # another process closes the episode in place
                register_key(CareUnitOfWork(s), gp, cmd, now=datetime(2026, 11, 25, 9))
            with sessions() as s:
                assert read_stamp(s, DUTY_STAMP) == before + 1
        finally:
            engine.dispose()
        after = b.get("/care/duties")
        assert after.status_code == 200
        assert _tables(after.text) != _tables(first.text)  # B's cache saw it on the next request
