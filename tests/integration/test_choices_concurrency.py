"""Concurrent choices: threads submit at the same moment; no second designation, no lost choice, latest wins."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from store_fixtures import TestDb, db  # noqa: F401

from yigongti.core.policy import Policy
from yigongti.datafolder.folder import DataFolder, read_folder
from yigongti.enrollment.choices import ChoiceResult, SubmitChoice, submit_choice
from yigongti.enrollment.loading import load_data
from yigongti.enrollment.store import ChoiceRow, DesignationRow
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork

THREADS = 8
YEAR = 2027
VILLAGES = ("G1-T1-V1", "G1-T1-V2", "G1-T1-V3", "G1-T2-V1", "G1-T2-V2", "G1-T2-V3", "G2-T3-V1", "G2-T3-V2")
BASE = datetime(2026, 11, 3, 9, 0)  # choices for 2027: no file choices for that year
HH001 = ("R0003", "R0004", "R0005", "R0006", "R0007")


@pytest.fixture(scope="module")
def example(example_input: Path) -> DataFolder:
    return read_folder(example_input)


@pytest.fixture
def engine(db: TestDb, example: DataFolder) -> Iterator[Engine]:  # noqa: F811
    eng = db.engine(pool_size=THREADS + 2)
    load_data(example, SqlAlchemyUnitOfWork(eng), policy=Policy(), now=BASE)
    yield eng
    eng.dispose()


def run_at_once(jobs: list[Callable[[], ChoiceResult]]) -> list[ChoiceResult]:
    barrier = threading.Barrier(len(jobs))
    results: list[ChoiceResult | BaseException | None] = [None] * len(jobs)

    def worker(n: int) -> None:
        barrier.wait()
        try:
            results[n] = jobs[n]()
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[n] = exc

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return [r for r in results if isinstance(r, ChoiceResult)]


def test_simultaneous_choices_for_one_person_leave_one_designation(engine: Engine) -> None:
    def job(n: int) -> Callable[[], ChoiceResult]:
        village = VILLAGES[n]
        cmd = SubmitChoice("R0013", YEAR, village.split("-")[0], village.rsplit("-", 1)[0], village,
                           BASE + timedelta(minutes=n), for_household=False)
        return lambda: submit_choice(cmd, SqlAlchemyUnitOfWork(engine), now=BASE)

    results = run_at_once([job(n) for n in range(THREADS)])
    assert all(r.accepted for r in results)
    with engine.connect() as conn:
        rows = conn.execute(select(DesignationRow.village_id, DesignationRow.chosen_at)
                            .where(DesignationRow.person_id == "R0013", DesignationRow.year == YEAR)).all()
        n_choices = conn.scalar(select(func.count()).select_from(ChoiceRow)
                                .where(ChoiceRow.person_id == "R0013", ChoiceRow.channel == "web"))
    assert n_choices == THREADS
    assert rows == [(VILLAGES[THREADS - 1], BASE + timedelta(minutes=THREADS - 1))]  # the latest choice wins


def test_simultaneous_household_choices_keep_one_designation_each(engine: Engine) -> None:
    def job(n: int) -> Callable[[], ChoiceResult]:
        person = HH001[n % len(HH001)]
        village = VILLAGES[n]
        cmd = SubmitChoice(person, YEAR, village.split("-")[0], village.rsplit("-", 1)[0], village,
                           BASE + timedelta(minutes=n))
        return lambda: submit_choice(cmd, SqlAlchemyUnitOfWork(engine), now=BASE)

    results = run_at_once([job(n) for n in range(THREADS)])
    with engine.connect() as conn:
        per_person = dict(conn.execute(
            select(DesignationRow.person_id, func.count()).where(DesignationRow.year == YEAR)
            .group_by(DesignationRow.person_id)).all())
        n_choices = conn.scalar(select(func.count()).select_from(ChoiceRow).where(ChoiceRow.channel == "web"))
        latest = dict(conn.execute(
            select(DesignationRow.person_id, DesignationRow.chosen_at).where(DesignationRow.year == YEAR)).all())
    assert n_choices == sum(len(r.applied_to) for r in results)
    assert set(per_person.values()) == {1}
    assert set(per_person) == {p for r in results for p in r.applied_to}
    for person in per_person:  # each designation comes from the latest choice that counted for the person
        times = [BASE + timedelta(minutes=n) for n, r in enumerate(results) if person in r.applied_to]
        assert latest[person] == max(times)
