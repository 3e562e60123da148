"""FHIR read endpoints: every resource parses back into the fhir.resources (R4B) models, carries the example's
numbers, and person-level resources keep to the caller's scope."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from api_fixtures import api_app, client, login, make_user, read_csv  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.claimresponse import ClaimResponse
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.measurereport import MeasureReport
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient


def test_resources_validate_and_agree_with_the_example(api_app: FastAPI, client: TestClient,  # noqa: F811
                                                       example_expected: Path) -> None:
    make_user(api_app, "fhir-bureau", "insurance_bureau", county_code="513433")
    h = login(client, "fhir-bureau")

    r = client.get("/api/fhir/Patient/R0002", headers=h)
    assert r.headers["content-type"].startswith("application/fhir+json")
    p = Patient.model_validate_json(r.text)
    assert p.gender == "female" and str(p.birthDate) == "1983-07-07"
    assert any(i.value == "513433198307070045" for i in p.identifier)  # the bureau sees the full number

    org = Organization.model_validate_json(client.get("/api/fhir/Organization/G2-T3", headers=h).text)
    assert org.partOf.reference == "Organization/G2"
    Organization.model_validate_json(client.get("/api/fhir/Organization/G2", headers=h).text)

    cov = Coverage.model_validate_json(client.get("/api/fhir/Coverage/R0002-2026", headers=h).text)
    expected = next(r for r in read_csv(example_expected / "designations.csv") if r["person_id"] == "R0002")
    assert [c.value for c in cov.class_fhir] == [expected["consortium_id"], expected["township_id"],
                                                 expected["village_id"]]

    adj = next(r for r in read_csv(example_expected / "adjudicated.csv") if r["claim_id"] == "C00002")
    claim = Claim.model_validate_json(client.get("/api/fhir/Claim/C00002", headers=h).text)
    assert claim.patient.reference == "Patient/R0002" and claim.provider.reference == f"Organization/{adj['inst_id']}"
    resp = ClaimResponse.model_validate_json(client.get("/api/fhir/ClaimResponse/C00002", headers=h).text)
    assert resp.payment.amount.value == Decimal(adj["fund_paid"])
    assert adj["rule"] in resp.processNote[0].text and "基金支付" in resp.disposition

    report = MeasureReport.model_validate_json(client.get("/api/fhir/MeasureReport/G1", headers=h).text)
    assert report.status == "complete" and len(report.group) >= 10
    assert any(g.measureScore is not None for g in report.group)


def test_fhir_keeps_to_the_scope(api_app: FastAPI, client: TestClient,  # noqa: F811
                                 example_expected: Path) -> None:
    make_user(api_app, "fhir-res", "resident", person_id="R0001")
    make_user(api_app, "fhir-cons", "consortium_admin", consortium_id="G2")
    res, cons = login(client, "fhir-res"), login(client, "fhir-cons")
    assert client.get("/api/fhir/Patient/R0002", headers=res).status_code == 200  # same household
    assert client.get("/api/fhir/Patient/R0150", headers=res).status_code == 404
    assert client.get("/api/fhir/Claim/C00002", headers=res).status_code == 200
    other = next(r for r in read_csv(example_expected / "adjudicated.csv")
                 if r["person_id"] not in ("R0001", "R0002"))
    assert client.get(f"/api/fhir/ClaimResponse/{other['claim_id']}", headers=res).status_code == 404
    assert client.get("/api/fhir/MeasureReport/G1", headers=cons).status_code == 404
    assert client.get("/api/fhir/MeasureReport/G2", headers=cons).status_code == 200
    masked = Patient.model_validate_json(client.get("/api/fhir/Patient/R0002", headers=cons).text)
    assert all("*" in i.value for i in masked.identifier if i.system.startswith("urn:oid"))
