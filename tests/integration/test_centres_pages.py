"""Through HTTP: the shared centres' API and pages (a township doctor orders an ECG, the county hospital's centre
accepts and reports it, the township reads the report; a second order inside the validity is recognised), the
officials' referral flows page and its CSV, and the refusals: other roles 403, other institutions 404, moves the
workflow does not have 409, hostile input 4xx, never a 500."""

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


def _csrf(c: TestClient, page: str = "/diagnoses") -> str:
    m = CSRF.search(c.get(page).text)
    assert m
    return m.group(1)


@pytest.fixture(scope="module")
def person(example_input: Path) -> str:
    rows = read_csv(example_input / "designations.csv")
    return sorted(d["person_id"] for d in rows if d["township_id"] == "G1-T1")[0]


@pytest.fixture(scope="module")
def users(api_app: FastAPI) -> dict[str, TestClient]:  # noqa: F811
    make_user(api_app, "ce-doc-t1", "clinician", inst_id="G1-T1")
    make_user(api_app, "ce-doc-h", "clinician", inst_id="G1-H")
    make_user(api_app, "ce-admin-h", "institution_admin", inst_id="G1-H")
    make_user(api_app, "ce-doc-g2", "clinician", inst_id="G2-T1")
    make_user(api_app, "ce-bureau", "insurance_bureau", county_code="513433")
    make_user(api_app, "ce-g1", "consortium_admin", consortium_id="G1")
    make_user(api_app, "ce-g2", "consortium_admin", consortium_id="G2")
    return {u: _signed_in(api_app, u) for u in ("ce-doc-t1", "ce-doc-h", "ce-admin-h", "ce-doc-g2", "ce-bureau",
                                                 "ce-g1", "ce-g2")}


def test_an_ecg_from_order_to_report_through_the_pages(users: dict[str, TestClient], person: str) -> None:
    t1, h = users["ce-doc-t1"], users["ce-doc-h"]
    page = t1.get(f"/diagnoses?person_id={person}")
    assert page.status_code == 200 and "申请远程诊断" in page.text and f'value="{person}"' in page.text
    assert '<option value="G1-H">' in page.text  # the consortium's county centres
    form = {"person_id": person, "to_inst_id": "G1-H", "kind": "ecg", "question": "心悸两天"}
    assert t1.post("/diagnoses", data=form, follow_redirects=False).status_code == 403  # no CSRF token
    r = t1.post("/diagnoses", data=form | {"csrf": _csrf(t1)}, follow_redirects=False)
    assert r.status_code == 303
    oid = int(r.headers["location"].rsplit("/", 1)[1])
    assert 'data-status="ordered"' in t1.get(f"/diagnoses/{oid}").text
    row = re.search(rf'<tr id="o{oid}".*?</tr>', h.get("/diagnoses").text, re.S)
    assert row and "已接收" in row.group(0)  # the centre is offered accept (and reject)
    move = f"/diagnoses/{oid}/move"
    assert t1.post(move, data={"to": "accepted", "csrf": _csrf(t1)}, follow_redirects=False).status_code == 403
    assert users["ce-doc-g2"].post(move, data={"to": "accepted", "csrf": _csrf(users["ce-doc-g2"])},
                                   follow_redirects=False).status_code == 404
    assert h.post(move, data={"to": "reported", "report": "x", "csrf": _csrf(h)},
                  follow_redirects=False).status_code == 409  # not accepted yet
    assert h.post(move, data={"to": "accepted", "csrf": _csrf(h)}, follow_redirects=False).status_code == 303
    assert h.post(move, data={"to": "reported", "report": "窦性心律，偶发房早", "abnormal": "yes", "csrf": _csrf(h)},
                  follow_redirects=False).status_code == 303
    detail = t1.get(f"/diagnoses/{oid}").text
    assert "窦性心律，偶发房早" in detail and "互认有效至" in detail and 'data-status="reported"' in detail
    # the same kind again inside its validity: recognised, not read again
    r = t1.post("/diagnoses", data=form | {"csrf": _csrf(t1)}, follow_redirects=False)
    again = t1.get(r.headers["location"]).text
    assert 'data-status="recognised"' in again and "窦性心律，偶发房早" in again
    fig = users["ce-g1"].get("/diagnoses/centres")
    assert fig.status_code == 200 and "G1-H" in fig.text
    csv = users["ce-g1"].get("/diagnoses/centres.csv")
    assert csv.status_code == 200
    header, line = csv.text.lstrip("\ufeff").splitlines()[:2]
    assert header.startswith("中心机构编码 centre_id,") and "避免重复检查 repeats_avoided" in header
    assert line.startswith("G1-H,") and line.endswith(",1")  # one repeat avoided
    assert "G1-H" not in users["ce-g2"].get("/diagnoses/centres").text  # another consortium's centre


