"""The workforce API (人员与质控接口) by role on SQLite and PostgreSQL: staff registered by their consortium or
institution, stints judged against the year-round rules, training hours, income, prescriptions drawn reproducibly and
scored once, record checks against the checklist; refusals 403/404/409/422 and hostile input 4xx, never 500; and
``yigongti workforce export`` writing the database's tables back as a data folder the appraisal reads."""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, PASSWORD, login, make_user
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from store_fixtures import PG_URL, pg_unreachable
from typer.testing import CliRunner

from yigongti.app.factory import create_app
from yigongti.cli import app as cli
from yigongti.core.db import make_engine
from yigongti.platform.settings import Settings

USERS = {"wf-g1": ("consortium_admin", {"consortium_id": "G1"}), "wf-g2": ("consortium_admin", {"consortium_id": "G2"}),
         "wf-h": ("institution_admin", {"inst_id": "G1-H"}), "wf-t1": ("institution_admin", {"inst_id": "G1-T1"}),
         "wf-doc": ("clinician", {"inst_id": "G1-T1"}), "wf-bureau": ("insurance_bureau", {"county_code": "513433"}),
         "wf-hc": ("health_commission", {"county_code": "513433"})}
YEAR = INSIDE_WINDOW.year  # the app's "today": reviews and checks are dated in this year


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def wf(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
       example_input: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], str]]:
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
    data_dir = tmp_path_factory.mktemp("wf")
    app: FastAPI = create_app(Settings(data_dir=data_dir, db_url=url, data_folder=example_input,
                                       today=INSIDE_WINDOW, demo_accounts=False, login_burst=50))
    try:
        with TestClient(app) as client:
            for name, (role, anchor) in USERS.items():
                make_user(app, name, role, **anchor)
            yield client, {u: login(client, u) for u in USERS}, url or str(app.state.ctx.engine.url)
    finally:
        app.state.ctx.engine.dispose()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()


def _staff(name: str, title: str, employer: str, **more: str) -> dict[str, str]:
    return {"name": name, "title": title, "employer_id": employer, **more}


