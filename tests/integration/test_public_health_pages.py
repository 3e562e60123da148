"""The infectious-disease report pages (传染病报告页面) through HTTP on the worked example county with the demo report
cards (``demo.workflows``): the alert list by role and scope (class labels in Chinese, overdue first, counting down),
a clinician records a diagnosis and the consortium's public-health staff submit the card (CSRF needed; the status
changes), the timeliness table and its CSV with labelled headers; reading cards is audited; other roles, other
consortia and hostile input get 4xx, never 500."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, PASSWORD, make_user, read_csv
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from prepared_dirs import prepared_data_dir
from yigongti.app.factory import create_app
from yigongti.core.audit import AuditRow
from yigongti.demo.workflows import seed_workflows
from yigongti.platform.settings import Settings
from yigongti.public_health.pages import countdown
from yigongti.public_health.store import CardRow

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
USERS = {"php-doc-t1": ("clinician", {"inst_id": "G1-T1"}), "php-g1": ("consortium_admin", {"consortium_id": "G1"}),
         "php-g2": ("consortium_admin", {"consortium_id": "G2"}),
         "php-hc": ("health_commission", {"county_code": "513433"}),
         "php-bureau": ("insurance_bureau", {"county_code": "513433"}),
         "php-admin-t1": ("institution_admin", {"inst_id": "G1-T1"}), "php-resident": ("resident", {})}


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
    data_dir = prepared_data_dir(tmp_path_factory, tmp_path_factory.mktemp("php"), example_input, INSIDE_WINDOW)
    a = create_app(Settings(data_dir=data_dir, data_folder=example_input, today=INSIDE_WINDOW,
                            demo_accounts=False, login_burst=50))
    ctx = a.state.ctx
    with ctx.sessions.begin() as s:
        seeded = seed_workflows(s, policy=ctx.policy, now=ctx.clock.now())
    assert seeded.cards >= 300
    persons = read_csv(example_input / "persons.csv")
    for name, (role, anchor) in USERS.items():
        make_user(a, name, role, **(anchor or {"person_id": persons[0]["person_id"]}))
    yield a
    ctx.engine.dispose()


@pytest.fixture(scope="module")
def users(app: FastAPI) -> dict[str, TestClient]:
    return {u: _signed_in(app, u) for u in USERS}


@pytest.fixture(scope="module")
def person(example_input: Path) -> str:
    rows = read_csv(example_input / "designations.csv")
    return sorted(d["person_id"] for d in rows if d["township_id"] == "G1-T1")[0]


def _csrf(c: TestClient, path: str = "/public-health") -> str:
    m = CSRF.search(c.get(path).text)
    assert m
    return m.group(1)


def test_the_demo_cards_are_hundreds_a_year_mostly_class_b_and_c_some_late(app: FastAPI) -> None:
    with app.state.ctx.sessions() as s:
        by_class = {c: int(n) for c, n in s.execute(select(CardRow.disease_class, func.count())
                                                      .group_by(CardRow.disease_class))}
        late = s.scalar(select(func.count()).select_from(CardRow).where(CardRow.submitted_at > CardRow.deadline))
        pending = s.scalar(select(func.count()).select_from(CardRow).where(CardRow.status == "pending"))
    assert sum(by_class.values()) >= 300 and by_class.get("A", 0) == 0
    assert by_class["B"] > 50 and by_class["C"] > 50
    assert late and late > 3 and pending and pending >= 8


def test_the_demo_seed_is_deterministic(tmp_path: Path, example_input: Path) -> None:
    def cards() -> list[tuple[object, ...]]:
        a = create_app(Settings(data_dir=tmp_path / str(len(list(tmp_path.iterdir()))), data_folder=example_input,
                                today=INSIDE_WINDOW, demo_accounts=False))
        ctx = a.state.ctx
        with ctx.sessions.begin() as s:
            seed_workflows(s, policy=ctx.policy, now=datetime(2025, 11, 15, 9, 30))
            again = seed_workflows(s, policy=ctx.policy, now=datetime(2025, 11, 15, 9, 30))
            assert again.cards == 0  # nothing twice
        with ctx.sessions() as s:
            out = [tuple(r) for r in s.execute(select(CardRow.person_id, CardRow.inst_id, CardRow.disease_code,
                                                      CardRow.diagnosed_at, CardRow.status, CardRow.submitted_at)
                                               .order_by(CardRow.card_id))]
        ctx.engine.dispose()
        return out

    assert cards() == cards()


def test_the_alert_list_by_role_and_scope(users: dict[str, TestClient]) -> None:
    g1 = users["php-g1"].get("/public-health")
    assert g1.status_code == 200
    assert "乙类" in g1.text and "丙类" in g1.text and ("超时未报" in g1.text or "即将到期" in g1.text)
    assert "剩余" in g1.text or "已超时" in g1.text  # counting down
    rows = re.findall(r'<tr id="c(\d+)" data-group="(\w+)" data-class="(\w)">', g1.text)
    assert rows and all(g in ("overdue", "due_soon", "pending") for _, g, _ in rows)
    groups = [g for _, g, _ in rows]
    assert groups == sorted(groups, key=lambda g: g != "overdue")  # overdue first
    only_b = users["php-g1"].get("/public-health?cls=B").text
    assert set(re.findall(r'data-group="\w+" data-class="(\w)"', only_b)) <= {"B"}
    assert "G2-" not in "".join(re.findall(r"<tr id=\"c\d+\".*?</tr>", g1.text, re.S))  # another consortium's
    hc = users["php-hc"].get("/public-health")
    assert hc.status_code == 200 and len(re.findall(r'<tr id="c', hc.text)) >= len(rows)
    assert users["php-bureau"].get("/public-health").status_code == 403
    assert users["php-resident"].get("/public-health").status_code in (403, 404)
    assert users["php-admin-t1"].get("/public-health").status_code == 200
    assert TestClient(users["php-g1"].app).get("/public-health", follow_redirects=False).status_code in (302, 303)


def test_a_card_from_diagnosis_to_submission(app: FastAPI, users: dict[str, TestClient], person: str) -> None:
    doc, g1 = users["php-doc-t1"], users["php-g1"]
    form = {"person_id": person, "icd10": "a00.9"}  # cholera: Class A, 2 hours
    assert doc.post("/public-health/diagnoses", data=form, follow_redirects=False).status_code == 403  # no CSRF
    r = doc.post("/public-health/diagnoses", data=form | {"csrf": _csrf(doc)}, follow_redirects=False)
    assert r.status_code == 303 and "done=new" in r.headers["location"]
    card_id = int(re.search(r"/cards/(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    page = g1.get(f"/public-health/cards/{card_id}")
    assert page.status_code == 200 and 'data-status="pending"' in page.text
    assert "霍乱" in page.text and "甲类" in page.text and "2 小时内报告" in page.text
    alerts = g1.get("/public-health?cls=A").text
    assert f'id="c{card_id}"' in alerts and "剩余 " in alerts
    assert users["php-g2"].get(f"/public-health/cards/{card_id}").status_code == 404  # another consortium
    assert users["php-g2"].post(f"/public-health/cards/{card_id}/submit", data={"csrf": _csrf(users["php-g2"])},
                                follow_redirects=False).status_code == 404
    assert g1.post(f"/public-health/cards/{card_id}/submit", follow_redirects=False).status_code == 403  # no CSRF
    r = g1.post(f"/public-health/cards/{card_id}/submit", data={"csrf": _csrf(g1)}, follow_redirects=False)
    assert r.status_code == 303
    page = g1.get(f"/public-health/cards/{card_id}")
    assert 'data-status="submitted"' in page.text and "按时报告" in page.text and "已报告" in page.text
    assert f'id="c{card_id}"' not in g1.get("/public-health?cls=A").text  # off the alert list
    again = g1.post(f"/public-health/cards/{card_id}/submit", data={"csrf": _csrf(g1)}, follow_redirects=False)
    assert again.status_code == 422  # no longer pending
    with app.state.ctx.sessions() as s:
        reads = s.scalar(select(func.count()).select_from(AuditRow).where(
            AuditRow.person_id == person, AuditRow.action.in_(["infectious card read", "infectious alerts read"])))
    assert reads and reads >= 2


def test_a_diagnosis_not_notifiable_and_a_voided_card(users: dict[str, TestClient], person: str) -> None:
    doc = users["php-doc-t1"]
    r = doc.post("/public-health/diagnoses", data={"person_id": person, "icd10": "I10", "csrf": _csrf(doc)},
                 follow_redirects=False)
    assert r.status_code == 303 and "note=I10" in r.headers["location"]
    assert "不属于法定传染病" in doc.get(r.headers["location"]).text
    r = doc.post("/public-health/diagnoses", data={"person_id": person, "icd10": "A15.0", "csrf": _csrf(doc)},
                 follow_redirects=False)
    card_id = int(re.search(r"/cards/(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    assert "乙类" in doc.get(f"/public-health/cards/{card_id}").text
    v = doc.post(f"/public-health/cards/{card_id}/void", data={"reason": "复核排除", "csrf": _csrf(doc)},
                 follow_redirects=False)
    assert v.status_code == 303
    assert 'data-status="voided"' in doc.get(f"/public-health/cards/{card_id}").text


def test_the_timeliness_table_and_csv(users: dict[str, TestClient]) -> None:
    g1 = users["php-g1"]
    page = g1.get("/public-health/timeliness?year=2025")
    assert page.status_code == 200 and "漏报" in page.text and "迟报" in page.text and "合计" in page.text
    insts = re.findall(r'data-inst="([^"]+)"', page.text)
    assert insts and all(i.startswith("G1-") for i in insts)
    r = g1.get("/public-health/timeliness.csv?year=2025")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["机构编码 inst_id", "名称 name", "报告卡数 cards", "按时报告 on_time", "迟报 late",
                           "漏报（超时未报） missed"]
    body = rows[1:]
    assert sum(int(x[2]) for x in body) == sum(int(x[3]) + int(x[4]) + int(x[5]) + int(x[6]) + int(x[7])
                                               for x in body)
    assert sum(int(x[4]) for x in body) > 0  # some late
    assert users["php-bureau"].get("/public-health/timeliness").status_code == 403
    assert users["php-doc-t1"].get("/public-health/timeliness.csv").status_code == 403


@pytest.mark.parametrize("path", ["/public-health?cls=D", "/public-health?cls=%00", "/public-health/cards/0",
                                  "/public-health/cards/99999999999", "/public-health/cards/x",
                                  "/public-health/timeliness?year=1800", "/public-health/timeliness.csv?year=abc",
                                  "/public-health/cards/999999", "/public-health?note=%3Cscript%3E"])
def test_hostile_reads_are_4xx(users: dict[str, TestClient], path: str) -> None:
    assert 400 <= users["php-g1"].get(path).status_code < 500


@pytest.mark.parametrize("form", [{"person_id": "R0008", "icd10": "A00;DROP"},
                                  {"person_id": "' OR 1=1 --", "icd10": "A00"},
                                  {"person_id": "R0008", "icd10": "A00", "diagnosed_at": "yesterday"},
                                  {"person_id": "R0008", "icd10": "A00", "diagnosed_at": "2999-01-01T00:00"},
                                  {"person_id": "x" * 100, "icd10": "A00"}, {"icd10": "A00"}])
def test_hostile_diagnoses_are_4xx(users: dict[str, TestClient], form: dict[str, str]) -> None:
    doc = users["php-doc-t1"]
    r = doc.post("/public-health/diagnoses", data=form | {"csrf": _csrf(doc)}, follow_redirects=False)
    assert 400 <= r.status_code < 500, r.text


def test_only_clinicians_record_and_voids_need_a_reason(users: dict[str, TestClient], person: str) -> None:
    g1 = users["php-g1"]
    r = g1.post("/public-health/diagnoses", data={"person_id": person, "icd10": "A00", "csrf": _csrf(g1)},
                follow_redirects=False)
    assert r.status_code == 403
    r = g1.post("/public-health/cards/1/void", data={"reason": "", "csrf": _csrf(g1)}, follow_redirects=False)
    assert r.status_code == 422


def test_countdown_words() -> None:
    now = datetime(2025, 11, 15, 10, 0)
    assert countdown(datetime(2025, 11, 15, 13, 20), now) == "剩余 3小时20分 / 3 h 20 min left"
    assert countdown(datetime(2025, 11, 14, 8, 0), now) == "已超时 1天2小时 / 1 d 2 h overdue"
    assert countdown(datetime(2025, 11, 15, 10, 0), now).startswith("剩余 0分")


def test_a_food_borne_case_from_diagnosis_to_report(app: FastAPI, users: dict[str, TestClient], person: str) -> None:
    doc, g1, g2 = users["php-doc-t1"], users["php-g1"], users["php-g2"]
    r = doc.post("/public-health/diagnoses", data={"person_id": person, "icd10": "T62.0", "csrf": _csrf(doc)},
                 follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/public-health/foodborne?done=")
    fid = int(re.search(r"done=(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    page = g1.get("/public-health/foodborne")
    assert page.status_code == 200
    row = re.search(rf'<tr id="f{fid}".*?</tr>', page.text, re.S)
    assert row and 'data-status="pending"' in row.group(0) and "毒蘑菇中毒" in row.group(0)
    assert "剩余" in row.group(0) and "/submit" in row.group(0)
    assert f'id="f{fid}"' not in g2.get("/public-health/foodborne").text  # another consortium's
    assert g2.post(f"/public-health/foodborne/{fid}/submit", data={"csrf": _csrf(g2)},
                   follow_redirects=False).status_code == 404
    assert g1.post(f"/public-health/foodborne/{fid}/submit", follow_redirects=False).status_code == 403  # no CSRF
    assert g1.post(f"/public-health/foodborne/{fid}/submit", data={"csrf": _csrf(g1)},
                   follow_redirects=False).status_code == 303
    row = re.search(rf'<tr id="f{fid}".*?</tr>', g1.get("/public-health/foodborne").text, re.S)
    assert row and 'data-status="submitted"' in row.group(0) and "按时报告" in row.group(0)
    assert g1.post(f"/public-health/foodborne/{fid}/submit", data={"csrf": _csrf(g1)},
                   follow_redirects=False).status_code == 422  # no longer pending
    assert users["php-bureau"].get("/public-health/foodborne").status_code == 403


def test_a_food_poisoning_that_is_also_notifiable_opens_both(users: dict[str, TestClient], person: str) -> None:
    doc = users["php-doc-t1"]
    r = doc.post("/public-health/diagnoses", data={"person_id": person, "icd10": "A05.9", "csrf": _csrf(doc)},
                 follow_redirects=False)
    assert r.status_code == 303 and "/public-health/cards/" in r.headers["location"] and "&fb=" in r.headers["location"]
    assert "同时生成食源性疾病病例报告" in doc.get(r.headers["location"]).text


def test_the_demo_has_food_borne_reports(app: FastAPI, users: dict[str, TestClient]) -> None:
    from yigongti.public_health.store import FoodborneCardRow

    with app.state.ctx.sessions() as s:
        n = s.scalar(select(func.count()).select_from(FoodborneCardRow).where(FoodborneCardRow.created_by
                                                                               == "system:demo"))
    assert n and n >= 30
    page = users["php-hc"].get("/public-health/foodborne").text
    assert "待报告" in page and ("细菌性" in page or "病毒性胃肠炎" in page)


@pytest.mark.parametrize("path", ["/public-health/foodborne?done=abc", "/public-health/foodborne?done=0"])
def test_hostile_food_borne_reads_are_4xx(users: dict[str, TestClient], path: str) -> None:
    assert 400 <= users["php-g1"].get(path).status_code < 500


def test_hostile_food_borne_posts_are_4xx(users: dict[str, TestClient]) -> None:
    g1 = users["php-g1"]
    for path in ("/public-health/foodborne/0/submit", "/public-health/foodborne/abc/submit",
                 "/public-health/foodborne/99999999/submit"):
        assert 400 <= g1.post(path, data={"csrf": _csrf(g1)}, follow_redirects=False).status_code < 500
