"""The simulator on the platform's pages (试点模拟页面), on SQLite and PostgreSQL: who may open it, hostile input
answered 4xx naming the field, a run's record from start to done in a background thread with the rows
``run_simulation`` gives for the same parameters, the page's figures those of the report, the downloads, one run per
worker process at a time (409), a stale heartbeat shown as failed, a failing run recorded with its error."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from api_fixtures import INSIDE_WINDOW, csrf_of, make_user, page_client
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from store_fixtures import scratch_url

from prepared_dirs import prepared_data_dir
from yigongti.app.factory import create_app
from yigongti.core.audit import AuditRow
from yigongti.core.engine import duckdb_threads
from yigongti.core.labels import label
from yigongti.platform.settings import Settings
from yigongti.simulator import runs
from yigongti.simulator.domain import SimulationResult
from yigongti.simulator.report import band_text, summary_rows
from yigongti.simulator.service import result_tables, run_simulation
from yigongti.simulator.store import SimulationRunRepository

PICKED = ("fee_for_service", "global_budget")
YEARS, REPLICATES, SEED = 1, 2, 7
_REFERENCE: list[SimulationResult] = []  # run_simulation's result for the parameters, once per test process


def _reference(folder: Path) -> SimulationResult:
    if not _REFERENCE:
        offered, _ = runs.offered_scenarios(folder)
        chosen = [o.scenario for o in offered if o.scenario.name in PICKED]
        _REFERENCE.append(run_simulation(folder, chosen, years=YEARS, replicates=REPLICATES, seed=SEED))
    return _REFERENCE[0]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sim_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            example_input: Path) -> Iterator[FastAPI]:
    data_dir = tmp_path_factory.mktemp("sim-serve")
    if request.param == "sqlite":
        prepared_data_dir(tmp_path_factory, data_dir, example_input, INSIDE_WINDOW)
    with scratch_url(request.param) as url:
        app = create_app(Settings(data_dir=data_dir, db_url=url, data_folder=example_input, today=INSIDE_WINDOW,
                                  demo_accounts=False, login_burst=50))
        for name, role, anchor in (("sim-commission", "health_commission", {"county_code": "513433"}),
                                   ("sim-bureau", "insurance_bureau", {"county_code": "513433"}),
                                   ("sim-admin", "system_admin", {}),
                                   ("sim-consortium", "consortium_admin", {"consortium_id": "G1"}),
                                   ("sim-clinician", "clinician", {"inst_id": "G1-T2"})):
            make_user(app, name, role, **anchor)
        try:
            yield app
        finally:
            app.state.ctx.engine.dispose()


def _start(c: TestClient, **form: object) -> Any:
    token = csrf_of(c.get("/simulator").text)
    return c.post("/simulator/runs", data={"csrf": token, **form}, follow_redirects=False)


def _wait(c: TestClient, path: str, seconds: float = 180) -> str:
    deadline = time.monotonic() + seconds
    while True:
        page = c.get(path)
        assert page.status_code == 200, page.text
        status = re.search(r'class="status" data-status="(\w+)"', page.text)
        assert status, page.text
        if status.group(1) in ("done", "failed"):
            return page.text
        assert 'http-equiv="refresh"' in page.text  # the page reloads itself while the run goes on
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.5)


def test_who_may_open_the_simulator(sim_app: FastAPI) -> None:
    anonymous = TestClient(sim_app)
    r = anonymous.get("/simulator", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert anonymous.get("/simulator/runs/1", follow_redirects=False).headers["location"] == "/login"
    for who in ("sim-commission", "sim-bureau", "sim-admin"):
        with page_client(sim_app, who) as c:
            page = c.get("/simulator")
            assert page.status_code == 200, who
            assert '<a href="/simulator" aria-current="page">试点模拟</a>' in page.text
            offered = re.findall(r'<tr data-scenario="(\w+)">', page.text)
            assert len(offered) == 9 and offered[:2] == ["fee_for_service", "global_budget"]
            assert "基层低自付" in page.text and "benefits.flat_copay = 5.00" in page.text  # what it changes
    for who in ("sim-consortium", "sim-clinician"):
        with page_client(sim_app, who) as c:
            assert c.get("/simulator").status_code == 403, who
            assert 'href="/simulator"' not in c.get("/dashboard").text  # no menu entry
            assert c.get("/simulator/runs/1").status_code == 403
            assert c.get("/simulator/runs/1/results.csv").status_code == 403
            token = csrf_of(c.get("/dashboard").text)
            r = c.post("/simulator/runs", data={"csrf": token, "scenario": list(PICKED), "years": "1",
                                                "replicates": "1", "seed": "1"})
            assert r.status_code == 403
    with page_client(sim_app, "sim-commission") as c:
        c.cookies.set("ygt_lang", "en")
        en = c.get("/simulator").text
        assert "Pilot simulator" in en and "Start the simulation" in en and "Tick two scenarios or more" in en
        # each scenario in the page's language: its English label and keys, no Chinese beside them
        row = re.search(r'<tr data-scenario="low_primary_copay">.*?</tr>', en, re.S)
        assert row is not None and "Lower copay at designated primary care" in row.group(0)
        assert "flat copay at the designated institutions benefits.flat_copay" in row.group(0)
        assert not re.search(r"[\u4e00-\u9fff]", row.group(0)), row.group(0)
        c.cookies.set("ygt_lang", "zh")
        zh = re.search(r'<tr data-scenario="low_primary_copay">.*?</tr>', c.get("/simulator").text, re.S)
        assert zh is not None and "基层低自付" in zh.group(0) and "Lower copay" not in zh.group(0)


@pytest.mark.parametrize(("form", "field"), [
    ({"years": "0"}, "years"), ({"years": "11"}, "years"), ({"years": "1.5"}, "years"),
    ({"replicates": "999"}, "replicates"), ({"replicates": "0"}, "replicates"),
    ({"seed": "abc"}, "seed"), ({"seed": "-1"}, "seed"), ({"seed": "１"}, "seed"),
    ({"scenario": ["fee_for_service", "no_such"]}, "scenario"), ({"scenario": []}, "scenario"),
    ({"scenario": ["fee_for_service"]}, "scenario"), ({"scenario": ["global_budget", "global_budget"]}, "scenario"),
    ({"scenario": ["fee_for_service", "global_budget", "p4p_10"], "years": "10", "replicates": "20"}, "replicates"),
])
def test_hostile_input_is_a_4xx_page_naming_the_field(sim_app: FastAPI, form: dict[str, object],
                                                      field: str) -> None:
    with page_client(sim_app, "sim-bureau") as c:
        before = len(re.findall(r"data-run=", c.get("/simulator").text))
        r = _start(c, **{"scenario": list(PICKED), "years": "1", "replicates": "1", "seed": "1", **form})
        assert r.status_code == 422, r.text
        assert f"{field}:" in r.text and "<html" in r.text
        assert len(re.findall(r"data-run=", c.get("/simulator").text)) == before  # nothing recorded


def test_hostile_addresses_and_forms(sim_app: FastAPI) -> None:
    with page_client(sim_app, "sim-bureau") as c:
        assert c.post("/simulator/runs", data={"scenario": list(PICKED)}).status_code == 403  # no CSRF token
        for path in ("/simulator/runs/999999", "/simulator/runs/999999/results.csv",
                     "/simulator/runs/999999/simulation.xlsx"):
            r = c.get(path)
            assert r.status_code == 404 and "没有这次模拟" in r.text, path
        for path in ("/simulator/runs/abc", "/simulator/runs/0", "/simulator/runs/99999999999999999999",
                     "/simulator/runs/-1"):
            assert c.get(path).status_code == 422, path
        r = _start(c, scenario=list(PICKED), years="x" * 50)
        assert r.status_code == 422


def test_a_run_from_start_to_done_gives_the_rows_of_run_simulation(sim_app: FastAPI, example_input: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    threads_seen: list[int | None] = []
    real = runs.run_simulation

    def counted(*args: Any, **kwargs: Any) -> SimulationResult:  # the real run, with the DuckDB threads it ran with
        threads_seen.append(duckdb_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(runs, "run_simulation", counted)
    with page_client(sim_app, "sim-commission") as c:
        with runs._BUSY:  # a run going on in this worker process: a second start is refused, not queued
            busy = _start(c, scenario=list(PICKED), years="1", replicates="1", seed="1")
            assert busy.status_code == 409 and "请等它结束后再试" in busy.text
            assert "data-busy" in c.get("/simulator").text
        r = _start(c, scenario=list(PICKED), years=str(YEARS), replicates=str(REPLICATES), seed=str(SEED))
        assert r.status_code == 303, r.text
        path = r.headers["location"]
        run_id = int(path.rsplit("/", 1)[1])
        page = _wait(c, path)
        assert 'data-status="done"' in page and 'http-equiv="refresh"' not in page
        # the run's DuckDB connections use one thread: the worker's other core stays with its requests
        assert threads_seen == [runs.RUN_THREADS] == [1] and duckdb_threads() != 1

        ctx = sim_app.state.ctx
        with ctx.sessions() as s:
            record = SimulationRunRepository(s).get(run_id)
            audit = s.scalars(select(AuditRow).where(AuditRow.action == "simulation run started")).all()
        assert record is not None and record.status == "done" and record.error == ""
        assert record.requested_by == "sim-commission (health_commission)" and record.finished_at is not None
        params = runs.RunParameters.from_json(record.parameters)
        assert ([s.name for s in params.scenarios], params.years, params.replicates, params.seed) == \
            (list(PICKED), YEARS, REPLICATES, SEED)
        detail = json.loads(audit[-1].detail or "{}")
        assert detail["run_id"] == run_id and detail["scenarios"] == list(PICKED) and detail["replicates"] == 2
        stored = runs.decode_result(record.results or "", params)
        expected = _reference(example_input)
        assert stored.rows == expected.rows and stored.consortia == expected.consortia
        assert stored.observed == expected.observed and stored.counties == expected.counties
        assert all(isinstance(r.fund_balance, int) for r in stored.rows)  # fen, integers

        # the page's figures are the report's bands (report.summary_rows), money in yuan to the fen
        for row in summary_rows(expected):
            if row.metric in ("fund_balance", "out_of_pocket_share", "in_county_admission_share",
                              "primary_visit_share"):
                assert f'data-scenario="{row.scenario}">{band_text(row)}</td>' in page, (row.metric, band_text(row))
        assert page.count("<svg") == 4 and "世卫组织建议 20%" in page and "目标 25%" in page
        assert re.search(r'<tr data-scenario="global_budget" data-consortium="G1" data-year="2027">', page)

        tables = result_tables(expected)
        for name in ("results", "consortia"):
            got = c.get(f"{path}/{name}.csv")
            assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
            rows = list(csv.reader(io.StringIO(got.text.lstrip("\ufeff"))))
            head, body = tables[f"{name}.csv"]
            assert [h.split()[-1] for h in rows[0]] == list(head) and rows[1:] == body
        book = c.get(f"{path}/simulation.xlsx")
        assert book.status_code == 200
        assert "results 结果" in load_workbook(io.BytesIO(book.content)).sheetnames

        listing = c.get("/simulator").text
        assert f'<tr data-run="{run_id}" data-status="done">' in listing
        assert f"sim-commission · {label('role', 'health_commission')}" in listing  # the role's label, not its code
        assert "(health_commission)" not in listing
        c.cookies.set("ygt_lang", "en")
        assert "Each consortium&#39;s surplus and heads" in c.get(path).text
    with page_client(sim_app, "sim-bureau") as other:  # any official of those roles reads any run
        assert other.get(path).status_code == 200


def test_a_stale_heartbeat_is_shown_as_failed(sim_app: FastAPI) -> None:
    ctx = sim_app.state.ctx
    params = runs.RunParameters(tuple(o.scenario for o in runs.offered_scenarios(None)[0][:2]), 1, 1, 1)
    now = ctx.clock.now()
    with ctx.sessions.begin() as s:
        repo = SimulationRunRepository(s)
        stale = repo.add(requested_by="x", at=now - timedelta(minutes=20), parameters=params.to_json())
        repo.set(stale, status="running", progress="1: input", heartbeat_at=now - runs.STALE_AFTER
                 - timedelta(seconds=5))
        fresh = repo.add(requested_by="x", at=now, parameters=params.to_json())
        repo.set(fresh, status="running", progress="1: input #1-1", heartbeat_at=now)
    with page_client(sim_app, "sim-admin") as c:
        page = c.get(f"/simulator/runs/{stale}").text
        assert 'class="status" data-status="failed"' in page and "工作进程已停止" in page
        assert 'http-equiv="refresh"' not in page
        assert f'<tr data-run="{stale}" data-status="failed">' in c.get("/simulator").text
        running = c.get(f"/simulator/runs/{fresh}").text
        assert 'data-status="running"' in running and "1: input #1-1" in running
        assert 'http-equiv="refresh" content="3"' in running
        assert c.get(f"/simulator/runs/{fresh}/results.csv").status_code == 404  # not done yet


def test_a_failing_run_is_recorded_with_its_error(sim_app: FastAPI, tmp_path: Path) -> None:
    figures = sim_app.state.ctx.figures
    kept = figures.folder
    figures.folder = tmp_path  # a folder without any data: the run fails in its thread
    try:
        with page_client(sim_app, "sim-commission") as c:
            r = _start(c, scenario=list(PICKED), years="1", replicates="1", seed="1")
            assert r.status_code == 303, r.text
            page = _wait(c, r.headers["location"], seconds=60)
    finally:
        figures.folder = kept
    assert 'class="status" data-status="failed"' in page and "未找到数据目录" in page
    assert not runs.is_busy()  # the process's run lock is released after a failure
