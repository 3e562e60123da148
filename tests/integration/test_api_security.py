"""Security of the platform: headers on every response, CSRF on forms, login rate limiting, no external assets,
a generated (not default) secret."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from api_fixtures import PASSWORD, api_app, client, make_user  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient

from yigongti.platform.security import SECURITY_HEADERS

FIRST_START = True  # api_app in an empty data directory: the secret key and the database files a first start makes


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "form without a CSRF token"
    return m.group(1)


def test_security_headers_on_pages_api_and_errors(client: TestClient) -> None:  # noqa: F811
    for path in ("/login", "/api/openapi.json", "/api/persons", "/static/app.css", "/no-such-page"):
        r = client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert r.headers.get(name) == value, (path, name)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "http" not in csp and "*" not in csp and "'unsafe-inline'" not in csp


def test_pages_reference_no_external_asset(client: TestClient) -> None:  # noqa: F811
    html = client.get("/login").text
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert client.get("/api/docs").status_code == 404  # the Swagger page would load a CDN


def test_login_form_needs_its_csrf_token(api_app: FastAPI) -> None:  # noqa: F811
    make_user(api_app, "csrf-user", "system_admin")
    with TestClient(api_app) as c:
        token = _csrf(c.get("/login").text)
        bad = c.post("/login", data={"username": "csrf-user", "password": PASSWORD, "csrf": token + "x"},
                     follow_redirects=False)
        assert bad.status_code == 403
        missing = c.post("/login", data={"username": "csrf-user", "password": PASSWORD}, follow_redirects=False)
        assert missing.status_code == 403
        ok = c.post("/login", data={"username": "csrf-user", "password": PASSWORD, "csrf": token},
                    follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"] == "/dashboard"
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("samesite", "SameSite")
        # signed in: the session has a new CSRF token; the anonymous one no longer works for sign-out
        page = c.get("/dashboard")
        assert page.status_code == 200
        assert c.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 403
        assert c.post("/logout", data={"csrf": _csrf(page.text)}, follow_redirects=False).status_code == 303


def test_login_attempts_are_rate_limited_per_user_and_address(api_app: FastAPI, client: TestClient) -> None:  # noqa: F811
    make_user(api_app, "victim", "system_admin")
    codes = [client.post("/api/token", data={"username": "victim", "password": "wrong-password"}).status_code
             for _ in range(4)]
    assert codes == [401, 401, 401, 429]  # login_burst=3 in the fixture
    # even the right password is refused while limited, and the answer says when to retry
    r = client.post("/api/token", data={"username": "victim", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # another user from the same address is not affected
    make_user(api_app, "bystander", "system_admin")
    assert client.post("/api/token", data={"username": "bystander", "password": PASSWORD}).status_code == 200


def test_secret_is_generated_and_kept(api_app: FastAPI) -> None:  # noqa: F811
    settings = api_app.state.ctx.settings
    key_file = settings.data_dir / "secret.key"
    assert key_file.is_file() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert settings.secret_key() == key_file.read_text().strip() and len(key_file.read_text().strip()) >= 32


def test_forged_session_cookie_is_ignored(api_app: FastAPI) -> None:  # noqa: F811
    with TestClient(api_app) as c:
        c.cookies.set("ygt_session", "eyJ1aWQiOjF9.forged.signature")
        r = c.get("/dashboard", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"


def test_a_revoked_token_is_refused_at_once_although_tokens_are_cached(api_app: FastAPI,  # noqa: F811
                                                                      client: TestClient) -> None:  # noqa: F811
    from api_fixtures import login

    assert api_app.state.ctx.tokens.ttl_seconds > 0  # the cache is on
    headers = login(client, make_user(api_app, "revoker", "insurance_bureau", county_code="999999"))
    assert client.get("/api/me", headers=headers).status_code == 200
    assert client.get("/api/me", headers=headers).status_code == 200  # from the cache
    assert client.delete("/api/token", headers=headers).status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401


def test_sqlite_database_is_created_private(api_app: FastAPI) -> None:  # noqa: F811
    """The database holds ID numbers and password hashes: mode 600 like the secret key, and so are its WAL files."""
    data_dir = api_app.state.ctx.settings.data_dir
    files = [p for p in data_dir.iterdir() if p.name.startswith("yigongti.sqlite")]
    assert data_dir / "yigongti.sqlite" in files
    for path in files:
        assert oct(path.stat().st_mode & 0o777) == "0o600", path.name


@pytest.fixture(scope="module")
def base_url(api_app: FastAPI) -> Iterator[str]:  # noqa: F811
    """The app served by uvicorn on a free loopback port (the peer address is then 127.0.0.1), without uvicorn's
    own reading of X-Forwarded-For, as `serve` runs it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(api_app, host="127.0.0.1", port=port, log_level="warning",
                                           proxy_headers=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


async def _attempts(base_url: str, username: str, n: int, headers: dict[str, str] | None = None) -> list[int]:
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=httpx.Limits(max_connections=n)) as http:
        answers = await asyncio.gather(*(http.post("/api/token", headers=headers,
                                                   data={"username": username, "password": "wrong-password"})
                                         for _ in range(n)))
    return [r.status_code for r in answers]


def test_fifty_concurrent_wrong_passwords_get_only_the_allowance(api_app: FastAPI, base_url: str) -> None:  # noqa: F811
    make_user(api_app, "raced", "system_admin")
    codes = asyncio.run(_attempts(base_url, "raced", 50))
    assert sorted(codes) == [401] * 3 + [429] * 47  # login_burst=3 in the fixture: counted before checked


def test_forwarded_for_counts_only_from_a_trusted_proxy(api_app: FastAPI, base_url: str) -> None:  # noqa: F811
    ctx = api_app.state.ctx
    make_user(api_app, "proxied", "system_admin")
    spoofed = {"X-Forwarded-For": "198.51.100.1"}
    assert asyncio.run(_attempts(base_url, "proxied", 4, spoofed)).count(429) == 1  # ignored: 127.0.0.1 counts
    assert asyncio.run(_attempts(base_url, "proxied", 1, {"X-Forwarded-For": "198.51.100.2"})) == [429]
    settings = ctx.settings
    ctx.settings = settings.model_copy(update={"trusted_proxies": ("127.0.0.1/32",)})
    try:  # behind a trusted proxy, each client has its own allowance
        assert asyncio.run(_attempts(base_url, "proxied", 4, {"X-Forwarded-For": "198.51.100.3"})).count(429) == 1
        assert asyncio.run(_attempts(base_url, "proxied", 1, {"X-Forwarded-For": "198.51.100.4"})) == [401]
        with httpx.Client(base_url=base_url) as http:
            r = http.post("/api/token", data={"username": "proxied", "password": PASSWORD},
                          headers={"X-Forwarded-For": "203.0.113.1, 127.0.0.1"})
        assert r.status_code == 200
    finally:
        ctx.settings = settings
