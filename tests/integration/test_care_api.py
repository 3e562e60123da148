"""The care API (家庭医生签约与慢病管理接口) by role and scope, on SQLite and PostgreSQL: teams, contracts and the
panel cap, follow-ups and the control status, worklists, coverage, long prescriptions.

Worked example county, "today" 2025-11-15. Designated to village clinic G1-T1-V1 for 2025: R0008 (born 1984) and
R0009 (1957) of household HH002, R0126 (1951), R0133 (1969), R0164 (1947). R0010 is designated in consortium G2.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_fixtures import Live, running

from yigongti.core.policy import CarePolicy

V1 = "G1-T1-V1"
USERS = {"gp": ("clinician", {"inst_id": V1}), "v1-admin": ("institution_admin", {"inst_id": V1}),
         "t1-admin": ("institution_admin", {"inst_id": "G1-T1"}), "g2-doc": ("clinician", {"inst_id": "G2-T3-V2"}),
         "g1-admin": ("consortium_admin", {"consortium_id": "G1"}),
         "bureau": ("insurance_bureau", {"county_code": "513433"}),
         "resident": ("resident", {"person_id": "R0008"})}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         example_input: Path) -> Iterator[Live]:
    with running(request.param, tmp_path_factory.mktemp(f"care-{request.param}"), example_input, USERS) as found:
        yield found


TEAM = {"inst_id": V1, "name": "一村家庭医生团队", "members": [
    {"role": "gp", "name": "张医生", "inst_id": V1, "username": "gp"},
    {"role": "nurse", "name": "李护士", "inst_id": V1},
    {"role": "public_health", "name": "王医生", "inst_id": "G1-T1"},
    {"role": "specialist", "name": "赵主任", "inst_id": "G1-H"}]}


@pytest.fixture(scope="module")
def team(live: Live) -> dict:
    r = live.client.post("/api/care/teams", json=TEAM, headers=live.h["v1-admin"])
    assert r.status_code == 201, r.text
    return dict(r.json())


def _gp(team: dict) -> int:
    return next(m["member_id"] for m in team["members"] if m["role"] == "gp")


def test_teams_by_role(live: Live, team: dict) -> None:
    c, h = live.client, live.h
    assert [m["role"] for m in team["members"]] == ["gp", "nurse", "public_health", "specialist"]
    assert c.post("/api/care/teams", json=TEAM, headers=h["gp"]).status_code == 403
    assert c.post("/api/care/teams", json=TEAM, headers=h["t1-admin"]).status_code == 403  # another institution
    assert c.post("/api/care/teams", json=TEAM, headers=h["g1-admin"]).status_code == 201  # its consortium
    no_gp = TEAM | {"members": TEAM["members"][1:]}
    assert c.post("/api/care/teams", json=no_gp, headers=h["v1-admin"]).status_code == 422
    bad_specialist = TEAM | {"members": [*TEAM["members"][:3], {"role": "specialist", "name": "x", "inst_id": V1}]}
    r = c.post("/api/care/teams", json=bad_specialist, headers=h["v1-admin"])
    assert r.status_code == 422 and "county hospital" in r.text
    assert c.post("/api/care/teams", json=TEAM | {"inst_id": "G1-H"}, headers=h["g1-admin"]).status_code == 422
    assert c.post("/api/care/teams", json=TEAM | {"inst_id": "NOWHERE"}, headers=h["g1-admin"]).status_code == 404
    listed = c.get("/api/care/teams", params={"inst_id": V1}, headers=h["bureau"]).json()
    assert team["team_id"] in [t["team_id"] for t in listed]
    assert c.get("/api/care/teams", params={"inst_id": V1}, headers=h["resident"]).status_code == 403


def test_the_designated_clinics_team_is_proposed(live: Live, team: dict) -> None:
    r = live.client.get("/api/care/persons/R0133/proposed-team", headers=live.h["gp"])
    assert r.status_code == 200 and r.json()["team_id"] == team["team_id"]
    assert live.client.get("/api/care/persons/R0010/proposed-team", headers=live.h["gp"]).status_code == 404


def test_contracts_scope_and_the_panel_cap(live: Live, team: dict) -> None:
    c, h, ctx = live.client, live.h, live.app.state.ctx
    body = {"person_ids": ["R0008", "R0009"], "team_id": team["team_id"], "gp_member_id": _gp(team),
            "start_date": "2025-11-15", "household_id": "HH002"}
    assert c.post("/api/care/contracts", json=body, headers=h["resident"]).status_code == 403
    assert c.post("/api/care/contracts", json=body, headers=h["g2-doc"]).status_code == 404  # not in scope
    assert c.post("/api/care/contracts", json=body | {"person_ids": ["R0008", "R0010"]},
                  headers=h["gp"]).status_code == 404
    assert c.post("/api/care/contracts", json=body | {"gp_member_id": team["members"][1]["member_id"]},
                  headers=h["gp"]).status_code == 422  # a nurse is not a GP
    r = c.post("/api/care/contracts", json=body, headers=h["gp"])
    assert r.status_code == 201, r.text
    assert [(x["person_id"], x["end_date"]) for x in r.json()] == [("R0008", "2026-11-14"), ("R0009", "2026-11-14")]
    assert live.audit_count("R0009", "care.contract") == 1
    assert c.post("/api/care/contracts", json=body, headers=h["gp"]).status_code == 409  # already
    saved = ctx.policy
    ctx.policy = saved.model_copy(update={"care": CarePolicy(panel_cap=3)})
    try:
        r = c.post("/api/care/contracts", json=body | {"person_ids": ["R0126", "R0133"], "household_id": None},
                   headers=h["gp"])
        assert r.status_code == 409 and "3" in r.json()["detail"] and "panel" in r.json()["detail"]
        r = c.post("/api/care/contracts", json=body | {"person_ids": ["R0126"], "household_id": None,
                                                       "conditions": {"R0126": ["tuberculosis"]}},
                   headers=h["v1-admin"])
        assert r.status_code == 201, r.text
    finally:
        ctx.policy = saved
    assert c.post("/api/care/contracts", json=body | {"team_id": 2**40}, headers=h["gp"]).status_code == 422
    assert c.post("/api/care/contracts", json=body | {"person_ids": ["x" * 65]}, headers=h["gp"]).status_code == 422


def test_followups_control_status_and_worklists(live: Live, team: dict) -> None:
    c, h = live.client, live.h
    f = {"person_id": "R0009", "disease": "hypertension", "date": "2025-11-10", "systolic": 150, "diastolic": 95,
         "medicines": "氨氯地平 5mg qd", "next_date": "2025-11-20"}
    assert c.post("/api/care/followups", json=f, headers=h["bureau"]).status_code == 403
    assert c.post("/api/care/followups", json=f | {"person_id": "R0010"}, headers=h["gp"]).status_code == 404
    assert c.post("/api/care/followups", json=f | {"date": "2025-12-01", "next_date": None},
                  headers=h["gp"]).status_code == 422  # in the future
    assert c.post("/api/care/followups", json=f | {"diastolic": None}, headers=h["gp"]).status_code == 422
    assert c.post("/api/care/followups", json=f | {"systolic": 999}, headers=h["gp"]).status_code == 422
    assert c.post("/api/care/followups", json=f | {"fasting_glucose": "NaN"}, headers=h["gp"]).status_code == 422
    r = c.post("/api/care/followups", json=f, headers=h["gp"])
    assert r.status_code == 201, r.text
    assert (r.json()["control"], r.json()["registered_now"]) == ("uncontrolled", True)
    st = c.get("/api/care/persons/R0009", headers=h["gp"]).json()
    (dis,) = st["diseases"]
    assert (dis["source"], dis["registered_on"], dis["control"]) == ("screening", "2025-11-10", "uncontrolled")
    assert set(dis["lists"]) == {"due", "uncontrolled"}
    assert st["contract_end"] == "2026-11-14"
    assert c.get("/api/care/persons/R0009", headers=h["g2-doc"]).status_code == 404
    # a registration by hand long ago, never followed up: lost
    reg = {"person_id": "R0126", "disease": "diabetes", "registered_on": "2024-06-01"}
    assert c.post("/api/care/registry", json=reg, headers=h["v1-admin"]).status_code == 403
    assert c.post("/api/care/registry", json=reg, headers=h["gp"]).status_code == 201
    lists = {w["worklist"]: {p["person_id"] for p in w["persons"]}
             for w in c.get("/api/care/worklists", headers=h["gp"]).json()}
    assert lists == {"overdue": set(), "due": {"R0009"}, "uncontrolled": {"R0009"}, "lost": {"R0126"}}
    assert c.get("/api/care/worklists", headers=h["g2-doc"]).status_code == 404  # no GP of theirs
    assert c.get("/api/care/worklists", headers=h["bureau"]).status_code == 403
    # controlled now: off the uncontrolled list
    r = c.post("/api/care/followups", json=f | {"date": "2025-11-14", "systolic": 128, "diastolic": 80,
                                                "next_date": "2026-02-14"}, headers=h["gp"])
    assert (r.json()["control"], r.json()["registered_now"]) == ("controlled", False)
    lists = {w["worklist"]: {p["person_id"] for p in w["persons"]}
             for w in c.get("/api/care/worklists", headers=h["gp"]).json()}
    assert lists["uncontrolled"] == set() and lists["due"] == set()
    assert live.audit_count("R0009", "care.followup") == 2
    assert live.audit_count("R0126", "GET /api/care/worklists") == 2  # each time the lists showed R0126


def test_coverage_by_key_population(live: Live, team: dict) -> None:
    rows = {r["population"]: r for r in live.client.get("/api/care/coverage", headers=live.h["gp"]).json()}
    assert rows["elderly"]["contracted"] == 2 and rows["elderly"]["persons"] >= 3  # R0009, R0126 of R0164 too
    assert rows["tuberculosis"] == {"population": "tuberculosis", "label": rows["tuberculosis"]["label"],
                                    "persons": None, "contracted": 1, "rate": None}
    assert rows["all"]["contracted"] == 3
    assert live.client.get("/api/care/coverage", headers=live.h["resident"]).status_code == 403


def test_long_prescriptions(live: Live, team: dict) -> None:
    c, h = live.client, live.h

    def check(pid: str, disease: str, days: int) -> tuple[int, str]:
        r = c.post("/api/care/prescriptions/check", json={"person_id": pid, "disease": disease, "days": days},
                   headers=h["gp"])
        return r.status_code, r.text

    assert check("R0009", "hypertension", 60)[0] == 200  # contracted, registered, controlled
    code, why = check("R0009", "hypertension", 61)
    assert code == 422 and "60" in why
    code, why = check("R0126", "diabetes", 45)
    assert code == 422 and "not stable" in why
    code, why = check("R0164", "hypertension", 45)
    assert code == 422 and "contract" in why
    assert check("R0164", "hypertension", 30)[0] == 200
    assert check("R0010", "hypertension", 30)[0] == 404
    assert live.audit_count("R0164", "POST /api/care/prescriptions/check") == 2  # refused or not: who asked


def test_long_prescriptions_are_recorded_and_counted_per_family_doctor(live: Live, team: dict) -> None:
    from yigongti.care.service import db_gp_pay
    from yigongti.care.uow import CareUnitOfWork

    c, h, gp = live.client, live.h, _gp(team)
    url = "/api/care/long-prescriptions"

    def counts(who: str = "g1-admin", **params: object) -> dict[int, tuple[int, int]]:
        r = c.get(f"{url}/counts", params=params, headers=h[who])
        assert r.status_code == 200, r.text
        return {x["gp_member_id"]: (x["prescriptions"], x["days"]) for x in r.json()}

    n, days = counts().get(gp, (0, 0))
    body = {"person_id": "R0009", "disease": "hypertension", "days": 60}
    r = c.post(url, json=body, headers=h["gp"])
    assert r.status_code == 201, r.text
    assert (r.json()["gp_member_id"], r.json()["inst_id"], r.json()["days"]) == (gp, V1, 60)
    assert live.audit_count("R0009", "care.long_prescription") == 1
    r = c.post(url, json=body | {"days": 61}, headers=h["gp"])  # refused: the reason, nothing recorded
    assert r.status_code == 422 and "60" in r.text
    r = c.post(url, json={"person_id": "R0164", "disease": "hypertension", "days": 45}, headers=h["gp"])
    assert r.status_code == 422 and "contract" in r.text
    r = c.post(url, json={"person_id": "R0126", "disease": "diabetes", "days": 45}, headers=h["gp"])
    assert r.status_code == 422 and "not stable" in r.text
    assert c.post(url, json=body | {"days": 30}, headers=h["gp"]).status_code == 422  # not a long prescription
    assert c.post(url, json=body, headers=h["bureau"]).status_code == 403
    assert c.post(url, json=body, headers=h["v1-admin"]).status_code == 403
    assert c.post(url, json=body, headers=h["g2-doc"]).status_code == 404  # outside the doctor's scope
    assert c.post(url, json=body | {"person_id": "R0010"}, headers=h["gp"]).status_code == 404
    assert live.audit_count("R0009", "care.long_prescription") == 1
    assert live.audit_count("R0164", "care.long_prescription") == 0
    assert counts()[gp] == (n + 1, days + 60)
    assert counts("bureau", year=2025)[gp] == (n + 1, days + 60)
    assert counts("g1-admin", consortium="G1")[gp] == (n + 1, days + 60)
    assert gp not in counts(year=2024)
    assert c.get(f"{url}/counts", params={"consortium": "G2"}, headers=h["g1-admin"]).status_code == 404
    assert c.get(f"{url}/counts", params={"year": "x"}, headers=h["g1-admin"]).status_code == 422
    for who in ("gp", "v1-admin", "resident"):
        assert c.get(f"{url}/counts", headers=h[who]).status_code == 403
    ctx = live.app.state.ctx
    pay = {v.row.gp_id: v for v in db_gp_pay(CareUnitOfWork(ctx.sessions), year=2025, policy=ctx.policy.care)}
    assert pay[str(gp)].long_prescriptions == n + 1  # the GP pay page's column


def test_registration_from_claims_keeps_the_earliest(live: Live, team: dict) -> None:
    from datetime import date, datetime

    from yigongti.care.service import register_from_claims
    from yigongti.care.uow import CareUnitOfWork

    ctx = live.app.state.ctx
    claims = [("C1", "R0133", "G1-H", date(2025, 3, 1), "I11.9"), ("C2", "R0133", "G1-T1", date(2025, 1, 5), "I10"),
              ("C3", "R0133", "G1-H", date(2025, 2, 1), "J18.9"), ("C4", "NOBODY", "G1-H", date(2025, 1, 1), "E11"),
              ("C5", "R0164", "G1-T1", date(2024, 12, 1), "E11.9")]
    n = register_from_claims(CareUnitOfWork(ctx.sessions), claims, policy=CarePolicy(), now=datetime(2025, 11, 15))
    assert n == 2
    st = live.client.get("/api/care/persons/R0133", headers=live.h["gp"]).json()
    assert [(d["disease"], d["registered_on"], d["inst_id"], d["source"]) for d in st["diseases"]] == [
        ("hypertension", "2025-01-05", "G1-T1", "claim")]
    assert live.audit_count("R0133", "care.register") == 1
    assert live.audit_count("R0133", "GET /api/care/persons/{person_id}") == 1


def test_hostile_input_is_a_client_error(live: Live, team: dict) -> None:
    c, h = live.client, live.h
    f = {"person_id": "R0133", "disease": "hypertension", "date": "2025-11-10", "systolic": 130, "diastolic": 80}
    assert c.post("/api/care/followups", json=f | {"medicines": "a\x00b"}, headers=h["gp"]).status_code == 400
    lone = b'{"person_id": "\\ud800", "disease": "hypertension", "date": "2025-11-10"}'  # a lone surrogate
    assert c.post("/api/care/followups", content=lone, headers=h["gp"] | {
        "content-type": "application/json"}).status_code == 400
    assert c.post("/api/care/followups", json=f | {"disease": "flu"}, headers=h["gp"]).status_code == 422
    assert c.post("/api/care/followups", json=f | {"date": "2025-02-30"}, headers=h["gp"]).status_code == 422
    assert c.post("/api/care/followups", json=f | {"fasting_glucose": "1e400"}, headers=h["gp"]).status_code == 422
    assert c.post("/api/care/followups", json=f | {"medicines": "药" * 2001}, headers=h["gp"]).status_code == 422
    assert c.get("/api/care/worklists", params={"gp_member_id": "-1"}, headers=h["gp"]).status_code == 422
    assert c.post("/api/care/prescriptions/check", json={"person_id": "R0133", "disease": "diabetes", "days": 0},
                  headers=h["gp"]).status_code == 422
    assert c.post("/api/care/teams", content=b"{not json", headers=h["v1-admin"] | {
        "content-type": "application/json"}).status_code == 422
