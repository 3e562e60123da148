"""Prescriptions written at one member and dispensed at another (处方流转) on SQLite and PostgreSQL: dispensed once
only when several pharmacies try at once; stock decremented where dispensed, never below zero, every line or none;
who may write, dispense and cancel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from store_fixtures import TestDb, at_once, db  # noqa: F401

from yigongti.core.policy import Policy
from yigongti.core.problems import Conflict
from yigongti.datafolder.folder import read_folder
from yigongti.enrollment.loading import load_data
from yigongti.enrollment.store import PersonRow
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.pharmacy.domain import Drug, InsufficientStock
from yigongti.pharmacy.service import (
    NotAllowed,
    NotFound,
    cancel_prescription,
    dispense_prescription,
    put_drug,
    receive,
    write_prescription,
)
from yigongti.pharmacy.store import PrescriptionRow, StockMoveRow, StockRow
from yigongti.pharmacy.uow import PharmacyUnitOfWork
from yigongti.platform.accounts import Principal, Role

NOW = datetime(2026, 3, 2, 9, 0)
THREADS = 8
CENTRE = Principal(user_id=1, username="g1-consortium", role=Role.CONSORTIUM_ADMIN, consortium_id="G1")
VILLAGE = Principal(user_id=3, username="g1-v1-doc", role=Role.CLINICIAN, inst_id="G1-T1-V1")
PHARMACIES = [Principal(user_id=10 + n, username=f"rx-{inst}-{n}", role=Role.CLINICIAN, inst_id=inst)
              for n, inst in enumerate(["G1-T1", "G1-H", "G1-T2", "G1-T1", "G1-H", "G1-T2", "G1-T1", "G1-H"])]
OTHER = Principal(user_id=4, username="g2-h-doc", role=Role.CLINICIAN, inst_id="G2-H")
A = Drug("XC08CAA0001", "苯磺酸氨氯地平片", "片剂", "5mg", essential=True)
B = Drug("XA10BAA0002", "盐酸二甲双胍片", "片剂", "0.5g", essential=True)


@pytest.fixture
def engine(db: TestDb, example_input: Path) -> Iterator[Engine]:  # noqa: F811
    eng = db.engine(pool_size=THREADS + 2)
    load_data(read_folder(example_input), SqlAlchemyUnitOfWork(eng), policy=Policy(), now=NOW)
    for d in (A, B):
        put_drug(PharmacyUnitOfWork(eng), CENTRE, d, now=NOW)
    yield eng
    eng.dispose()


def _person(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(select(PersonRow.person_id).order_by(PersonRow.person_id)))


def _on_hand(engine: Engine, inst_id: str, code: str = A.drug_code) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(StockRow.on_hand).where(StockRow.inst_id == inst_id,
                                                               StockRow.drug_code == code)) or 0)



def _dispense(engine: Engine, principal: Principal, rx: int) -> str:
    return dispense_prescription(PharmacyUnitOfWork(engine), principal, rx, now=NOW)


def _stock_everywhere(engine: Engine, quantity: int = 100) -> None:
    for p in {p.inst_id: p for p in PHARMACIES}.values():
        for d in (A, B):
            receive(PharmacyUnitOfWork(engine), p, inst_id=p.inst_id or "", drug_code=d.drug_code,
                    quantity=quantity, now=NOW)


def test_a_prescription_is_dispensed_once_when_pharmacies_tryat_once(engine: Engine) -> None:
    _stock_everywhere(engine)
    rx = write_prescription(PharmacyUnitOfWork(engine), VILLAGE, person_id=_person(engine),
                            lines=[(A.drug_code, 14), (B.drug_code, 30)], now=NOW)
    results = at_once([partial(_dispense, engine, p, rx) for p in PHARMACIES])
    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1, results
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, str)), results
    where = winners[0]
    for inst in ("G1-T1", "G1-H", "G1-T2"):
        assert _on_hand(engine, inst) == (86 if inst == where else 100)
        assert _on_hand(engine, inst, B.drug_code) == (70 if inst == where else 100)
    with engine.connect() as conn:
        issued = conn.execute(select(StockMoveRow.inst_id, func.sum(StockMoveRow.quantity))
                              .where(StockMoveRow.kind == "issue").group_by(StockMoveRow.inst_id)).all()
        row = conn.execute(select(PrescriptionRow.status, PrescriptionRow.dispensed_inst_id)).one()
    assert issued == [(where, 44)] and tuple(row) == ("dispensed", where)


def test_prescriptions_competing_for_the_last_units_never_take_the_stock_below_zero(engine: Engine) -> None:
    township = PHARMACIES[0]
    receive(PharmacyUnitOfWork(engine), township, inst_id="G1-T1", drug_code=A.drug_code, quantity=50, now=NOW)
    person = _person(engine)
    rxs = [write_prescription(PharmacyUnitOfWork(engine), VILLAGE, person_id=person, lines=[(A.drug_code, 14)],
                              now=NOW) for _ in range(THREADS)]
    results = at_once([partial(_dispense, engine, township, rx) for rx in rxs])
    assert sum(isinstance(r, str) for r in results) == 3, results  # 3 x 14 = 42 of 50
    assert all(isinstance(r, InsufficientStock) for r in results if not isinstance(r, str))
    assert _on_hand(engine, "G1-T1") == 8
    with engine.connect() as conn:
        states = sorted(conn.scalars(select(PrescriptionRow.status)))
    assert states == ["dispensed"] * 3 + ["written"] * 5  # a refused one stays to be dispensed elsewhere


def test_every_line_or_none(engine: Engine) -> None:
    township = PHARMACIES[0]
    receive(PharmacyUnitOfWork(engine), township, inst_id="G1-T1", drug_code=A.drug_code, quantity=50, now=NOW)
    receive(PharmacyUnitOfWork(engine), township, inst_id="G1-T1", drug_code=B.drug_code, quantity=5, now=NOW)
    rx = write_prescription(PharmacyUnitOfWork(engine), VILLAGE, person_id=_person(engine),
                            lines=[(A.drug_code, 14), (B.drug_code, 6)], now=NOW)
    with pytest.raises(InsufficientStock):
        dispense_prescription(PharmacyUnitOfWork(engine), township, rx, now=NOW)
    assert (_on_hand(engine, "G1-T1"), _on_hand(engine, "G1-T1", B.drug_code)) == (50, 5)
    receive(PharmacyUnitOfWork(engine), township, inst_id="G1-T1", drug_code=B.drug_code, quantity=1, now=NOW)
    assert dispense_prescription(PharmacyUnitOfWork(engine), township, rx, now=NOW) == "G1-T1"
    assert (_on_hand(engine, "G1-T1"), _on_hand(engine, "G1-T1", B.drug_code)) == (36, 0)


def test_who_writes_dispenses_and_cancels(engine: Engine) -> None:
    uow = lambda: PharmacyUnitOfWork(engine)  # noqa: E731
    person = _person(engine)
    with pytest.raises(NotAllowed):  # the consortium admin writes no prescription
        write_prescription(uow(), CENTRE, person_id=person, lines=[(A.drug_code, 1)], now=NOW)
    with pytest.raises(Exception, match="catalogue"):
        write_prescription(uow(), VILLAGE, person_id=person, lines=[("NOPE", 1)], now=NOW)
    with pytest.raises(Exception, match="twice"):
        write_prescription(uow(), VILLAGE, person_id=person, lines=[(A.drug_code, 1), (A.drug_code, 2)], now=NOW)
    rx = write_prescription(uow(), VILLAGE, person_id=person, lines=[(A.drug_code, 1)], now=NOW)
    with pytest.raises(NotFound):  # another consortium's hospital does not see it
        dispense_prescription(uow(), OTHER, rx, now=NOW)
    with pytest.raises(NotFound):  # only the writing institution cancels
        cancel_prescription(uow(), PHARMACIES[0], rx, now=NOW)
    cancel_prescription(uow(), VILLAGE, rx, now=NOW)
    with pytest.raises(Conflict):
        dispense_prescription(uow(), PHARMACIES[0], rx, now=NOW)
    with pytest.raises(Conflict):
        cancel_prescription(uow(), VILLAGE, rx, now=NOW)
