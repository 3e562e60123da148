"""The shared health record (共享健康档案) through HTTP, on SQLite and PostgreSQL: every route to it (designation,
family-doctor contract, a live referral, the household) allowed, everyone else refused 403 whether the person exists
or not, every opening and refusal audited with who, whom, when and why, the openings listed for the officials; the
record's sections filled from referrals, remote reads, follow-ups and consultations; hostile ids 4xx, never 500.
Beside it, a booking as a FHIR R4 Appointment, with the same kind of party check and audit.

Worked example county, "today" 2025-11-15. R0008, R0009 and R0010 are household HH002 (R0008 and R0009 designated to
village clinic G1-T1-V1, R0010 in consortium G2); R0126 and R0133 are designated to G1-T1-V1 too.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from live_fixtures import V1, Live, live  # noqa: F401
from sqlalchemy import text

from yigongti.care.store import ContractRow, FollowupRow, TeamMemberRow, TeamRow


def test_designation_opens_it_and_the_opening_is_audited(live: Live) -> None:  # noqa: F811
    before = len(live.audit("R0008", "health record read"))
    r = live.client.get("/api/persons/R0008/record", params={"purpose": "复诊"}, headers=live.h["gp"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["person_id"] == "R0008" and body["basis"] == "designation" and body["birth_date"] == "1984-07-26"
    assert {e["claim_id"] for e in body["encounters"]} >= {"C00019", "C00024"}  # claims of every member
    assert any(d["code"] == "E11.9" and "claim" in d["sources"] for d in body["diagnoses"])
    rows = live.audit("R0008", "health record read")
    assert len(rows) == before + 1
    actor, detail = rows[-1]
    assert actor == "gp (clinician)" and detail == {"basis": "designation", "purpose": "复诊"}
    # a county-tier clinician: the consortium's designated persons
    assert live.record("h1-doc", "R0008") == 200
    # designated in another consortium: not a care relationship
    assert live.record("h2-doc", "R0008") == 403


def test_everyone_else_is_refused_and_the_refusal_audited(live: Live) -> None:  # noqa: F811
    before = len(live.audit("R0126", "health record refused"))
    for user in ("h2-doc", "t2-doc", "v1-admin", "g1-admin", "bureau", "sysadmin", "resident"):
        r = live.client.get("/api/persons/R0126/record", headers=live.h[user])
        assert r.status_code == 403, (user, r.text)
        assert "无诊疗关系" in r.json()["detail"]
    assert len(live.audit("R0126", "health record refused")) == before + 7
    assert live.client.get("/api/persons/R0126/record").status_code == 401


@pytest.mark.parametrize("pid", ["NOBODY", "R0008' OR '1'='1", "<script>alert(1)</script>", "Ｒ０００８", "R0008%00",
                                 "..%2F..%2Fetc%2Fpasswd", "%E2%80%AE8000R"])
def test_a_hostile_id_is_refused_like_a_stranger(live: Live, pid: str) -> None:  # noqa: F811
    r = live.client.get(f"/api/persons/{pid}/record", headers=live.h["gp"])
    assert r.status_code in (400, 403, 404), r.text  # 400: a NUL byte, refused before any route
    assert live.client.get(f"/api/persons/{'R' * 65}/record", headers=live.h["gp"]).status_code == 422
    assert live.client.get("/api/persons/R0008/record", params={"referral_id": "-1"},
                           headers=live.h["gp"]).status_code == 422
    assert live.client.get("/api/persons/R0008/record", params={"purpose": "x" * 201},
                           headers=live.h["gp"]).status_code == 422


def test_the_household_reads_its_own_members_only(live: Live) -> None:  # noqa: F811
    for pid in ("R0008", "R0009", "R0010"):  # R0010 is designated in another consortium: still the household
        r = live.client.get(f"/api/persons/{pid}/record", headers=live.h["resident"])
        assert r.status_code == 200 and r.json()["basis"] == "household"
    assert live.record("resident", "R0133") == 403
    assert live.audit("R0010", "health record read")[-1] == ("resident (resident)", {"basis": "household"})


def test_a_family_doctor_contract_opens_it(live: Live) -> None:  # noqa: F811
    assert live.record("t2-doc", "R0133") == 403
    ctx = live.app.state.ctx
    now = ctx.clock.now()
    with ctx.sessions.begin() as s:
        team = TeamRow(inst_id="G1-T2", name="二乡家庭医生团队", created_at=now, created_by="test")
        s.add(team)
        s.flush()
        gp = TeamMemberRow(team_id=team.team_id, role="gp", name="钱医生", inst_id="G1-T2", username="t2-doc")
        s.add(gp)
        s.flush()
        s.add(ContractRow(person_id="R0133", team_id=team.team_id, gp_member_id=gp.member_id,
                          start_date=date(2025, 1, 1), end_date=date(2025, 12, 31), signed_at=now, signed_by="test",
                          conditions=""))
        s.add(ContractRow(person_id="R0164", team_id=team.team_id, gp_member_id=gp.member_id,
                          start_date=date(2024, 1, 1), end_date=date(2024, 12, 31), signed_at=now, signed_by="test",
                          conditions=""))  # ended: no longer a relationship
    r = live.client.get("/api/persons/R0133/record", headers=live.h["t2-doc"])
    assert r.status_code == 200 and r.json()["basis"] == "contract" and r.json()["basis_ref"]
    assert live.record("t2-doc", "R0164") == 403


def test_a_referral_opens_it_for_the_receiver_while_it_lives(live: Live) -> None:  # noqa: F811
    c, h = live.client, live.h
    assert live.record("h2-doc", "R0126") == 403
    r = c.post("/api/referrals", json={"person_id": "R0126", "from_inst_id": V1, "to_inst_id": "G2-H",
                                       "direction": "up", "diagnosis": "I21.9", "reason": "胸痛"}, headers=h["gp"])
    assert r.status_code == 201, r.text
    rid = r.json()["referral_id"]
    letter = c.get(f"/api/referrals/{rid}", headers=h["h2-doc"]).json()
    assert letter["record"] == f"/api/persons/R0126/record?referral_id={rid}"  # opened from the referral letter
    got = c.get(letter["record"], headers=h["h2-doc"])
    assert got.status_code == 200 and got.json()["basis"] == "referral" and got.json()["basis_ref"] == rid
    assert [x["referral_id"] for x in got.json()["referrals"]] == [rid]
    assert any(d["code"] == "I21.9" and d["sources"] == ["referral"] for d in got.json()["diagnoses"])
    assert live.audit("R0126", "health record read")[-1][1] == {"basis": "referral", "referral_id": rid}
    # a referral id of someone else's referral is no basis: the stranger stays refused
    assert live.record("t2-doc", "R0126", referral_id=rid) == 403
    # declined: it still counts for record_days, then it does not
    assert c.post(f"/api/referrals/{rid}/status", json={"status": "declined"}, headers=h["h2-doc"]).status_code == 200
    assert live.record("h2-doc", "R0126") == 200
    old = live.app.state.ctx.clock.now() - timedelta(days=91)
    with live.app.state.ctx.sessions.begin() as s:
        s.execute(text("UPDATE referrals SET updated_at = :t WHERE referral_id = :r"), {"t": old, "r": rid})
    assert live.record("h2-doc", "R0126") == 403


def test_results_plans_and_medicines_are_gathered(live: Live) -> None:  # noqa: F811
    c, h, ctx = live.client, live.h, live.app.state.ctx
    r = c.post("/api/diagnoses", json={"person_id": "R0009", "from_inst_id": "G1-T1", "to_inst_id": "G1-H",
                                       "kind": "ecg", "question": "心悸"}, headers=h["t1-doc"])
    assert r.status_code == 201, r.text
    oid = r.json()["order_id"]
    for move in ({"status": "accepted"}, {"status": "reported", "report": "窦性心律", "abnormal": False}):
        assert c.post(f"/api/diagnoses/{oid}/status", json=move, headers=h["h1-doc"]).status_code == 200
    with ctx.sessions.begin() as s:
        s.add(FollowupRow(person_id="R0009", disease="hypertension", inst_id=V1, date=date(2025, 11, 1),
                          systolic=150, diastolic=95, medicines="氨氯地平 5mg qd", next_date=date(2025, 12, 1),
                          control="uncontrolled", recorded_at=datetime(2025, 11, 1, 9), recorded_by="gp"))
    body = c.get("/api/persons/R0009/record", headers=h["gp"]).json()
    remote = next(x for x in body["results"] if x["source"] == "remote")
    assert remote["ref"] == f"D{oid}" and remote["text"] == "窦性心律" and remote["abnormal"] is False
    reading = next(x for x in body["results"] if x["source"] == "followup")
    assert reading["text"] == "BP 150/95 mmHg" and reading["abnormal"] is True
    assert body["prescriptions"][0]["medicines"] == "氨氯地平 5mg qd"
    plan = next(p for p in body["care_plans"] if p["kind"] == "followup")
    assert plan["due"] == "2025-12-01" and plan["text"] == "hypertension"


def test_the_openings_are_listed_for_the_officials_and_the_household(live: Live) -> None:  # noqa: F811
    c, h = live.client, live.h
    assert live.record("gp", "R0008") == 200
    for user in ("g1-admin", "bureau", "resident"):
        r = c.get("/api/persons/R0008/record/openings", headers=h[user])
        assert r.status_code == 200, (user, r.text)
        rows = r.json()
        assert rows[0]["actor"] == "gp (clinician)" and rows[0]["basis"] == "designation"
        assert rows[0]["at"] >= rows[-1]["at"]
    refused = c.get("/api/persons/R0126/record/openings", headers=h["bureau"]).json()
    assert any(o["action"] == "health record refused" and o["basis"] is None for o in refused)
    for user in ("gp", "h1-doc", "v1-admin"):
        assert c.get("/api/persons/R0008/record/openings", headers=h[user]).status_code == 403
    assert c.get("/api/persons/R0008/record/openings", headers=h["g2-admin"]).status_code == 404  # not in scope


def test_the_record_page_from_the_referral_worklist(live: Live) -> None:  # noqa: F811
    from api_fixtures import page_client

    made = live.client.post("/api/referrals", json={"person_id": "R0008", "from_inst_id": V1, "to_inst_id": "G1-H",
                                                    "direction": "up", "diagnosis": "I10", "reason": "x"},
                            headers=live.h["gp"])
    assert made.status_code == 201, made.text
    gp = page_client(live.app, "gp")
    try:
        work = gp.get("/referrals").text
        assert "/record?referral_id=" in work and "共享档案" in work
        page = gp.get("/persons/R0008/record")
        assert page.status_code == 200 and "共享健康档案" in page.text and 'data-basis="designation"' in page.text
        stranger = page_client(live.app, "t2-doc")
        try:
            assert stranger.get("/persons/R0008/record").status_code == 403
        finally:
            stranger.close()
        bureau = page_client(live.app, "bureau")
        try:
            listed = bureau.get("/persons/R0008/record/openings")
            assert listed.status_code == 200 and 'data-actor="gp (clinician)"' in listed.text
            assert "定点机构" in listed.text
        finally:
            bureau.close()
    finally:
        gp.close()


def test_a_booking_as_a_fhir_appointment(live: Live) -> None:  # noqa: F811
    c, h = live.client, live.h
    slot = c.post("/api/slots", json={"inst_id": "G1-H", "kind": "specialist", "start": "2025-11-25T09:00",
                                      "capacity": 5}, headers=h["h1-admin"])
    assert slot.status_code == 201, slot.text
    sid = slot.json()["slot_id"]
    rid = c.post("/api/referrals", json={"person_id": "R0133", "from_inst_id": V1, "to_inst_id": "G1-H",
                                         "direction": "up", "diagnosis": "I10", "reason": "血压控制不佳"},
                 headers=h["gp"]).json()["referral_id"]
    assert c.post(f"/api/referrals/{rid}/status", json={"status": "accepted"}, headers=h["h1-doc"]).status_code == 200
    b = c.post(f"/api/slots/{sid}/bookings", json={"person_id": "R0133", "referral_id": rid}, headers=h["gp"])
    assert b.status_code == 201, b.text
    ref = f"B{b.json()['booking_id']}"
    r = c.get(f"/api/fhir/Appointment/{ref}", headers=h["gp"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    doc = r.json()
    assert doc["resourceType"] == "Appointment" and doc["status"] == "booked" and doc["id"] == ref
    assert doc["slot"] == [{"reference": f"Slot/{sid}"}] and doc["basedOn"] == [{"reference": f"ServiceRequest/R{rid}"}]
    assert doc["start"] == "2025-11-25T09:00:00+08:00"
    assert {p["actor"]["reference"] for p in doc["participant"]} == {"Patient/R0133", "Organization/G1-H"}
    for user in ("h2-doc", "resident", "g1-admin", "t2-doc"):
        assert c.get(f"/api/fhir/Appointment/{ref}", headers=h[user]).status_code == 404, user
    assert live.audit("R0133", "booking read")[-1][1] == {"booking_id": b.json()["booking_id"]}
    assert c.post(f"/api/referrals/{rid}/status", json={"status": "arrived"}, headers=h["h1-doc"]).status_code == 200
    assert c.get(f"/api/fhir/Appointment/{ref}", headers=h["h1-doc"]).json()["status"] == "fulfilled"
    # the household books an open place for its own member and reads it; the village doctor is no party of it
    own = c.post(f"/api/slots/{sid}/bookings", json={"person_id": "R0009"}, headers=h["resident"])
    assert own.status_code == 201, own.text
    mine = c.get(f"/api/fhir/Appointment/B{own.json()['booking_id']}", headers=h["resident"])
    assert mine.status_code == 200 and "basedOn" not in mine.json()
    assert c.get(f"/api/fhir/Appointment/B{own.json()['booking_id']}", headers=h["gp"]).status_code == 404
    for bad in ("1", "B", "B1x", "B" + "9" * 11, "B%00"):
        assert c.get(f"/api/fhir/Appointment/{bad}", headers=h["gp"]).status_code in (400, 422), bad
    assert c.get("/api/fhir/Appointment/B9999999999", headers=h["gp"]).status_code == 404
    assert c.get("/api/fhir/Appointment/B2147483647", headers=h["gp"]).status_code == 404
