"""The quality and training pages (处方点评与病历质控、培训学时) through HTTP on the worked example county with an
indicator set that reads the quality measures (the demo's Q1, Q2): who sees and writes what, a review drawn and scored
through the page changing the institution's appraisal indicator the platform shows (the figures computed again from
the database, not from an exported folder), record checks, training hours against the required hours, incomes for the
consortium admin only (audited, 403 for everyone else), CSVs with labelled headers, and hostile input 4xx, never 500.
SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from api_fixtures import csrf_of, login, make_user, page_client
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from store_fixtures import scratch_url

from yigongti.app.factory import create_app
from yigongti.core.policy import Policy, PolicyError, policy_from_toml
from yigongti.demo.quality import write_quality_indicator_set
from yigongti.platform.settings import Settings
from yigongti.workforce.engine import load_checklist

USERS = {"q-g1": ("consortium_admin", {"consortium_id": "G1"}), "q-g2": ("consortium_admin", {"consortium_id": "G2"}),
         "q-t1": ("institution_admin", {"inst_id": "G1-T1"}), "q-doc": ("clinician", {"inst_id": "G1-T1"}),
         "q-bureau": ("insurance_bureau", {"county_code": "513433"}),
         "q-hc": ("health_commission", {"county_code": "513433"})}
TODAY = date(2026, 11, 20)  # in the example county's year (2026): reviews and checks dated now feed its appraisal
YEAR = TODAY.year


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def qa(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
       example_input: Path) -> Iterator[tuple[FastAPI, dict[str, TestClient], dict[str, dict[str, str]]]]:
    with scratch_url(request.param) as url:
        folder = tmp_path_factory.mktemp("qa-folder") / "input"
        shutil.copytree(example_input, folder)
        write_quality_indicator_set(folder)
        with (folder / "policy.toml").open("a", encoding="utf-8") as fh:
            fh.write("\n[workforce]\ntraining_hours_required = 8\n")
        app = create_app(Settings(data_dir=tmp_path_factory.mktemp("qa"), db_url=url, data_folder=folder,
                                  today=TODAY, demo_accounts=False, login_burst=50))
        try:
            with TestClient(app) as api:
                for name, (role, anchor) in USERS.items():
                    make_user(app, name, role, **anchor)
                h = {u: login(api, u) for u in USERS}
                for sid, body in (("QD1", {"name": "王点评", "title": "intermediate", "employer_id": "G1-T1"}),
                                  ("QD2", {"name": "李处方", "title": "junior", "employer_id": "G1-T1"}),
                                  ("QN1", {"name": "赵护士", "title": "junior", "employer_id": "G1-T2",
                                           "profession": "nurse"})):
                    assert api.put(f"/api/workforce/staff/{sid}", json=body, headers=h["q-g1"]).status_code == 204
                yield app, {u: page_client(app, u) for u in USERS}, h
        finally:
            app.state.ctx.engine.dispose()


def _post(c: TestClient, page: str, action: str, data: dict[str, object]) -> int:
    r = c.post(action, data={"csrf": csrf_of(c.get(page).text), **data}, follow_redirects=False)
    return r.status_code


def _indicator(app: FastAPI, inst_id: str, indicator: str) -> tuple[str | None, str]:
    """(value, status) of the platform's appraisal for a unit, computed (again when needed) now."""
    figures = app.state.ctx.figures.get()
    row = next(r for r in figures.appraisal.indicators.to_pylist()
               if r["scope"] == inst_id and r["indicator"] == indicator)
    return row["value"], row["status"]


def _cell(html: str, inst_id: str, indicator: str) -> str:
    row = html.split(f'<tr data-inst="{inst_id}">', 1)[1].split("</tr>", 1)[0]
    return row.split(f'data-indicator="{indicator}">', 1)[1].split("</td>", 1)[0]


def test_who_sees_the_pages(qa: tuple[FastAPI, dict[str, TestClient], dict]) -> None:
    app, c, _ = qa
    for u in ("q-g1", "q-t1", "q-hc"):
        for path in ("/workforce/quality", "/workforce/training", "/workforce/quality.csv", "/workforce/training.csv"):
            assert c[u].get(path).status_code == 200, (u, path)
    for u in ("q-doc", "q-bureau"):  # as the API's use cases: a clinician and the insurance bureau are refused
        assert c[u].get("/workforce/quality").status_code == 403
        assert c[u].get("/workforce/training.csv").status_code == 403
    g1 = c["q-g1"].get("/workforce/quality").text
    assert 'action="/workforce/quality/draw"' in g1 and 'action="/workforce/quality/records"' in g1
    assert "处方点评与病历质控" in g1 and 'href="/workforce/quality" aria-current="page"' in g1  # in the nav
    hc = c["q-hc"].get("/workforce/quality").text
    assert "/workforce/quality/draw" not in hc  # reads only
    app.state.ctx.figures.get()  # computed: the page shows the appraisal's quality indicators as columns
    assert "处方点评平均得分" in c["q-hc"].get("/workforce/quality").text
    c["q-hc"].cookies.set("ygt_lang", "en")
    try:
        assert "Mean prescription-review score" in c["q-hc"].get("/workforce/quality").text
    finally:
        c["q-hc"].cookies.set("ygt_lang", "zh")


