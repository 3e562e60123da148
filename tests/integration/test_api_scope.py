"""Scope per role (权限范围): each role sees exactly its persons, through the list and the single-person endpoints.

The expected sets come straight from the example's CSV files (input designations for 2025, expected designations
for 2026), not from the code under test, so removing or loosening the scope condition makes these tests fail.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, api_app, client, login, make_user, read_csv  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from yigongti.app.factory import create_app
from yigongti.core.audit import AuditRow
from yigongti.platform.settings import Settings


@pytest.fixture(scope="module")
def truth(example_input: Path, example_expected: Path) -> dict[str, list[dict[str, str]]]:
    return {"persons": read_csv(example_input / "persons.csv"),
            "designations": read_csv(example_input / "designations.csv")
            + read_csv(example_expected / "designations.csv")}


def _listed(c: TestClient, headers: dict[str, str]) -> set[str]:
    seen: set[str] = set()
    offset = 0
    while True:
        r = c.get("/api/persons", params={"limit": 500, "offset": offset}, headers=headers)
        assert r.status_code == 200, r.text
        batch = {p["person_id"] for p in r.json()}
        if not batch:
            return seen
        seen |= batch
        offset += 500


def _check(c: TestClient, headers: dict[str, str], expected: set[str], everyone: set[str]) -> None:
    assert _listed(c, headers) == expected
    inside = sorted(expected)[:3]
    outside = sorted(everyone - expected)[:3]
    for pid in inside:
        assert c.get(f"/api/persons/{pid}", headers=headers).status_code == 200
        assert c.get(f"/api/persons/{pid}/designations", headers=headers).status_code == 200
    for pid in outside:
        assert c.get(f"/api/persons/{pid}", headers=headers).status_code == 404
        assert c.get(f"/api/persons/{pid}/designations", headers=headers).status_code == 404


def _everyone(truth: dict[str, list[dict[str, str]]]) -> set[str]:
    return {p["person_id"] for p in truth["persons"]}


def _designated(truth: dict[str, list[dict[str, str]]], column: str, value: str) -> set[str]:
    return {d["person_id"] for d in truth["designations"] if d[column] == value}


def test_resident_sees_only_their_household(api_app: FastAPI, client: TestClient, truth: dict) -> None:  # noqa: F811
    make_user(api_app, "res-hh001", "resident", person_id="R0003")
    hh = next(p["household_id"] for p in truth["persons"] if p["person_id"] == "R0003")
    expected = {p["person_id"] for p in truth["persons"] if p["household_id"] == hh}
    assert 1 < len(expected) < 10
    _check(client, login(client, "res-hh001"), expected, _everyone(truth))


def test_clinician_sees_persons_designated_to_their_township(api_app: FastAPI, client: TestClient,  # noqa: F811
                                                             truth: dict) -> None:
    make_user(api_app, "doc-g1t1", "clinician", inst_id="G1-T1")
    expected = _designated(truth, "township_id", "G1-T1")
    assert expected
    _check(client, login(client, "doc-g1t1"), expected, _everyone(truth))


def test_clinician_at_a_county_hospital_sees_its_consortium(api_app: FastAPI, client: TestClient,  # noqa: F811
                                                            truth: dict) -> None:
    make_user(api_app, "doc-g2h", "clinician", inst_id="G2-H")
    _check(client, login(client, "doc-g2h"), _designated(truth, "consortium_id", "G2"), _everyone(truth))


def test_institution_admin_sees_their_village_clinic(api_app: FastAPI, client: TestClient,  # noqa: F811
                                                     truth: dict) -> None:
    make_user(api_app, "adm-g1t1v1", "institution_admin", inst_id="G1-T1-V1")
    expected = _designated(truth, "village_id", "G1-T1-V1")
    assert expected
    _check(client, login(client, "adm-g1t1v1"), expected, _everyone(truth))


def test_consortium_admin_sees_their_consortium(api_app: FastAPI, client: TestClient, truth: dict) -> None:  # noqa: F811
    make_user(api_app, "cons-g3", "consortium_admin", consortium_id="G3")
    expected = _designated(truth, "consortium_id", "G3")
    assert expected and expected != _everyone(truth)
    _check(client, login(client, "cons-g3"), expected, _everyone(truth))


@pytest.mark.parametrize("role", ["insurance_bureau", "health_commission"])
def test_county_roles_see_their_county_only(api_app: FastAPI, client: TestClient, truth: dict,  # noqa: F811
                                            role: str) -> None:
    make_user(api_app, f"{role}-513433", role, county_code="513433")
    make_user(api_app, f"{role}-510100", role, county_code="510100")
    _check(client, login(client, f"{role}-513433"), _everyone(truth), _everyone(truth))
    _check(client, login(client, f"{role}-510100"), set(), _everyone(truth))


def test_system_admin_sees_no_personal_data(api_app: FastAPI, client: TestClient, truth: dict) -> None:  # noqa: F811
    make_user(api_app, "sysadmin", "system_admin")
    headers = login(client, "sysadmin")
    _check(client, headers, set(), _everyone(truth))
    assert client.get("/api/institutions", headers=headers).status_code == 200


def test_no_token_no_data(client: TestClient) -> None:  # noqa: F811
    assert client.get("/api/persons").status_code == 401
    assert client.get("/api/persons/R0001").status_code == 401
    assert client.get("/api/persons", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_reads_of_personal_data_are_audited(api_app: FastAPI, client: TestClient) -> None:  # noqa: F811
    make_user(api_app, "audited", "insurance_bureau", county_code="513433")
    headers = login(client, "audited")
    assert client.get("/api/persons/R0042", headers=headers).status_code == 200
    with api_app.state.ctx.sessions() as s:
        rows = list(s.scalars(select(AuditRow).where(AuditRow.actor == "audited (insurance_bureau)")))
    assert [(r.person_id, r.action) for r in rows] == [("R0042", "GET /api/persons/{person_id}")]


def test_id_numbers_masked_unless_the_role_needs_them(api_app: FastAPI, client: TestClient,  # noqa: F811
                                                      truth: dict) -> None:
    full = next(p["id_number"] for p in truth["persons"] if p["person_id"] == "R0001")
    assert len(full) == 18
    make_user(api_app, "bureau-ids", "insurance_bureau", county_code="513433")
    make_user(api_app, "cons-ids", "consortium_admin", consortium_id="G2")
    shown_bureau = client.get("/api/persons/R0001", headers=login(client, "bureau-ids")).json()["id_number"]
    shown_cons = client.get("/api/persons/R0001", headers=login(client, "cons-ids")).json()["id_number"]
    assert shown_bureau == full
    assert shown_cons != full and shown_cons.startswith(full[:4]) and shown_cons.endswith(full[-4:])
    assert "*" * 10 in shown_cons


@pytest.fixture(scope="module")
def referral_app(tmp_path_factory: pytest.TempPathFactory, example_input: Path) -> Iterator[FastAPI]:
    """The example plus an admission of R0001 (designated to G2) referred on to G1-T1."""
    folder = tmp_path_factory.mktemp("referral") / "input"
    shutil.copytree(example_input, folder)
    with (folder / "claims.csv").open("a", encoding="utf-8") as fh:
        fh.write("C09998,R0001,G2-H,inpatient,false,2026-03-01,2026-03-05,3000.00,2800.00,I63.9,,false\n")
        fh.write("C09999,R0001,G1-T1,inpatient,false,2026-03-06,2026-03-20,2000.00,1900.00,I63.9,C09998,false\n")
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("serve-ref"), data_folder=folder,
                              today=INSIDE_WINDOW, demo_accounts=False))
    yield app
    app.state.ctx.engine.dispose()


def test_clinician_also_sees_persons_referred_to_their_institution(referral_app: FastAPI,
                                                                   truth: dict) -> None:
    make_user(referral_app, "doc-ref", "clinician", inst_id="G1-T1")
    make_user(referral_app, "adm-ref", "institution_admin", inst_id="G1-T1")
    designated = _designated(truth, "township_id", "G1-T1")
    assert "R0001" not in designated
    with TestClient(referral_app) as c:
        _check(c, login(c, "doc-ref"), designated | {"R0001"}, _everyone(truth))
        _check(c, login(c, "adm-ref"), designated, _everyone(truth))  # referrals are the clinician's business
