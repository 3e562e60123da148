"""The key populations through the API (重点人群接口) by role and scope, on SQLite and PostgreSQL: registers, services,
a person's schedule, the family doctor's key-population worklist, the members' duty lists.

Worked example county, "today" 2025-11-15. Designated in consortium G2 for 2025: under township centre G2-T1 R0048
(woman, born 1988), R0153 (woman, 1999), R0208 (man, 1933) and R0127 (boy, born 2020-05-01); elsewhere in G2 R0010
(1941), R0213 (1954), R0165 (born 1960-12-14: 65 on 2025-12-14), R0154 (girl, 2020). Consortium G1 has no child and
no woman of 18-45 designated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_fixtures import Live, running

T1 = "G2-T1"
USERS = {"doc": ("clinician", {"inst_id": T1}), "t1-admin": ("institution_admin", {"inst_id": T1}),
         "g1-doc": ("clinician", {"inst_id": "G1-T1-V1"}), "g2-admin": ("consortium_admin", {"consortium_id": "G2"}),
         "g1-admin": ("consortium_admin", {"consortium_id": "G1"}),
         "bureau": ("insurance_bureau", {"county_code": "513433"}),
         "resident": ("resident", {"person_id": "R0048"})}
PANEL = ["R0048", "R0153", "R0208", "R0127"]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         example_input: Path) -> Iterator[Live]:
    with running(request.param, tmp_path_factory.mktemp(f"keypops-{request.param}"), example_input, USERS) as found:
        yield found


@pytest.fixture(scope="module")
def gp(live: Live) -> int:
    c, h = live.client, live.h
    team = {"inst_id": T1, "name": "乡镇卫生院家庭医生团队", "members": [
        {"role": "gp", "name": "陈医生", "inst_id": T1, "username": "doc"}, {"role": "nurse", "name": "周护士",
                                                                            "inst_id": T1}]}
    r = c.post("/api/care/teams", json=team, headers=h["t1-admin"])
    assert r.status_code == 201, r.text
    body = r.json()
    gp_id = next(m["member_id"] for m in body["members"] if m["role"] == "gp")
    r = c.post("/api/care/contracts", json={"person_ids": PANEL, "team_id": body["team_id"], "gp_member_id": gp_id,
                                            "start_date": "2025-01-10"}, headers=h["doc"])
    assert r.status_code == 201, r.text
    return int(gp_id)


REGISTERS = ({"person_id": "R0048", "population": "pregnant", "start_date": "2025-06-01"},
             {"person_id": "R0153", "population": "tuberculosis", "start_date": "2025-10-01"})
SERVICES = ({"person_id": "R0208", "population": "elderly", "date": "2025-03-01"},
            {"person_id": "R0048", "population": "pregnant", "date": "2025-07-01"},
            {"person_id": "R0127", "population": "child", "date": "2025-05-03"},
            {"person_id": "R0153", "population": "tuberculosis", "date": "2025-10-11"})


@pytest.fixture(scope="module")
def recorded(live: Live, gp: int) -> int:
    """The registers and services of the worked example (posting them again changes nothing)."""
    for path, bodies in (("key-registers", REGISTERS), ("key-services", SERVICES)):
        for body in bodies:
            r = live.client.post(f"/api/care/{path}", json=body, headers=live.h["doc"])
            assert r.status_code == 201, r.text
    return gp


def test_registers_by_role_and_their_refusals(live: Live, gp: int) -> None:
    c, h = live.client, live.h
    body = {"person_id": "R0048", "population": "pregnant", "start_date": "2025-06-01"}
    assert c.post("/api/care/key-registers", json=body, headers=h["resident"]).status_code == 403
    assert c.post("/api/care/key-registers", json=body, headers=h["t1-admin"]).status_code == 403
    assert c.post("/api/care/key-registers", json=body, headers=h["g1-doc"]).status_code == 404  # not in scope
    r = c.post("/api/care/key-registers", json=body, headers=h["doc"])
    assert r.status_code == 201, r.text
    assert r.json()["inst_id"] == T1 and r.json()["end_date"] is None
    closed = c.post("/api/care/key-registers", json=body | {"end_date": "2026-03-01"}, headers=h["doc"])
    assert closed.status_code == 201 and closed.json()["register_id"] == r.json()["register_id"]
    reopened = c.post("/api/care/key-registers", json=body, headers=h["doc"])  # the delivery not known after all
    assert reopened.json()["end_date"] is None
    overlap = c.post("/api/care/key-registers", json=body | {"start_date": "2025-08-01"}, headers=h["doc"])
    assert overlap.status_code == 409 and "2025-06-01" in overlap.text
    man = c.post("/api/care/key-registers", json=body | {"person_id": "R0208"}, headers=h["doc"])
    assert man.status_code == 422 and "woman" in man.text
    assert c.post("/api/care/key-registers", json=body | {"start_date": "2026-01-01"},
                  headers=h["doc"]).status_code == 422  # in the future
    assert c.post("/api/care/key-registers", json=body | {"end_date": "2025-05-01"},
                  headers=h["doc"]).status_code == 422  # before the start
    assert c.post("/api/care/key-registers", json=body | {"population": "elderly"},
                  headers=h["doc"]).status_code == 422  # known from the birth date


def test_services_are_checked_against_the_population_and_recorded_once(live: Live, gp: int) -> None:
    c, h = live.client, live.h
    check = {"person_id": "R0208", "population": "elderly", "date": "2025-02-01"}
    r = c.post("/api/care/key-services", json=check, headers=h["doc"])
    assert r.status_code == 201 and r.json()["created"] is True
    again = c.post("/api/care/key-services", json=check, headers=h["doc"])
    assert again.json()["created"] is False and again.json()["service_id"] == r.json()["service_id"]
    young = c.post("/api/care/key-services", json=check | {"person_id": "R0153"}, headers=h["doc"])
    assert young.status_code == 422 and "65" in young.text
    unregistered = c.post("/api/care/key-services", json={"person_id": "R0153", "population": "pregnant",
                                                          "date": "2025-11-01"}, headers=h["doc"])
    assert unregistered.status_code == 422 and "register" in unregistered.text
    assert c.post("/api/care/key-services", json=check | {"date": "2025-11-16"}, headers=h["doc"]).status_code == 422
    assert c.post("/api/care/key-services", json=check, headers=h["resident"]).status_code == 403
    assert c.post("/api/care/key-services", json=check, headers=h["g1-doc"]).status_code == 404


def test_a_persons_schedule_with_the_state_of_each_visit(live: Live, recorded: int) -> None:
    c, h = live.client, live.h
    rows = c.get("/api/care/persons/R0048/key-services", headers=h["doc"]).json()
    prenatal = [r for r in rows if r["population"] == "pregnant"]
    assert [r["state"] for r in prenatal] == ["done", "missed", "due", "upcoming", "upcoming"]
    assert prenatal[0]["service_date"] == "2025-07-01" and prenatal[0]["state_label"].startswith("已完成")
    assert prenatal[2]["start"] == "2025-10-26" and prenatal[2]["due"] == "2025-11-22"
    tb = [r for r in c.get("/api/care/persons/R0153/key-services", headers=h["doc"]).json()]
    assert {r["state"] for r in tb} >= {"done", "missed", "overdue"} or {r["state"] for r in tb} >= {"done", "due"}
    assert c.get("/api/care/persons/R0048/key-services", headers=h["g1-doc"]).status_code == 404


def test_the_family_doctors_key_population_worklist(live: Live, recorded: int) -> None:
    c, h = live.client, live.h
    r = c.get("/api/care/key-worklist", headers=h["doc"])
    assert r.status_code == 200, r.text
    got = {(e["person_id"], e["slot"]["population"]): e["slot"]["state"] for e in r.json()}
    assert got[("R0048", "pregnant")] == "due"
    assert ("R0208", "elderly") not in got  # checked this year already
    assert ("R0153", "tuberculosis") in got
    states = [e["slot"]["state"] for e in r.json()]
    assert states == sorted(states, key=lambda s: s != "overdue")  # overdue first
    as_admin = c.get("/api/care/key-worklist", params={"gp_member_id": recorded}, headers=h["t1-admin"])
    assert as_admin.status_code == 200 and len(as_admin.json()) == len(r.json())
    assert c.get("/api/care/key-worklist", headers=h["g1-doc"]).status_code == 404  # no GP seat
    assert c.get("/api/care/key-worklist", params={"gp_member_id": recorded}, headers=h["g1-doc"]).status_code == 404
    assert c.get("/api/care/key-worklist", headers=h["resident"]).status_code == 403


def test_the_members_duty_lists_with_completion_rates(live: Live, recorded: int) -> None:
    c, h = live.client, live.h
    r = c.get("/api/care/duties", params={"year": 2025}, headers=h["g2-admin"])
    assert r.status_code == 200, r.text
    rows = {(x["scope_kind"], x["scope"], x["population"]): x for x in r.json()}
    assert {k[1] for k in rows if k[0] == "consortium"} == {"G2"}
    elderly = rows[("consortium", "G2", "elderly")]
    # R0010, R0208, R0213 and R0165 (65 on 2025-12-14); R0208 checked; the year's checks are not closed yet
    assert (elderly["persons"], elderly["counted"], elderly["done"], elderly["open"]) == (4, 1, 1, 2)
    assert elderly["rate"] == "100.0" and elderly["label"].startswith("65岁")
    for x in r.json():
        assert x["done"] <= x["counted"]
        assert x["rate"] is None or x["rate"] == f"{100 * x['done'] / x['counted']:.1f}"
    town = c.get("/api/care/duties", params={"year": 2025, "consortium": "G2", "inst": T1}, headers=h["g2-admin"])
    assert town.status_code == 200
    kinds = {x["scope_kind"] for x in town.json()}
    assert kinds <= {"total", "village"} and "total" in kinds
    assert c.get("/api/care/duties", params={"consortium": "G2"}, headers=h["g1-admin"]).status_code == 404
    assert c.get("/api/care/duties", params={"consortium": "G2", "inst": "G1-T1"},
                 headers=h["g2-admin"]).status_code == 404
    assert c.get("/api/care/duties", params={"year": 2026}, headers=h["g2-admin"]).status_code == 404  # future
    county = {x["scope"] for x in c.get("/api/care/duties", params={"year": 2025}, headers=h["bureau"]).json()
              if x["scope_kind"] == "consortium"}
    assert "G2" in county
    assert c.get("/api/care/duties", headers=h["resident"]).status_code == 403


def test_fhir_observations_care_plans_care_teams_and_practitioners(live: Live, recorded: int) -> None:
    c, h = live.client, live.h
    r = c.post("/api/care/followups", json={"person_id": "R0208", "disease": "hypertension", "date": "2025-11-01",
                                            "systolic": 152, "diastolic": 95, "fasting_glucose": "6.1",
                                            "hba1c": "6.4"}, headers=h["doc"])
    assert r.status_code == 201, r.text
    fid = r.json()["followup_id"]
    bp = c.get(f"/api/fhir/Observation/F{fid}-bp", headers=h["doc"])
    assert bp.status_code == 200 and bp.headers["content-type"].startswith("application/fhir+json")
    body = bp.json()
    assert body["resourceType"] == "Observation" and body["subject"]["reference"] == "Patient/R0208"
    assert [x["valueQuantity"]["value"] for x in body["component"]] == [152, 95]
    assert body["interpretation"][0]["coding"][0]["code"] == "H"  # not controlled (>= 140/90)
    glucose = c.get(f"/api/fhir/Observation/F{fid}-glucose", headers=h["doc"]).json()
    assert glucose["code"]["coding"][0]["code"] == "14771-0" and glucose["valueQuantity"]["value"] == 6.1
    assert c.get(f"/api/fhir/Observation/F{fid}-hba1c", headers=h["doc"]).json()["valueQuantity"]["unit"] == "%"
    assert c.get(f"/api/fhir/Observation/F{fid}-bp", headers=h["g1-doc"]).status_code == 404  # not in scope
    assert c.get(f"/api/fhir/Observation/F{fid}-bp", headers=h["resident"]).status_code == 404
    assert c.get("/api/fhir/Observation/F99999999-bp", headers=h["doc"]).status_code == 404
    assert c.get(f"/api/fhir/Observation/X{fid}-bp", headers=h["doc"]).status_code == 422
    found = c.get("/api/fhir/Observation", params={"patient": "Patient/R0208"}, headers=h["doc"]).json()
    assert found["resourceType"] == "Bundle" and found["type"] == "searchset"
    assert {e["resource"]["id"] for e in found["entry"]} >= {f"F{fid}-bp", f"F{fid}-glucose", f"F{fid}-hba1c"}

    plan = c.get("/api/fhir/CarePlan/R0048.pregnant", headers=h["doc"])
    assert plan.status_code == 200, plan.text
    acts = [a["detail"]["status"] for a in plan.json()["activity"]]
    assert acts == ["completed", "stopped", "scheduled", "not-started", "not-started"]
    assert plan.json()["careTeam"][0]["reference"].startswith("CareTeam/")
    plans = c.get("/api/fhir/CarePlan", params={"patient": "R0208"}, headers=h["doc"]).json()
    assert {e["resource"]["id"] for e in plans["entry"]} == {"R0208.hypertension", "R0208.elderly"}
    assert c.get("/api/fhir/CarePlan/R0048.hypertension", headers=h["doc"]).status_code == 404
    assert c.get("/api/fhir/CarePlan/R0048.pregnant", headers=h["g1-doc"]).status_code == 404
    assert c.get("/api/fhir/CarePlan/R0048.nothing", headers=h["doc"]).status_code == 404

    team_id = int(plan.json()["careTeam"][0]["reference"].split("/")[1])
    t = c.get(f"/api/fhir/CareTeam/{team_id}", headers=h["bureau"])
    assert t.status_code == 200
    parts = t.json()["participant"]
    assert [p["role"][0]["coding"][0]["code"] for p in parts] == ["gp", "nurse"]
    assert parts[0]["member"] == {"reference": f"Practitioner/{recorded}", "display": "陈医生"}
    assert c.get(f"/api/fhir/CareTeam/{team_id}", headers=h["g1-admin"]).status_code == 404  # another consortium
    assert c.get(f"/api/fhir/CareTeam/{team_id}", headers=h["resident"]).status_code == 404
    doc = c.get(f"/api/fhir/Practitioner/{recorded}", headers=h["g2-admin"])
    assert doc.status_code == 200 and doc.json()["name"][0]["text"] == "陈医生"
    assert c.get(f"/api/fhir/Practitioner/{recorded}", headers=h["g1-doc"]).status_code == 404
    assert c.get("/api/fhir/Practitioner/0", headers=h["doc"]).status_code == 422


def test_contract_coverage_counts_the_registers(live: Live, recorded: int) -> None:
    rows = {r["population"]: r for r in live.client.get("/api/care/coverage", headers=live.h["doc"]).json()}
    assert (rows["pregnant"]["persons"], rows["pregnant"]["contracted"], rows["pregnant"]["rate"]) == (1, 1, "100.0")
    assert (rows["tuberculosis"]["persons"], rows["tuberculosis"]["contracted"]) == (1, 1)
    assert rows["mental"]["persons"] is None  # no register of it kept: known only as declared at signing
    g2 = {r["population"]: r for r in live.client.get("/api/care/coverage", headers=live.h["g2-admin"]).json()}
    assert g2["elderly"]["persons"] >= 4 and g2["elderly"]["contracted"] == 1  # R0208 of R0010, R0165, R0213...
