"""Hostile bytes (恶意字节) against the live app on SQLite and PostgreSQL: a NUL byte in a path, query, form or JSON
string, a body that is not UTF-8, a lone surrogate in JSON answer 400 (never 500), with the security headers, also
on the unauthenticated ``/login`` and ``/api/token``; a server error carries the security headers; ``/lang/*`` never
redirects off the site, whatever the Host header; the 401 and the 409 body are documented in the OpenAPI spec."""

from __future__ import annotations

import re

import httpx
import pytest
from security_fixtures import Live, live  # noqa: F401

from yigongti.app.factory import OPENAPI_URL
from yigongti.platform.security import HOSTILE_INPUT, SECURITY_HEADERS

FORM = "application/x-www-form-urlencoded"
CHOICE = {"consortium_id": "G1", "township_id": "G1-T1", "village_id": "G1-T1-V2"}


def _refused(r: httpx.Response) -> None:
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert r.json()["detail"] == HOSTILE_INPUT
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name) == value, name


def _csrf(live: Live) -> str:  # noqa: F811
    m = re.search(r'name="csrf" value="([^"]+)"', live.client.get("/login").text)
    assert m
    return m.group(1)


@pytest.fixture(scope="module")
def bureau(live: Live) -> dict[str, str]:  # noqa: F811
    return live.login("sec-bureau", "insurance_bureau", county_code="513433")


@pytest.fixture(scope="module")
def resident(live: Live) -> dict[str, str]:  # noqa: F811
    return live.login("sec-resident", "resident", person_id="R0007")


@pytest.mark.parametrize("path", ["/api/persons/R%0001", "/api/persons/R%00", "/api/fhir/Patient/%00",
                                  "/api/persons/%FF%FE", "/registry%00.csv", "/lang/%00"])
def test_nul_or_bad_utf8_in_a_path(live: Live, bureau: dict[str, str], path: str) -> None:  # noqa: F811
    _refused(live.client.get(path, headers=bureau))


@pytest.mark.parametrize("query", ["consortium_id=%00", "consortium_id=G1%00x", "tier=%FF"])
def test_nul_or_bad_utf8_in_a_query(live: Live, bureau: dict[str, str], query: str) -> None:  # noqa: F811
    _refused(live.client.get(f"/api/institutions?{query}", headers=bureau))
    _refused(live.client.get(f"/login?{query}"))


@pytest.mark.parametrize("username", ["sec-bureau\x00", "\x00", "a\x00b"])
def test_nul_in_the_unauthenticated_login_forms(live: Live, username: str) -> None:  # noqa: F811
    _refused(live.client.post("/api/token", data={"username": username, "password": "x"}))
    _refused(live.client.post("/api/token", data={"username": "sec-bureau", "password": username}))
    _refused(live.client.post("/login", data={"username": username, "password": "x", "csrf": _csrf(live)}))


@pytest.mark.parametrize("body", [b"username=\xff\xfe&password=x", b"username=%FF&password=x",
                                  b"username=ok&password=%C3%28", b"username=%00&password=x"])
def test_form_bodies_that_are_not_utf8(live: Live, body: bytes) -> None:  # noqa: F811
    _refused(live.client.post("/api/token", content=body, headers={"Content-Type": FORM}))
    _refused(live.client.post("/login", content=body, headers={"Content-Type": FORM}))


@pytest.mark.parametrize("ctype", ["text/plain", "text/plain; charset=utf-8", "multipart/form-data; boundary=b",
                                   "application/json"])
def test_text_and_multipart_bodies_that_are_not_utf8(live: Live, ctype: str) -> None:  # noqa: F811
    body = b'--b\r\nContent-Disposition: form-data; name="username"\r\n\r\n\xff\xfe\r\n--b--\r\n'
    _refused(live.client.post("/api/token", content=body, headers={"Content-Type": ctype}))
    _refused(live.client.post("/login", content=body, headers={"Content-Type": ctype}))


@pytest.mark.parametrize("raw", ['{"consortium_id": "G1\\u0000", "township_id": "G1-T1", "village_id": "G1-T1-V2"}',
                                 '{"consortium_id": "\\ud800", "township_id": "G1-T1", "village_id": "G1-T1-V2"}',
                                 '{"consortium_id": "G1", "township_id": "\\udfff", "village_id": "x"}',
                                 '{"\\u0000": 1, "consortium_id": "G1", "township_id": "G1-T1", "village_id": "v"}'])
