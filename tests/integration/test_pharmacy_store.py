"""The pharmacy on SQLite and PostgreSQL: stock never negative under concurrent issues; a village clinic's shortage
dispatched by the county central pharmacy and delivered (stock moves on both sides); roles; stock-out alerts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from store_fixtures import TestDb, at_once, db  # noqa: F401

from yigongti.core.policy import PharmacyPolicy, Policy
from yigongti.datafolder.folder import read_folder
from yigongti.enrollment.loading import load_data
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.pharmacy.domain import Drug, InsufficientStock, TransitionNotAllowed
from yigongti.pharmacy.service import (
    NotAllowed,
    NotFound,
    cancel_shortage,
    deliver_shortage,
    dispatch_shortage,
    issue,
    put_drug,
    receive,
    register_shortage,
    stock_alerts,
)
from yigongti.pharmacy.store import StockMoveRow, StockRow
from yigongti.pharmacy.uow import PharmacyUnitOfWork
from yigongti.platform.accounts import Principal, Role

NOW = datetime(2026, 3, 2, 9, 0)
THREADS = 8
CENTRE = Principal(user_id=1, username="g1-consortium", role=Role.CONSORTIUM_ADMIN, consortium_id="G1")
PHARMACY = Principal(user_id=2, username="g1-h-admin", role=Role.INSTITUTION_ADMIN, inst_id="G1-H")
VILLAGE = Principal(user_id=3, username="g1-v1-doc", role=Role.CLINICIAN, inst_id="G1-T1-V1")
OTHER = Principal(user_id=4, username="g2-h-admin", role=Role.INSTITUTION_ADMIN, inst_id="G2-H")
TOWNSHIP = Principal(user_id=5, username="g1-t1-admin", role=Role.INSTITUTION_ADMIN, inst_id="G1-T1")
AMLODIPINE = Drug("XC08CAA0001", "苯磺酸氨氯地平片", "片剂", "5mg", essential=True)


@pytest.fixture
def engine(db: TestDb, example_input: Path) -> Iterator[Engine]:  # noqa: F811
    eng = db.engine(pool_size=THREADS + 2)
    load_data(read_folder(example_input), SqlAlchemyUnitOfWork(eng), policy=Policy(), now=NOW)
    put_drug(PharmacyUnitOfWork(eng), CENTRE, AMLODIPINE, now=NOW)
    yield eng
    eng.dispose()



def _on_hand(engine: Engine, inst_id: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(StockRow.on_hand).where(StockRow.inst_id == inst_id)) or 0)


def test_issues_at_once_never_take_the_stock_below_zero(engine: Engine) -> None:
    receive(PharmacyUnitOfWork(engine), VILLAGE, inst_id="G1-T1-V1", drug_code=AMLODIPINE.drug_code, quantity=50,
            now=NOW)
    results = at_once([lambda: issue(PharmacyUnitOfWork(engine), VILLAGE, inst_id="G1-T1-V1",
                                      drug_code=AMLODIPINE.drug_code, quantity=14, now=NOW)] * THREADS)
    done = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, InsufficientStock)]
    assert len(done) == 3 and len(refused) == THREADS - 3, results  # 3 x 14 = 42 of 50
    assert sorted(done) == [8, 22, 36] and _on_hand(engine, "G1-T1-V1") == 8
    with engine.connect() as conn:
        issued = conn.scalar(select(func.sum(StockMoveRow.quantity)).where(StockMoveRow.kind == "issue"))
    assert issued == 42  # every move recorded, no refused one


def test_shortage_dispatched_by_the_central_pharmacy_to_delivery(engine: Engine) -> None:
    uow = lambda: PharmacyUnitOfWork(engine)  # noqa: E731
    code = AMLODIPINE.drug_code
    receive(uow(), PHARMACY, inst_id="G1-H", drug_code=code, quantity=100, now=NOW)
    row = register_shortage(uow(), VILLAGE, inst_id="G1-T1-V1", drug_code=code, quantity=30, note="高血压随访用药",
                            now=NOW)
    with pytest.raises(NotAllowed):  # a township is not the central pharmacy; another consortium's hospital neither
        dispatch_shortage(uow(), TOWNSHIP, row.shortage_id, now=NOW)
    with pytest.raises(NotAllowed):
        dispatch_shortage(uow(), OTHER, row.shortage_id, now=NOW)
    with pytest.raises(NotFound):  # only the registering clinic confirms the delivery
        deliver_shortage(uow(), PHARMACY, row.shortage_id, now=NOW)
    with pytest.raises(TransitionNotAllowed):  # not dispatched yet
        deliver_shortage(uow(), VILLAGE, row.shortage_id, now=NOW)
    dispatch_shortage(uow(), PHARMACY, row.shortage_id, tracking="SF123", now=NOW + timedelta(hours=1))
    assert _on_hand(engine, "G1-H") == 70
    with pytest.raises(TransitionNotAllowed):
        cancel_shortage(uow(), VILLAGE, row.shortage_id, now=NOW)
    assert deliver_shortage(uow(), VILLAGE, row.shortage_id, now=NOW + timedelta(hours=5)) == 30
    big = register_shortage(uow(), VILLAGE, inst_id="G1-T1-V1", drug_code=code, quantity=500, now=NOW)
    with pytest.raises(InsufficientStock):  # the pharmacy has 70: nothing moves
        dispatch_shortage(uow(), PHARMACY, big.shortage_id, now=NOW)
    assert _on_hand(engine, "G1-H") == 70


def test_stock_out_alert_from_the_last_weeks_usage(engine: Engine) -> None:
    code = AMLODIPINE.drug_code
    receive(PharmacyUnitOfWork(engine), VILLAGE, inst_id="G1-T1-V1", drug_code=code, quantity=40, now=NOW)
    for day in range(0, 28, 7):  # 28 issued over the last 4 weeks: one a day
        issue(PharmacyUnitOfWork(engine), VILLAGE, inst_id="G1-T1-V1", drug_code=code, quantity=7,
              now=NOW - timedelta(days=day))
    policy = PharmacyPolicy(usage_weeks=4, alert_days=14)
    alerts = stock_alerts(PharmacyUnitOfWork(engine), CENTRE, policy=policy, now=NOW)
    assert [(a.inst_id, a.on_hand, a.issued, int(a.days_left)) for a in alerts] == [("G1-T1-V1", 12, 28, 12)]
    assert stock_alerts(PharmacyUnitOfWork(engine), OTHER, policy=policy, now=NOW) == []
    with pytest.raises(NotAllowed):
        stock_alerts(PharmacyUnitOfWork(engine), Principal(user_id=9, username="b", role=Role.INSURANCE_BUREAU),
                     policy=policy, now=NOW)
    with pytest.raises(NotAllowed):
        put_drug(PharmacyUnitOfWork(engine), VILLAGE, AMLODIPINE, now=NOW)
