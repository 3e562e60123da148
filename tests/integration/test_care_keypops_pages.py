"""The key-population pages (重点人群服务清单、公共卫生责任清单) through the app: the family doctor's list and one tap
recording a service, the officials' duty lists drilled down with the CSV, who may open what, hostile parameters.

Worked example county, "today" 2025-11-15, with the demo care and key-population data (``care.sample``) and the
pregnancy of a woman of the doctor's panel registered on the doctor's page's API.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, PASSWORD, csrf_of, page_client
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from prepared_dirs import prepared_data_dir
from yigongti.app.factory import create_app
from yigongti.care.sample import link_doctor, seed_demo_care, seed_demo_keypops
from yigongti.care.store import ContractRow, KeyServiceRow, TeamRow
from yigongti.enrollment.store import DesignationRow, PersonRow
from yigongti.platform.accounts import create_user
from yigongti.platform.settings import Settings
from yigongti.registry.store import InstitutionRow


@dataclass
class World:
    app: FastAPI
    village: str
    consortium: str
    gp: int
    clients: dict[str, TestClient]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, example_input: Path) -> Iterator[World]:
    data_dir = prepared_data_dir(tmp_path_factory, tmp_path_factory.mktemp("keypops-pages"), example_input,
                                 INSIDE_WINDOW)
    app = create_app(Settings(data_dir=data_dir, data_folder=example_input,
                              today=INSIDE_WINDOW, demo_accounts=False, login_burst=50, login_refill_seconds=3600))
    ctx = app.state.ctx
    with ctx.sessions.begin() as s:
        assert seed_demo_care(s, today=ctx.clock.today(), policy=ctx.policy.care, seed=3) is not None
        made = seed_demo_keypops(s, today=ctx.clock.today(), policy=ctx.policy.care, seed=3)
        assert made is not None and made.services > 0
        assert seed_demo_keypops(s, today=ctx.clock.today(), policy=ctx.policy.care) is None  # once only
        elderly = date(INSIDE_WINDOW.year - 65, 1, 1)
        ranked = s.execute(select(TeamRow.inst_id, func.count())
                           .join(ContractRow, ContractRow.team_id == TeamRow.team_id)
                           .join(PersonRow, PersonRow.person_id == ContractRow.person_id)
                           .join(InstitutionRow, InstitutionRow.inst_id == TeamRow.inst_id)
                           .where(InstitutionRow.tier == "village", PersonRow.birth_date < elderly)
                           .group_by(TeamRow.inst_id).order_by(func.count().desc(), TeamRow.inst_id)).all()
        village = ranked[0][0]
        consortium = str(s.get(InstitutionRow, village).consortium_id)  # type: ignore[union-attr]
        users = {"gp": ("clinician", {"inst_id": village}), "v-admin": ("institution_admin", {"inst_id": village}),
                 "cons": ("consortium_admin", {"consortium_id": consortium}),
                 "other-cons": ("consortium_admin", {"consortium_id": "G3" if consortium != "G3" else "G2"}),
                 "bureau": ("insurance_bureau", {"county_code": "513433"}),
                 "resident": ("resident", {"person_id": "R0008"})}
        for name, (role, anchor) in users.items():
            create_user(s, username=name, password=PASSWORD, role=role, now=ctx.clock.now(), **anchor)
        gp = link_doctor(s, "gp", [village])
        assert gp is not None
        panel = select(ContractRow.person_id).where(ContractRow.gp_member_id == gp)
        s.execute(delete(KeyServiceRow).where(KeyServiceRow.population == "elderly",  # their checks of the year
                                              KeyServiceRow.person_id.in_(panel)))  # still to do
    with TestClient(app):
        clients = {name: page_client(app, name) for name in users}
        yield World(app, village, consortium, gp, clients)
        for c in clients.values():
            c.close()
    app.state.ctx.engine.dispose()


def _items(html: str) -> dict[str, set[tuple[str, str]]]:
    return {name: set(re.findall(r'data-person="([^"]+)" data-population="([^"]+)"', body))
            for name, body in re.findall(r'<section class="card worklist" id="(\w+)"(.*?)</section>', html, re.S)}


def _duty_csv(c: TestClient, query: str) -> list[dict[str, str]]:
    r = c.get(f"/care/duties.csv?{query}")
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    head = [h.split()[-1] for h in rows[0]]
    return [dict(zip(head, row, strict=True)) for row in rows[1:]]


def test_the_doctor_records_a_due_service_with_one_tap_and_the_duty_list_counts_it(world: World) -> None:
    gp, cons = world.clients["gp"], world.clients["cons"]
    page = gp.get("/care/key")
    assert page.status_code == 200 and "重点人群服务清单" in page.text
    items = _items(page.text)
    assert set(items) == {"overdue", "due"}
    with world.app.state.ctx.sessions() as s:  # the duty list of 2025 counts the persons designated for 2025
        designated = set(s.scalars(select(DesignationRow.person_id).where(
            DesignationRow.year == 2025, DesignationRow.consortium_id == world.consortium)))
    elderly_due = sorted(p for p, pop in items["due"] | items["overdue"] if pop == "elderly" and p in designated)
    assert elderly_due, "the demo leaves some elderly health checks of the year open"
    before = {r["key_population"]: r for r in _duty_csv(cons, f"year=2025&consortium={world.consortium}")
              if r["scope_kind"] == "合计"}
    who = elderly_due[0]
    r = gp.post(f"/care/persons/{who}/key-service", data={"csrf": csrf_of(page.text), "population": "elderly"},
                follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/care/key?done={who}")
    after_page = gp.get(r.headers["location"])
    assert "已记录服务" in after_page.text
    assert (who, "elderly") not in set().union(*_items(after_page.text).values())
    with world.app.state.ctx.sessions() as s:
        assert s.scalar(select(KeyServiceRow.inst_id).where(KeyServiceRow.person_id == who,
                                                            KeyServiceRow.date == INSIDE_WINDOW)) == world.village
    after = {r["key_population"]: r for r in _duty_csv(cons, f"year=2025&consortium={world.consortium}")
             if r["scope_kind"] == "合计"}
    label = next(k for k in after if k.startswith("65岁"))
    assert int(after[label]["services_done"]) == int(before[label]["services_done"]) + 1
    assert int(after[label]["services_open"]) == int(before[label]["services_open"]) - 1
    # a bad population, another's CSRF-less post, a person not in scope
    assert gp.post(f"/care/persons/{who}/key-service", data={"csrf": csrf_of(page.text),
                                                             "population": "pregnant"}).status_code == 422
    assert gp.post(f"/care/persons/{who}/key-service", data={"population": "elderly"}).status_code in (400, 403)
    assert world.clients["v-admin"].post(f"/care/persons/{who}/key-service", data={
        "csrf": csrf_of(page.text), "population": "elderly"}).status_code == 403


def test_the_duty_lists_drill_down_within_the_officials_scope(world: World) -> None:
    c = world.clients["cons"]
    top = c.get("/care/duties?year=2025")
    assert top.status_code == 200 and "公共卫生责任清单" in top.text
    assert f'data-inst="{world.consortium}"' in top.text
    assert len(re.findall(r'<tr data-inst="', top.text)) == 1  # their own consortium only
    cons = c.get(f"/care/duties?year=2025&consortium={world.consortium}")
    assert cons.status_code == 200 and f'data-inst="{world.village}"' in cons.text
    village = c.get(f"/care/duties?year=2025&consortium={world.consortium}&inst={world.village}")
    assert village.status_code == 200 and 'class="crumbs"' in village.text
    rows = _duty_csv(c, f"year=2025&consortium={world.consortium}")
    for r in rows:
        assert int(r["services_done"]) <= int(r["services_counted"])
        if r["services_counted"] != "0":
            assert r["completion_rate"] == f"{100 * int(r['services_done']) / int(r['services_counted']):.1f}"
    total = {r["key_population"]: int(r["services_done"]) for r in rows if r["scope_kind"] == "合计"}
    towns = [r for r in rows if r["scope_kind"] == "乡镇卫生院/社区卫生服务中心"]
    for pop, done in total.items():  # the townships (with their village clinics) add up to the consortium
        assert sum(int(r["services_done"]) for r in towns if r["key_population"] == pop) == done
    bureau = c.get("/care/duties?year=2025")
    assert bureau.status_code == 200
    assert world.clients["other-cons"].get(f"/care/duties?consortium={world.consortium}").status_code == 404
    assert c.get(f"/care/duties?consortium={world.consortium}&inst=NOWHERE").status_code == 404
    assert c.get("/care/duties?consortium=../../etc").status_code == 422
    assert c.get("/care/duties?year=abc").status_code == 422
    assert world.clients["resident"].get("/care/duties").status_code == 403
    assert "/care/duties" in c.get("/care/dashboard").text  # linked from the dashboard and the nav


def test_the_key_list_is_the_doctors_own(world: World) -> None:
    assert world.clients["resident"].get("/care/key").status_code == 403
    assert world.clients["cons"].get("/care/key").status_code == 403
    admin = world.clients["v-admin"].get(f"/care/key?gp={world.gp}")
    assert admin.status_code == 200 and "今日已服务" not in admin.text  # an admin reads, a doctor records
    assert world.clients["v-admin"].get("/care/key?gp=999999").status_code == 404
    assert "/care/key" in world.clients["gp"].get("/care").text


def test_the_duty_lists_are_kept_between_requests_and_never_stale(world: World) -> None:
    """The second request of the same list is not recomputed; a service written (on the page, or directly in the
    database by another process) and an episode closed in place show on the next request."""
    from yigongti.care.pages import duty_cache
    from yigongti.care.service import DUTY_STAMP, RegisterKey, register_key
    from yigongti.care.store import KeyRegisterRow
    from yigongti.care.uow import CareUnitOfWork
    from yigongti.core.stamps import read_stamp
    from yigongti.platform.accounts import Principal, Role

    ctx = world.app.state.ctx
    cache = duty_cache(ctx)
    c, query = world.clients["cons"], f"year=2025&consortium={world.consortium}"

    def done() -> dict[str, int]:
        return {r["key_population"]: int(r["services_done"]) for r in _duty_csv(c, query)
                if r["scope_kind"] == "合计"}

    first = done()
    computed = cache.computed
    assert done() == first and c.get(f"/care/duties?{query}").status_code == 200
    assert cache.computed == computed  # kept: the same lists, not recomputed
    with ctx.sessions.begin() as s:  # another process records a service: the stamp of the tables changes
        elderly = s.scalars(select(DesignationRow.person_id).join(PersonRow, PersonRow.person_id ==
                                                                   DesignationRow.person_id)
                            .where(DesignationRow.year == 2025, DesignationRow.consortium_id == world.consortium,
                                   PersonRow.birth_date < date(2025 - 65, 1, 1))
                            .where(DesignationRow.person_id.not_in(select(KeyServiceRow.person_id).where(
                                KeyServiceRow.population == "elderly", KeyServiceRow.date >= date(2025, 1, 1))))
                            .order_by(DesignationRow.person_id)).first()
        assert elderly is not None
        s.add(KeyServiceRow(person_id=elderly, population="elderly", inst_id=world.village, date=INSIDE_WINDOW,
                            recorded_at=ctx.clock.now(), recorded_by="another-process"))
    after = done()
    assert cache.computed == computed + 1
    label = next(k for k in after if k.startswith("65岁"))
    assert after[label] == first[label] + 1
    with ctx.sessions() as s:  # an episode closed in place changes no count: the cache is told
        episode = s.scalars(select(KeyRegisterRow).where(KeyRegisterRow.end_date.is_(None))
                            .order_by(KeyRegisterRow.register_id)).first()
        assert episode is not None
        clinician = Principal(user_id=0, username="gp", role=Role.CLINICIAN, inst_id=episode.inst_id)
        cmd = RegisterKey(episode.person_id, episode.population, episode.start_date, INSIDE_WINDOW)
    with ctx.sessions() as s:
        generation = read_stamp(s, DUTY_STAMP)
    with ctx.sessions() as s:
        register_key(CareUnitOfWork(s), clinician, cmd, now=ctx.clock.now())
    with ctx.sessions() as s:  # in the database: every worker process's cache sees it
        assert read_stamp(s, DUTY_STAMP) == generation + 1
    done()
    assert cache.computed == computed + 2