def test_registry_stints_and_the_year_round_rules_by_role(wf: tuple[TestClient, dict, str]) -> None:
    c, h, _ = wf
    assert c.get("/api/workforce/staff", headers=h["wf-doc"]).status_code == 403
    assert c.get("/api/workforce/staff", headers=h["wf-bureau"]).status_code == 403
    assert c.put("/api/workforce/staff/D1", json=_staff("张主治", "intermediate", "G1-H"),
                 headers=h["wf-t1"]).status_code == 403  # not its employee
    assert c.put("/api/workforce/staff/D1", json=_staff("张主治", "intermediate", "G1-H", department="内科"),
                 headers=h["wf-h"]).status_code == 204
    assert c.put("/api/workforce/staff/D2", json=_staff("李主任", "senior", "G1-H"), headers=h["wf-g1"]).status_code \
        == 204
    assert c.put("/api/workforce/staff/D2", json=_staff("李主任", "senior", "G1-H"), headers=h["wf-g2"]).status_code \
        == 403
    for sid in ("E1", "E2", "E3"):  # city experts: employed by the prefecture's tertiary hospital X3
        assert c.put(f"/api/workforce/staff/{sid}", json=_staff("专家", "associate_senior", "X3"),
                     headers=h["wf-g1"]).status_code == 204
    assert c.put("/api/workforce/staff/T1A", json=_staff("吴医生", "intermediate", "G1-T1"),
                 headers=h["wf-t1"]).status_code == 204
    assert c.put("/api/workforce/staff/V1A", json=_staff("郑村医", "junior", "G1-T1", works_at_id="G1-T1-V1"),
                 headers=h["wf-t1"]).status_code == 204
    assert c.put("/api/workforce/staff/X", json=_staff("甲", "chief", "G1-H"), headers=h["wf-g1"]).status_code == 422
    r = c.put("/api/workforce/staff/X", json=_staff("甲", "junior", "NOPE"), headers=h["wf-g1"])
    assert r.status_code == 422 and "employer_id" in r.text
    listed = c.get("/api/workforce/staff", headers=h["wf-t1"]).json()
    assert [s["staff_id"] for s in listed] == ["T1A", "V1A"] and listed[0]["title_label"] == "中级（主治医师）"

    def stint(body: dict[str, str], who: str) -> int:
        return c.post("/api/workforce/stints", json=body, headers=h[who]).status_code

    assert stint({"staff_id": "D1", "to_inst_id": "G1-T1", "start_date": "2026-01-01", "end_date": "2026-06-30"},
                 "wf-g1") == 201
    assert stint({"staff_id": "D2", "to_inst_id": "G1-T1", "start_date": "2026-07-01"}, "wf-g1") == 201
    assert stint({"staff_id": "D1", "to_inst_id": "G1-T2", "start_date": "2026-07-01", "end_date": "2026-12-31"},
                 "wf-g1") == 201
    for e in ("E1", "E2"):
        assert stint({"staff_id": e, "to_inst_id": "G1-T1", "start_date": "2025-01-01"}, "wf-g1") == 201
    assert stint({"staff_id": "E3", "to_inst_id": "G1-H", "start_date": "2026-01-01", "end_date": "2026-03-31"},
                 "wf-g1") == 201
    assert stint({"staff_id": "D1", "to_inst_id": "G1-T1", "start_date": "2026-01-01"}, "wf-g2") == 404
    assert stint({"staff_id": "D1", "to_inst_id": "G1-T1", "start_date": "2026-01-01"}, "wf-h") == 403
    assert stint({"staff_id": "NOPE", "to_inst_id": "G1-T1", "start_date": "2026-01-01"}, "wf-g1") == 404
    assert stint({"staff_id": "D1", "to_inst_id": "G1-T1", "start_date": "2026-05-01", "end_date": "2026-04-01"},
                 "wf-g1") == 422

    cov = {(r["rule"], r["scope"]): r for r in c.get("/api/workforce/coverage", params={"year": 2026},
                                                     headers=h["wf-g1"]).json()}
    assert set(cov) == {("city_experts", "G1"), ("attending", "G1-T1"), ("attending", "G1-T2"),
                        ("attending", "G1-T3")}
    assert cov[("attending", "G1-T1")]["met"] and cov[("attending", "G1-T1")]["days_met"] == 365
    assert cov[("attending", "G1-T2")]["gaps"] == [["2026-01-01", "2026-06-30"]]
    experts = cov[("city_experts", "G1")]
    assert experts["days_met"] == 90 and experts["rule_label"].startswith("城市")
    every = c.get("/api/workforce/coverage", params={"year": 2026}, headers=h["wf-hc"]).json()
    assert len(every) == 3 + 9
    assert {r["scope"] for r in c.get("/api/workforce/coverage", params={"year": 2026},
                                      headers=h["wf-g2"]).json()} == {"G2", "G2-T1", "G2-T2", "G2-T3"}
    assert c.get("/api/workforce/coverage", params={"year": 2026}, headers=h["wf-doc"]).status_code == 403
    assert c.get("/api/workforce/coverage", params={"year": "abc"}, headers=h["wf-g1"]).status_code == 422

    assert c.post("/api/workforce/training", json={"staff_id": "V1A", "date": "2026-05-06", "hours": "2.5"},
                  headers=h["wf-t1"]).status_code == 201
    assert c.post("/api/workforce/training", json={"staff_id": "V1A", "date": "2026-05-06", "hours": "2.5"},
                  headers=h["wf-g2"]).status_code == 403
    assert c.post("/api/workforce/training", json={"staff_id": "V1A", "date": "2026-05-06", "hours": "25"},
                  headers=h["wf-t1"]).status_code == 422
    hours = {r["staff_id"]: r for r in c.get("/api/workforce/training-hours", params={"year": 2026},
                                             headers=h["wf-t1"]).json()}
    assert (hours["V1A"]["hours"], hours["V1A"]["sessions"], hours["T1A"]["hours"]) == ("2.5", 1, "0.0")

    assert c.put("/api/workforce/staff/D1/income/2026", json={"income": "180000.00"},
                 headers=h["wf-g1"]).status_code == 204
    assert c.put("/api/workforce/staff/T1A/income/2026", json={"income": "90000"},
                 headers=h["wf-g1"]).status_code == 204
    assert c.put("/api/workforce/staff/D1/income/2026", json={"income": "1"}, headers=h["wf-g2"]).status_code == 404
    assert c.put("/api/workforce/staff/D1/income/2026", json={"income": "1"}, headers=h["wf-h"]).status_code == 403
    assert c.put("/api/workforce/staff/D1/income/2026", json={"income": "12.345"},
                 headers=h["wf-g1"]).status_code == 422


