"""The balances a year opens with (budget.reserve, 期初余额): what a year's surplus entries leave is what the next
year brings in, to the fen, and a file of opening balances is checked row by row."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.budget.capitation import budget
from yigongti.budget.domain import (
    ACCOUNTS_THAT_CLOSE,
    Member,
    Spending,
    consortium_ledger,
    internal_split,
    settle_consortium,
    with_surplus,
)
from yigongti.budget.reserve import (
    Balances,
    SurplusOutcome,
    SurplusYear,
    closing_from_entries,
    opening_from_rows,
    opening_from_surplus,
    surplus_over_years,
    surplus_year,
)
from yigongti.core.policy import CapitationPolicy, SettlementPolicy, SurplusPolicy

FEN = st.integers(0, 10**11)


@st.composite
def policies(draw: st.DrawFn) -> SurplusPolicy:
    cash = draw(st.integers(0, 100))
    cap = draw(st.none() | st.integers(0, 10**10).map(lambda f: f"{f // 100}.{f % 100:02d}"))
    return SurplusPolicy.model_validate({
        "reserve_share": f"{draw(st.integers(0, 100))}%", "carry_forward": f"{draw(st.integers(0, 100))}%",
        "interim_share": f"{draw(st.integers(0, 100))}%", "reserve_cap": cap,
        "distribution": {"cash": f"{cash}%", "project": f"{100 - cash}%"}})


@st.composite
def years(draw: st.DrawFn) -> list[SurplusYear]:
    out = []
    for i in range(draw(st.integers(1, 4))):
        surplus = draw(st.integers(0, 10**10))
        over = 0 if surplus else draw(st.integers(0, 10**10))
        qs = tuple(draw(st.lists(st.integers(-10**10, 10**10), min_size=3, max_size=3)))
        out.append(SurplusYear("G1", 2026 + i, surplus, over, qs))
    return out


def _file_rows(o: SurplusOutcome) -> list[dict[str, object]]:
    """A year's surplus entries as the rows of its surplus.csv (money in fen, as the contract reads it)."""
    return [{"consortium_id": e.consortium_id, "account": e.account, "kind": e.kind, "amount": e.amount,
             "period": e.period, "form": e.form} for e in o.entries]


@settings(max_examples=300, deadline=None)
@given(policy=policies(), ys=years(), reserve=FEN, carried=FEN)
def test_each_year_opens_with_what_the_year_before_left_and_nothing_is_lost(
        policy: SurplusPolicy, ys: list[SurplusYear], reserve: int, carried: int) -> None:
    """Opening + the year's flows = closing, to the fen: read back from surplus.csv, year after year, the chain is
    the one :func:`surplus_over_years` computes; money only leaves by distribution or the reserve's cover."""
    chained = surplus_over_years(policy, ys, Balances(reserve, carried))
    opening = {"G1": Balances(reserve, carried)}
    for y, want in zip(ys, chained, strict=True):
        o = surplus_year(policy, y, opening.get("G1", Balances()))
        assert o == want
        # the reserve account sums to the closing balance: brought in + funded - drawn
        assert sum(e.amount for e in o.entries if e.account == "reserve") == o.closing.reserve
        # conservation: what came in (both balances and the year's retained surplus) is what is left, distributed,
        # or drawn for the overspend
        assert (o.opening.reserve + o.opening.carried + y.retained_surplus
                == o.closing.reserve + o.closing.carried + o.distributed + o.reserve_drawn)
        balances, problems = opening_from_surplus(_file_rows(o), year=y.year + 1, file="surplus.csv",
                                                  consortia={"G1"})
        assert problems == []
        assert balances.get("G1", Balances()) == o.closing == closing_from_entries(o.entries).get("G1", Balances())
        opening = balances


@settings(max_examples=200, deadline=None)
@given(policy=policies(), spent=st.integers(0, 2_000_000), reserve=st.integers(0, 10**6),
       carried=st.integers(0, 10**6))
