"""The pharmacy API (药品接口) by role on SQLite and PostgreSQL, and ``yigongti pharmacy catalogue``: the catalogue,
receipts and issues (409 below zero), a village clinic's shortage dispatched by the county central pharmacy and
delivered, stock-out alerts; hostile input 4xx, never 500."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, login, make_user
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from store_fixtures import PG_URL, pg_unreachable
from typer.testing import CliRunner

from yigongti.app.factory import create_app
from yigongti.cli import app as cli
from yigongti.core.db import make_engine
from yigongti.platform.settings import Settings

USERS = {"rx-g1": ("consortium_admin", {"consortium_id": "G1"}), "rx-h": ("institution_admin", {"inst_id": "G1-H"}),
         "rx-v1": ("clinician", {"inst_id": "G1-T1-V1"}), "rx-t1": ("institution_admin", {"inst_id": "G1-T1"}),
         "rx-g2h": ("institution_admin", {"inst_id": "G2-H"}),
         "rx-bureau": ("insurance_bureau", {"county_code": "513433"})}
CODE = "XC08CAA0001"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def rx(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
       example_input: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
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
    app: FastAPI = create_app(Settings(data_dir=tmp_path_factory.mktemp("rx"), db_url=url, data_folder=example_input,
                                       today=INSIDE_WINDOW, demo_accounts=False, login_burst=50))
    try:
        with TestClient(app) as client:
            for name, (role, anchor) in USERS.items():
                make_user(app, name, role, **anchor)
            yield client, {u: login(client, u) for u in USERS}
    finally:
        app.state.ctx.engine.dispose()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()


def test_catalogue_stock_and_dispatch_by_role(rx: tuple[TestClient, dict]) -> None:
    c, h = rx
    drug = {"generic_name": "苯磺酸氨氯地平片", "form": "片剂", "strength": "5mg", "essential": True}
    assert c.put(f"/api/pharmacy/drugs/{CODE}", json=drug, headers=h["rx-v1"]).status_code == 403
    assert c.put(f"/api/pharmacy/drugs/{CODE}", json=drug, headers=h["rx-g1"]).status_code == 204
    assert [d["drug_code"] for d in c.get("/api/pharmacy/drugs", headers=h["rx-bureau"]).json()] == [CODE]

    move = {"inst_id": "G1-H", "drug_code": CODE, "quantity": 100}
    assert c.post("/api/pharmacy/receipts", json=move, headers=h["rx-v1"]).status_code == 403
    assert c.post("/api/pharmacy/receipts", json=move, headers=h["rx-h"]).json()["on_hand"] == 100
    v1 = {"inst_id": "G1-T1-V1", "drug_code": CODE, "quantity": 5}
    assert c.post("/api/pharmacy/issues", json=v1, headers=h["rx-v1"]).status_code == 409  # nothing on hand
    assert c.post("/api/pharmacy/receipts", json=v1 | {"drug_code": "NOPE"}, headers=h["rx-v1"]).status_code == 422

    r = c.post("/api/pharmacy/shortages", json=v1 | {"quantity": 30, "note": "随访用药"}, headers=h["rx-v1"])
    assert r.status_code == 201 and r.json()["status"] == "registered"
    sid = r.json()["shortage_id"]
    assert c.post(f"/api/pharmacy/shortages/{sid}/dispatch", json={}, headers=h["rx-g2h"]).status_code == 403
    assert c.post(f"/api/pharmacy/shortages/{sid}/dispatch", json={}, headers=h["rx-t1"]).status_code == 403
    assert c.post(f"/api/pharmacy/shortages/{sid}/deliver", headers=h["rx-v1"]).status_code == 409
    assert c.post(f"/api/pharmacy/shortages/{sid}/dispatch", json={"tracking": "SF1"},
                  headers=h["rx-h"]).json()["status"] == "dispatched"
    assert c.post(f"/api/pharmacy/shortages/{sid}/cancel", headers=h["rx-v1"]).status_code == 409
    assert c.post(f"/api/pharmacy/shortages/{sid}/deliver", headers=h["rx-h"]).status_code == 404
    assert c.post(f"/api/pharmacy/shortages/{sid}/deliver", headers=h["rx-v1"]).json()["status"] == "delivered"

    assert c.post("/api/pharmacy/issues", json=v1 | {"quantity": 28}, headers=h["rx-v1"]).json()["on_hand"] == 2
    stock = c.get("/api/pharmacy/stock", params={"inst_id": "G1-T1-V1"}, headers=h["rx-g1"]).json()
    assert [(s["drug_code"], s["on_hand"]) for s in stock] == [(CODE, 2)]
    assert c.get("/api/pharmacy/stock", params={"inst_id": "G1-T1-V1"}, headers=h["rx-g2h"]).status_code == 404
    alerts = c.get("/api/pharmacy/alerts", headers=h["rx-g1"]).json()
    assert [(a["inst_id"], a["on_hand"], a["issued"], a["days_left"]) for a in alerts] == [("G1-T1-V1", 2, 28, 2)]
    assert c.get("/api/pharmacy/alerts", headers=h["rx-bureau"]).status_code == 403


@pytest.mark.parametrize(("path", "body"), [
    ("/api/pharmacy/issues", {"inst_id": "G1-T1-V1", "drug_code": CODE, "quantity": -1}),
    ("/api/pharmacy/issues", {"inst_id": "G1-T1-V1", "drug_code": CODE, "quantity": 10**12}),
    ("/api/pharmacy/shortages", {"inst_id": "x" * 65, "drug_code": CODE, "quantity": 1}),
    ("/api/pharmacy/shortages/0/deliver", None),
    ("/api/pharmacy/shortages/99999999999/cancel", None),
    ("/api/pharmacy/shortages/7/dispatch", {"tracking": "x" * 201}),
])
def test_hostile_input_is_4xx(rx: tuple[TestClient, dict], path: str, body: dict | None) -> None:
    c, h = rx
    r = c.post(path, json=body, headers=h["rx-v1"])
    assert 400 <= r.status_code < 500, r.text


def test_catalogue_command_loads_and_names_bad_cells(tmp_path: Path) -> None:
    db = tmp_path / "y.sqlite"
    assert CliRunner().invoke(cli, ["db", "upgrade", "--db", str(db)]).exit_code == 0
    good = tmp_path / "drugs.csv"
    good.write_text("drug_code,generic_name,form,strength,unit,essential\n"
                    f"{CODE},苯磺酸氨氯地平片,片剂,5mg,片,true\nXA10BAA0001,二甲双胍片,片剂,0.5g,片,是\n",
                    encoding="utf-8")
    res = CliRunner().invoke(cli, ["pharmacy", "catalogue", "--file", str(good), "--db", str(db)])
    assert res.exit_code == 0 and "2 drugs" in res.output, res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("drug_code,generic_name,form,strength,unit,essential\nX1,a,b,c,片,true\nX2,,b,c,片,true\n",
                   encoding="utf-8")
    res = CliRunner().invoke(cli, ["pharmacy", "catalogue", "--file", str(bad), "--db", str(db)])
    assert res.exit_code == 2 and "bad.csv:3:generic_name" in res.output
