"""The clinician's referral pages (转诊工作台) through HTTP: a township doctor refers a patient from the worklist, the
county hospital moves it with one action per step up to the return with a care plan, and the township sees it come
back; forms need the page's CSRF token; moves the workflow does not have, other roles and other institutions are
refused with an error page, never a 500."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from api_fixtures import PASSWORD, api_app, client, login, make_user, read_csv  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _signed_in(app: FastAPI, username: str) -> TestClient:
    c = TestClient(app)
    token = CSRF.search(c.get("/login").text)
    assert token
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf": token.group(1)},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def _csrf(c: TestClient) -> str:
    m = CSRF.search(c.get("/referrals").text)
    assert m
    return m.group(1)


def _row(c: TestClient, rid: int) -> str:
    page = c.get("/referrals").text
    m = re.search(rf'<tr id="r{rid}".*?</tr>', page, re.S)
    assert m, page[:2000]
    return m.group(0)


@pytest.fixture(scope="module")
def person(example_input: Path) -> str:
    rows = read_csv(example_input / "designations.csv")
    return sorted(d["person_id"] for d in rows if d["township_id"] == "G1-T1")[0]


@pytest.fixture(scope="module")
def users(api_app: FastAPI) -> dict[str, TestClient]:  # noqa: F811
    make_user(api_app, "pg-doc-t1", "clinician", inst_id="G1-T1")
    make_user(api_app, "pg-doc-h", "clinician", inst_id="G1-H")
    make_user(api_app, "pg-admin-h", "institution_admin", inst_id="G1-H")
    make_user(api_app, "pg-doc-g2", "clinician", inst_id="G2-H")
    make_user(api_app, "pg-bureau", "insurance_bureau", county_code="513433")
    return {u: _signed_in(api_app, u) for u in ("pg-doc-t1", "pg-doc-h", "pg-admin-h", "pg-doc-g2", "pg-bureau")}


def _move(c: TestClient, rid: int, to: str, **extra: object) -> int:
    return c.post(f"/referrals/{rid}/move", data={"to": to, "csrf": _csrf(c), **extra},
                  follow_redirects=False).status_code


def test_a_referral_from_request_to_return_through_the_pages(api_app: FastAPI, client: TestClient,  # noqa: F811
                                                            users: dict[str, TestClient], person: str) -> None:
    t1, h = users["pg-doc-t1"], users["pg-doc-h"]
    page = t1.get(f"/referrals?person_id={person}")
    assert page.status_code == 200 and "转诊工作台" in page.text and f'value="{person}"' in page.text
    form = {"person_id": person, "to_inst_id": "G1-H", "direction": "up", "diagnosis": "i63.9",
            "reason": "疑似脑梗死"}
    assert t1.post("/referrals", data=form, follow_redirects=False).status_code == 403  # no CSRF token
    r = t1.post("/referrals", data=form | {"csrf": _csrf(t1)}, follow_redirects=False)
    assert r.status_code == 303
    rid = int(re.search(r"done=(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    assert 'data-status="requested"' in _row(t1, rid) and "已申请" in _row(t1, rid)
    assert "已接收" in _row(h, rid)  # the receiver is offered accept (and decline)
    assert _move(h, rid, "arrived") == 409  # not booked yet: the workflow has no such move
    assert _move(t1, rid, "accepted") == 403  # the sender cannot accept
    assert _move(users["pg-doc-g2"], rid, "accepted") == 404  # not a party
    assert _move(h, rid, "accepted") == 303
    admin = login(client, "pg-admin-h")
    slot = client.post("/api/slots", json={"inst_id": "G1-H", "kind": "bed", "start": "2025-11-20T08:00:00",
                                           "capacity": 5}, headers=admin).json()["slot_id"]
    assert f'<option value="{slot}"' in _row(t1, rid)  # the open slots of the receiver are offered for booking
    assert _move(t1, rid, "booked", slot_id=slot) == 303
    for step in ("arrived", "completed"):
        assert _move(h, rid, step) == 303
        assert f'data-status="{step}"' in _row(h, rid)
    assert "建议下转" in _row(h, rid)  # I63 is in the refer-down catalogue
    assert _move(h, rid, "returned", care_plan="康复训练，每周随访") == 303
    back = _row(t1, rid)
    assert 'data-status="returned"' in back and "康复训练，每周随访" in back
    assert "<form" not in back  # nothing more to do


def test_the_pages_are_for_clinicians_and_institution_admins(users: dict[str, TestClient], person: str) -> None:
    assert users["pg-bureau"].get("/referrals").status_code == 403
    assert users["pg-admin-h"].get("/referrals").status_code == 200
    admin = users["pg-admin-h"]
    form = {"person_id": person, "to_inst_id": "G1-T1", "direction": "down", "diagnosis": "I10", "csrf": _csrf(admin)}
    assert admin.post("/referrals", data=form, follow_redirects=False).status_code == 403  # admins do not refer
    assert TestClient(users["pg-bureau"].app).get("/referrals", follow_redirects=False).status_code == 303  # sign in


def test_hostile_form_input_is_a_4xx(users: dict[str, TestClient], person: str) -> None:
    t1 = users["pg-doc-t1"]
    token = _csrf(t1)
    base = {"person_id": person, "to_inst_id": "G1-H", "direction": "up", "diagnosis": "I10", "csrf": token}
    for bad in ({"diagnosis": "I10'; drop"}, {"direction": "sideways"}, {"person_id": "x" * 500},
                {"to_inst_id": "NOWHERE"}, {"person_id": "NOBODY"}):
        r = t1.post("/referrals", data=base | bad, follow_redirects=False)
        assert 400 <= r.status_code < 500, (bad, r.status_code)
    assert t1.post("/referrals/1/move", data={"to": "expired", "csrf": token}, follow_redirects=False).status_code \
        == 422
    assert t1.post("/referrals/99999999/move", data={"to": "accepted", "csrf": token},
                   follow_redirects=False).status_code == 404
    assert t1.post("/referrals/abc/move", data={"to": "accepted", "csrf": token},
                   follow_redirects=False).status_code == 422


def test_the_worklist_is_searched_sorted_and_paged(users: dict[str, TestClient], person: str) -> None:
    """Both tables of the worklist answer one search and one sort on the server (issue 16): a referral is found by its
    diagnosis and by its status label, and not by a word it does not hold."""
    t1 = users["pg-doc-t1"]
    made = []
    for diagnosis in ("J18.9", "K35.8"):
        form = {"person_id": person, "to_inst_id": "G1-H", "direction": "up", "diagnosis": diagnosis,
                "csrf": _csrf(t1)}
        r = t1.post("/referrals", data=form, follow_redirects=False)
        assert r.status_code == 303
        made.append(int(re.search(r"done=(\d+)", r.headers["location"]).group(1)))  # type: ignore[union-attr]
    rows = lambda html: [int(i) for i in re.findall(r'<tr id="r(\d+)"', html)]  # noqa: E731
    found = rows(t1.get("/referrals", params={"q": "k35.8"}).text)
    assert made[1] in found and made[0] not in found
    assert set(made) <= set(rows(t1.get("/referrals", params={"q": "已申请"}).text))
    assert rows(t1.get("/referrals", params={"q": "no-such-word"}).text) == []
    down = t1.get("/referrals", params={"sort": "referral_id", "dir": "desc"}).text
    assert rows(down) == sorted(rows(down), reverse=True) and 'aria-sort="descending"' in down
    counts = re.search(r"<p [^>]*data-counts>(.*?)</p>", t1.get("/referrals", params={"q": "k35.8"}).text, re.S)
    assert counts, "the count line under the search box"  # the sent referral counted, not only the received (0)
    assert "转入: 共 0 条" in counts.group(1) and f"转出: 共 {len(found)} 条" in counts.group(1)
