"""The yearly budget agreement (年度总额预算协议): the workflow with its roles on SQLite and PostgreSQL, the API's
answers by role and scope, and the settlement on the signed figure."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from api_fixtures import PASSWORD, api_app, client, login, make_user, read_csv  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from store_fixtures import TestDb, db  # noqa: F401

from yigongti.budget.agreement import Action, AgreementError, Status
from yigongti.budget.agreement_service import NotAllowed, NotVisible, act, agreement_history, signed_agreements
from yigongti.budget.service import settle_year, write_settlement
from yigongti.core.audit import AuditRow
from yigongti.core.policy import AgreementPolicy, Policy
from yigongti.platform.accounts import Principal, Role
from yigongti.registry.store import ConsortiumRow, InstitutionRow

AT = datetime(2025, 12, 1, 9, 30)
BUREAU = Principal(1, "bureau-li", Role.INSURANCE_BUREAU, county_code="513433")
G1_ADMIN = Principal(2, "g1-wang", Role.CONSORTIUM_ADMIN, consortium_id="G1")
G2_ADMIN = Principal(3, "g2-zhao", Role.CONSORTIUM_ADMIN, consortium_id="G2")
OTHER_BUREAU = Principal(4, "bureau-far", Role.INSURANCE_BUREAU, county_code="110101")
CLINICIAN = Principal(5, "doctor", Role.CLINICIAN, inst_id="G1-H")


@pytest.fixture
def session(db: TestDb) -> Iterator[Session]:  # noqa: F811
    engine = db.engine()
    with Session(engine) as s:
        for cid, lead, kind in (("G1", "G1-H", "general"), ("G2", "G2-H", "tcm")):
            s.add(ConsortiumRow(consortium_id=cid, name=cid, county_code="513433", lead_inst_id=lead))
            s.flush()
            s.add(InstitutionRow(inst_id=lead, name=lead, tier="county", level=2, kind=kind, consortium_id=cid,
                                 parent_id=None, county_code="513433", lon=102.0, lat=27.0))
        s.commit()
        yield s
    engine.dispose()


def test_the_bureau_proposes_the_consortium_accepts_the_bureau_signs(session: Session) -> None:
    policy = AgreementPolicy()
    v1 = act(session, BUREAU, "G1", 2026, Action.PROPOSE, at=AT, policy=policy, formula=5_715_000,
             capacity=Decimal("1.02"), volume=Decimal("0.98"))
    assert (v1.version, v1.status, v1.amount) == (1, Status.PROPOSED, 5_712_714)  # 5715000 x 0.9996 half-up
    act(session, G1_ADMIN, "G1", 2026, Action.COMMENT, at=AT, policy=policy, note="业务量增长，请上调 / volume up")
    v3 = act(session, BUREAU, "G1", 2026, Action.ADJUST, at=AT, policy=policy, amount=5_800_000)
    assert (v3.status, v3.amount, v3.formula_amount) == (Status.ADJUSTED, 5_800_000, 5_715_000)
    with pytest.raises(AgreementError, match="not accepted"):
        act(session, BUREAU, "G1", 2026, Action.SIGN, at=AT, policy=policy)
    act(session, G1_ADMIN, "G1", 2026, Action.ACCEPT, at=AT, policy=policy)
    v5 = act(session, BUREAU, "G1", 2026, Action.SIGN, at=AT, policy=policy)
    session.commit()
    assert (v5.version, v5.status, v5.amount, v5.actor) == (5, Status.SIGNED, 5_800_000, "bureau-li")
    with pytest.raises(AgreementError, match="final"):
        act(session, BUREAU, "G1", 2026, Action.ADJUST, at=AT, policy=policy, amount=1)
    history = agreement_history(session, G1_ADMIN, "G1", 2026)
    assert [(v.version, v.action, v.role) for v in history] == [
        (1, Action.PROPOSE, "insurance_bureau"), (2, Action.COMMENT, "consortium_admin"),
        (3, Action.ADJUST, "insurance_bureau"), (4, Action.ACCEPT, "consortium_admin"),
        (5, Action.SIGN, "insurance_bureau")]
    signed = signed_agreements(session, 2026)
    assert list(signed) == ["G1"] and signed["G1"].amount == 5_800_000
    assert "signed agreement v5 by bureau-li at 2025-12-01 09:30" in signed["G1"].source
    actions = [r.action for r in session.query(AuditRow).order_by(AuditRow.audit_id)]
    assert actions == ["budget agreement propose", "budget agreement comment", "budget agreement adjust",
                       "budget agreement accept", "budget agreement sign"]


def test_a_tcm_led_consortium_gets_the_policy_uplift(session: Session) -> None:
    policy = AgreementPolicy(tcm_uplift=Decimal("1.05"))
    v = act(session, BUREAU, "G2", 2026, Action.PROPOSE, at=AT, policy=policy, formula=1_000_001)
    assert (v.tcm_uplift, v.amount) == (Decimal("1.05"), 1_050_001)  # 1050001.05 half-up
    assert act(session, BUREAU, "G1", 2026, Action.PROPOSE, at=AT, policy=policy,
               formula=1_000_001).amount == 1_000_001


def test_each_role_does_only_its_part_and_sees_only_its_scope(session: Session) -> None:
    policy = AgreementPolicy()
    with pytest.raises(NotAllowed, match="may not"):
        act(session, G1_ADMIN, "G1", 2026, Action.PROPOSE, at=AT, policy=policy, formula=100)
    act(session, BUREAU, "G1", 2026, Action.PROPOSE, at=AT, policy=policy, formula=100)
    act(session, G1_ADMIN, "G1", 2026, Action.ACCEPT, at=AT, policy=policy)
    with pytest.raises(NotAllowed, match="may not"):
        act(session, G1_ADMIN, "G1", 2026, Action.SIGN, at=AT, policy=policy)
    with pytest.raises(NotAllowed, match="may not"):
        act(session, BUREAU, "G1", 2026, Action.ACCEPT, at=AT, policy=policy)
    with pytest.raises(NotVisible):
        agreement_history(session, G2_ADMIN, "G1", 2026)
    with pytest.raises(NotVisible):
        act(session, G2_ADMIN, "G1", 2026, Action.COMMENT, at=AT, policy=policy)
    with pytest.raises(NotVisible):
        act(session, OTHER_BUREAU, "G1", 2026, Action.SIGN, at=AT, policy=policy)
    with pytest.raises(NotAllowed):
        agreement_history(session, CLINICIAN, "G1", 2026)
    assert len(agreement_history(session, G1_ADMIN, "G1", 2026)) == 2


def test_the_history_is_append_only_in_the_database(session: Session, db: TestDb) -> None:  # noqa: F811
    act(session, BUREAU, "G1", 2026, Action.PROPOSE, at=AT, policy=AgreementPolicy(), formula=100)
    session.commit()
    engine = db.engine()
    try:
        for statement in ("UPDATE budget_agreements SET amount = 1", "DELETE FROM budget_agreements"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------- the API

def test_the_api_workflow_by_role(api_app: FastAPI, client: TestClient) -> None:  # noqa: F811
    bureau = login(client, make_user(api_app, "api-bureau", "insurance_bureau", county_code="513433"))
    g1 = login(client, make_user(api_app, "api-g1", "consortium_admin", consortium_id="G1"))
    g2 = login(client, make_user(api_app, "api-g2", "consortium_admin", consortium_id="G2"))
    base = "/api/budget-agreements/G1/2026"
    r = client.post(f"{base}/propose", headers=bureau, json={"capacity": "1.01"})
    assert r.status_code == 201, r.text
    proposal = r.json()
    assert proposal["formula_amount"] == "57150.00" and proposal["amount"] == "57721.50"  # the example's G1 budget
    assert client.post(f"{base}/propose", headers=bureau).status_code == 409  # proposed already
    assert client.post(f"{base}/sign", headers=g1).status_code == 403  # a consortium does not sign
    assert client.post(f"{base}/sign", headers=bureau).status_code == 409  # not accepted yet
    assert client.get(base, headers=g2).status_code == 404  # another consortium's
    assert client.post(f"{base}/comment", headers=g2, json={"note": "x"}).status_code == 404
    note = {"note": "请考虑业务量 / mind the volume"}
    assert client.post(f"{base}/comment", headers=g1, json=note).status_code == 201
    assert client.post(f"{base}/adjust", headers=bureau, json={"amount": "58000.00"}).json()["status"] == "adjusted"
    assert client.post(f"{base}/accept", headers=g1).status_code == 201
    signed = client.post(f"{base}/sign", headers=bureau)
    assert signed.status_code == 201 and signed.json()["version"] == 5 and signed.json()["amount"] == "58000.00"
    assert client.post(f"{base}/adjust", headers=bureau, json={"amount": "1.00"}).status_code == 409
    mine = client.get("/api/budget-agreements?year=2026", headers=g1).json()
    assert list(mine) == ["G1"] and [v["status"] for v in mine["G1"]][-1] == "signed"
    assert set(client.get("/api/budget-agreements?year=2026", headers=bureau).json()) == {"G1", "G2", "G3"}


@pytest.mark.parametrize(("path", "body"), [
    ("/api/budget-agreements/G2/2026/propose", {"capacity": "-1"}),
    ("/api/budget-agreements/G2/2026/propose", {"capacity": "NaN"}),
    ("/api/budget-agreements/G2/2026/propose", {"amount": "12.345"}),
    ("/api/budget-agreements/G2/2026/propose", {"amount": "1e9"}),
    ("/api/budget-agreements/G2/2026/propose", {"volume": "9" * 21}),
    ("/api/budget-agreements/G2/2026/propose", {"nonsense": 1}),
    ("/api/budget-agreements/G2/2026/propose", {"note": "x" * 2001}),
    ("/api/budget-agreements/G2/2026/explode", {}),
    ("/api/budget-agreements/G2/99999/propose", {}),
])
def test_hostile_input_is_a_4xx(api_app: FastAPI, client: TestClient, path: str,  # noqa: F811
                                body: dict[str, object]) -> None:
    bureau = login(client, make_user(api_app, f"hostile-{abs(hash((path, str(body)))) % 10**8}", "insurance_bureau",
                                     county_code="513433"))
    r = client.post(path, headers=bureau, json=body)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)


def test_roles_without_a_part_are_refused(api_app: FastAPI, client: TestClient) -> None:  # noqa: F811
    doctor = login(client, make_user(api_app, "agr-doctor", "clinician", inst_id="G1-H"))
    assert client.get("/api/budget-agreements/G1/2026", headers=doctor).status_code == 403
    assert client.post("/api/budget-agreements/G1/2026/propose", headers=doctor).status_code == 403
    assert client.get("/api/budget-agreements/G1/2026").status_code == 401


# --------------------------------------------------------------------------------------------- the settlement

def test_settlement_uses_the_signed_figure_and_says_so(tmp_path: Path, example_input: Path) -> None:
    folder = tmp_path / "in"
    shutil.copytree(example_input, folder)
    (folder / "budget_agreements.csv").write_text(
        "consortium_id,year,amount,signed_by,signed_at,version\n"
        "G1,2026,60000.00,bureau-li,2025-12-20 10:00:00,3\n"
        "G1,2025,1.00,bureau-li,2024-12-20 10:00:00,1\n", encoding="utf-8")
    formula = settle_year(example_input, 2026, Policy())
    result = settle_year(folder, 2026, Policy())
    g1 = next(s for s in result.consortia if s.consortium_id == "G1")
    g1_formula = next(s for s in formula.consortia if s.consortium_id == "G1")
    assert (g1.budget.gross, g1.budget.reserve, g1.budget.prospective) == (6_000_000, 300_000, 5_700_000)
    assert sum(g1.budget.prepayments) == 5_700_000
    assert g1.balance == g1_formula.balance + 5_700_000 - g1_formula.budget.prospective
    assert result.formula_budgets["G1"].gross == g1_formula.budget.gross == 5_715_000
    assert result.inputs_hash != formula.inputs_hash
    write_settlement(result, tmp_path / "out", reports=False)
    rows = {r["consortium_id"]: r for r in read_csv(tmp_path / "out" / "settlement.csv")}
    assert rows["G1"]["budget_source"].startswith("signed agreement v3 by bureau-li at 2025-12-20 10:00")
    assert rows["G1"]["gross_budget"] == "60000.00"
    assert rows["G2"]["budget_source"] == "formula / 测算公式"


def test_an_agreement_of_an_unknown_consortium_is_named(tmp_path: Path, example_input: Path) -> None:
    folder = tmp_path / "in"
    shutil.copytree(example_input, folder)
    (folder / "budget_agreements.csv").write_text(
        "consortium_id,year,amount,signed_by,signed_at,version\nG9,2026,1.00,x,2025-12-20 10:00:00,1\n",
        encoding="utf-8")
    from yigongti.core.problems import InvalidInput

    with pytest.raises(InvalidInput, match=r"budget_agreements.csv.*2.*consortium_id.*G9"):
        settle_year(folder, 2026, Policy())


# --------------------------------------------------------------------------------------------- the surplus

def test_the_surplus_of_the_example_year_closes_and_funds_the_reserve(example_input: Path) -> None:
    from yigongti.budget.reserve_service import reserve_balances, surplus_of, surplus_table

    result = settle_year(example_input, 2026, Policy())
    policy = Policy().surplus.model_copy(update={"reserve_share": 1000, "carry_forward": 5000})
    outcomes = surplus_of(result, policy)
    table = surplus_table(outcomes).to_pylist()
    for s in result.consortia:
        mine = [r for r in table if r["consortium_id"] == s.consortium_id]
        assert sum(r["amount"] for r in mine if r["account"] == "surplus") == 0
        funded = sum(r["amount"] for r in mine if r["account"] == "reserve")
        assert reserve_balances(outcomes)[s.consortium_id] == funded
        if s.retained_surplus:
            assert funded == (s.retained_surplus * 1000 * 2 + 10_000) // 20_000  # 10% half-up
    assert [r["entry_id"] for r in table] == list(range(1, len(table) + 1))


def test_the_finance_page_shows_the_budget_source_and_the_reserve(api_app: FastAPI) -> None:  # noqa: F811
    make_user(api_app, "money-g1", "consortium_admin", consortium_id="G1")
    with TestClient(api_app) as c:
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
        assert token
        r = c.post("/login", data={"username": "money-g1", "password": PASSWORD, "csrf": token.group(1)},
                   follow_redirects=False)
        assert r.status_code == 303, r.text
        page = c.get("/finance")
    assert page.status_code == 200
    assert "风险基金余额" in page.text and "测算公式" in page.text


def test_the_platforms_figures_follow_the_agreements_signed_in_the_database(db: TestDb,  # noqa: F811
                                                                             example_input: Path) -> None:
    """The dashboards' figures settle a consortium on its agreement as soon as it is signed in the database (SQLite
    and PostgreSQL), and on the formula before; an agreement not yet signed changes nothing."""
    from sqlalchemy.orm import sessionmaker

    from yigongti.budget.analytics import FiguresCache
    from yigongti.enrollment.loading import load_folder
    from yigongti.enrollment.uow import SqlAlchemyUnitOfWork

    engine = db.engine()
    try:
        load_folder(example_input, SqlAlchemyUnitOfWork(engine), now=AT)
        sessions = sessionmaker(bind=engine, expire_on_commit=False)
        cache = FiguresCache(example_input, 2026, Policy(), sessions)
        before = cache.get()
        assert before is not None and before.agreements == {}
        g1 = next(s for s in before.settlement.consortia if s.consortium_id == "G1")
        assert g1.budget.gross == 5_715_000
        policy = AgreementPolicy()
        with sessions.begin() as s:
            act(s, BUREAU, "G1", 2026, Action.PROPOSE, at=AT, policy=policy, formula=5_715_000, amount=6_000_000)
            act(s, G1_ADMIN, "G1", 2026, Action.ACCEPT, at=AT, policy=policy)
        assert cache.get() is before  # accepted, not signed: the same figures
        with sessions.begin() as s:
            act(s, BUREAU, "G1", 2026, Action.SIGN, at=AT, policy=policy)
        after = cache.get()
        assert after is not None and after is not before and cache.get() is after
        g1 = next(s for s in after.settlement.consortia if s.consortium_id == "G1")
        assert (g1.budget.gross, g1.budget.prospective, sum(g1.budget.prepayments)) == (6_000_000, 5_700_000,
                                                                                          5_700_000)
        assert after.agreements["G1"].version == 3 and after.agreements["G1"].signed_by == "bureau-li"
        assert after.settlement.budget_sources["G1"].startswith("signed agreement v3 by bureau-li")
        assert after.settlement.budget_sources["G2"] == "formula / 测算公式"
    finally:
        engine.dispose()