def test_the_ledger_books_what_was_brought_in_and_its_accounts_still_close(
        policy: SurplusPolicy, spent: int, reserve: int, carried: int) -> None:
    sp = SettlementPolicy()
    b = budget(CapitationPolicy(), Decimal("10.00"), 100_000)  # prospective 9,500.00
    s = settle_consortium(sp, consortium_id="G1", enrollees=10, budget=b, spending=Spending({1: spent}),
                          score=Decimal(90))
    o = surplus_year(policy, SurplusYear("G1", 2027, s.retained_surplus, s.consortium_overspend),
                     Balances(reserve, carried))
    s = with_surplus(s, o)
    members = [Member("H", "county", "general", 0, Decimal(90)), Member("T", "township", "township_centre", 5),
               Member("V", "village", "village_clinic", 5)]
    alloc = internal_split(sp, consortium_id="G1", amount=s.amount_to_share, members=members)
    ledger = consortium_ledger(s, year=2027, spending=Spending({1: spent}), allocations=alloc)
    for account in ACCOUNTS_THAT_CLOSE:
        assert sum(e.amount for e in ledger if e.account == account) == 0, account
    booked = {(e.account, e.kind): e.amount for e in ledger}
    assert booked.get(("pool", "carried_in"), 0) == carried
    assert booked.get(("reserve", "carried_in"), 0) == reserve
    assert sum(e.amount for e in ledger if e.account == "reserve") == s.reserve_closing == o.closing.reserve
    # the reserve's opening balance is what an overspend draws on first
    assert s.reserve_drawn == min(s.consortium_overspend, reserve + s.reserve_funded)


def test_an_overspend_draws_on_the_balance_brought_in() -> None:
    o = surplus_year(SurplusPolicy(), SurplusYear("G2", 2027, 0, 700_000), Balances(reserve=500_000))
    assert (o.reserve_drawn, o.closing.reserve) == (500_000, 0)
    assert [(e.account, e.kind, e.amount) for e in o.entries] == [
        ("reserve", "carried_in", 500_000), ("reserve", "reserve_drawn", -500_000),
        ("overspend", "reserve_drawn", 500_000)]


def _row(c: str = "G1", account: str = "reserve", kind: str = "reserve_funded", amount: int = 100,
         period: str = "2026") -> dict[str, object]:
    return {"consortium_id": c, "account": account, "kind": kind, "amount": amount, "period": period, "form": ""}


def test_a_surplus_file_of_another_year_an_unknown_consortium_or_a_wrong_sign_is_named() -> None:
    rows = [_row(), _row(period="2025"), _row(c="G9"), _row(kind="reserve_drawn", amount=50),
            _row(account="surplus", kind="carried_forward", amount=30), _row(period="2026-Q2", kind="x")]
    balances, problems = opening_from_surplus(rows, year=2027, file="out/surplus.csv", consortia={"G1", "G2"})
    assert balances == {}
    assert [(p.file, p.row, p.column) for p in problems] == [
        ("out/surplus.csv", 3, "period"), ("out/surplus.csv", 4, "consortium_id"), ("out/surplus.csv", 5, "amount"),
        ("out/surplus.csv", 6, "amount")]
    assert "2026" in problems[0].message and "2027" in problems[0].message


def test_a_reserve_that_would_open_negative_is_refused() -> None:
    rows = [_row(kind="carried_in", amount=100), _row(kind="reserve_drawn", amount=-300)]
    balances, problems = opening_from_surplus(rows, year=2027, file="s.csv")
    assert balances == {} and [(p.row, p.column) for p in problems] == [(3, "amount")]
    assert "-2.00" in problems[0].message


def test_a_sound_surplus_file_gives_the_closing_balances() -> None:
    rows = [_row(account="surplus", kind="retained_surplus", amount=1_000), _row(kind="carried_in", amount=70),
            _row(amount=100), _row(kind="reserve_drawn", amount=-20),
            _row(account="surplus", kind="carried_forward", amount=-450),
            _row(c="G2", account="distribution", kind="interim", amount=5, period="2026-Q1")]
    balances, problems = opening_from_surplus(rows, year=2027, file="s.csv", consortia={"G1", "G2"})
    assert problems == [] and balances == {"G1": Balances(reserve=150, carried=450)}


def test_an_opening_table_is_checked_row_by_row() -> None:
    rows = [{"consortium_id": "G1", "year": 2027, "carried_in": 100, "risk_reserve": 200},
            {"consortium_id": "G2", "year": None, "carried_in": 0, "risk_reserve": 0}]
    balances, problems = opening_from_rows(rows, year=2027, file="opening.csv", consortia={"G1", "G2"})
    assert problems == [] and balances == {"G1": Balances(reserve=200, carried=100)}
    bad = [{"consortium_id": "G1", "year": 2026, "carried_in": -1, "risk_reserve": 0},
           {"consortium_id": "G7", "year": None, "carried_in": 0, "risk_reserve": -5}]
    balances, problems = opening_from_rows(bad, year=2027, file="opening.csv", consortia={"G1", "G2"})
    assert balances == {}
    assert sorted((p.row, p.column) for p in problems) == [
        (2, "carried_in"), (2, "year"), (3, "consortium_id"), (3, "risk_reserve")]
