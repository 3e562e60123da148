"""Tele-consultation (远程会诊) through HTTP on SQLite and PostgreSQL: a township clinician requests it of the county
hospital, the hospital schedules it, holds it and concludes it with an opinion; each move by the party allowed to
make it (403 otherwise), 409 for a move the workflow does not have, 404 for anyone not a party, 422 for a request the
registry contradicts; the opinion reaches the shared record as a care plan. Then the monthly internal statement: the
referral, the remote read AND the consultation priced, each consortium's month netting to zero.

Worked example county, "today" 2025-11-15; R0009 is designated to G1-T1-V1 (township G1-T1), R0010 in consortium G2.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

from api_fixtures import page_client
from live_fixtures import Live, live  # noqa: F401


def _consult(live: Live, user: str = "t1-doc", **over: str) -> tuple[int, dict]:  # noqa: F811
    body = {"person_id": "R0009", "from_inst_id": "G1-T1", "to_inst_id": "G1-H", "specialty": "心内科",
            "question": "高血压合并胸闷"} | over
    r = live.client.post("/api/consultations", json=body, headers=live.h[user])
    return r.status_code, r.json()


def test_a_consultation_from_request_to_opinion(live: Live) -> None:  # noqa: F811
    c, h = live.client, live.h
    code, body = _consult(live)
    assert code == 201 and body["status"] == "requested" and body["status_label"].startswith("已申请")
    cid = body["consultation_id"]
    move = f"/api/consultations/{cid}/status"
    assert c.post(move, json={"status": "scheduled"}, headers=h["h1-doc"]).status_code == 422  # no time
    assert c.post(move, json={"status": "scheduled", "scheduled_at": "2025-11-01T09:00:00"},
                  headers=h["h1-doc"]).status_code == 422  # in the past
    assert c.post(move, json={"status": "scheduled", "scheduled_at": "2025-11-20T09:00:00"},
                  headers=h["t1-doc"]).status_code == 403  # the requester does not schedule
    assert c.post(move, json={"status": "scheduled", "scheduled_at": "2025-11-20T09:00:00"},
                  headers=h["h2-doc"]).status_code == 404  # not a party
    r = c.post(move, json={"status": "scheduled", "scheduled_at": "2025-11-20T01:00:00Z"}, headers=h["h1-doc"])
    assert r.status_code == 200 and r.json()["scheduled_at"] == "2025-11-20T09:00:00"  # an instant: China time
    assert c.post(move, json={"status": "concluded", "opinion": "x"}, headers=h["h1-doc"]).status_code == 409
    assert c.post(move, json={"status": "held"}, headers=h["h1-doc"]).status_code == 200
    assert c.post(move, json={"status": "concluded", "opinion": "  "}, headers=h["h1-doc"]).status_code == 422
    r = c.post(move, json={"status": "concluded", "opinion": "加用β受体阻滞剂，两周后复查"}, headers=h["h1-doc"])
    assert r.status_code == 200 and r.json()["status"] == "concluded" and r.json()["concluded_at"]
    assert c.post(move, json={"status": "cancelled"}, headers=h["t1-doc"]).status_code == 409  # concluded: final
    detail = c.get(f"/api/consultations/{cid}", headers=h["t1-doc"]).json()
    assert [e["to_status"] for e in detail["events"]] == ["requested", "scheduled", "held", "concluded"]
    assert [e["actor"] for e in detail["events"]] == ["t1-doc (clinician)"] + ["h1-doc (clinician)"] * 3
    assert c.get(f"/api/consultations/{cid}", headers=h["h2-doc"]).status_code == 404
    assert c.get(f"/api/consultations/{cid}", headers=h["bureau"]).status_code == 404
    assert live.audit("R0009", "consultation concluded")[-1][0] == "h1-doc (clinician)"
    assert cid in [x["consultation_id"] for x in c.get("/api/consultations", headers=h["h1-doc"]).json()]
    record = c.get("/api/persons/R0009/record", headers=h["gp"]).json()
    plan = next(p for p in record["care_plans"] if p["kind"] == "consultation")
    assert plan["ref"] == f"C{cid}" and plan["text"].startswith("加用β受体阻滞剂")


def test_who_may_request_and_where(live: Live) -> None:  # noqa: F811
    assert _consult(live, "resident")[0] == 403
    assert _consult(live, "h1-doc", from_inst_id="G1-H")[0] == 422  # the county is not a primary requester
    assert _consult(live, "t1-doc", from_inst_id="G1-T2")[0] == 403  # not their institution
    assert _consult(live, to_inst_id="G2-H")[0] == 422  # another consortium
    assert _consult(live, to_inst_id="G1-T2")[0] == 422  # not county-tier
    assert _consult(live, person_id="R0010")[0] == 404  # not in their scope
    assert _consult(live, question="")[0] == 422
    assert _consult(live, person_id="R0009' OR 1=1 --")[0] == 404
    code, body = _consult(live)
    cid = body["consultation_id"]
    move = f"/api/consultations/{cid}/status"
    assert live.client.post(move, json={"status": "declined"}, headers=live.h["t1-doc"]).status_code == 403
    assert live.client.post(move, json={"status": "cancelled"}, headers=live.h["t1-doc"]).status_code == 200
    assert live.client.post(move, json={"status": "bogus"}, headers=live.h["h1-doc"]).status_code == 422
    assert live.client.get("/api/consultations/0", headers=live.h["h1-doc"]).status_code == 422
    assert live.client.get("/api/consultations/99999999", headers=live.h["h1-doc"]).status_code == 404


def test_the_statement_prices_referrals_remote_reads_and_consultations(live: Live) -> None:  # noqa: F811
    c, h = live.client, live.h
    sid = c.post("/api/slots", json={"inst_id": "G1-H", "kind": "specialist", "start": "2025-11-26T09:00",
                                     "capacity": 5}, headers=h["h1-admin"]).json()["slot_id"]
    rid = c.post("/api/referrals", json={"person_id": "R0009", "from_inst_id": "G1-T1", "to_inst_id": "G1-H",
                                         "direction": "up", "diagnosis": "I10", "reason": "x"},
                 headers=h["t1-doc"]).json()["referral_id"]
    for move, who in (({"status": "accepted"}, "h1-doc"), ({"status": "booked", "slot_id": sid}, "h1-doc"),
                      ({"status": "arrived"}, "h1-doc"), ({"status": "completed"}, "h1-doc")):
        r = c.post(f"/api/referrals/{rid}/status", json=move, headers=h[who])
        assert r.status_code == 200, r.text
    oid = c.post("/api/diagnoses", json={"person_id": "R0009", "from_inst_id": "G1-T1", "to_inst_id": "G1-H",
                                         "kind": "imaging", "question": "胸片"}, headers=h["t1-doc"]).json()["order_id"]
    for move in ({"status": "accepted"}, {"status": "reported", "report": "未见异常"}):
        assert c.post(f"/api/diagnoses/{oid}/status", json=move, headers=h["h1-doc"]).status_code == 200
    lines = c.get("/api/internal-statement", params={"year": 2025}, headers=h["g1-admin"]).json()
    items = {(ln["inst_id"], ln["item"]): ln for ln in lines if ln["month"] == "2025-11"}
    assert items[("G1-H", "up_referral")]["paid"] == "20.00" and items[("G1-T1", "up_referral")]["received"] == "20.00"
    assert items[("G1-T1", "imaging")]["paid"] == "40.00" and items[("G1-H", "imaging")]["received"] == "40.00"
    consult = items[("G1-T1", "consultation")]
    assert consult["paid"] == f"{80 * consult['services']}.00" and items[("G1-H", "consultation")]["received"]
    net: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for ln in lines:
        net[(ln["consortium_id"], ln["month"])] += Decimal(ln["net"])
        assert Decimal(ln["received"]) - Decimal(ln["paid"]) == Decimal(ln["net"])
    assert net and all(v == 0 for v in net.values())
    assert {ln["consortium_id"] for ln in lines} == {"G1"}
    assert c.get("/api/internal-statement", params={"year": 2025}, headers=h["g2-admin"]).json() == []
    assert c.get("/api/internal-statement", headers=h["resident"]).status_code == 403
    assert c.get("/api/internal-statement", params={"year": 1999}, headers=h["bureau"]).status_code == 422


def test_the_consultation_through_the_pages(live: Live) -> None:  # noqa: F811
    t1, hosp = page_client(live.app, "t1-doc"), page_client(live.app, "h1-doc")
    try:
        page = t1.get("/diagnoses?person_id=R0009").text
        assert "申请远程会诊" in page and 'id="new-consultation"' in page
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token
        form = {"person_id": "R0009", "to_inst_id": "G1-H", "specialty": "内分泌科", "question": "血糖控制不佳"}
        assert t1.post("/consultations", data=form, follow_redirects=False).status_code == 403  # no CSRF
        r = t1.post("/consultations", data=form | {"csrf": token.group(1)}, follow_redirects=False)
        assert r.status_code == 303
        cid = int(r.headers["location"].rsplit("#c", 1)[1])
        work = hosp.get("/diagnoses").text
        row = re.search(rf'<tr id="c{cid}".*?</tr>', work, re.S)
        assert row and 'name="scheduled_at"' in row.group(0) and "已排期" in row.group(0)
        htoken = re.search(r'name="csrf" value="([^"]+)"', work)
        assert htoken
        bad = hosp.post(f"/consultations/{cid}/move", data={"to": "scheduled", "scheduled_at": "明天",
                                                             "csrf": htoken.group(1)}, follow_redirects=False)
        assert bad.status_code == 422
        ok = hosp.post(f"/consultations/{cid}/move", data={"to": "scheduled", "scheduled_at": "2025-11-21T10:30",
                                                            "csrf": htoken.group(1)}, follow_redirects=False)
        assert ok.status_code == 303
        mine = re.search(rf'<tr id="c{cid}".*?</tr>', t1.get("/diagnoses").text, re.S)
        assert mine and "2025-11-21 10:30" in mine.group(0) and 'data-status="scheduled"' in mine.group(0)
    finally:
        t1.close()
        hosp.close()
