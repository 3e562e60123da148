"""Indicators from the workflow (转诊与远程诊断指标，来自业务流程), on SQLite and PostgreSQL: referrals up and down,
some never arriving, remote reads of counted and uncounted kinds and a repeat avoided are recorded through the API;
the platform's figures (``GET /api/workflow-indicators``, the page and its CSV) are exactly the numerators the
appraisal computes from the tables ``yigongti referral export`` and ``yigongti centres export`` write (S3, S4, S4b,
S5's, 2.2's): the two paths agree. Worked example county, "today" 2025-11-15."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import page_client
from live_fixtures import USERS, Live, running
from typer.testing import CliRunner

from yigongti.appraisal.service import appraise_data
from yigongti.cli import app as cli
from yigongti.core.policy import Policy
from yigongti.datafolder.folder import read_folder

PAIRS = {"S3": "up_referrals", "S4": "down_referrals", "S4b": "referrals_completed", "2.2": "remote_diagnoses",
         "S5": "down_referrals_from_county"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         example_input: Path) -> Iterator[Live]:
    users = {**USERS, "t1-admin": ("institution_admin", {"inst_id": "G1-T1"})}
    with running(request.param, tmp_path_factory.mktemp(f"wf-{request.param}"), example_input, users) as found:
        yield found


def _walk(live: Live, rid: int, moves: list[tuple[str, str, dict[str, object]]]) -> None:
    for status, who, extra in moves:
        r = live.client.post(f"/api/referrals/{rid}/status", json={"status": status, **extra}, headers=live.h[who])
        assert r.status_code == 200, (status, r.text)


def _refer(live: Live, who: str, frm: str, to: str, direction: str, person: str = "R0009") -> int:
    r = live.client.post("/api/referrals", json={"person_id": person, "from_inst_id": frm, "to_inst_id": to,
                                                 "direction": direction, "diagnosis": "I63.9", "reason": "x"},
                         headers=live.h[who])
    assert r.status_code == 201, r.text
    return int(r.json()["referral_id"])


def _slot(live: Live, admin: str, inst: str) -> int:
    r = live.client.post("/api/slots", json={"inst_id": inst, "kind": "bed", "start": "2025-11-26T09:00",
                                             "capacity": 10}, headers=live.h[admin])
    assert r.status_code == 201, r.text
    return int(r.json()["slot_id"])


def _order(live: Live, kind: str) -> dict[str, object]:
    r = live.client.post("/api/diagnoses", json={"person_id": "R0009", "from_inst_id": "G1-T1", "to_inst_id": "G1-H",
                                                 "kind": kind, "question": "?"}, headers=live.h["t1-doc"])
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_the_workflows_figures_are_the_appraisals_from_the_exported_tables(live: Live, tmp_path: Path,
                                                                            example_input: Path) -> None:
    hosp, town = _slot(live, "h1-admin", "G1-H"), _slot(live, "t1-admin", "G1-T1")
    up = _refer(live, "t1-doc", "G1-T1", "G1-H", "up")  # arrives and completes
    _walk(live, up, [("accepted", "h1-doc", {}), ("booked", "h1-doc", {"slot_id": hosp}), ("arrived", "h1-doc", {}),
                     ("completed", "h1-doc", {}), ("returned", "h1-doc", {"care_plan": "康复随访"})])
    down = _refer(live, "h1-doc", "G1-H", "G1-T1", "down")  # the county hospital sends the patient back: arrives
    _walk(live, down, [("accepted", "t1-doc", {}), ("booked", "t1-doc", {"slot_id": town}),
                       ("arrived", "t1-doc", {})])
    _walk(live, _refer(live, "t1-doc", "G1-T1", "G1-H", "up"), [("declined", "h1-doc", {})])  # never counted
    _refer(live, "gp", "G1-T1-V1", "G1-H", "up")  # still requested: not counted
    for kind in ("imaging", "lab"):  # a counted read and one 2.2 does not count
        oid = _order(live, kind)["order_id"]
        for move in ({"status": "accepted"}, {"status": "reported", "report": "未见异常"}):
            r = live.client.post(f"/api/diagnoses/{oid}/status", json=move, headers=live.h["h1-doc"])
            assert r.status_code == 200, r.text
    assert _order(live, "imaging")["status"] == "recognised"  # a repeat avoided

    got = live.client.get("/api/workflow-indicators", params={"year": 2025}, headers=live.h["bureau"]).json()
    figures = {(f["scope"], f["scope_kind"]): f for f in got}
    t1, h1, g1 = figures[("G1-T1", "institution")], figures[("G1-H", "institution")], figures[("G1", "consortium")]
    assert (t1["up_referrals"], t1["referrals_completed"], t1["remote_diagnoses"], t1["repeats_avoided"]) == \
        (1, 1, 1, 1)
    assert (h1["down_referrals"], h1["down_referrals_from_county"], h1["up_referrals"]) == (1, 1, 0)
    assert g1["up_referrals"] == 1 and g1["down_referrals"] == 1 and g1["remote_diagnoses"] == 1

    folder = tmp_path / "county"
    shutil.copytree(example_input, folder)
    url = live.app.state.ctx.engine.url.render_as_string(hide_password=False)
    for cmd in ("referral", "centres"):
        res = CliRunner().invoke(cli, [cmd, "export", "--db", url, "--out", str(folder)])
        assert res.exit_code == 0, res.output
    data = read_folder(folder)
    result = appraise_data(data, 2025, Policy(), data["designations"], None, with_previous=False)
    batch = {(r["scope"], r["indicator"]): r["numerator"] for r in result.indicators.to_pylist()}
    for (scope, _kind), f in figures.items():
        for indicator, measure in PAIRS.items():
            assert batch.get((scope, indicator)) in (str(f[measure]), None if f[measure] == 0 else "-"), \
                (scope, indicator, f[measure], batch.get((scope, indicator)))
    assert batch[("G1-T1", "S3")] == "1" and batch[("G1-H", "S4")] == "1" and batch[("G1-T1", "2.2")] == "1"


def test_the_page_and_its_csv_and_who_may_see_them(live: Live) -> None:
    h = live.h
    assert live.client.get("/api/workflow-indicators", headers=h["resident"]).status_code == 403
    assert live.client.get("/api/workflow-indicators", params={"year": 1999}, headers=h["bureau"]).status_code \
        == 422
    other = live.client.get("/api/workflow-indicators", params={"year": 2025}, headers=h["g2-admin"]).json()
    assert all(f["scope"] not in ("G1", "G1-T1", "G1-H") for f in other)  # another consortium's scope
    page = page_client(live.app, "g1-admin")
    html = page.get("/workflow-indicators", params={"year": 2025}).text
    assert "上转人次" in html and "避免重复检查" in html and 'data-scope="G1"' in html
    csv = page.get("/workflow-indicators.csv", params={"year": 2025})
    assert csv.status_code == 200 and "上转人次" in csv.text
    assert page_client(live.app, "resident").get("/workflow-indicators").status_code == 403