def test_the_api_places_moves_and_refuses(client: TestClient, users: dict[str, TestClient],  # noqa: F811
                                          person: str) -> None:
    t1, h, g2 = login(client, "ce-doc-t1"), login(client, "ce-doc-h"), login(client, "ce-doc-g2")
    body = {"person_id": person, "from_inst_id": "G1-T1", "to_inst_id": "G1-H", "kind": "imaging",
            "question": "胸片"}
    r = client.post("/api/diagnoses", json=body, headers=t1)
    assert r.status_code == 201 and r.json()["status"] == "ordered"
    oid = r.json()["order_id"]
    assert client.post("/api/diagnoses", json=body, headers=h).status_code == 403  # not from their institution
    assert client.post("/api/diagnoses", json=body | {"from_inst_id": "G2-T1"}, headers=g2).status_code == 404
    assert client.post("/api/diagnoses", json=body | {"to_inst_id": "G2-H"}, headers=t1).status_code == 422
    assert client.post("/api/diagnoses", json=body | {"kind": "mri"}, headers=t1).status_code == 422
    url = f"/api/diagnoses/{oid}/status"
    assert client.post(url, json={"status": "accepted"}, headers=t1).status_code == 403
    assert client.post(url, json={"status": "accepted"}, headers=g2).status_code == 404
    assert client.post(url, json={"status": "reported", "report": "x"}, headers=h).status_code == 409
    assert client.post(url, json={"status": "accepted"}, headers=h).status_code == 200
    r = client.post(url, json={"status": "reported", "report": "双肺未见异常", "abnormal": False}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "reported"
    d = client.get(f"/api/diagnoses/{oid}", headers=t1).json()
    assert d["report"] == "双肺未见异常" and [e["to_status"] for e in d["events"]] == ["ordered", "accepted",
                                                                                       "reported"]
    assert client.get(f"/api/diagnoses/{oid}", headers=g2).status_code == 404
    fhir = client.get(f"/api/fhir/DiagnosticReport/D{oid}", headers=t1)
    assert fhir.status_code == 200 and fhir.headers["content-type"].startswith("application/fhir+json")
    rep = fhir.json()
    assert rep["resourceType"] == "DiagnosticReport" and rep["status"] == "final"
    assert rep["conclusion"] == "双肺未见异常" and rep["subject"]["reference"] == f"Patient/{person}"
    assert rep["category"][0]["coding"][0]["code"] == "RAD" and rep["conclusionCode"][0]["coding"][0]["code"] == "N"
    assert rep["issued"].endswith("+08:00") and rep["performer"][0]["reference"] == "Organization/G1-H"
    same = client.post("/api/diagnoses", json=body, headers=t1).json()
    assert same["status"] == "recognised" and same["repeat_of"] == oid
    rec = client.get(f"/api/fhir/DiagnosticReport/D{same['order_id']}", headers=t1).json()
    assert rec["status"] == "final" and rec["conclusion"] == "双肺未见异常"
    assert client.get(f"/api/fhir/DiagnosticReport/D{oid}", headers=g2).status_code == 404
    assert client.get(f"/api/fhir/DiagnosticReport/{oid}", headers=t1).status_code == 422
    assert any(o["order_id"] == oid for o in client.get("/api/diagnoses", headers=h).json())
    cen = client.get("/api/diagnoses/centres", headers=login(client, "ce-g1")).json()
    assert cen and cen[0]["centre_id"] == "G1-H" and cen[0]["reported"] >= 1
    for bad in ("/api/diagnoses/abc", "/api/diagnoses/0", "/api/diagnoses/99999999999"):
        assert 400 <= client.get(bad, headers=t1).status_code < 500
    assert client.post(url, json={"status": "expired"}, headers=h).status_code == 422
    assert client.post("/api/diagnoses", json=body | {"question": "x" * 5000}, headers=t1).status_code == 422


def test_the_pages_refuse_other_roles_and_hostile_input(users: dict[str, TestClient], person: str) -> None:
    assert users["ce-bureau"].get("/diagnoses").status_code == 403
    assert users["ce-doc-h"].get("/diagnoses").status_code == 200
    t1 = users["ce-doc-t1"]
    token = _csrf(t1)
    base = {"person_id": person, "to_inst_id": "G1-H", "kind": "ecg", "csrf": token}
    for bad in ({"kind": "mri"}, {"person_id": "x" * 500}, {"to_inst_id": "NOWHERE"}, {"person_id": "NOBODY"},
                {"to_inst_id": "G1-T1-V1"}):
        r = t1.post("/diagnoses", data=base | bad, follow_redirects=False)
        assert 400 <= r.status_code < 500, (bad, r.status_code)
    admin = users["ce-admin-h"]
    assert admin.post("/diagnoses", data=base | {"csrf": _csrf(admin)}, follow_redirects=False).status_code == 403
    assert t1.post("/diagnoses/1/move", data={"to": "recognised", "csrf": token},
                   follow_redirects=False).status_code == 422
    assert t1.post("/diagnoses/99999999/move", data={"to": "cancelled", "csrf": token},
                   follow_redirects=False).status_code == 404
    assert t1.get("/diagnoses/99999999").status_code == 404


def test_the_flows_page_counts_referrals_between_tiers_and_the_reserve(client: TestClient,  # noqa: F811
                                                                       users: dict[str, TestClient],
                                                                       person: str) -> None:
    t1, admin = login(client, "ce-doc-t1"), login(client, "ce-admin-h")
    before = users["ce-g1"].get("/referral-flows?year=2025")
    assert before.status_code == 200 and "转诊流向" in before.text
    slot = client.post("/api/slots", json={"inst_id": "G1-H", "kind": "specialist", "start": "2025-12-20T08:00:00",
                                           "capacity": 10}, headers=admin).json()["slot_id"]
    body = {"person_id": person, "from_inst_id": "G1-T1", "to_inst_id": "G1-H", "direction": "up",
            "diagnosis": "I10", "reason": "血压控制不佳"}
    rid = client.post("/api/referrals", json=body, headers=t1).json()["referral_id"]
    assert client.post(f"/api/referrals/{rid}/status", json={"status": "accepted"}, headers=admin).status_code == 200
    assert client.post(f"/api/slots/{slot}/bookings", json={"person_id": person, "referral_id": rid},
                       headers=t1).status_code == 201
    g1 = users["ce-g1"]
    months = g1.get("/referral-flows.csv?table=months&year=2025")
    assert months.status_code == 200
    lines = months.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "月份 month,上转 up,下转 down,上转到诊 up_arrived,下转到诊 down_arrived"
    assert len(lines) == 13 and int(next(x for x in lines if x.startswith("2025-11,")).split(",")[1]) >= 1
    tiers = g1.get("/referral-flows.csv?table=tiers&year=2025").text
    assert "乡镇卫生院/社区卫生服务中心,县级医院,上转," in tiers
    cap = g1.get("/referral-flows.csv?table=capacity&year=2025").text.lstrip("\ufeff").splitlines()
    assert cap[0].startswith("机构编码 inst_id,名称 name,号源数 slots,号源总量 capacity,预留号源 reserved")
    row = next(x for x in cap if x.startswith("G1-H,")).split(",")
    assert int(row[3]) >= 10 and int(row[4]) >= 2 and int(row[5]) >= 1  # places, reserved, used by referrals
    page = g1.get("/referral-flows?year=2025").text
    assert "<svg" in page and "县级医院" in page and "预留号源使用" in page
    assert "G1-H" not in users["ce-g2"].get("/referral-flows.csv?table=capacity&year=2025").text
    assert users["ce-bureau"].get("/referral-flows?year=2025").status_code == 200
    for who in ("ce-doc-t1", "ce-admin-h"):
        assert users[who].get("/referral-flows").status_code == 403
    sr = client.get(f"/api/fhir/ServiceRequest/R{rid}", headers=t1)
    assert sr.status_code == 200 and sr.headers["content-type"].startswith("application/fhir+json")
    assert sr.json()["status"] == "active" and sr.json()["performer"][0]["reference"] == "Organization/G1-H"
    tk = client.get(f"/api/fhir/Task/R{rid}", headers=admin).json()
    assert tk["status"] == "in-progress" and tk["businessStatus"]["coding"][0]["code"] == "booked"
    assert tk["owner"]["reference"] == "Organization/G1-H" and tk["focus"]["reference"] == f"ServiceRequest/R{rid}"
    assert client.get(f"/api/fhir/Task/R{rid}", headers=login(client, "ce-doc-g2")).status_code == 404
    assert client.get(f"/api/fhir/Task/{rid}", headers=t1).status_code == 422
    assert client.get("/api/fhir/Task/R9999999999", headers=t1).status_code == 404
    sl = client.get(f"/api/fhir/Slot/{slot}", headers=t1).json()
    assert sl["resourceType"] == "Slot" and sl["status"] == "free" and sl["start"] == "2025-12-20T08:00:00+08:00"
    assert client.get("/api/fhir/Slot/99999999", headers=t1).status_code == 404
    assert g1.get("/referral-flows.csv?table=nope").status_code == 422
    assert g1.get("/referral-flows?year=1800").status_code == 422
    assert 'href="/referrals?person_id=' not in g1.get("/persons").text  # only a clinician refers
    assert f'href="/referrals?person_id={person}"' in users["ce-doc-t1"].get(f"/persons?q={person}").text


def test_the_orders_are_searched_sorted_and_paged(users: dict[str, TestClient], person: str) -> None:
    """Both tables of orders answer one search and one sort on the server (issue 16): an order is found by its kind's
    label, and not by a word it does not hold."""
    t1 = users["ce-doc-t1"]
    form = {"person_id": person, "to_inst_id": "G1-H", "kind": "ultrasound", "question": "腹痛"}
    r = t1.post("/diagnoses", data=form | {"csrf": _csrf(t1)}, follow_redirects=False)
    assert r.status_code == 303
    oid = int(r.headers["location"].rsplit("/", 1)[1])
    lab = t1.post("/diagnoses", data=form | {"kind": "lab", "csrf": _csrf(t1)}, follow_redirects=False)
    assert lab.status_code == 303
    rows = lambda html: [int(i) for i in re.findall(r'<tr id="o(\d+)"', html)]  # noqa: E731
    every = rows(t1.get("/diagnoses").text)
    found = rows(t1.get("/diagnoses", params={"q": "ultrasound"}).text)
    assert oid in found and len(found) < len(every)
    assert rows(t1.get("/diagnoses", params={"q": "no-such-word"}).text) == []
    down = t1.get("/diagnoses", params={"sort": "order_id", "dir": "desc"}).text
    assert rows(down) == sorted(rows(down), reverse=True) and 'aria-sort="descending"' in down


def test_the_consultations_are_searched_sorted_and_paged_with_their_own_box(users: dict[str, TestClient],
                                                                            person: str) -> None:
    """The tele-consultations answer their own search box (``cq``, ``csort``...), not the orders' one; the count line
    under each box gives each table's total (issue 16)."""
    t1 = users["ce-doc-t1"]
    ids = []
    for specialty in ("心内科", "内分泌科"):
        form = {"person_id": person, "to_inst_id": "G1-H", "specialty": specialty, "question": "会诊"}
        r = t1.post("/consultations", data=form | {"csrf": _csrf(t1)}, follow_redirects=False)
        assert r.status_code == 303
        ids.append(int(r.headers["location"].rsplit("#c", 1)[1]))
    rows = lambda html: [int(i) for i in re.findall(r'<tr id="c(\d+)"', html)]  # noqa: E731
    orders = lambda html: re.findall(r'<tr id="o(\d+)"', html)  # noqa: E731
    page = t1.get("/diagnoses").text
    every = rows(page)
    found = t1.get("/diagnoses", params={"cq": "内分泌"}).text
    assert ids[1] in rows(found) and ids[0] not in rows(found) and len(rows(found)) < len(every)
    assert orders(found) == orders(page)  # the orders' tables do not answer the consultations' box
    assert rows(t1.get("/diagnoses", params={"q": "内分泌"}).text) == every  # nor the other way round
    down = t1.get("/diagnoses", params={"csort": "consultation_id", "cdir": "desc"}).text
    assert rows(down) == sorted(rows(down), reverse=True) and rows(down) != sorted(rows(down))
    assert 'href="?csort=consultation_id&amp;cdir=asc"' in down
    counts = re.findall(r"<p [^>]*data-counts>(.*?)</p>", t1.get("/diagnoses", params={"cq": "内分泌"}).text, re.S)
    assert len(counts) == 2
    assert "收到的会诊申请: 共 0 条" in counts[1] and f"本机构的会诊申请: 共 {len(rows(found))} 条" in counts[1]
    assert f"本机构的申请: 共 {len(orders(page))} 条" in counts[0] and "收到的申请: 共 0 条" in counts[0]
    assert t1.get("/diagnoses", params={"cpage": "0"}).status_code == 422
    assert t1.get("/diagnoses", params={"csort": "Bad;"}).status_code == 422
    assert t1.get("/diagnoses", params={"cq": "x" * 101}).status_code == 422
