"""Choosing through the API: accepted inside the switch window (designation updated, choice kept), refused outside
it with the stable code, only for persons in the resident's household, never by an official."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from api_fixtures import INSIDE_WINDOW, api_app, client, login, make_user  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from yigongti.core.audit import AuditRow
from yigongti.enrollment.store import ChoiceRow, DesignationRow

CHOICE = {"consortium_id": "G1", "township_id": "G1-T1", "village_id": "G1-T1-V2"}


@pytest.fixture
def today(api_app: FastAPI) -> Iterator[object]:  # noqa: F811
    clock = api_app.state.ctx.clock
    yield clock
    clock.fixed = INSIDE_WINDOW


def test_choice_inside_window_sets_the_designation(api_app: FastAPI, client: TestClient) -> None:  # noqa: F811
    make_user(api_app, "r5", "resident", person_id="R0005")
    headers = login(client, "r5")
    opts = client.get("/api/persons/R0005/choice-options", headers=headers).json()
    assert opts["year"] == 2026 and opts["window_open"] is True
    g1 = next(c for c in opts["consortia"] if c["consortium_id"] == "G1")
    assert {"G1-T1"} <= {t["inst_id"] for t in g1["townships"]}
    assert all(t["distance_km"] >= 0 for t in g1["townships"])
    r = client.post("/api/persons/R0005/choices", json=CHOICE, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["accepted"] is True and r.json()["year"] == 2026
    designations = client.get("/api/persons/R0005/designations", headers=headers).json()
    d2026 = next(d for d in designations if d["year"] == 2026)
    assert (d2026["village_id"], d2026["source"]) == ("G1-T1-V2", "choice")
    with api_app.state.ctx.sessions() as s:
        kept = s.scalars(select(ChoiceRow).where(ChoiceRow.person_id == "R0005", ChoiceRow.channel == "api")).all()
        assert [c.status for c in kept] == ["valid"]
        actions = set(s.scalars(select(AuditRow.action).where(AuditRow.actor == "r5 (resident)")))
        assert "choice.accepted" in actions


def test_choice_outside_window_is_refused(api_app: FastAPI, client: TestClient, today) -> None:  # noqa: F811
    make_user(api_app, "r6", "resident", person_id="R0006")
    with api_app.state.ctx.sessions() as s:
        before = s.scalar(select(DesignationRow).where(DesignationRow.person_id == "R0006",
                                                       DesignationRow.year == 2027))
    assert before is None
    today.fixed = date(2026, 3, 1)  # window for 2027 opens 2026-10-01
    headers = login(client, "r6")
    r = client.post("/api/persons/R0006/choices", json=CHOICE, headers=headers)
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert detail["accepted"] is False and detail["refusal"]["code"] == "outside_window"
    assert "窗口" in detail["refusal"]["message_zh"] and "window" in detail["refusal"]["message_en"]
    with api_app.state.ctx.sessions() as s:
        assert s.scalar(select(DesignationRow).where(DesignationRow.person_id == "R0006",
                                                     DesignationRow.year == 2027)) is None
        kept = s.scalars(select(ChoiceRow).where(ChoiceRow.person_id == "R0006", ChoiceRow.channel == "api")).all()
        assert [(c.status, c.refusal_code) for c in kept] == [("refused", "outside_window")]


def test_broken_nesting_is_refused_with_its_code(api_app: FastAPI, client: TestClient) -> None:  # noqa: F811
    make_user(api_app, "r7", "resident", person_id="R0007")
    r = client.post("/api/persons/R0007/choices", headers=login(client, "r7"),
                    json={**CHOICE, "village_id": "G2-T1-V1"})
    assert r.status_code == 409
    assert r.json()["detail"]["refusal"]["code"] == "village_not_under_township"


def test_cannot_choose_for_someone_outside_the_household(api_app: FastAPI, client: TestClient) -> None:  # noqa: F811
    make_user(api_app, "r10", "resident", person_id="R0010")
    r = client.post("/api/persons/R0100/choices", json=CHOICE, headers=login(client, "r10"))
    assert r.status_code == 404


def test_officials_do_not_choose_for_residents(api_app: FastAPI, client: TestClient) -> None:  # noqa: F811
    make_user(api_app, "bureau-c", "insurance_bureau", county_code="513433")
    r = client.post("/api/persons/R0011/choices", json=CHOICE, headers=login(client, "bureau-c"))
    assert r.status_code == 403


def test_a_resident_chooses_for_their_child_as_the_chooser(api_app: FastAPI, client: TestClient) -> None:  # noqa: F811
    make_user(api_app, "r22", "resident", person_id="R0022")  # HH007: R0022 (born 1972), children R0023, R0024
    r = client.post("/api/persons/R0023/choices", json=CHOICE, headers=login(client, "r22"))
    assert r.status_code == 201, r.text
    assert r.json()["applied_to"] == ["R0023"]
    with api_app.state.ctx.sessions() as s:
        row = s.scalars(select(ChoiceRow).where(ChoiceRow.person_id == "R0023", ChoiceRow.channel == "api")).one()
        assert row.chooser_id == "R0022"  # recorded as the parent's choice, not as the child's own


def test_the_household_rule_decides_who_chooses_for_another_adult(api_app: FastAPI,  # noqa: F811
                                                                  client: TestClient) -> None:  # noqa: F811
    # each adult chooses for themself (the default rule): R0026 (born 1985) may not choose for R0029 (born 1993)
    make_user(api_app, "r26", "resident", person_id="R0026")
    r = client.post("/api/persons/R0029/choices", json=CHOICE, headers=login(client, "r26"))
    assert r.status_code == 403
    assert "household rule" in r.json()["detail"]
    with api_app.state.ctx.sessions() as s:
        assert s.scalars(select(ChoiceRow).where(ChoiceRow.person_id == "R0029")).all() == []