def test_nul_and_lone_surrogates_in_json(live: Live, resident: dict[str, str], raw: str) -> None:  # noqa: F811
    for ctype in ("application/json", None):
        headers = {**resident, **({"Content-Type": ctype} if ctype else {})}
        _refused(live.client.post("/api/persons/R0007/choices", content=raw.encode(), headers=headers))


def test_ordinary_input_still_goes_through(live: Live, resident: dict[str, str]) -> None:  # noqa: F811
    # an escaped backslash before "u0000" is text, not a NUL; a surrogate pair is one ordinary character
    ok = live.client.post("/api/persons/R0007/choices", headers=resident,
                          content=b'{"consortium_id": "G1\\\\u0000", "township_id": "\\ud83d\\ude00", '
                                  b'"village_id": "G1-T1-V2"}')
    assert ok.status_code in (404, 409, 422), ok.text  # refused by the rules, not as hostile bytes
    assert live.client.post("/api/token", data={"username": "示例用户", "password": "密码"}).status_code == 401
    assert live.client.get("/api/institutions?consortium_id=示例", headers=resident).status_code == 200


def test_the_409_body_is_what_the_spec_documents(live: Live, resident: dict[str, str]) -> None:  # noqa: F811
    r = live.client.post("/api/persons/R0007/choices", headers=resident, json={**CHOICE, "village_id": "G2-T1-V1"})
    assert r.status_code == 409
    spec = live.client.get(OPENAPI_URL).json()
    doc = spec["paths"]["/api/persons/{person_id}/choices"]["post"]["responses"]["409"]
    ref = doc["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    schema = spec["components"]["schemas"][ref]
    assert set(r.json()) == set(schema["properties"]) == {"detail"}
    inner = spec["components"]["schemas"][schema["properties"]["detail"]["$ref"].rsplit("/", 1)[1]]
    assert set(inner["required"]) <= set(r.json()["detail"]) <= set(inner["properties"])
    assert r.json()["detail"]["accepted"] is False and r.json()["detail"]["refusal"]["code"]


def test_every_protected_operation_documents_and_answers_its_401(live: Live) -> None:  # noqa: F811
    spec = live.client.get(OPENAPI_URL).json()
    assert "ErrorOut" in spec["components"]["schemas"]
    protected = [(p, m, op) for p, ops in spec["paths"].items() for m, op in ops.items()
                 if {"HTTPBearer": []} in op.get("security", [])]
    assert len(protected) >= 10
    for path, method, op in protected:
        assert "401" in op["responses"], f"{method.upper()} {path}"
        url = re.sub(r"\{[^}]+\}", "X1", path)
        r = live.client.request(method.upper(), url, json=CHOICE if method == "post" else None)
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["WWW-Authenticate"] == "Bearer"
    unprotected = [p for p, ops in spec["paths"].items() for m, op in ops.items() if "security" not in op]
    assert unprotected == ["/api/token"]  # POST: the sign-in itself


def test_a_server_error_carries_the_security_headers(live: Live) -> None:  # noqa: F811
    def boom() -> None:
        raise RuntimeError("boom")

    live.app.add_api_route("/api/_test_boom", boom, include_in_schema=False)
    r = live.client.get("/api/_test_boom")
    assert r.status_code == 500 and "boom" not in r.text
    assert r.json()["detail"] == "服务器内部错误 / internal server error"
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name) == value, name


@pytest.mark.parametrize(("referer", "expected"), [
    ("http://evil.example/dashboard?x=1", "/dashboard?x=1"), ("http://testserver/registry", "/registry"),
    (None, "/"), ("//evil.example/x", "/x"), ("http://evil.example", "/"), ("javascript:alert(1)", "/"),
    ("http://testserver/\\evil.example", "/"), ("http://testserver//evil.example/", "/"),
])
def test_the_language_switch_never_redirects_off_the_site(live: Live, referer: str | None,  # noqa: F811
                                                          expected: str) -> None:
    headers = {"Host": "evil.example", **({"Referer": referer} if referer else {})}
    r = live.client.get("/lang/en", headers=headers, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == expected
    assert "ygt_lang=en" in r.headers["set-cookie"].replace('"', "") or "en" in r.headers["set-cookie"]
