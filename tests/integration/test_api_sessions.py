"""Sessions end at once: sign-out, a password change and disabling a user end every page session and API token of
the user, in every worker process (two apps on one database stand for two workers, each with its token cache), on
SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, PASSWORD, api_app, client, login, make_user  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from store_fixtures import PG_URL, pg_unreachable

from yigongti.app.factory import create_app
from yigongti.core.db import make_engine
from yigongti.enrollment.store import ChoiceRepository
from yigongti.platform.settings import Settings


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "form without a CSRF token"
    return m.group(1)


def _page_login(c: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in on the login page; returns the session cookie."""
    r = c.post("/login", data={"username": username, "password": password, "csrf": _csrf(c.get("/login").text)},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(c.cookies["ygt_session"])


def test_page_cookie_is_dead_after_logout(api_app: FastAPI) -> None:  # noqa: F811
    make_user(api_app, "leaver", "insurance_bureau", county_code="513433")
    with TestClient(api_app) as c, TestClient(api_app) as other_device:
        cookie = _page_login(c, "leaver")
        headers = login(other_device, "leaver")
        page = c.get("/dashboard")
        assert page.status_code == 200
        assert c.post("/logout", data={"csrf": _csrf(page.text)}, follow_redirects=False).status_code == 303
        c.cookies.set("ygt_session", cookie)  # someone kept the cookie (a shared computer, a stolen copy)
        r = c.get("/dashboard", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert other_device.get("/api/me", headers=headers).status_code == 401  # sign-out ends every session
        c.cookies.clear()
        _page_login(c, "leaver")  # signing in again works
        assert c.get("/dashboard").status_code == 200


def test_cookie_without_epoch_is_refused(api_app: FastAPI) -> None:  # noqa: F811
    """A validly signed cookie of the old form ({"uid", "csrf"}) cannot outlive the upgrade."""
    ctx = api_app.state.ctx
    make_user(api_app, "old-cookie", "system_admin")
    with TestClient(api_app) as c:
        _page_login(c, "old-cookie")
        uid = ctx.signer.loads(c.cookies["ygt_session"], salt="session")["uid"]
        c.cookies.set("ygt_session", ctx.signer.dumps({"uid": uid, "csrf": "x"}, salt="session"))
        assert c.get("/dashboard", follow_redirects=False).status_code == 303


def test_password_change_through_the_api(api_app: FastAPI, client: TestClient) -> None:  # noqa: F811
    make_user(api_app, "changer", "system_admin")
    headers, second = login(client, "changer"), login(client, "changer")
    new = "a-new-password-2"
    wrong = client.post("/api/me/password", headers=headers,
                        json={"current_password": "not-it-at-all", "new_password": new})
    assert wrong.status_code == 401
    short = client.post("/api/me/password", headers=headers, json={"current_password": PASSWORD, "new_password": "x"})
    assert short.status_code == 422
    assert client.get("/api/me", headers=second).status_code == 200
    ok = client.post("/api/me/password", headers=headers, json={"current_password": PASSWORD, "new_password": new})
    assert ok.status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401
    assert client.get("/api/me", headers=second).status_code == 401
    assert client.post("/api/token", data={"username": "changer", "password": PASSWORD}).status_code == 401
    assert client.get("/api/me", headers=login(client, "changer", new)).status_code == 200


def test_only_a_system_admin_disables(api_app: FastAPI, client: TestClient) -> None:  # noqa: F811
    admin = login(client, make_user(api_app, "the-admin", "system_admin"))
    bureau = login(client, make_user(api_app, "to-disable", "insurance_bureau", county_code="513433"))
    assert client.post("/api/users/the-admin/disable", headers=bureau).status_code == 403
    assert client.post("/api/users/nobody-here/disable", headers=admin).status_code == 404
    assert client.post("/api/users/to-disable/disable", headers=admin).status_code == 204
    assert client.get("/api/me", headers=bureau).status_code == 401
    assert client.post("/api/token", data={"username": "to-disable", "password": PASSWORD}).status_code == 401
    assert client.post("/api/users/to-disable/enable", headers=admin).status_code == 204
    assert client.get("/api/me", headers=bureau).status_code == 401  # enabling does not revive old tokens
    assert client.get("/api/me", headers=login(client, "to-disable")).status_code == 200


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def two_workers(request: pytest.FixtureRequest, tmp_path: Path,
                example_input: Path) -> Iterator[tuple[FastAPI, FastAPI]]:
    """Two apps on one database, as two worker processes of ``serve --workers 2``, each with its token cache."""
    url, admin, schema = "", None, ""
    if request.param == "postgresql":
        reason = pg_unreachable()
        if reason:
            pytest.skip(reason)
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    settings = Settings(data_dir=tmp_path, db_url=url, data_folder=example_input, today=INSIDE_WINDOW,
                        demo_accounts=False, token_cache_seconds=300)
    first = create_app(settings)
    second = create_app(settings)
    try:
        yield first, second
    finally:
        for app in (first, second):
            app.state.ctx.engine.dispose()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()


@pytest.mark.parametrize("how", ["page logout", "api logout", "password change", "disable"])
def test_ending_sessions_in_one_worker_ends_them_in_the_other_at_once(two_workers: tuple[FastAPI, FastAPI],
                                                                      how: str) -> None:
    first, second = two_workers
    make_user(first, "victim", "insurance_bureau", county_code="513433")
    admin_name = make_user(first, "boss", "system_admin")
    with TestClient(first) as a, TestClient(second) as b:
        token = login(b, "victim")
        assert b.get("/api/me", headers=token).status_code == 200  # checked, now in b's cache for 300 s
        assert b.get("/api/me", headers=token).status_code == 200
        page_cookie = _page_login(b, "victim")
        if how == "page logout":
            _page_login(a, "victim")
            page = a.get("/dashboard")
            assert a.post("/logout", data={"csrf": _csrf(page.text)}, follow_redirects=False).status_code == 303
        elif how == "api logout":
            assert a.post("/api/logout", headers=login(a, "victim")).status_code == 204
        elif how == "password change":
            assert a.post("/api/me/password", headers=login(a, "victim"),
                          json={"current_password": PASSWORD, "new_password": "brand-new-pass"}).status_code == 204
        else:
            assert a.post("/api/users/victim/disable", headers=login(a, admin_name)).status_code == 204
        assert b.get("/api/me", headers=token).status_code == 401
        b.cookies.set("ygt_session", page_cookie)
        assert b.get("/dashboard", follow_redirects=False).status_code == 303


def test_a_choice_through_a_cached_token_is_refused_at_once_after_sign_out_elsewhere(
        two_workers: tuple[FastAPI, FastAPI]) -> None:
    """The choice path checks a cached token's session in its own transaction (on PostgreSQL on the driver's
    cursor): a sign-out through another worker refuses the next choice (401) and records nothing."""
    first, second = two_workers
    make_user(first, "r5", "resident", person_id="R0005")
    choice = {"consortium_id": "G1", "township_id": "G1-T1", "village_id": "G1-T1-V2"}
    with TestClient(first) as a, TestClient(second) as b:
        token = login(b, "r5")
        assert b.post("/api/persons/R0005/choices", json=choice, headers=token).status_code == 201  # cached in b
        assert b.post("/api/persons/R0005/choices", json=choice, headers=token).status_code == 201
        assert a.post("/api/logout", headers=login(a, "r5")).status_code == 204
        assert b.post("/api/persons/R0005/choices", json=choice, headers=token).status_code == 401
    with first.state.ctx.sessions() as s:
        assert ChoiceRepository(s).count(person_id="R0005", channel="api") == 2