def test_a_review_scored_on_the_page_moves_the_appraisal_indicator(
        qa: tuple[FastAPI, dict[str, TestClient], dict]) -> None:
    app, c, _ = qa
    before = app.state.ctx.figures.get()
    assert _indicator(app, "G1-T1", "Q1")[1] == "not_computable"  # nothing reviewed yet
    lines = "\n".join(f"RX-{n},QD{1 + n % 2}" for n in range(5))
    assert _post(c["q-g1"], "/workforce/quality", "/workforce/quality/draw",
                 {"inst_id": "G1-T1", "period": f"{YEAR}-Q1", "prescriptions": lines}) == 303
    page = c["q-g1"].get("/workforce/quality?q=G1-T1").text
    ids = [int(x.split('"')[0]) for x in page.split('<tr data-review="')[1:]]
    assert len(ids) == 5  # fewer than review_min: all drawn
    assert app.state.ctx.figures.get() is not before  # a draw changes the stamp: computed again
    for review_id, score in zip(ids, (90, 70, 80, 100, 60), strict=True):
        assert _post(c["q-g1"], "/workforce/quality", f"/workforce/quality/reviews/{review_id}/score",
                     {"score": score, "note": "ok"}) == 303
    assert _post(c["q-g1"], "/workforce/quality", f"/workforce/quality/reviews/{ids[0]}/score",
                 {"score": 50}) == 409  # once
    assert _indicator(app, "G1-T1", "Q1") == ("80.00", "ok")  # (90+70+80+100+60)/5, from the database
    html = c["q-g1"].get("/workforce/quality").text
    assert _cell(html, "G1-T1", "Q1") == "80.00"
    by_doctor = html.split('id="by-doctor"', 1)[1]
    assert 'data-staff="QD1" data-measure="prescription_review"' in by_doctor  # per doctor
    assert _cell(c["q-hc"].get("/workforce/quality").text, "G1-T1", "Q1") == "80.00"
    # a record check through the form: the checklist score, then Q2
    assert _post(c["q-g1"], "/workforce/quality", "/workforce/quality/records",
                 {"inst_id": "G1-T1", "record_id": "MR-1", "staff_id": "QD1",
                  "passed": ["front_page", "chief_complaint", "history"]}) == 303
    expected = load_checklist(Policy().workforce).score(["front_page", "chief_complaint", "history"])
    assert _indicator(app, "G1-T1", "Q2") == (f"{expected}.00", "ok")
    rows = list(csv.reader(io.StringIO(c["q-g1"].get("/workforce/quality.csv").text.lstrip("\ufeff"))))
    assert rows[0][0] == "质控项目 quality_measure" and rows[0][-1] == "平均得分 mean"
    inst = next(r for r in rows[1:] if r[2] == "G1-T1" and r[0].endswith("prescription_review"))
    assert inst[4:8] == ["5", "400", "3", "80.0"]


def test_training_against_the_required_hours_and_incomes_for_the_consortium_admin(
        qa: tuple[FastAPI, dict[str, TestClient], dict]) -> None:
    app, c, h = qa
    assert _post(c["q-t1"], "/workforce/training", "/workforce/training",
                 {"staff_id": "QD1", "on": f"{YEAR}-03-01", "hours": "8", "course": "合理用药"}) == 303
    assert _post(c["q-t1"], "/workforce/training", "/workforce/training",
                 {"staff_id": "QD2", "on": f"{YEAR}-03-01", "hours": "2.5"}) == 303
    assert _post(c["q-t1"], "/workforce/training", "/workforce/training",
                 {"staff_id": "QN1", "on": f"{YEAR}-03-01", "hours": "2"}) == 403  # not its staff
    html = c["q-t1"].get(f"/workforce/training?year={YEAR}").text
    assert "要求学时" in html or "每人每年要求学时" in html
    qd1 = html.split('<tr data-staff="QD1">', 1)[1].split("</tr>", 1)[0]
    qd2 = html.split('<tr data-staff="QD2">', 1)[1].split("</tr>", 1)[0]
    assert "8.0" in qd1 and "达标" in qd1 and "未达标" not in qd1
    assert "2.5" in qd2 and "未达标" in qd2
    t1 = html.split('<tr data-inst="G1-T1">', 1)[1].split("</tr>", 1)[0]
    assert ">2<" in t1 and ">1<" in t1  # two staff, one met
    rows = list(csv.reader(io.StringIO(c["q-t1"].get(f"/workforce/training.csv?year={YEAR}").text.lstrip("\ufeff"))))
    assert rows[0][-2:] == ["要求学时 required_hours", "是否达标 met"]
    assert [r[-3:] for r in rows[1:] if r[0] == "QD2"] == [["2.5", "8", "未达标 not met"]]
    # incomes: the consortium admin of that consortium only; every read audited
    assert TestClient(app).put(f"/api/workforce/staff/QD1/income/{YEAR}", json={"income": "98000.50"},
                               headers=h["q-g1"]).status_code == 204
    g1 = c["q-g1"].get(f"/workforce/training?year={YEAR}").text
    assert 'id="incomes"' in g1 and "98,000.50" in g1
    for u in ("q-t1", "q-hc"):
        assert 'id="incomes"' not in c[u].get(f"/workforce/training?year={YEAR}").text
    api = TestClient(app)
    got = api.get("/api/workforce/incomes", params={"year": YEAR}, headers=h["q-g1"])
    assert got.status_code == 200 and {"staff_id": "QD1", "name": "王点评", "works_at_id": "G1-T1",
                                        "income": "98000.50"} in got.json()
    for u in ("q-t1", "q-hc", "q-doc", "q-bureau"):
        assert api.get("/api/workforce/incomes", params={"year": YEAR}, headers=h[u]).status_code == 403, u
    other = api.get("/api/workforce/incomes", params={"year": YEAR}, headers=h["q-g2"]).json()
    assert not {r["staff_id"] for r in other} & {"QD1", "QD2", "QN1"}  # another consortium's people
    with app.state.ctx.sessions() as s:
        actors = s.execute(text("SELECT actor FROM audit_log WHERE action = 'staff incomes read'")).scalars().all()
    assert len(actors) >= 2 and all("q-g" in a for a in actors)