def test_prescription_review_and_record_checks(wf: tuple[TestClient, dict, str]) -> None:
    c, h, _ = wf
    c.put("/api/workforce/staff/T1A", json=_staff("吴医生", "intermediate", "G1-T1"), headers=h["wf-t1"])
    rx = [{"prescription_id": f"RX{i:04d}", "staff_id": "T1A"} for i in range(150)]
    body = {"inst_id": "G1-T1", "period": f"{YEAR}-10", "prescriptions": rx}
    assert c.post("/api/workforce/reviews", json=body, headers=h["wf-g2"]).status_code == 404
    assert c.post("/api/workforce/reviews", json=body, headers=h["wf-t1"]).status_code == 403
    assert c.post("/api/workforce/reviews", json=body | {"prescriptions": rx + rx[:1]},
                  headers=h["wf-g1"]).status_code == 422
    assert c.post("/api/workforce/reviews", json=body | {"prescriptions": [{"prescription_id": "R",
                                                                            "staff_id": "NOBODY"}]},
                  headers=h["wf-g1"]).status_code == 422
    r = c.post("/api/workforce/reviews", json=body, headers=h["wf-g1"])
    assert r.status_code == 201, r.text
    drawn = r.json()
    assert len(drawn) == 100  # 1% of 150 is 2, at least review_min = 100
    assert c.post("/api/workforce/reviews", json=body, headers=h["wf-g1"]).status_code == 409
    first, second = drawn[0]["review_id"], drawn[1]["review_id"]
    assert c.post(f"/api/workforce/reviews/{first}/score", json={"score": 101}, headers=h["wf-g1"]).status_code == 422
    assert c.post(f"/api/workforce/reviews/{first}/score", json={"score": 90}, headers=h["wf-g2"]).status_code == 404
    assert c.post(f"/api/workforce/reviews/{first}/score", json={"score": 90}, headers=h["wf-g1"]).status_code == 204
    assert c.post(f"/api/workforce/reviews/{first}/score", json={"score": 50}, headers=h["wf-g1"]).status_code == 409
    assert c.post(f"/api/workforce/reviews/{second}/score", json={"score": 70, "note": "用法用量不规范"},
                  headers=h["wf-g1"]).status_code == 204
    check = {"inst_id": "G1-T1", "record_id": "MR1", "staff_id": "T1A", "passed": ["front_page", "history"]}
    r = c.post("/api/workforce/record-checks", json=check, headers=h["wf-g1"])
    assert r.status_code == 201 and r.json()["score"] == 30
    assert c.post("/api/workforce/record-checks", json=check, headers=h["wf-g1"]).status_code == 409
    r = c.post("/api/workforce/record-checks", json=check | {"record_id": "MR2", "passed": ["nope"]},
               headers=h["wf-g1"])
    assert r.status_code == 422 and "nope" in r.text
    q = c.get("/api/workforce/quality", params={"year": YEAR}, headers=h["wf-g1"]).json()
    doc = q["reviews_by_doctor"][0]
    assert (doc["key"], doc["reviewed"], doc["points"], doc["passed"], doc["mean"]) == ("T1A", 2, 160, 1, "80.0")
    assert q["pending_reviews"] == 98 and q["records_by_institution"][0]["points"] == 30
    assert c.get("/api/workforce/quality", params={"year": YEAR}, headers=h["wf-doc"]).status_code == 403


