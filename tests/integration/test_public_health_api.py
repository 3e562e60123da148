"""The public-health API (传染病报告接口) by role and scope on SQLite and PostgreSQL: a clinician records diagnoses
(a notifiable one opens or joins a card), public-health staff see the alert list of their consortium only, cards are
submitted on time or late, voided with a reason, counted per institution; hostile input is 4xx, never 500.
The worked example county: G1-T1 a township of consortium G1; "today" is 2025-11-15."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, login, make_user, read_csv
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from store_fixtures import PG_URL, pg_unreachable

from yigongti.app.factory import create_app
from yigongti.core.audit import AuditRow
from yigongti.core.db import make_engine
from yigongti.platform.settings import Settings

USERS = {"ph-doc-t1": ("clinician", {"inst_id": "G1-T1"}), "ph-doc-g2": ("clinician", {"inst_id": "G2-H"}),
         "ph-g1": ("consortium_admin", {"consortium_id": "G1"}), "ph-g2": ("consortium_admin", {"consortium_id": "G2"}),
         "ph-hc": ("health_commission", {"county_code": "513433"}),
         "ph-bureau": ("insurance_bureau", {"county_code": "513433"}),
         "ph-admin-t1": ("institution_admin", {"inst_id": "G1-T1"})}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ph(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
       example_input: Path) -> Iterator[tuple[FastAPI, TestClient, dict[str, dict[str, str]]]]:
    url, admin, schema = "", None, ""
    if request.param == "postgresql":
        reason = pg_unreachable()
        if reason:
            pytest.skip(reason)
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("ph"), db_url=url, data_folder=example_input,
                              today=INSIDE_WINDOW, demo_accounts=False, login_burst=50))
    try:
        with TestClient(app) as client:
            for name, (role, anchor) in USERS.items():
                make_user(app, name, role, **anchor)
            yield app, client, {u: login(client, u) for u in USERS}
    finally:
        app.state.ctx.engine.dispose()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()


@pytest.fixture(scope="module")
def people(example_input: Path, example_expected: Path) -> dict[str, str]:
    designations = read_csv(example_input / "designations.csv") + read_csv(example_expected / "designations.csv")
    mine = sorted({d["person_id"] for d in designations if d["township_id"] == "G1-T1"})
    others = sorted({d["person_id"] for d in designations if d["consortium_id"] != "G1"} - set(mine))
    return {"mine": mine[0], "mine2": mine[1], "other": others[0]}


def _dx(client: TestClient, headers: dict[str, str], person: str, icd10: str, at: str | None = None,
        inst: str = "G1-T1") -> tuple[int, dict]:
    body = {"person_id": person, "inst_id": inst, "icd10": icd10} | ({"diagnosed_at": at} if at else {})
    r = client.post("/api/public-health/diagnoses", json=body, headers=headers)
    return r.status_code, r.json()


def test_the_card_workflow_by_role_and_scope(ph: tuple[FastAPI, TestClient, dict], people: dict[str, str]) -> None:
    app, client, h = ph
    code, first = _dx(client, h["ph-doc-t1"], people["mine"], "A00.9", "2025-11-01T08:00:00")
    assert code == 200, first
    assert first | {"card_id": 0} == {"notifiable": True, "card_id": 0, "disease_code": "cholera",
                                      "disease_label": "霍乱 / Cholera", "disease_class": "A", "joined": False,
                                      "deadline": "2025-11-01T10:00:00", "foodborne_card_id": None}
    code, again = _dx(client, h["ph-doc-t1"], people["mine"], "a00.1", "2025-11-10T09:00:00")
    assert (code, again["card_id"], again["joined"]) == (200, first["card_id"], True)  # 9 days later: same card
    code, cold = _dx(client, h["ph-doc-t1"], people["mine"], "J06.9")
    assert (code, cold["notifiable"], cold["card_id"]) == (200, False, None)

    # who may record: a clinician of the institution, for a person in their scope
    assert _dx(client, h["ph-doc-t1"], people["other"], "A00.9")[0] == 404
    assert _dx(client, h["ph-doc-g2"], people["mine"], "A00.9")[0] == 403
    assert _dx(client, h["ph-bureau"], people["mine"], "A00.9")[0] == 403
    assert _dx(client, h["ph-doc-t1"], people["mine"], "A00.9", "2099-01-01T00:00:00")[0] == 422  # the future

    # the alert list: the consortium's public-health staff, the county's health commission; nobody else
    alerts = client.get("/api/public-health/alerts", headers=h["ph-g1"])
    assert alerts.status_code == 200
    mine = [a for a in alerts.json() if a["card_id"] == first["card_id"]]
    assert len(mine) == 1 and mine[0]["state"] == "overdue" and mine[0]["diagnoses"] == 2
    assert mine[0]["state_label"] == "超时未报 / overdue" and mine[0]["class_label"] == "甲类 / Class A"
    assert all(a["card_id"] != first["card_id"] for a in client.get("/api/public-health/alerts",
                                                                     headers=h["ph-g2"]).json())
    assert any(a["card_id"] == first["card_id"] for a in client.get("/api/public-health/alerts",
                                                                    headers=h["ph-hc"]).json())
    assert client.get("/api/public-health/alerts", headers=h["ph-bureau"]).status_code == 403
    assert client.get("/api/public-health/alerts", headers=h["ph-doc-t1"]).status_code == 403
    with app.state.ctx.sessions() as s:
        seen = s.scalars(select(AuditRow).where(AuditRow.action == "infectious alerts read",
                                                AuditRow.person_id == people["mine"])).all()
    assert len(seen) >= 2  # the consortium's staff and the health commission, each audited for the person

    # submit: not in scope 404; late (past the deadline); a second time 422
    cid = first["card_id"]
    assert client.post(f"/api/public-health/cards/{cid}/submit", headers=h["ph-doc-g2"]).status_code == 404
    assert client.post(f"/api/public-health/cards/{cid}/submit", headers=h["ph-g2"]).status_code == 404
    r = client.post(f"/api/public-health/cards/{cid}/submit", headers=h["ph-doc-t1"])
    assert r.status_code == 200 and r.json()["timeliness"] == "late" and r.json()["label"] == "迟报 / late"
    assert client.post(f"/api/public-health/cards/{cid}/submit", headers=h["ph-doc-t1"]).status_code == 422

    # a flu card now: pending (24 h); the consortium's staff void it with a reason; then submitted on time
    code, flu = _dx(client, h["ph-doc-t1"], people["mine2"], "J11.1")
    assert code == 200 and flu["disease_class"] == "C"
    pending = [a for a in client.get("/api/public-health/alerts", headers=h["ph-admin-t1"]).json()
               if a["card_id"] == flu["card_id"]]
    assert pending[0]["state"] == "pending"
    assert client.post(f"/api/public-health/cards/{flu['card_id']}/void", json={"reason": ""},
                       headers=h["ph-g1"]).status_code == 422
    assert client.post(f"/api/public-health/cards/{flu['card_id']}/void", json={"reason": "复核排除 / ruled out"},
                       headers=h["ph-g1"]).status_code == 204
    code, tb = _dx(client, h["ph-doc-t1"], people["mine2"], "A15.0")
    ok = client.post(f"/api/public-health/cards/{tb['card_id']}/submit", headers=h["ph-admin-t1"])
    assert ok.status_code == 200 and ok.json()["timeliness"] == "on_time"

    tally = client.get("/api/public-health/timeliness", params={"year": 2025}, headers=h["ph-g1"])
    assert tally.status_code == 200
    t1 = next(r for r in tally.json() if r["inst_id"] == "G1-T1")
    assert {k: t1[k] for k in ("cards", "on_time", "late", "missed", "pending", "voided")} == {
        "cards": 3, "on_time": 1, "late": 1, "missed": 0, "pending": 0, "voided": 1}
    assert client.get("/api/public-health/timeliness", params={"year": 2025}, headers=h["ph-g2"]).json() == []


@pytest.mark.parametrize(("path", "body"), [
    ("/api/public-health/diagnoses", {"person_id": "x", "inst_id": "G1-T1", "icd10": "A00'; DROP TABLE x"}),
    ("/api/public-health/diagnoses", {"person_id": "x" * 65, "inst_id": "G1-T1", "icd10": "A00"}),
    ("/api/public-health/diagnoses", {"person_id": "x", "inst_id": "G1-T1", "icd10": "A00", "diagnosed_at": "soon"}),
    ("/api/public-health/cards/99999999999/submit", None),
    ("/api/public-health/cards/0/void", {"reason": "x"}),
])
def test_hostile_input_is_4xx(ph: tuple[FastAPI, TestClient, dict], path: str, body: dict | None) -> None:
    _, client, h = ph
    r = client.post(path, json=body, headers=h["ph-doc-t1"])
    assert 400 <= r.status_code < 500, r.text
    assert client.get("/api/public-health/timeliness", params={"year": "x"}, headers=h["ph-g1"]).status_code == 422
    assert client.get("/api/public-health/diseases").status_code == 401
    assert len(client.get("/api/public-health/diseases", headers=h["ph-bureau"]).json()) > 30



def test_a_food_borne_case_through_the_api(ph: tuple[FastAPI, TestClient, dict], people: dict[str, str]) -> None:
    _, client, h = ph
    code, body = _dx(client, h["ph-doc-t1"], people["mine"], "T62.0", "2025-11-14T18:00:00")
    assert code == 200 and body["notifiable"] is False and body["foodborne_card_id"]
    fid = body["foodborne_card_id"]
    listed = client.get("/api/public-health/foodborne", headers=h["ph-g1"]).json()
    mine = [c for c in listed if c["card_id"] == fid]
    assert mine and mine[0]["case_code"] == "mushroom_poisoning" and mine[0]["deadline"] == "2025-11-16T18:00:00"
    assert all(c["card_id"] != fid for c in client.get("/api/public-health/foodborne", headers=h["ph-g2"]).json())
    assert client.post(f"/api/public-health/foodborne/{fid}/submit", headers=h["ph-g2"]).status_code == 404
    r = client.post(f"/api/public-health/foodborne/{fid}/submit", headers=h["ph-g1"])
    assert r.status_code == 200 and r.json()["timeliness"] == "on_time"
    assert client.post(f"/api/public-health/foodborne/{fid}/submit", headers=h["ph-g1"]).status_code == 422
    assert client.get("/api/public-health/foodborne", headers=h["ph-bureau"]).status_code == 403
