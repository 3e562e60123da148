"""The pharmacy pages (药品统一管理页面) through HTTP on the worked example county with the demo catalogue, stock and
shortages (``demo.workflows``): stock and stock-out alerts by role and scope, a village clinic registers a shortage,
the county central pharmacy (the lead hospital's admin) dispatches it, the clinic confirms the delivery and its stock
grows (each state in Chinese); CSV downloads with labelled headers; CSRF needed; other institutions, other consortia
and hostile input get 4xx, never 500."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, PASSWORD, make_user
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from prepared_dirs import prepared_data_dir
from yigongti.app.factory import create_app
from yigongti.demo.workflows import seed_workflows
from yigongti.pharmacy.store import DrugRow, ShortageRow, StockRow
from yigongti.platform.settings import Settings

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
VILLAGE = "G1-T2-V1"
USERS = {"rx-clinic": ("institution_admin", {"inst_id": VILLAGE}),
         "rx-vdoc": ("clinician", {"inst_id": VILLAGE}),
         "rx-central": ("institution_admin", {"inst_id": "G1-H"}),
         "rx-central-g2": ("institution_admin", {"inst_id": "G2-H"}),
         "rx-township": ("institution_admin", {"inst_id": "G1-T1"}),
         "rx-g1": ("consortium_admin", {"consortium_id": "G1"}),
         "rx-bureau": ("insurance_bureau", {"county_code": "513433"})}


def _signed_in(app: FastAPI, username: str) -> TestClient:
    c = TestClient(app)
    token = CSRF.search(c.get("/login").text)
    assert token
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf": token.group(1)},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, example_input: Path) -> Iterator[FastAPI]:
    data_dir = prepared_data_dir(tmp_path_factory, tmp_path_factory.mktemp("rx"), example_input, INSIDE_WINDOW)
    a = create_app(Settings(data_dir=data_dir, data_folder=example_input, today=INSIDE_WINDOW,
                            demo_accounts=False, login_burst=50))
    ctx = a.state.ctx
    with ctx.sessions.begin() as s:
        seeded = seed_workflows(s, policy=ctx.policy, now=ctx.clock.now(), clinics=["G1-T1-V1"])
    assert seeded.drugs >= 30 and seeded.shortages >= 4
    for name, (role, anchor) in USERS.items():
        make_user(a, name, role, **anchor)
    yield a
    ctx.engine.dispose()


@pytest.fixture(scope="module")
def users(app: FastAPI) -> dict[str, TestClient]:
    return {u: _signed_in(app, u) for u in USERS}


def _csrf(c: TestClient) -> str:
    m = CSRF.search(c.get("/pharmacy").text)
    assert m
    return m.group(1)


def _row(c: TestClient, sid: int) -> str:
    page = c.get("/pharmacy").text
    m = re.search(rf'<tr id="s{sid}".*?</tr>', page, re.S)
    assert m, page[:3000]
    return m.group(0)


def _on_hand(app: FastAPI, inst_id: str, drug_code: str) -> int:
    with app.state.ctx.sessions() as s:
        return int(s.scalar(select(StockRow.on_hand).where(StockRow.inst_id == inst_id,
                                                            StockRow.drug_code == drug_code)) or 0)


def test_the_demo_pharmacy_has_shortages_in_every_state_and_some_alerts(app: FastAPI,
                                                                      users: dict[str, TestClient]) -> None:
    with app.state.ctx.sessions() as s:
        states = set(s.scalars(select(ShortageRow.status)))
        essential = s.scalar(select(func.count()).select_from(DrugRow).where(DrugRow.essential.is_(True)))
    assert states == {"registered", "dispatched", "delivered", "cancelled"} and essential and essential > 20
    page = users["rx-g1"].get("/pharmacy")
    assert page.status_code == 200
    alerts = re.findall(r'<tr data-inst="([^"]+)" data-drug=', page.text)
    assert alerts and all(i.startswith("G1-") for i in alerts)
    assert "已登记" in page.text and "已发出" in page.text and "已送达" in page.text


def test_a_shortage_from_registration_to_delivery(app: FastAPI, users: dict[str, TestClient]) -> None:
    clinic, central = users["rx-clinic"], users["rx-central"]
    page = clinic.get("/pharmacy")
    assert page.status_code == 200 and 'id="new-shortage"' in page.text
    m = re.search(r'<select name="drug_code" required><option value="([^"]+)"', page.text)
    assert m
    code = m.group(1)
    form = {"drug_code": code, "quantity": "120", "note": "感冒高发，阿莫西林将尽"}
    assert clinic.post("/pharmacy/shortages", data=form, follow_redirects=False).status_code == 403  # no CSRF
    r = clinic.post("/pharmacy/shortages", data=form | {"csrf": _csrf(clinic)}, follow_redirects=False)
    assert r.status_code == 303
    sid = int(re.search(r"done=(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    assert 'data-status="registered"' in _row(clinic, sid) and "已登记" in _row(clinic, sid)
    assert 'class="inline dispatch"' not in _row(clinic, sid)  # the clinic does not dispatch
    row = _row(central, sid)
    assert 'class="inline dispatch"' in row
    assert users["rx-central-g2"].post(f"/pharmacy/shortages/{sid}/dispatch", data={"csrf": _csrf(clinic)},
                                       follow_redirects=False).status_code in (403, 404)
    before_central, before_clinic = _on_hand(app, "G1-H", code), _on_hand(app, VILLAGE, code)
    r = central.post(f"/pharmacy/shortages/{sid}/dispatch", data={"tracking": "PS-0001", "csrf": _csrf(central)},
                     follow_redirects=False)
    assert r.status_code == 303
    assert _on_hand(app, "G1-H", code) == before_central - 120
    row = _row(clinic, sid)
    assert 'data-status="dispatched"' in row and "已发出" in row and "PS-0001" in row
    assert central.post(f"/pharmacy/shortages/{sid}/dispatch", data={"csrf": _csrf(central)},
                        follow_redirects=False).status_code == 409  # already dispatched: the workflow has no such move
    assert central.post(f"/pharmacy/shortages/{sid}/deliver", data={"csrf": _csrf(central)},
                        follow_redirects=False).status_code == 404  # only the clinic confirms
    r = clinic.post(f"/pharmacy/shortages/{sid}/deliver", data={"csrf": _csrf(clinic)}, follow_redirects=False)
    assert r.status_code == 303
    assert 'data-status="delivered"' in _row(clinic, sid) and "已送达" in _row(clinic, sid)
    assert _on_hand(app, VILLAGE, code) == before_clinic + 120
    again = clinic.post(f"/pharmacy/shortages/{sid}/deliver", data={"csrf": _csrf(clinic)}, follow_redirects=False)
    assert again.status_code == 409


def test_a_clinic_cancels_a_registered_shortage(users: dict[str, TestClient]) -> None:
    doc = users["rx-vdoc"]
    code = re.search(r'<option value="(X[^"]+)"', doc.get("/pharmacy").text).group(1)  # type: ignore[union-attr]
    r = doc.post("/pharmacy/shortages", data={"drug_code": code, "quantity": "5", "csrf": _csrf(doc)},
                 follow_redirects=False)
    sid = int(re.search(r"done=(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    assert doc.post(f"/pharmacy/shortages/{sid}/cancel", data={"csrf": _csrf(doc)},
                    follow_redirects=False).status_code == 303
    assert 'data-status="cancelled"' in _row(doc, sid) and "已取消" in _row(doc, sid)


def test_stock_by_role_and_scope(users: dict[str, TestClient]) -> None:
    g1 = users["rx-g1"]
    assert g1.get(f"/pharmacy?inst_id={VILLAGE}").status_code == 200
    assert g1.get("/pharmacy?inst_id=G2-H").status_code == 404  # another consortium
    clinic = users["rx-clinic"]
    assert clinic.get("/pharmacy?inst_id=G1-H").status_code == 404  # another institution
    assert "G1-T1-V1" not in "".join(re.findall(r'<tr id="s\d+".*?</tr>', clinic.get("/pharmacy").text, re.S))
    assert users["rx-bureau"].get("/pharmacy").status_code == 403
    assert users["rx-township"].post("/pharmacy/shortages/1/dispatch", data={"csrf": _csrf(users["rx-township"])},
                                      follow_redirects=False).status_code == 403  # a township is no central pharmacy


def test_csv_downloads_have_labelled_headers(users: dict[str, TestClient]) -> None:
    g1 = users["rx-g1"]
    stock = g1.get(f"/pharmacy/stock.csv?inst_id={VILLAGE}")
    assert stock.status_code == 200 and stock.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(stock.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["医保药品编码 drug_code", "通用名 generic_name", "剂型 form"] and len(rows) > 10
    assert {r[5] for r in rows[1:]} <= {"是", "否"}
    alerts = list(csv.reader(io.StringIO(g1.get("/pharmacy/alerts.csv").content.decode("utf-8-sig"))))
    assert alerts[0][-1] == "预计可用天数 days_left" and all(int(r[-1]) < 14 for r in alerts[1:])
    shortages = list(csv.reader(io.StringIO(g1.get("/pharmacy/shortages.csv").content.decode("utf-8-sig"))))
    assert shortages[0][6] == "状态 status"
    assert {r[6] for r in shortages[1:]} <= {"已登记 registered", "已发出 dispatched", "已送达 delivered",
                                             "已取消 cancelled"}
    assert users["rx-bureau"].get("/pharmacy/shortages.csv").status_code == 403


@pytest.mark.parametrize("path", ["/pharmacy?inst_id=%27%20OR%201=1", "/pharmacy?inst_id=" + "x" * 100,
                                  "/pharmacy?done=0", "/pharmacy?done=abc", "/pharmacy/stock.csv?inst_id=NOPE"])
def test_hostile_reads_are_4xx(users: dict[str, TestClient], path: str) -> None:
    assert 400 <= users["rx-g1"].get(path).status_code < 500


@pytest.mark.parametrize(("path", "form"), [
    ("/pharmacy/shortages", {"drug_code": "NOPE", "quantity": "1"}),
    ("/pharmacy/shortages", {"drug_code": "X", "quantity": "-5"}),
    ("/pharmacy/shortages", {"drug_code": "X", "quantity": "1e9"}),
    ("/pharmacy/shortages", {"quantity": "1"}),
    ("/pharmacy/shortages/0/deliver", {}),
    ("/pharmacy/shortages/99999999/deliver", {}),
    ("/pharmacy/shortages/abc/cancel", {}),
    ("/pharmacy/shortages/1/dispatch", {"tracking": "x" * 300}),
])
def test_hostile_posts_are_4xx(users: dict[str, TestClient], path: str, form: dict[str, str]) -> None:
    clinic = users["rx-clinic"]
    r = clinic.post(path, data=form | {"csrf": _csrf(clinic)}, follow_redirects=False)
    assert 400 <= r.status_code < 500, r.text


def test_alerts_are_searched_sorted_and_paged_on_the_server(users: dict[str, TestClient]) -> None:
    """The alerts of a consortium are a long table: ``?q=`` finds a drug, ``?sort=days_left&dir=desc`` orders them,
    50 a page (issue 16)."""
    c = users["rx-g1"]
    every = re.findall(r'<tr data-inst="([^"]+)" data-drug="([^"]+)"', c.get("/pharmacy").text)
    assert every
    drug = every[0][1]
    found = re.findall(r'<tr data-inst="[^"]+" data-drug="([^"]+)"', c.get("/pharmacy", params={"q": drug}).text)
    assert found and set(found) == {drug}
    page = c.get("/pharmacy", params={"sort": "days_left", "dir": "desc"}).text
    days = [int(d) for d in re.findall(r'<td class="num"><strong>(\d+)</strong></td></tr>', page)]
    assert len(days) == min(50, len(days)) and days == sorted(days, reverse=True)
    assert 'aria-sort="descending"' in page
    assert "暂无断货预警" in c.get("/pharmacy", params={"q": "no-such-drug-at-all"}).text