def test_export_writes_a_folder_the_appraisal_reads(wf: tuple[TestClient, dict, str], tmp_path: Path) -> None:
    c, h, url = wf
    c.put("/api/workforce/staff/T1A", json=_staff("吴医生", "intermediate", "G1-T1"), headers=h["wf-t1"])
    res = CliRunner().invoke(cli, ["workforce", "export", "--year", "2026", "--out", str(tmp_path), "--db", url])
    assert res.exit_code == 0, res.output
    with (tmp_path / "staff.csv").open(encoding="utf-8") as fh:
        staff = {r["staff_id"]: r for r in csv.DictReader(fh)}
    assert staff["T1A"]["employer_id"] == "G1-T1" and staff["T1A"]["income"] in ("", "90000.00")  # "" run alone
    assert (tmp_path / "stationing.csv").exists() and (tmp_path / "prescription_reviews.csv").exists()


@pytest.mark.parametrize(("method", "path", "body"), [
    ("put", "/api/workforce/staff/" + "x" * 65, {"name": "a", "title": "junior", "employer_id": "G1-H"}),
    ("put", "/api/workforce/staff/A", {"name": "", "title": "junior", "employer_id": "G1-H"}),
    ("put", "/api/workforce/staff/A/income/1800", {"income": "1"}),
    ("put", "/api/workforce/staff/A/income/2026", {"income": "9" * 16}),
    ("post", "/api/workforce/stints", {"staff_id": "D1", "to_inst_id": "G1-T1", "start_date": "2026-02-30"}),
    ("post", "/api/workforce/training", {"staff_id": "D1", "date": "2026-01-01", "hours": "1e9"}),
    ("post", "/api/workforce/reviews", {"inst_id": "G1-T1", "period": "2026-13", "prescriptions": []}),
    ("post", "/api/workforce/reviews/0/score", {"score": 1}),
    ("post", "/api/workforce/reviews/99999999999/score", {"score": 1}),
    ("post", "/api/workforce/record-checks", {"inst_id": "G1-T1", "record_id": "R", "passed": ["x" * 65]}),
    ("get", "/api/workforce/coverage?year=99999", None),
])
def test_hostile_input_is_4xx(wf: tuple[TestClient, dict, str], method: str, path: str, body: dict | None) -> None:
    c, h, _ = wf
    r = c.request(method.upper(), path, json=body, headers=h["wf-g1"])
    assert 400 <= r.status_code < 500, r.text
    assert c.request(method.upper(), path, json=body).status_code == 401


def test_page_shows_the_staff_and_the_rules_chinese_first(wf: tuple[TestClient, dict, str]) -> None:
    c, h, _ = wf
    c.put("/api/workforce/staff/T1A", json=_staff("吴医生", "intermediate", "G1-T1"), headers=h["wf-t1"])

    def signed_in(username: str) -> TestClient:
        page = TestClient(c.app)
        token = re.search(r'name="csrf" value="([^"]+)"', page.get("/login").text)
        assert token
        r = page.post("/login", data={"username": username, "password": PASSWORD, "csrf": token.group(1)},
                      follow_redirects=False)
        assert r.status_code == 303, r.text
        return page

    html = signed_in("wf-t1").get("/workforce", params={"year": 2026}).text
    assert "人员与派驻" in html and "吴医生" in html and "中级（主治医师）" in html
    assert "牵头医院主治以上医师常年派驻乡镇卫生院" in html and "未达标" in html
    assert signed_in("wf-doc").get("/workforce").status_code == 403
    assert signed_in("wf-t1").get("/workforce", params={"year": "x"}).status_code == 422
