"""Food-borne clusters (食源性聚集性病例) through the API and the pages on SQLite and PostgreSQL, on the worked example
county with the demo data: two cases of one place of eating at members of two consortia make a cluster, due two
hours after the second diagnosis; it is on the food-borne page (top), the public-health staff's alert list, the API
and the CSV; a village doctor and the health commission cannot report it, a consortium's public-health staff can
(once: late when after the deadline); the commission reads every cluster. "Now" is 2025-11-15 00:00 China time."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, csrf_of, login, make_user, page_client, read_csv
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from store_fixtures import scratch_url

from yigongti.app.factory import create_app
from yigongti.core.audit import AuditRow
from yigongti.demo.workflows import seed_workflows
from yigongti.platform.settings import Settings
from yigongti.public_health.store import CardRow, FoodborneCardRow

USERS = {"fc-doc-t1": ("clinician", {"inst_id": "G1-T1"}), "fc-doc-g2": ("clinician", {"inst_id": "G2-T1"}),
         "fc-village": ("clinician", {"inst_id": "G1-T1-V1"}),
         "fc-g1": ("consortium_admin", {"consortium_id": "G1"}), "fc-g2": ("consortium_admin", {"consortium_id": "G2"}),
         "fc-g3": ("consortium_admin", {"consortium_id": "G3"}),
         "fc-hc": ("health_commission", {"county_code": "513433"}),
         "fc-bureau": ("insurance_bureau", {"county_code": "513433"})}
API = "/api/public-health/foodborne-clusters"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fc(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
       example_input: Path) -> Iterator[tuple[FastAPI, TestClient, dict[str, dict[str, str]]]]:
    with scratch_url(request.param) as url:
        app = create_app(Settings(data_dir=tmp_path_factory.mktemp("fc"), db_url=url, data_folder=example_input,
                                  today=INSIDE_WINDOW, demo_accounts=False, login_burst=50))
        try:
            with TestClient(app) as client:
                ctx = app.state.ctx
                with ctx.sessions.begin() as s:
                    seeded = seed_workflows(s, policy=ctx.policy, now=ctx.clock.now())
                assert seeded.clusters == 2
                for name, (role, anchor) in USERS.items():
                    make_user(app, name, role, **anchor)
                yield app, client, {u: login(client, u) for u in USERS}
        finally:
            app.state.ctx.engine.dispose()


@pytest.fixture(scope="module")
def people(example_input: Path, example_expected: Path) -> dict[str, list[str]]:
    rows = read_csv(example_input / "designations.csv") + read_csv(example_expected / "designations.csv")
    return {t: sorted({d["person_id"] for d in rows if d["township_id"] == t}) for t in ("G1-T1", "G2-T1")}


def _csrf(c: TestClient, path: str = "/public-health/foodborne") -> str:
    return csrf_of(c.get(path).text)


def _dx(client: TestClient, headers: dict[str, str], person: str, inst: str, icd10: str, place: str,
        at: str | None = None, onset: str | None = None, food: str = "") -> dict:
    body = {"person_id": person, "inst_id": inst, "icd10": icd10, "exposure_place": place, "suspected_food": food}
    body |= ({"diagnosed_at": at} if at else {}) | ({"onset_at": onset} if onset else {})
    r = client.post("/api/public-health/diagnoses", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["foodborne_card_id"]
    return r.json()


def _of(client: TestClient, headers: dict[str, str], place: str) -> list[dict]:
    r = client.get(API, headers=headers)
    assert r.status_code == 200, r.text
    return [k for k in r.json() if k["exposure_place"] == place]


def test_the_demo_has_a_reported_and_a_due_cluster(fc: tuple[FastAPI, TestClient, dict]) -> None:
    _, client, h = fc
    listed = client.get(API, headers=h["fc-hc"]).json()
    by_place = {k["exposure_place"]: k for k in listed}
    assert by_place["和平村王家婚宴"]["state"] == "on_time" and by_place["和平村王家婚宴"]["cases"] == 6
    assert by_place["和平村王家婚宴"]["submitted_by"] == "system:demo"
    due = by_place["县第二中学学生食堂"]
    assert due["state"] == "pending" and due["cases"] == 3 and due["suspected_foods"] == ["午餐炒饭"]
    assert listed[0]["exposure_place"] == "县第二中学学生食堂"  # not reported first


def test_a_cluster_across_two_consortia_from_the_second_case_to_its_late_report(
        fc: tuple[FastAPI, TestClient, dict], people: dict[str, list[str]]) -> None:
    app, client, h = fc
    place = "测试村李家寿宴"
    first = _dx(client, h["fc-doc-t1"], people["G1-T1"][0], "G1-T1", "A05.9", place, "2025-11-14T10:00:00",
                "2025-11-14T06:00:00", "凉菜")
    assert _of(client, h["fc-hc"], place) == []  # one case: not a cluster
    second = _dx(client, h["fc-doc-g2"], people["G2-T1"][0], "G2-T1", "T62.9", " 测试村 李家寿宴",
                 "2025-11-14T12:00:00", "2025-11-14T07:30:00", "蘑菇汤")
    fid, sid = first["foodborne_card_id"], second["foodborne_card_id"]
    (k,) = _of(client, h["fc-hc"], place)
    assert k["cases"] == 2 and sorted(k["case_ids"]) == sorted([fid, sid]) and k["cluster_id"] == fid
    assert k["formed_at"] == "2025-11-14T12:00:00" and k["deadline"] == "2025-11-14T14:00:00"
    assert k["state"] == "overdue" and k["may_submit"] is False and k["inst_ids"] == ["G1-T1", "G2-T1"]
    (g1,) = _of(client, h["fc-g1"], place)
    assert g1["cases"] == 2 and g1["case_ids"] == [fid] and g1["may_submit"] is True  # only its own case listed
    assert _of(client, h["fc-g3"], place) == []  # no case of G3
    assert [x["case_ids"] for x in _of(client, h["fc-doc-t1"], place)] == [[fid]]
    assert _of(client, h["fc-village"], place) == []
    assert client.get(API, headers=h["fc-bureau"]).status_code == 403
    # who may report: not a village doctor, not the commission, not a consortium without a case
    assert client.post(f"{API}/{fid}/submit", headers=h["fc-village"]).status_code == 403
    assert client.post(f"{API}/{fid}/submit", headers=h["fc-doc-t1"]).status_code == 403
    assert client.post(f"{API}/{fid}/submit", headers=h["fc-hc"]).status_code == 403
    assert client.post(f"{API}/{fid}/submit", headers=h["fc-g3"]).status_code == 404
    r = client.post(f"{API}/{sid}/submit", headers=h["fc-g2"])  # any case's id reports its cluster
    assert r.status_code == 200 and r.json()["timeliness"] == "late"
    assert client.post(f"{API}/{fid}/submit", headers=h["fc-g1"]).status_code == 422  # already reported
    (k,) = _of(client, h["fc-hc"], place)
    assert k["state"] == "late" and k["submitted_by"] and k["submitted_at"]
    assert all(x["exposure_place"] != place for x in client.get(f"{API}?pending=true", headers=h["fc-hc"]).json())
    # a third case after the report: the same cluster, counted as new since the report
    _dx(client, h["fc-doc-t1"], people["G1-T1"][1], "G1-T1", "A05.9", place, "2025-11-14T20:00:00")
    (k,) = _of(client, h["fc-hc"], place)
    assert k["cases"] == 3 and k["cases_since_report"] == 1 and k["state"] == "late"
    with app.state.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditRow)
                        .where(AuditRow.action == "foodborne cluster submitted")) >= 1
        assert s.scalar(select(func.count()).select_from(AuditRow)
                        .where(AuditRow.action == "foodborne cluster read")) >= 3


def test_a_cluster_on_the_pages_reported_on_time(fc: tuple[FastAPI, TestClient, dict],
                                                 people: dict[str, list[str]]) -> None:
    app, client, h = fc
    doc, g1, hc, village = (page_client(app, u) for u in ("fc-doc-t1", "fc-g1", "fc-hc", "fc-village"))
    place = "镇中心小学食堂"
    for person in people["G1-T1"][2:4]:
        r = doc.post("/public-health/diagnoses", data={"person_id": person, "icd10": "T62.9", "csrf": _csrf(doc),
                                                       "exposure_place": place, "suspected_food": "午餐"},
                     follow_redirects=False)
        assert r.status_code == 303 and "/public-health/foodborne?done=" in r.headers["location"]
    assert place in doc.get("/public-health").text  # the form suggests the place just typed (datalist)
    page = g1.get("/public-health/foodborne")
    assert page.status_code == 200
    rows = [m for m in re.finditer(r'<tr id="k(\d+)" data-group="(\w+)" data-cases="(\d+)">(.*?)</tr>', page.text,
                                   re.S) if place in m.group(4)]
    assert len(rows) == 1
    m = rows[0]
    assert m.group(2) == "due_soon" and m.group(3) == "2" and "剩余" in m.group(4) and "报告聚集性病例" in m.group(4)
    kid = int(m.group(1))
    assert page.text.index('id="clusters"') < page.text.index('class="data foodborne"')  # at the top
    alerts = g1.get("/public-health").text
    assert f'id="k{kid}"' in alerts and "聚集性食源性疾病待报告" in alerts  # on the staff's alert list
    hc_page = hc.get("/public-health/foodborne").text
    assert f'id="k{kid}"' in hc_page and "报告聚集性病例" not in hc_page.split(f'id="k{kid}"')[1].split("</tr>")[0]
    assert village.post(f"/public-health/foodborne/clusters/{kid}/submit", data={"csrf": _csrf(village)},
                        follow_redirects=False).status_code == 403
    assert g1.post(f"/public-health/foodborne/clusters/{kid}/submit", follow_redirects=False).status_code == 403
    r = g1.post(f"/public-health/foodborne/clusters/{kid}/submit", data={"csrf": _csrf(g1)}, follow_redirects=False)
    assert r.status_code == 303
    row = re.search(rf'<tr id="k{kid}" data-group="(\w+)".*?</tr>', g1.get(r.headers["location"]).text, re.S)
    assert row and row.group(1) == "on_time" and "fc-g1" in row.group(0)
    assert f'id="k{kid}"' not in g1.get("/public-health").text  # reported: off the alert list
    csv_r = hc.get("/public-health/foodborne/clusters.csv")
    assert csv_r.status_code == 200 and "attachment" in csv_r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(csv_r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["聚集性病例编号 cluster_id", "就餐地点 exposure_place", "病例数 cases"]
    mine = [x for x in rows[1:] if x[1] == place]
    assert len(mine) == 1 and mine[0][2] == "2" and "on_time" in mine[0][10]
    assert all(p not in csv_r.text for p in people["G1-T1"][2:4])  # no personal data
    assert village.get("/public-health/foodborne/clusters.csv").status_code == 200
    assert users_en_header(hc) == "cluster id cluster_id"


def users_en_header(c: TestClient) -> str:
    c.cookies.set("ygt_lang", "en")
    try:
        r = c.get("/public-health/foodborne/clusters.csv")
        return next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))[0]
    finally:
        c.cookies.delete("ygt_lang")


@pytest.mark.parametrize(("field", "value"), [("exposure_place", "x" * 201), ("onset_at", "2025-11-15T09:00:00"),
                                              ("onset_at", "2025-09-01T09:00:00"), ("onset_at", "not a time")])
def test_hostile_exposure_is_4xx(fc: tuple[FastAPI, TestClient, dict], people: dict[str, list[str]], field: str,
                                 value: str) -> None:
    app, client, h = fc
    body = {"person_id": people["G1-T1"][0], "inst_id": "G1-T1", "icd10": "A05.9",
            "diagnosed_at": "2025-11-14T10:00:00", field: value}

    def cards() -> tuple[int, int]:
        with app.state.ctx.sessions() as s:
            return (s.scalar(select(func.count()).select_from(CardRow)),
                    s.scalar(select(func.count()).select_from(FoodborneCardRow)))

    before = cards()
    assert client.post("/api/public-health/diagnoses", json=body, headers=h["fc-doc-t1"]).status_code == 422
    assert cards() == before  # A05.9 is notifiable too: refused whole, no card of either kind


@pytest.mark.parametrize("path", [f"{API}/0/submit", f"{API}/99999999/submit", f"{API}/abc/submit",
                                  f"{API}/{2**40}/submit"])
def test_hostile_cluster_ids_are_4xx(fc: tuple[FastAPI, TestClient, dict], path: str) -> None:
    _, client, h = fc
    assert client.post(path, headers=h["fc-g1"]).status_code in (404, 422)


def test_food_borne_reports_late_and_missed_per_institution(fc: tuple[FastAPI, TestClient, dict]) -> None:
    app, client, h = fc
    rows = client.get("/api/public-health/timeliness?year=2025&kind=foodborne", headers=h["fc-hc"]).json()
    assert rows and all(r["cards"] == r["on_time"] + r["late"] + r["missed"] + r["pending"] + r["voided"]
                        for r in rows)
    assert sum(r["late"] for r in rows) > 0 and sum(r["cards"] for r in rows) >= 30
    infectious = client.get("/api/public-health/timeliness?year=2025", headers=h["fc-hc"]).json()
    assert sum(r["cards"] for r in infectious) != sum(r["cards"] for r in rows)
    g1 = client.get("/api/public-health/timeliness?year=2025&kind=foodborne", headers=h["fc-g1"]).json()
    assert g1 and all(r["inst_id"].startswith("G1-") for r in g1)
    assert client.get("/api/public-health/timeliness?year=2025&kind=x", headers=h["fc-hc"]).status_code == 422
    hc = page_client(app, "fc-hc")
    page = hc.get("/public-health/timeliness?year=2025&kind=foodborne")
    assert page.status_code == 200 and "食源性疾病病例报告及时性" in page.text and 'tabindex="0"' in page.text
    r = hc.get("/public-health/timeliness.csv?year=2025&kind=foodborne")
    assert r.status_code == 200 and "foodborne-timeliness-2025.csv" in r.headers["content-disposition"]
    body = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))[1:]
    assert sum(int(x[2]) for x in body) == sum(x["cards"] for x in rows)
    assert page_client(app, "fc-doc-t1").get("/public-health/timeliness?kind=foodborne").status_code == 403
