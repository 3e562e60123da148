"""First-visit flags and proposed down-referrals in the platform (基层首诊提示、建议下转): a county hospital's staff
see, in the API and on their worklist, what the data year's claims of their hospital show — the same rows as
``yigongti referral flags`` — and refer a proposed stable case down with one action; a township sees none, an official
is refused. And the booking's ``referral_from`` on the admission's claim gives the continuous deductible."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from api_fixtures import api_app, client, login, make_user  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_referral_pages import CSRF, _signed_in

from yigongti.core.policy import Policy
from yigongti.referral.engine import write_flags
from yigongti.registry.domain import Tier


@pytest.fixture(scope="module")
def batch(example_input: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, str]]]:
    import csv

    out = tmp_path_factory.mktemp("flags")
    write_flags(example_input, 2026, Policy().referral, out)
    with (out / "referral_flags.csv").open(encoding="utf-8") as f1, \
            (out / "down_referral_proposals.csv").open(encoding="utf-8") as f2:
        return {"flags": list(csv.DictReader(f1)), "proposals": list(csv.DictReader(f2))}


@pytest.fixture(scope="module")
def h(api_app: FastAPI, client: TestClient) -> dict[str, dict[str, str]]:  # noqa: F811
    make_user(api_app, "cc-doc-h", "clinician", inst_id="G1-H")
    make_user(api_app, "cc-admin-h", "institution_admin", inst_id="G1-H")
    make_user(api_app, "cc-doc-t1", "clinician", inst_id="G1-T1")
    make_user(api_app, "cc-bureau", "insurance_bureau", county_code="513433")
    return {u: login(client, u) for u in ("cc-doc-h", "cc-admin-h", "cc-doc-t1", "cc-bureau")}


def test_the_county_hospital_sees_its_claims_flags_as_the_batch_does(api_app: FastAPI, client: TestClient,  # noqa: F811
                                                                      h: dict, batch: dict) -> None:
    r = client.get("/api/referrals/claims-check", headers=h["cc-doc-h"])
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["year"], got["inst_id"], got["county_tier"]) == (2026, "G1-H", True)
    mine = [f for f in batch["flags"] if f["inst_id"] == "G1-H"]
    assert mine and sorted(f["claim_id"] for f in got["flags"]) == sorted(f["claim_id"] for f in mine)
    assert all(f["disease_label"] for f in got["flags"])
    proposed = [p for p in batch["proposals"] if p["inst_id"] == "G1-H"]
    assert proposed and sorted(p["claim_id"] for p in got["proposals"]) == sorted(p["claim_id"] for p in proposed)
    assert (got["flags_total"], got["proposals_total"]) == (len(mine), len(proposed))
    newest = client.get("/api/referrals/claims-check", params={"limit": 1}, headers=h["cc-doc-h"]).json()
    assert newest["flags_total"] == len(mine) and len(newest["flags"]) == 1
    assert newest["flags"][0]["admit_date"] == max(f["admit_date"] for f in mine)  # newest first
    insts = api_app.state.ctx.registry.get().institutions
    for p in got["proposals"]:  # the designated township proposed to take the patient back
        assert insts[p["to_inst_id"]].tier == Tier.TOWNSHIP, p
    assert client.get("/api/referrals/claims-check", headers=h["cc-admin-h"]).json()["flags"] == got["flags"]


def test_a_township_has_none_and_an_official_is_refused(client: TestClient, h: dict) -> None:  # noqa: F811
    got = client.get("/api/referrals/claims-check", headers=h["cc-doc-t1"]).json()
    assert (got["county_tier"], got["flags"], got["proposals"]) == (False, [], [])
    assert client.get("/api/referrals/claims-check", headers=h["cc-bureau"]).status_code == 403
    assert client.get("/api/referrals/claims-check").status_code == 401


def test_the_worklist_shows_them_and_refers_a_stable_case_down_in_one_action(
        api_app: FastAPI, client: TestClient, h: dict) -> None:  # noqa: F811
    c = _signed_in(api_app, "cc-doc-h")
    page = c.get("/referrals").text
    got = client.get("/api/referrals/claims-check", headers=h["cc-doc-h"]).json()
    assert "基层首诊提示" in page and "建议下转" in page
    for f in got["flags"][:5]:
        assert f'data-claim="{f["claim_id"]}"' in page
    p = got["proposals"][0]
    form = re.search(rf'<tr data-claim="{p["claim_id"]}">.*?</tr>', page, re.S)
    assert form and 'class="inline refer-down"' in form.group(0) and p["referral_id"] == ""
    token = CSRF.search(page)
    assert token
    r = c.post("/referrals", data={"csrf": token.group(1), "person_id": p["person_id"], "to_inst_id": p["to_inst_id"],
                                   "direction": "down", "diagnosis": p["diagnosis"], "from_claim_id": p["claim_id"],
                                   "reason": "建议下转"}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    sent = [x for x in client.get("/api/referrals", headers=h["cc-doc-h"]).json()
            if x["person_id"] == p["person_id"] and x["direction"] == "down"]
    assert sent and sent[0]["to_inst_id"] == p["to_inst_id"] and sent[0]["status"] == "requested"
    again = client.get("/api/referrals/claims-check", headers=h["cc-doc-h"]).json()["proposals"]
    made = next(x for x in again if x["claim_id"] == p["claim_id"])
    assert made["referral_id"] == str(sent[0]["referral_id"])  # marked, no second button
    row = re.search(rf'<tr data-claim="{p["claim_id"]}">.*?</tr>', c.get("/referrals").text, re.S)
    assert row and "refer-down" not in row.group(0) and f'#r{sent[0]["referral_id"]}' in row.group(0)
    # naming another institution's claim opens nobody: the township doctor still meets the scope check
    body = {"person_id": p["person_id"], "from_inst_id": "G1-T1", "to_inst_id": "G1-H", "direction": "up",
            "diagnosis": p["diagnosis"], "from_claim_id": p["claim_id"]}
    assert client.post("/api/referrals", json=body, headers=h["cc-doc-t1"]).status_code == 404
    assert "基层首诊提示" not in _signed_in(api_app, "cc-doc-t1").get("/referrals").text


def test_a_bed_booked_from_a_referral_gives_its_admission_the_continuous_deductible(
        api_app: FastAPI, client: TestClient, h: dict, example_input: Path) -> None:  # noqa: F811
    """Item 3 end to end: the township admission named by the referral reaches the hospital admission's claim as
    ``referral_from`` through the booking, and the benefit rules then count the deductible continuously."""
    from datetime import date
    from types import SimpleNamespace

    from yigongti.benefits.domain import Claim, Rule, adjudicate_claim
    from yigongti.core.policy import BenefitPolicy

    rows = (example_input / "designations.csv").read_text(encoding="utf-8").splitlines()
    person = sorted(r.split(",")[0] for r in rows[1:] if ",G1-T1," in r)[-1]
    make_user(api_app, "cc-admin-h2", "institution_admin", inst_id="G1-H")
    admin = login(client, "cc-admin-h2")
    slot = client.post("/api/slots", json={"inst_id": "G1-H", "kind": "bed", "start": "2025-11-20T08:00:00",
                                           "capacity": 3}, headers=admin).json()["slot_id"]
    r = client.post("/api/referrals", json={"person_id": person, "from_inst_id": "G1-T1", "to_inst_id": "G1-H",
                                            "direction": "up", "diagnosis": "I63.9", "reason": "转上级住院",
                                            "from_claim_id": "T-ADMIT"}, headers=h["cc-doc-t1"])
    assert r.status_code == 201, r.text
    rid = r.json()["referral_id"]
    assert client.post(f"/api/referrals/{rid}/status", json={"status": "accepted"}, headers=h["cc-doc-h"]).status_code \
        == 200
    booked = client.post(f"/api/slots/{slot}/bookings", json={"person_id": person, "referral_id": rid},
                         headers=h["cc-doc-t1"])
    assert booked.status_code == 201 and booked.json()["referral_from"] == "T-ADMIT"

    insts, policy = api_app.state.ctx.registry.get().institutions, BenefitPolicy()
    des, insured = SimpleNamespace(consortium_id="G1", township_id="G1-T1", village_id=""), \
        SimpleNamespace(insurance="resident")
    first = adjudicate_claim(Claim("T-ADMIT", person, "G1-T1", "inpatient", date(2025, 11, 10), 100_000, 100_000,
                                   discharge_date=date(2025, 11, 19)), person=insured, institution=insts["G1-T1"],
                             designation=des, policy=policy)
    admission = Claim("H-ADMIT", person, "G1-H", "inpatient", date(2025, 11, 20), 300_000, 300_000,
                      discharge_date=date(2025, 11, 25), referral_from=booked.json()["referral_from"])
    d = adjudicate_claim(admission, person=insured, institution=insts["G1-H"], designation=des, policy=policy,
                         history=[first])
    alone = adjudicate_claim(Claim(**{**vars(admission), "referral_from": None}), person=insured,
                             institution=insts["G1-H"], designation=des, policy=policy, history=[first])
    assert d.rule == Rule.CONTINUOUS_DEDUCTIBLE and d.referral_applied == first.deductible > 0
    assert d.deductible == alone.deductible - first.deductible and d.fund_paid > alone.fund_paid
