"""Property: after any sequence of choices, each person's designation is their latest valid choice, and only then.

Random sequences of choices (valid and broken, inside and outside the window, by random household members, in either
household mode, arriving in any order) go through ``submit_choice``; afterwards, per person and year, the database holds
exactly one designation when the person has a valid choice row and none otherwise, and it is the valid choice with the
latest ``chosen_at`` (equal times: the later recorded). Each example uses its own year, so one loaded database serves
all examples.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from store_fixtures import PG_URL, pg_unreachable

from yigongti.core.audit import AuditRow, audit_detail
from yigongti.core.db import make_engine
from yigongti.core.policy import EnrollmentPolicy, HouseholdMode, Policy
from yigongti.datafolder.folder import read_folder
from yigongti.enrollment.choices import ChooserNotAllowed, SubmitChoice, submit_choice
from yigongti.enrollment.loading import LOADED_TABLES, load_data
from yigongti.enrollment.store import ChoiceRow, DesignationRow
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.platform.migrations import upgrade

HOUSEHOLDS = {"HH001": ("R0003", "R0004", "R0005", "R0006", "R0007"), "HH006": ("R0017", "R0018", "R0019", "R0020",
                                                                                   "R0021")}
TRIPLES = [("G1", "G1-T1", "G1-T1-V1"), ("G1", "G1-T2", "G1-T2-V3"), ("G2", "G2-T3", "G2-T3-V2"),
           ("G1", "G1-T1", "G1-T2-V1"),  # village under another township: refused
           ("G2", "G1-T1", "G1-T1-V1")]  # township of another consortium: refused
_years = itertools.count(2100)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           example_input: Path) -> Iterator[SqlAlchemyUnitOfWork]:
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('prop') / 'db.sqlite'}"
    else:
        reason = pg_unreachable()
        if reason:
            pytest.skip(reason)
        url, schema = PG_URL, f"p_{uuid.uuid4().hex[:12]}"
        with make_engine(PG_URL).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    upgrade(url, schema=schema)
    uow = SqlAlchemyUnitOfWork(url, schema=schema)
    load_data(read_folder(example_input, tables=LOADED_TABLES), uow, policy=Policy(), now=datetime(2026, 1, 1))
    yield uow
    uow.dispose()
    if schema:
        with make_engine(PG_URL).begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


choice_st = st.tuples(
    st.sampled_from(sorted(HOUSEHOLDS)), st.integers(0, 4),   # household, member
    st.integers(0, len(TRIPLES) - 1),                        # what is chosen
    st.integers(-3, 95),                                     # day from Oct 1 (the window is days 0..91)
    st.integers(0, 2),                                       # hour: equal times happen
    st.booleans(),                                           # for the household
    st.one_of(st.none(), st.integers(0, 4)),                 # chosen by another member of the household
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(choice_st, min_size=1, max_size=7), st.sampled_from(list(HouseholdMode)))
def test_designation_is_the_latest_valid_choice(loaded: SqlAlchemyUnitOfWork,
                                                 steps: list[tuple[str, int, int, int, int, bool, int | None]],
                                                 mode: HouseholdMode) -> None:
    year = next(_years)
    policy = Policy(enrollment=EnrollmentPolicy(household_mode=mode))
    opens = datetime(year - 1, 10, 1, 8, 0)
    accepted = 0
    rows_expected = 0
    for hh, member, what, day, hour, household, chooser in steps:
        cons, town, village = TRIPLES[what]
        cmd = SubmitChoice(HOUSEHOLDS[hh][member], year, cons, town, village,
                           opens + timedelta(days=day, hours=hour), for_household=household,
                           chooser_id=None if chooser is None else HOUSEHOLDS[hh][chooser])
        try:
            result = submit_choice(cmd, loaded, policy=policy, now=opens)
        except ChooserNotAllowed:
            continue  # nothing recorded
        accepted += result.accepted
        rows_expected += len(result.applied_to) if result.accepted else 1
        if result.accepted:
            assert cmd.person_id in result.applied_to
        else:
            assert result.refusal is not None and result.applied_to == ()

    with loaded:
        choices = [r for r in loaded.session.query(ChoiceRow).filter(ChoiceRow.year == year)]
        audited = {json.loads(a.detail)["choice_id"]: a for a in loaded.session.query(AuditRow)
                   .filter(AuditRow.action.in_(["choice.accepted", "choice.refused"]),
                           AuditRow.person_id.in_([p for hh in HOUSEHOLDS.values() for p in hh]))
                   if json.loads(a.detail)["year"] == year}
        designations = {d.person_id: d for d in loaded.session.query(DesignationRow)
                        .filter(DesignationRow.year == year)}
    latest: dict[str, ChoiceRow] = {}
    for c in choices:
        if c.status == "valid" and (c.person_id not in latest or
                                    (c.chosen_at, c.choice_id) > (latest[c.person_id].chosen_at,
                                                                  latest[c.person_id].choice_id)):
            latest[c.person_id] = c
    assert set(designations) == set(latest)
    for pid, c in latest.items():
        d = designations[pid]
        assert (d.consortium_id, d.township_id, d.village_id, d.source, d.choice_id) == (
            c.consortium_id, c.township_id, c.village_id, "choice", c.choice_id)
    assert len(choices) == rows_expected  # no choice lost, none added
    # one audit entry per choice row, its detail the JSON the use case wrote (on PostgreSQL the statement that
    # inserts the row fills in its choice_id)
    assert set(audited) == {c.choice_id for c in choices}
    for c in choices:
        a = audited[c.choice_id]
        assert a.person_id == c.person_id and a.action == ("choice.accepted" if c.status == "valid" else
                                                           "choice.refused")
        detail = {"choice_id": c.choice_id, "year": year, "chooser_id": c.chooser_id}
        if c.status == "valid":
            detail |= {"consortium_id": c.consortium_id, "township_id": c.township_id, "village_id": c.village_id}
        else:
            detail |= {"code": c.refusal_code}
        assert a.detail == audit_detail(detail)
    assert (accepted == 0) == (not latest)
