"""Readiness and prescriptions through HTTP (监测预警、应急物资、应急队伍、出入库、处方流转) on the worked example
county with the demo data (``demo.workflows`` then ``demo.readiness``): surveillance counts with their thresholds
and warnings, the emergency stockpile with its flags, the emergency-team rosters, stock moves with who and when on
the pharmacy page, a prescription written at a village clinic dispensed at the township centre (stock decremented
there, once only); CSV downloads with labelled headers; roles and scope; hostile input 4xx, never 500."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, csrf_of, make_user, page_client
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from prepared_dirs import prepared_data_dir
from yigongti.app.factory import create_app
from yigongti.demo.readiness import seed_readiness
from yigongti.demo.workflows import seed_workflows
from yigongti.pharmacy.store import PrescriptionRow, StockMoveRow, StockRow
from yigongti.platform.settings import Settings
from yigongti.public_health.domain import week_start, week_threshold
from yigongti.public_health.store import SurveillanceCountRow
from yigongti.workforce.store import EmergencyTeamRow

VILLAGE = "G1-T1-V1"
USERS = {"rd-vdoc": ("clinician", {"inst_id": VILLAGE}),
         "rd-tdoc": ("clinician", {"inst_id": "G1-T1"}),
         "rd-tadmin": ("institution_admin", {"inst_id": "G1-T1"}),
         "rd-hdoc": ("clinician", {"inst_id": "G1-H"}),
         "rd-g2doc": ("clinician", {"inst_id": "G2-H"}),
         "rd-g1": ("consortium_admin", {"consortium_id": "G1"}),
         "rd-hc": ("health_commission", {"county_code": "513433"}),
         "rd-bureau": ("insurance_bureau", {"county_code": "513433"})}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, example_input: Path) -> Iterator[FastAPI]:
    data_dir = prepared_data_dir(tmp_path_factory, tmp_path_factory.mktemp("rd"), example_input, INSIDE_WINDOW)
    a = create_app(Settings(data_dir=data_dir, data_folder=example_input, today=INSIDE_WINDOW,
                            demo_accounts=False, login_burst=80))
    ctx = a.state.ctx
    with ctx.sessions.begin() as s:
        seed_workflows(s, policy=ctx.policy, now=ctx.clock.now(), clinics=[VILLAGE])
        seeded = seed_readiness(s, policy=ctx.policy, now=ctx.clock.now(), clinics=[VILLAGE])
    assert seeded["counts"] > 100 and seeded["stockpile"] > 20 and seeded["teams"] >= 2
    for name, (role, anchor) in USERS.items():
        make_user(a, name, role, **anchor)
    yield a
    ctx.engine.dispose()


@pytest.fixture(scope="module")
def users(app: FastAPI) -> dict[str, TestClient]:
    return {u: page_client(app, u) for u in USERS}


def _csrf(c: TestClient, path: str = "/public-health/surveillance") -> str:
    return csrf_of(c.get(path).text)


def _csv(c: TestClient, path: str) -> list[list[str]]:
    r = c.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


# --- surveillance ---


def test_the_surveillance_page_shows_thresholds_and_warnings_in_scope(app: FastAPI,
                                                                      users: dict[str, TestClient]) -> None:
    page = users["rd-g1"].get("/public-health/surveillance")
    assert page.status_code == 200 and "预警阈值" in page.text
    insts = set(re.findall(r'<tr data-inst="([^"]+)" data-syndrome', page.text))
    assert insts and all(i.startswith("G1-") for i in insts)
    rows = _csv(users["rd-g1"], "/public-health/surveillance.csv")
    assert rows[0][:4] == ["机构编码 inst_id", "名称 name", "监测点类别 site_kind", "症状 syndrome"]
    assert rows[0][6] == "预警阈值 threshold"
    assert {r[0] for r in rows[1:]} == insts
    # every threshold is the one of the domain rule on the stored history
    policy = app.state.ctx.policy.public_health
    with app.state.ctx.sessions() as s:
        stored = {(i, k, y, w): n for i, k, y, w, n in s.execute(select(
            SurveillanceCountRow.inst_id, SurveillanceCountRow.site_kind, SurveillanceCountRow.syndrome,
            SurveillanceCountRow.week, SurveillanceCountRow.cases))}
    warnings = 0
    for r in rows[1:]:
        inst, kind, syndrome = r[0], r[2].split()[-1], r[3].split()[-1]
        week = week_start(date.fromisoformat(r[4]))
        history = [stored[(inst, kind, syndrome, week - timedelta(weeks=k))] for k in range(8, 0, -1)
                   if (inst, kind, syndrome, week - timedelta(weeks=k)) in stored]
        th = week_threshold(history, fixed=policy.syndromes[syndrome])
        assert r[6] == str(th.threshold) and r[7] == th.basis
        assert (r[8] == "是 yes") == (int(r[5]) >= th.threshold)
        warnings += r[8] == "是 yes"
    assert warnings >= 1  # the demo has jumps
    assert any(r[7] == "fixed" for r in rows[1:])  # the newest sentinel: two weeks only
    hc = users["rd-hc"].get("/public-health/surveillance")
    assert hc.status_code == 200 and "G2-" in hc.text  # the health commission sees every consortium
    assert users["rd-bureau"].get("/public-health/surveillance").status_code == 403


def test_a_site_records_a_week_and_a_jump_warns(app: FastAPI, users: dict[str, TestClient]) -> None:
    doc = users["rd-tdoc"]
    monday = week_start(app.state.ctx.clock.today())
    form = {"inst_id": "G1-T1", "site_kind": "sentinel", "week": monday.isoformat(), "n_ili": "500", "n_fever": "3"}
    assert doc.post("/public-health/surveillance", data=form, follow_redirects=False).status_code == 403  # no CSRF
    r = doc.post("/public-health/surveillance", data=form | {"csrf": _csrf(doc)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = doc.get("/public-health/surveillance").text
    row = re.search(rf'<tr data-inst="G1-T1" data-syndrome="ili" data-week="{monday.isoformat()}" class="warning">'
                    r'.*?</tr>', page, re.S)
    assert row and ">500<" in row.group(0)
    # recorded again: replaced, not added
    r = doc.post("/public-health/surveillance", data=form | {"n_ili": "2", "csrf": _csrf(doc)},
                 follow_redirects=False)
    with app.state.ctx.sessions() as s:
        n = s.scalar(select(SurveillanceCountRow.cases).where(SurveillanceCountRow.inst_id == "G1-T1",
                                                              SurveillanceCountRow.syndrome == "ili",
                                                              SurveillanceCountRow.week == monday))
    assert n == 2
    other = form | {"inst_id": "G1-H", "csrf": _csrf(doc)}
    assert doc.post("/public-health/surveillance", data=other, follow_redirects=False).status_code == 404


@pytest.mark.parametrize("change", [{"n_ili": "-1"}, {"n_ili": "abc"}, {"n_ili": "9" * 20}, {"site_kind": "x"},
                                    {"week": "2999-01-01"}, {"week": "yesterday"}, {"week": "0001-01-01"},
                                    {"inst_id": "' OR 1=1"}, {"n_ili": "", "n_fever": ""}])
def test_hostile_counts_are_4xx(app: FastAPI, users: dict[str, TestClient], change: dict[str, str]) -> None:
    doc = users["rd-tdoc"]
    form = {"inst_id": "G1-T1", "site_kind": "sentinel", "week": app.state.ctx.clock.today().isoformat(),
            "n_ili": "1"} | change
    r = doc.post("/public-health/surveillance", data=form | {"csrf": _csrf(doc)}, follow_redirects=False)
    assert 400 <= r.status_code < 500, r.text


def test_the_surveillance_api(app: FastAPI, users: dict[str, TestClient]) -> None:
    g1 = users["rd-g1"]
    r = g1.post("/api/public-health/surveillance", json={"inst_id": "G1-T2", "site_kind": "fever_clinic",
                                                         "week": app.state.ctx.clock.today().isoformat(),
                                                         "counts": {"rash": 7}})
    assert r.status_code == 201 and r.json() == {"recorded": 1}
    bad = g1.post("/api/public-health/surveillance", json={"inst_id": "G1-T2", "site_kind": "sentinel",
                                                           "week": "2025-11-10", "counts": {"plague": 1}})
    assert bad.status_code == 422 and "counts.plague" in bad.text
    rows = g1.get("/api/public-health/surveillance?weeks=2").json()
    mine = [x for x in rows if x["inst_id"] == "G1-T2" and x["syndrome"] == "rash"]
    assert mine and mine[0]["basis"] == "fixed" and mine[0]["warning"] is True  # 7 >= the fixed 5
    assert users["rd-g2doc"].post("/api/public-health/surveillance", json={
        "inst_id": "G1-T2", "site_kind": "sentinel", "week": "2025-11-10", "counts": {"rash": 1}}).status_code == 404


# --- stockpile ---


def test_the_stockpile_flags_lines_and_a_line_set_below_minimum_is_flagged(app: FastAPI,
                                                                          users: dict[str, TestClient]) -> None:
    g1 = users["rd-g1"]
    page = g1.get("/public-health/stockpile")
    assert page.status_code == 200 and "低于储备下限" in page.text
    flags = re.findall(r'data-inst="(G[^"]+)" data-item="[^"]+" data-flags="([^"]*)"', page.text)
    assert flags and all(i.startswith("G1-") for i, _ in flags)
    first_clean = next(k for k, (_, f) in enumerate(flags) if not f)
    assert all(f for _, f in flags[:first_clean])  # flagged lines first
    form = {"inst_id": "G1-T1", "item_code": "PPE-N95", "item_name": "医用防护口罩（N95）", "category": "防护用品",
            "unit": "只", "batch": "T-1", "quantity": "10", "minimum": "400", "expires_on": "2025-11-20",
            "csrf": _csrf(g1, "/public-health/stockpile")}
    r = g1.post("/public-health/stockpile", data=form, follow_redirects=False)
    assert r.status_code == 303
    line = re.search(r"done=(\d+)", r.headers["location"]).group(1)  # type: ignore[union-attr]
    row = re.search(rf'<tr id="l{line}"[^>]*data-flags="([^"]*)"', g1.get("/public-health/stockpile").text)
    assert row and row.group(1) == "below_minimum expiring"
    rows = _csv(g1, "/public-health/stockpile.csv")
    assert rows[0][-1] == "提示 flags" and any("低于储备下限 below_minimum" in r[-1] for r in rows[1:])
    doc = users["rd-vdoc"]
    assert doc.post("/public-health/stockpile", data=form | {"inst_id": "G1-T1", "csrf": _csrf(doc)},
                    follow_redirects=False).status_code == 404  # another institution
    assert g1.post("/public-health/stockpile", data=form | {"quantity": "-1"},
                   follow_redirects=False).status_code == 422
    api = g1.get("/api/public-health/stockpile").json()
    assert any(x["flags"] == ["below_minimum", "expiring"] and x["batch"] == "T-1" for x in api)


# --- emergency teams ---


def test_team_rosters_by_role_and_the_consortium_admin_staffs_a_team(app: FastAPI,
                                                                      users: dict[str, TestClient]) -> None:
    g1 = users["rd-g1"]
    page = g1.get("/workforce/teams")
    assert page.status_code == 200 and "传染病防控" in page.text and "队长" in page.text
    csrf = _csrf(g1, "/workforce/teams")
    r = g1.post("/workforce/teams", data={"name": "中毒处置小组", "kind": "poisoning", "base_inst_id": "G1-T1",
                                          "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    team_id = int(re.search(r"done=(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    member = {"staff_id": "S-NEW-1", "name": "赵敏", "title": "intermediate", "inst_id": "G1-T1", "duty": "leader",
              "speciality": "急诊", "csrf": csrf}
    assert g1.post(f"/workforce/teams/{team_id}/members", data=member, follow_redirects=False).status_code == 303
    section = re.search(rf'<section id="t{team_id}".*?</section>', g1.get("/workforce/teams").text, re.S)
    assert section and "赵敏" in section.group(0) and "队长" in section.group(0) and "未设队长" not in section.group(0)
    again = g1.post(f"/workforce/teams/{team_id}/members", data=member, follow_redirects=False)
    assert again.status_code == 409
    rows = _csv(g1, "/workforce/teams.csv")
    assert rows[0][:3] == ["队伍编号 team_id", "队伍 team", "类别 kind"]
    assert any(r[0] == str(team_id) and r[9] == "队长 leader" for r in rows[1:])
    admin = users["rd-tadmin"]  # an institution admin reads its consortium's teams, cannot form one
    assert admin.get("/workforce/teams").status_code == 200 and "赵敏" in admin.get("/workforce/teams").text
    assert admin.post("/workforce/teams", data={"name": "x", "kind": "rescue", "base_inst_id": "G1-T1",
                                                "csrf": _csrf(admin, "/workforce/teams")},
                      follow_redirects=False).status_code == 403
    assert g1.post("/workforce/teams", data={"name": "x", "kind": "rescue", "base_inst_id": "G2-H", "csrf": csrf},
                   follow_redirects=False).status_code == 404  # another consortium's member
    assert g1.post(f"/workforce/teams/{team_id}/members", data=member | {"staff_id": "S2", "duty": "boss"},
                   follow_redirects=False).status_code == 422
    with app.state.ctx.sessions() as s:
        g2_teams = s.scalar(select(func.count()).select_from(EmergencyTeamRow)
                            .where(EmergencyTeamRow.consortium_id == "G2"))
    assert g2_teams and "G2" not in re.findall(r'data-kind="[^"]+"', page.text)
    api = g1.get("/api/workforce/teams").json()
    assert api and all(t["consortium_id"] == "G1" for t in api)


def test_workforce_is_in_the_navigation(users: dict[str, TestClient]) -> None:
    assert 'href="/workforce"' in users["rd-g1"].get("/dashboard").text
    assert 'href="/workforce"' not in users["rd-vdoc"].get("/pharmacy").text


# --- stock moves and prescriptions ---


def _on_hand(app: FastAPI, inst_id: str, code: str) -> int:
    with app.state.ctx.sessions() as s:
        return int(s.scalar(select(StockRow.on_hand).where(StockRow.inst_id == inst_id, StockRow.drug_code == code))
                   or 0)


def test_receipts_and_issues_on_the_pharmacy_page_with_who_and_when(app: FastAPI,
                                                                    users: dict[str, TestClient]) -> None:
    doc = users["rd-tdoc"]
    page = doc.get("/pharmacy")
    assert 'id="stock-move"' in page.text and 'id="move-list"' in page.text
    m = re.search(r'id="stock-move".*?<select name="drug_code" required><option value="([^"]+)"', page.text, re.S)
    assert m
    code = m.group(1)
    before = _on_hand(app, "G1-T1", code)
    csrf = _csrf(doc, "/pharmacy")
    r = doc.post("/pharmacy/moves", data={"kind": "receipt", "drug_code": code, "quantity": "50", "csrf": csrf},
                 follow_redirects=False)
    assert r.status_code == 303 and f"moved={before + 50}" in r.headers["location"]
    too_many = doc.post("/pharmacy/moves", data={"kind": "issue", "drug_code": code, "quantity": str(before + 51),
                                                 "csrf": csrf}, follow_redirects=False)
    assert too_many.status_code == 409 and _on_hand(app, "G1-T1", code) == before + 50  # all or nothing
    first = re.search(r'<table tabindex="0" class="data" id="move-list">.*?<tbody><tr data-kind="([a-z]+)" '
                      r'data-drug="([^"]+)">.*?</tr>', doc.get("/pharmacy").text, re.S)
    assert first and first.groups() == ("receipt", code) and "rd-tdoc" in first.group(0)
    rows = _csv(users["rd-g1"], "/pharmacy/moves.csv?inst_id=G1-T1")
    assert rows[0][:3] == ["记录编号 move_id", "时间 at", "类别 kind"] and rows[1][2] == "入库 receipt"
    assert users["rd-g1"].get("/pharmacy/moves.csv?inst_id=G2-H").status_code == 404
    assert doc.post("/pharmacy/moves", data={"kind": "steal", "drug_code": code, "quantity": "1", "csrf": csrf},
                    follow_redirects=False).status_code == 422


def test_a_prescription_written_at_a_village_is_dispensed_at_the_township_once(app: FastAPI,
                                                                               users: dict[str, TestClient]) -> None:
    vdoc, tdoc, hdoc = users["rd-vdoc"], users["rd-tdoc"], users["rd-hdoc"]
    page = vdoc.get("/pharmacy/prescriptions")
    assert page.status_code == 200 and 'id="new-prescription"' in page.text
    with app.state.ctx.sessions() as s:
        person = s.scalar(select(PrescriptionRow.person_id).where(PrescriptionRow.written_inst_id == VILLAGE))
        codes = list(s.scalars(select(StockRow.drug_code).where(StockRow.inst_id == "G1-T1", StockRow.on_hand > 20)
                               .order_by(StockRow.drug_code).limit(2)))
    assert person and len(codes) == 2
    form = {"person_id": person, "drug_code": [codes[0], codes[1], ""], "quantity": ["14", "7", ""],
            "csrf": _csrf(vdoc, "/pharmacy/prescriptions")}
    r = vdoc.post("/pharmacy/prescriptions", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    rx = int(re.search(r"done=(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    row = re.search(rf'<tr id="rx{rx}" data-status="written">.*?</tr>', tdoc.get("/pharmacy/prescriptions").text,
                    re.S)
    assert row and "在本机构发药" in row.group(0)  # the township sees it, to dispense
    before = [_on_hand(app, "G1-T1", c) for c in codes]
    lead_before = [_on_hand(app, "G1-H", c) for c in codes]
    csrf = _csrf(tdoc, "/pharmacy/prescriptions")
    g2 = users["rd-g2doc"]
    assert g2.post(f"/pharmacy/prescriptions/{rx}/dispense", data={"csrf": _csrf(g2, "/pharmacy")},
                   follow_redirects=False).status_code == 404  # another consortium
    assert tdoc.post(f"/pharmacy/prescriptions/{rx}/dispense", data={"csrf": csrf},
                     follow_redirects=False).status_code == 303
    assert [_on_hand(app, "G1-T1", c) for c in codes] == [before[0] - 14, before[1] - 7]
    assert [_on_hand(app, "G1-H", c) for c in codes] == lead_before
    again = hdoc.post(f"/pharmacy/prescriptions/{rx}/dispense", data={"csrf": _csrf(hdoc, "/pharmacy")},
                      follow_redirects=False)
    assert again.status_code == 409 and [_on_hand(app, "G1-H", c) for c in codes] == lead_before
    mine = re.search(rf'<tr id="rx{rx}" data-status="dispensed">.*?</tr>', vdoc.get("/pharmacy/prescriptions").text,
                     re.S)
    assert mine and "已发药" in mine.group(0)
    with app.state.ctx.sessions() as s:
        moves = s.scalar(select(func.count()).select_from(StockMoveRow)
                         .where(StockMoveRow.inst_id == "G1-T1", StockMoveRow.actor.contains("rd-tdoc"),
                                StockMoveRow.kind == "issue"))
    assert moves == 2
    rows = _csv(tdoc, "/pharmacy/prescriptions.csv")
    assert rows[0][0] == "处方编号 rx_id" and any(r[0] == str(rx) and r[4] == "已发药 dispensed" for r in rows[1:])
    assert vdoc.post(f"/pharmacy/prescriptions/{rx}/cancel", data={"csrf": _csrf(vdoc, "/pharmacy")},
                     follow_redirects=False).status_code == 409


def test_a_short_pharmacy_dispenses_nothing(app: FastAPI, users: dict[str, TestClient]) -> None:
    vdoc, tdoc = users["rd-vdoc"], users["rd-tdoc"]
    with app.state.ctx.sessions() as s:
        person = s.scalar(select(PrescriptionRow.person_id).where(PrescriptionRow.written_inst_id == VILLAGE))
        ok, = s.scalars(select(StockRow.drug_code).where(StockRow.inst_id == "G1-T1", StockRow.on_hand > 5)
                        .order_by(StockRow.drug_code).limit(1))
        short = s.scalar(select(StockRow).where(StockRow.inst_id == "G1-T1", StockRow.drug_code != ok)
                         .order_by(StockRow.drug_code))
    assert person and short
    r = vdoc.post("/api/pharmacy/prescriptions", json={"person_id": person, "lines": [
        {"drug_code": ok, "quantity": 1}, {"drug_code": short.drug_code, "quantity": short.on_hand + 1}]})
    assert r.status_code == 201
    rx = r.json()["rx_id"]
    before = _on_hand(app, "G1-T1", ok)
    refused = tdoc.post(f"/api/pharmacy/prescriptions/{rx}/dispense")
    assert refused.status_code == 409 and _on_hand(app, "G1-T1", ok) == before
    assert [x for x in tdoc.get("/api/pharmacy/prescriptions").json() if x["rx_id"] == rx][0]["status"] == "written"
    assert users["rd-g1"].post("/api/pharmacy/prescriptions", json={"person_id": person, "lines": [
        {"drug_code": ok, "quantity": 1}]}).status_code == 403  # clinicians write prescriptions
    with app.state.ctx.sessions() as s:
        elsewhere = s.scalar(select(PrescriptionRow.person_id).where(PrescriptionRow.written_inst_id.like("G2-%")))
    assert elsewhere
    for who in ("NOBODY", elsewhere):  # unknown, or not in the doctor's scope: the same 404 (existence not disclosed)
        assert vdoc.post("/api/pharmacy/prescriptions", json={"person_id": who, "lines": [
            {"drug_code": ok, "quantity": 1}]}).status_code == 404
    assert vdoc.post(f"/api/pharmacy/prescriptions/{rx}/cancel").json()["status"] == "cancelled"


@pytest.mark.parametrize("path", [
    "/public-health/surveillance?until=garbage", "/public-health/surveillance?done=<x>",
    "/public-health/stockpile?done=-1", "/workforce/teams?done=abc", "/pharmacy/prescriptions?done=0",
    "/pharmacy/moves.csv?inst_id=%27", "/api/public-health/surveillance?weeks=1000",
    "/public-health/surveillance?until=0001-01-01", "/public-health/surveillance.csv?until=9999-12-31",
    "/api/public-health/surveillance?until=0001-01-03"])
def test_hostile_reads_are_4xx(users: dict[str, TestClient], path: str) -> None:
    assert 400 <= users["rd-g1"].get(path).status_code < 500


def test_the_demo_staff_registry_fills_the_workforce_page(app: FastAPI, users: dict[str, TestClient]) -> None:
    page = users["rd-g1"].get("/workforce")
    assert page.status_code == 200
    assert "牵头医院主治以上医师常年派驻乡镇卫生院" in page.text
    assert ">达标<" in page.text and "<strong>未达标</strong>" in page.text  # one township stationed until June only
    assert 'href="/workforce/teams"' in page.text
    teams = users["rd-g1"].get("/api/workforce/teams").json()
    staff = {s["staff_id"] for s in users["rd-g1"].get("/api/workforce/staff").json()}
    demo = [t for t in teams if t["kind"] in ("epidemic", "rescue")]  # (another test adds a team of its own)
    assert demo and all(m["staff_id"] in staff for t in demo for m in t["members"])  # rosters of registry staff
