"""Surveillance counts, the emergency stockpile and emergency teams on SQLite and PostgreSQL: a week recorded by
several people at once is one row (the last write), never a duplicate-key error; all syndromes of a week or none;
a stockpile line set twice is one line; a person is on a team once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from store_fixtures import TestDb, at_once, db  # noqa: F401

from yigongti.core.policy import Policy, PublicHealthPolicy
from yigongti.core.problems import Conflict, InvalidRequest, NotAllowed, NotFound
from yigongti.datafolder.folder import read_folder
from yigongti.enrollment.loading import load_data
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.platform.accounts import Principal, Role
from yigongti.public_health.service import put_stockpile, record_surveillance, stockpile, surveillance
from yigongti.public_health.store import SurveillanceCountRow
from yigongti.public_health.uow import PublicHealthUnitOfWork
from yigongti.workforce.service import add_team_member, put_team, teams
from yigongti.workforce.uow import WorkforceUnitOfWork

NOW = datetime(2026, 3, 4, 9, 0)  # a Wednesday
MONDAY = date(2026, 3, 2)
THREADS = 6
POLICY = PublicHealthPolicy()
CENTRE = Principal(user_id=1, username="g1-consortium", role=Role.CONSORTIUM_ADMIN, consortium_id="G1")
DOCS = [Principal(user_id=10 + n, username=f"doc-{n}", role=Role.CLINICIAN, inst_id="G1-T1") for n in range(THREADS)]
OTHER = Principal(user_id=4, username="g2-h-admin", role=Role.INSTITUTION_ADMIN, inst_id="G2-H")


@pytest.fixture
def engine(db: TestDb, example_input: Path) -> Iterator[Engine]:  # noqa: F811
    eng = db.engine(pool_size=THREADS + 2)
    load_data(read_folder(example_input), SqlAlchemyUnitOfWork(eng), policy=Policy(), now=NOW)
    yield eng
    eng.dispose()



def _record(engine: Engine, principal: Principal, cases: int) -> int:
    return record_surveillance(PublicHealthUnitOfWork(engine), principal, inst_id="G1-T1", site_kind="sentinel",
                               week=NOW.date(), counts={"ili": cases, "fever": cases}, policy=POLICY, now=NOW)


def test_a_week_recorded_at_once_is_one_row_per_syndrome(engine: Engine) -> None:
    results = at_once([partial(_record, engine, p, 10 + n) for n, p in enumerate(DOCS)])
    assert results == [2] * THREADS, results
    with engine.connect() as conn:
        rows = conn.execute(select(SurveillanceCountRow.syndrome, SurveillanceCountRow.week,
                                   SurveillanceCountRow.cases)).all()
    assert len(rows) == 2 and {r.week for r in rows} == {MONDAY} and len({r.cases for r in rows}) == 1
    with pytest.raises(InvalidRequest):  # an unknown syndrome: nothing of the week recorded
        record_surveillance(PublicHealthUnitOfWork(engine), DOCS[0], inst_id="G1-T1", site_kind="sentinel",
                            week=date(2026, 2, 23), counts={"ili": 3, "plague": 1}, policy=POLICY, now=NOW)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(SurveillanceCountRow)) == 2
    with pytest.raises(NotFound):
        _record(engine, OTHER, 1)
    view = surveillance(PublicHealthUnitOfWork(engine), CENTRE, policy=POLICY, until=NOW.date(), weeks=1)
    assert {(v.syndrome, v.threshold.basis) for v in view} == {("ili", "fixed"), ("fever", "fixed")}


def test_stockpile_lines_and_team_rosters(engine: Engine) -> None:
    def line(quantity: int) -> int:
        return put_stockpile(PublicHealthUnitOfWork(engine), CENTRE, inst_id="G1-T1", item_code="PPE-N95",
                             item_name="医用防护口罩", category="防护用品", unit="只", batch="B1", quantity=quantity,
                             minimum=100, expires_on=date(2026, 4, 1), now=NOW)

    first = line(500)
    assert line(50) == first
    lines = stockpile(PublicHealthUnitOfWork(engine), DOCS[0], policy=POLICY, today=NOW.date())
    assert [(x.row.quantity, x.flags) for x in lines] == [(50, ("below_minimum", "expiring"))]
    assert stockpile(PublicHealthUnitOfWork(engine), OTHER, policy=POLICY, today=NOW.date()) == []
    uow = lambda: WorkforceUnitOfWork(engine)  # noqa: E731
    team = put_team(uow(), CENTRE, name="传染病防控队", kind="epidemic", base_inst_id="G1-H", now=NOW)
    assert put_team(uow(), CENTRE, name="传染病防控队", kind="epidemic", base_inst_id="G1-T1", now=NOW) == team
    with pytest.raises(NotAllowed):
        put_team(uow(), OTHER, name="x", kind="rescue", base_inst_id="G2-H", now=NOW)
    add_team_member(uow(), CENTRE, team_id=team, staff_id="S1", name="王伟", title="senior", inst_id="G1-H",
                    duty="member", now=NOW)
    add_team_member(uow(), CENTRE, team_id=team, staff_id="S2", name="李娜", title="intermediate", inst_id="G1-T1",
                    duty="leader", now=NOW)
    with pytest.raises(Conflict):
        add_team_member(uow(), CENTRE, team_id=team, staff_id="S1", name="王伟", title="senior", inst_id="G1-H",
                        duty="member", now=NOW)
    (view,) = teams(uow(), CENTRE)
    assert [m.staff_id for m in view.members] == ["S2", "S1"] and view.has_leader  # leader first
    assert view.team.base_inst_id == "G1-T1"
    assert teams(uow(), OTHER) == []