def test_hostile_input_is_refused_with_4xx(qa: tuple[FastAPI, dict[str, TestClient], dict]) -> None:
    _, c, _ = qa
    g1 = c["q-g1"]
    for data in ({"inst_id": "G1-T1", "period": "2026-13", "prescriptions": "A,QD1"},
                 {"inst_id": "G1-T1", "period": f"{YEAR}-Q2", "prescriptions": "A,B,C"},
                 {"inst_id": "G1-T1", "period": f"{YEAR}-Q2", "prescriptions": "\n\n"},
                 {"inst_id": "G1-T1", "period": f"{YEAR}-Q2", "prescriptions": "A,NOBODY"},
                 {"inst_id": "G1-T1", "period": f"{YEAR}-Q2", "prescriptions": "A\nA"},
                 {"inst_id": "G1-T1", "period": f"{YEAR}-Q2", "prescriptions": "x" * 70}):
        assert _post(g1, "/workforce/quality", "/workforce/quality/draw", data) == 422, data
    assert _post(g1, "/workforce/quality", "/workforce/quality/draw",
                 {"inst_id": "G2-T1", "period": f"{YEAR}-Q2", "prescriptions": "A"}) == 404  # not its member
    assert _post(c["q-hc"], "/workforce/quality", "/workforce/quality/draw",
                 {"inst_id": "G1-T1", "period": f"{YEAR}-Q2", "prescriptions": "A"}) == 403
    assert _post(g1, "/workforce/quality", "/workforce/quality/draw",
                 {"inst_id": "G1-T1", "period": f"{YEAR}-Q1", "prescriptions": "Z1"}) == 409  # drawn already
    for score in ("101", "-1", "abc", ""):
        assert _post(g1, "/workforce/quality", "/workforce/quality/reviews/1/score", {"score": score}) == 422
    assert _post(g1, "/workforce/quality", "/workforce/quality/reviews/999999/score", {"score": 50}) == 404
    assert _post(c["q-g2"], "/workforce/quality", "/workforce/quality/reviews/1/score", {"score": 50}) == 404
    assert _post(g1, "/workforce/quality", "/workforce/quality/records",
                 {"inst_id": "G1-T1", "record_id": "MR-9", "passed": ["no_such_item"]}) == 422
    assert g1.post("/workforce/quality/reviews/1/score", data={"score": 50},
                   follow_redirects=False).status_code == 403  # no CSRF token
    for hours in ("abc", "0", "25", "NaN", "1e9"):
        assert _post(g1, "/workforce/training", "/workforce/training",
                     {"staff_id": "QD1", "on": f"{YEAR}-03-02", "hours": hours}) == 422, hours
    for q in ("?year=1999", "?page=0", "?dsort=DROP", "?year=abc", "?done=drawn", "?done=<script>-1"):
        assert g1.get("/workforce/quality" + q).status_code == 422, q
    for q in ("?spage=0", "?isort=DROP", "?idir=up", "?done=0"):
        assert g1.get("/workforce/training" + q).status_code == 422, q
    assert g1.get("/workforce/training?page=99999").status_code == 200  # past the last page: the last
    assert 'data-staff="QD1"' in g1.get("/workforce/training", params={"iq": "王点评", "year": YEAR}).text.split(
        'id="incomes-table"', 1)[1]  # the incomes are searched with their own box


def test_training_hours_required_is_validated_on_load() -> None:
    assert policy_from_toml("[workforce]\ntraining_hours_required = 40\n").workforce.training_hours_required == 40
    assert policy_from_toml("").workforce.training_hours_required == 0  # default: not assessed
    for bad in ("-1", "5000", '"many"', "true"):
        with pytest.raises(PolicyError, match="workforce.training_hours_required"):
            policy_from_toml(f"[workforce]\ntraining_hours_required = {bad}\n")
