"""The referral API (转诊接口) by role and scope: who may publish slots, refer, move a referral and book, on the
worked example county (G1-T1 a township of consortium G1, G1-H its lead county hospital)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from api_fixtures import api_app, client, login, make_user, read_csv  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient

START = "2025-11-20T08:00:00"  # "today" is 2025-11-15: the reserve is not released yet


@pytest.fixture(scope="module")
def people(example_input: Path, example_expected: Path) -> dict[str, list[str]]:
    designations = read_csv(example_input / "designations.csv") + read_csv(example_expected / "designations.csv")
    mine = sorted({d["person_id"] for d in designations if d["township_id"] == "G1-T1"})
    others = sorted({d["person_id"] for d in designations if d["consortium_id"] != "G1"} - set(mine))
    return {"mine": mine, "others": others}


@pytest.fixture(scope="module")
def h(api_app: FastAPI, client: TestClient) -> dict[str, dict[str, str]]:  # noqa: F811
    make_user(api_app, "ref-doc-t1", "clinician", inst_id="G1-T1")
    make_user(api_app, "ref-doc-h", "clinician", inst_id="G1-H")
    make_user(api_app, "ref-admin-h", "institution_admin", inst_id="G1-H")
    make_user(api_app, "ref-doc-g2", "clinician", inst_id="G2-H")
    make_user(api_app, "ref-bureau", "insurance_bureau", county_code="513433")
    return {u: login(client, u) for u in ("ref-doc-t1", "ref-doc-h", "ref-admin-h", "ref-doc-g2", "ref-bureau")}


def _slot(client: TestClient, h: dict[str, dict[str, str]], capacity: int, kind: str = "bed") -> int:  # noqa: F811
    r = client.post("/api/slots", json={"inst_id": "G1-H", "kind": kind, "start": START, "capacity": capacity},
                    headers=h["ref-admin-h"])
    assert r.status_code == 201, r.text
    return int(r.json()["slot_id"])


def _refer(client: TestClient, h: dict[str, dict[str, str]], person: str, **extra: str) -> int:  # noqa: F811
    r = client.post("/api/referrals", json={"person_id": person, "from_inst_id": "G1-T1", "to_inst_id": "G1-H",
                                            "direction": "up", "diagnosis": "I63.9", "reason": "疑似脑梗死，请会诊",
                                            **extra}, headers=h["ref-doc-t1"])
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "requested"
    return int(r.json()["referral_id"])


def _move(client: TestClient, headers: dict[str, str], rid: int, status: str, **extra: object) -> int:  # noqa: F811
    return client.post(f"/api/referrals/{rid}/status", json={"status": status, **extra}, headers=headers).status_code


def test_slots_are_published_by_the_institutions_admin_only(client: TestClient, h: dict) -> None:  # noqa: F811
    r = client.post("/api/slots", json={"inst_id": "G1-H", "kind": "specialist", "start": START, "capacity": 11},
                    headers=h["ref-admin-h"])
    assert r.status_code == 201, r.text
    assert {k: r.json()[k] for k in ("capacity", "reserved")} == {"capacity": 11, "reserved": 3}  # 20% rounded up
    body = {"inst_id": "G1-H", "kind": "bed", "start": START, "capacity": 4}
    assert client.post("/api/slots", json=body, headers=h["ref-doc-h"]).status_code == 403
    assert client.post("/api/slots", json=body | {"inst_id": "G2-H"}, headers=h["ref-admin-h"]).status_code == 403
    assert client.post("/api/slots", json=body | {"kind": "sofa"}, headers=h["ref-admin-h"]).status_code == 422
    assert client.post("/api/slots", json=body | {"capacity": 0}, headers=h["ref-admin-h"]).status_code == 422
    assert client.post("/api/slots", json=body).status_code == 401
    listed = client.get("/api/slots", params={"inst_id": "G1-H"}, headers=h["ref-doc-t1"]).json()
    slot = next(s for s in listed if s["slot_id"] == r.json()["slot_id"])
    assert slot == {"slot_id": slot["slot_id"], "inst_id": "G1-H", "kind": "specialist", "start": "2025-11-20T08:00",
                    "capacity": 11, "reserved": 3, "booked": 0}


def test_referring_needs_a_clinician_of_the_sender_and_a_person_in_scope(client: TestClient, h: dict,  # noqa: F811
                                                                          people: dict) -> None:
    body = {"person_id": people["mine"][0], "from_inst_id": "G1-T1", "to_inst_id": "G1-H", "direction": "up",
            "diagnosis": "I10", "reason": "血压控制不佳"}
    assert client.post("/api/referrals", json=body | {"person_id": people["others"][0]},
                       headers=h["ref-doc-t1"]).status_code == 404
    assert client.post("/api/referrals", json=body | {"person_id": "NOBODY"}, headers=h["ref-doc-t1"]).status_code \
        == 404
    assert client.post("/api/referrals", json=body, headers=h["ref-doc-h"]).status_code == 403
    assert client.post("/api/referrals", json=body, headers=h["ref-bureau"]).status_code == 403
    assert client.post("/api/referrals", json=body | {"direction": "down"}, headers=h["ref-doc-t1"]).status_code \
        == 422  # a township does not refer down to the county hospital
    assert client.post("/api/referrals", json=body | {"diagnosis": "I10'; drop table x"},
                       headers=h["ref-doc-t1"]).status_code == 422
    assert client.post("/api/referrals", json=body, headers=h["ref-doc-t1"]).status_code == 201


def test_the_workflow_up_and_back(client: TestClient, h: dict, people: dict) -> None:  # noqa: F811
    rid = _refer(client, h, people["mine"][1], from_claim_id="C-REFERRING")
    slot = _slot(client, h, 2)
    assert _move(client, h["ref-doc-t1"], rid, "accepted") == 403  # the sender cannot accept
    assert _move(client, h["ref-doc-g2"], rid, "accepted") == 404  # not a party: not disclosed
    assert _move(client, h["ref-doc-h"], rid, "arrived") == 409  # not booked yet
    assert _move(client, h["ref-doc-h"], rid, "accepted") == 200
    assert _move(client, h["ref-doc-h"], rid, "accepted") == 409
    assert _move(client, h["ref-doc-t1"], rid, "booked") == 422  # no slot
    assert _move(client, h["ref-doc-t1"], rid, "booked", slot_id=slot) == 200
    letter = client.get(f"/api/referrals/{rid}", headers=h["ref-doc-h"])
    assert letter.status_code == 200
    got = letter.json()
    assert (got["reason"], got["diagnosis"], got["party"], got["status"]) == ("疑似脑梗死，请会诊", "I63.9", "receiver",
                                                                            "booked")
    assert [e["to_status"] for e in got["events"]] == ["requested", "accepted", "booked"]
    assert all(e["actor"] and e["at"] for e in got["events"])
    assert client.get(f"/api/referrals/{rid}", headers=h["ref-doc-g2"]).status_code == 404
    assert _move(client, h["ref-doc-t1"], rid, "arrived") == 403  # the receiver records the arrival
    for status in ("arrived", "completed"):
        assert _move(client, h["ref-doc-h"], rid, status) == 200
    assert _move(client, h["ref-doc-h"], rid, "returned", care_plan="每周随访血压，两周后复诊") == 200
    assert _move(client, h["ref-doc-h"], rid, "cancelled") == 409
    assert _move(client, h["ref-doc-h"], rid, "expired") == 422  # the system's move, not the API's
    back = client.get(f"/api/referrals/{rid}", headers=h["ref-doc-t1"]).json()
    assert back["care_plan"] == "每周随访血压，两周后复诊" and back["party"] == "sender"
    assert rid in {r["referral_id"] for r in client.get("/api/referrals", headers=h["ref-doc-h"]).json()}


def test_bookings_keep_the_reserve_for_referrals(client: TestClient, h: dict, people: dict) -> None:  # noqa: F811
    slot = _slot(client, h, 2)  # 1 reserved, 1 open
    mine = people["mine"]
    url = f"/api/slots/{slot}/bookings"
    assert client.post(url, json={"person_id": people["others"][0]}, headers=h["ref-doc-t1"]).status_code == 404
    assert client.post(url, json={"person_id": mine[2]}, headers=h["ref-admin-h"]).status_code == 403
    assert client.post(url, json={"person_id": mine[2]}, headers=h["ref-doc-t1"]).status_code == 201
    assert client.post(url, json={"person_id": mine[2]}, headers=h["ref-doc-t1"]).status_code == 409  # twice
    assert client.post(url, json={"person_id": mine[3]}, headers=h["ref-doc-t1"]).status_code == 409  # reserve
    rid = _refer(client, h, mine[3], from_claim_id="C-ADMIT-1")
    assert client.post(url, json={"person_id": mine[3], "referral_id": rid},
                       headers=h["ref-doc-t1"]).status_code == 409  # not accepted yet
    assert _move(client, h["ref-doc-h"], rid, "accepted") == 200
    assert client.post(url, json={"person_id": mine[4], "referral_id": rid},
                       headers=h["ref-doc-t1"]).status_code == 422  # another person
    r = client.post(url, json={"person_id": mine[3], "referral_id": rid}, headers=h["ref-admin-h"])
    assert r.status_code == 201, r.text
    assert r.json()["referral_from"] == "C-ADMIT-1"  # the admission's claim carries the referring admission
    listed = client.get("/api/slots", params={"inst_id": "G1-H"}, headers=h["ref-doc-t1"]).json()
    assert next(s for s in listed if s["slot_id"] == slot)["booked"] == 2
    assert client.get(f"/api/referrals/{rid}", headers=h["ref-doc-h"]).json()["status"] == "booked"


def test_a_resident_books_for_their_household_only(api_app: FastAPI, client: TestClient, h: dict,  # noqa: F811
                                                   example_input: Path) -> None:
    persons = read_csv(example_input / "persons.csv")
    me = persons[0]
    make_user(api_app, "ref-res", "resident", person_id=me["person_id"])
    headers = login(client, "ref-res")
    outsider = next(p["person_id"] for p in persons if p["household_id"] != me["household_id"])
    slot = _slot(client, h, 5, kind="exam")
    url = f"/api/slots/{slot}/bookings"
    assert client.post(url, json={"person_id": outsider}, headers=headers).status_code == 404
    assert client.post(url, json={"person_id": me["person_id"]}, headers=headers).status_code == 201
    assert client.post("/api/slots", json={"inst_id": "G1-H", "kind": "bed", "start": START, "capacity": 1},
                       headers=headers).status_code == 403


@pytest.mark.parametrize("path, body", [
    ("/api/referrals/99999999999/status", {"status": "accepted"}),
    ("/api/referrals/1/status", {"status": "accepted", "slot_id": -1}),
    ("/api/slots/abc/bookings", {"person_id": "x"}),
    ("/api/slots/1/bookings", {"person_id": "x" * 65}),
    ("/api/slots", {"inst_id": "G1-H", "kind": "bed", "start": "not a date", "capacity": 1}),
])
def test_hostile_input_is_refused_4xx(client: TestClient, h: dict, path: str, body: dict) -> None:  # noqa: F811
    r = client.post(path, json=body, headers=h["ref-doc-t1"])
    assert 400 <= r.status_code < 500, r.text


def test_a_county_visit_for_a_first_visit_disease_without_a_referral_is_flagged(client: TestClient, h: dict,  # noqa: F811
                                                                                people: dict) -> None:
    person = people["mine"][-1]
    body = {"person_id": person, "inst_id": "G1-H", "diagnosis": "i10"}
    r = client.post("/api/referrals/visit-check", json=body, headers=h["ref-doc-h"])
    assert r.status_code == 200, r.text
    assert r.json()["flagged"] and r.json()["disease"] == "I10" and "基层首诊" in r.json()["message"]
    assert not client.post("/api/referrals/visit-check", json=body | {"emergency": True},
                           headers=h["ref-doc-h"]).json()["flagged"]
    assert not client.post("/api/referrals/visit-check", json=body | {"diagnosis": "I63.9"},
                           headers=h["ref-doc-h"]).json()["flagged"]  # not a first-visit disease
    assert client.post("/api/referrals/visit-check", json=body, headers=h["ref-doc-t1"]).status_code == 403
    assert client.post("/api/referrals/visit-check", json=body | {"diagnosis": "<script>"},
                       headers=h["ref-doc-h"]).status_code == 422
    rid = _refer(client, h, person)  # the township refers them up: the visit is no longer flagged once accepted
    assert client.post("/api/referrals/visit-check", json=body, headers=h["ref-doc-h"]).json()["flagged"]
    assert _move(client, h["ref-doc-h"], rid, "accepted") == 200
    assert not client.post("/api/referrals/visit-check", json=body, headers=h["ref-doc-h"]).json()["flagged"]
    township = client.post("/api/referrals/visit-check", json=body | {"inst_id": "G1-T1"}, headers=h["ref-doc-t1"])
    assert township.status_code == 200 and not township.json()["flagged"]  # the township is where it belongs


def test_stable_refer_down_cases_are_proposed_to_go_back(client: TestClient, h: dict, people: dict) -> None:  # noqa: F811
    rid = _refer(client, h, people["mine"][-2])  # I63.9 cerebral infarction: in the refer-down catalogue
    assert rid not in {p["referral_id"] for p in client.get("/api/referrals/proposals", headers=h["ref-doc-h"]).json()}
    slot = _slot(client, h, 3)
    for status, extra in (("accepted", {}), ("booked", {"slot_id": slot}), ("arrived", {})):
        assert _move(client, h["ref-doc-h"], rid, status, **extra) == 200
    got = {p["referral_id"]: p for p in client.get("/api/referrals/proposals", headers=h["ref-doc-h"]).json()}
    assert got[rid]["disease"] == "I63" and got[rid]["next_status"] == "completed" and got[rid]["back_to"] == "G1-T1"
    assert _move(client, h["ref-doc-h"], rid, "completed") == 200
    got = {p["referral_id"]: p for p in client.get("/api/referrals/proposals", headers=h["ref-doc-h"]).json()}
    assert got[rid]["next_status"] == "returned"
    assert _move(client, h["ref-doc-h"], rid, "returned", care_plan="康复训练，每月随访") == 200
    assert rid not in {p["referral_id"] for p in client.get("/api/referrals/proposals", headers=h["ref-doc-h"]).json()}
    assert client.get("/api/referrals/proposals", headers=h["ref-doc-t1"]).json() == []  # the sender receives none
    assert client.get("/api/referrals/proposals", headers=h["ref-bureau"]).status_code == 403


def test_the_workflows_referrals_feed_the_appraisal(api_app: FastAPI, client: TestClient, h: dict,  # noqa: F811
                                                    example_input: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from yigongti.appraisal.service import appraise_data
    from yigongti.cli import app
    from yigongti.core.policy import Policy
    from yigongti.datafolder.folder import read_folder

    sent = client.get("/api/referrals", headers=h["ref-doc-t1"]).json()
    arrived = [r for r in sent if r["from_inst_id"] == "G1-T1" and r["direction"] == "up"
               and r["status"] in ("arrived", "completed", "returned")]
    done = [r for r in arrived if r["status"] in ("completed", "returned")]
    assert arrived and done  # the workflow tests above took some referrals all the way
    url = api_app.state.ctx.engine.url.render_as_string(hide_password=False)
    folder = tmp_path / "county"
    shutil.copytree(example_input, folder)
    res = CliRunner().invoke(app, ["referral", "export", "--db", url, "--out", str(folder)])
    assert res.exit_code == 0, res.output
    assert len(read_csv(folder / "referrals.csv")) >= len(sent)
    data = read_folder(folder)
    year = int(arrived[0]["requested_at"][:4])
    result = appraise_data(data, year, Policy(), data["designations"], None, with_previous=False)
    got = {r["indicator"]: r["numerator"] for r in result.indicators.to_pylist() if r["scope"] == "G1-T1"}
    assert (got["S3"], got["S4b"]) == (str(len(arrived)), str(len(done)))


def test_the_internal_statement_from_the_database_sums_to_zero(api_app: FastAPI, client: TestClient,  # noqa: F811
                                                               h: dict) -> None:
    from yigongti.core.policy import ReferralPolicy
    from yigongti.shared.service import member_statement
    from yigongti.shared.uow import RecordUnitOfWork

    sent = client.get("/api/referrals", headers=h["ref-doc-t1"]).json()
    done = [r for r in sent if r["direction"] == "up" and r["status"] in ("completed", "returned")]
    year = int(done[0]["requested_at"][:4])
    lines, skipped = member_statement(RecordUnitOfWork(api_app.state.ctx.engine), year, ReferralPolicy())
    assert skipped == 0 and sum(ln.net for ln in lines) == 0
    township = sum(ln.net for ln in lines if ln.inst_id == "G1-T1" and ln.item == "up_referral")
    assert {ln.item for ln in lines} <= {"up_referral", "down_referral"}  # no read or consultation in this module
    assert township == 2000 * len(done)  # the hospital pays the township 20 yuan per completed referral
