"""Year-end settlement (docs/en/rules.md D), computed by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.budget.capitation import budget
from yigongti.budget.domain import (
    ACCOUNTS_THAT_CLOSE,
    Member,
    Spending,
    consortium_ledger,
    inputs_hash,
    internal_split,
    overspend_shares,
    settle_consortium,
)
from yigongti.core.policy import CapitationPolicy, SettlementPolicy

POLICY = SettlementPolicy()
BUDGET = budget(CapitationPolicy(), Decimal("10.00"), 100_000)  # G 10,000.00, reserve 500.00, B 9,500.00


def settle(in_fen: int, out_fen: int = 0, score: Decimal | None = Decimal(95), policy: SettlementPolicy = POLICY):
    return settle_consortium(policy, consortium_id="G1", enrollees=10, budget=BUDGET,
                             spending=Spending({1: in_fen}, {2: out_fen}), score=score)


def test_surplus_is_retained() -> None:
    s = settle(500_000, 100_000)
    assert s.balance == 350_000 and s.retained_surplus == 350_000
    assert (s.fund_overspend_share, s.consortium_overspend) == (0, 0)
    assert s.amount_to_share == 350_000 + 50_000


def test_overspend_within_the_band_is_halved() -> None:
    # band = 5% of 9,500.00 = 475.00; overspend 200.00 -> fund 100.00, consortium 100.00
    s = settle(970_000)
    assert s.balance == -20_000
    assert (s.fund_overspend_share, s.consortium_overspend) == (10_000, 10_000)
    assert s.retained_surplus == 0


def test_overspend_beyond_the_band_is_borne_by_the_consortium() -> None:
    # overspend 1,000.00: fund bears 50% of 475.00 = 237.50, consortium 762.50
    s = settle(1_000_000, 50_000)
    assert s.balance == -100_000
    assert (s.fund_overspend_share, s.consortium_overspend) == (23_750, 76_250)


def test_overspend_band_rounds_the_band_then_the_share() -> None:
    # the example's G2: B = 124,402.50, overspent 22,661.97: band 6,220.125 -> 6,220.13, half 3,110.065 -> 3,110.07
    assert overspend_shares(POLICY, balance=-2_266_197, prospective=12_440_250) == (311_007, 1_955_190)


@pytest.mark.parametrize(("score", "grade", "paid"), [
    (Decimal(90), "excellent", 50_000), (Decimal("89.99"), "qualified", 35_000), (Decimal(60), "qualified", 35_000),
    (Decimal("59.9"), "unqualified", 0), (None, "pending", 0)])
def test_p4p_by_grade(score: Decimal | None, grade: str, paid: int) -> None:
    s = settle(500_000, score=score)
    assert (s.grade, s.p4p_paid, s.p4p_returned) == (grade, paid, 50_000 - paid)


def test_negative_amount_to_share_is_a_charge_the_members_share() -> None:
    s = settle(1_000_000, 50_000, score=Decimal(70))  # overspend 1,000.00, consortium bears 762.50, P4P 350.00
    assert s.amount_to_share == 35_000 - 76_250
    members = [Member("H", "county", "general", 10), Member("T", "township", "township_centre", 10),
               Member("V", "village", "village_clinic", 10)]
    alloc = internal_split(POLICY, consortium_id="G1", amount=s.amount_to_share, members=members)
    assert [a.amount for a in alloc] == [-16_500, -14_438, -10_312]  # -412.50 x 40/35/25, remainders outward
    assert sum(a.amount for a in alloc) == s.amount_to_share


def test_split_within_a_tier_by_heads_times_score() -> None:
    members = [Member("H", "county", "general", 100), Member("T1", "township", "township_centre", 30, Decimal(50)),
               Member("T2", "township", "township_centre", 10), Member("V1", "village", "village_clinic", 0)]
    alloc = {a.inst_id: a.amount for a in internal_split(POLICY, consortium_id="G", amount=100_000, members=members)}
    # township 35,000 by 30 x 50 = 1500 vs 10 x 100 (missing score) = 1000 -> 21,000 / 14,000
    assert alloc == {"H": 40_000, "T1": 21_000, "T2": 14_000, "V1": 25_000}


def test_tier_without_members_passes_its_share_on() -> None:
    members = [Member("H", "county", "general", 10), Member("T", "township", "township_centre", 10)]
    alloc = internal_split(POLICY, consortium_id="G", amount=75_000, members=members)
    assert [a.amount for a in alloc] == [40_000, 35_000]


def test_public_health_share_comes_first() -> None:
    policy = SettlementPolicy(public_health_share="10%")  # type: ignore[arg-type]
    members = [Member("C", "county", "cdc", 50, Decimal(80)), Member("H", "county", "general", 50),
               Member("M", "county", "mch", 50, Decimal(120 - 40)), Member("T", "township", "township_centre", 20),
               Member("V", "village", "village_clinic", 20)]
    alloc = {a.inst_id: a.amount for a in internal_split(policy, consortium_id="G", amount=100_000, members=members)}
    # 10,000 to C and M (80 : 80), then 90,000 by tiers 36,000 / 31,500 / 22,500; county by 50x80 : 50x100 : 50x80
    assert alloc["T"] == 31_500 and alloc["V"] == 22_500
    assert alloc["C"] == 5_000 + 11_077 and alloc["M"] == 5_000 + 11_077 and alloc["H"] == 13_846
    assert sum(alloc.values()) == 100_000


def test_ledger_accounts_close_and_match_the_settlement() -> None:
    s = settle(1_000_000, 50_000, score=Decimal(70))
    members = [Member("H", "county", "general", 10), Member("T", "township", "township_centre", 10),
               Member("V", "village", "village_clinic", 10)]
    alloc = internal_split(POLICY, consortium_id="G1", amount=s.amount_to_share, members=members)
    ledger = consortium_ledger(s, year=2026, spending=Spending({1: 1_000_000}, {2: 50_000}), allocations=alloc)
    for account in ACCOUNTS_THAT_CLOSE:
        assert sum(e.amount for e in ledger if e.account == account) == 0
    assert sum(e.amount for e in ledger if e.kind == "prepayment") == BUDGET.prospective
    assert next(e.month for e in ledger if e.kind == "prepayment") == "2026-01"
    kinds = {e.kind for e in ledger}
    assert {"overspend_fund_share", "consortium_overspend", "p4p_paid", "p4p_returned", "internal_split"} <= kinds


def test_inputs_hash_is_stable_and_sensitive() -> None:
    a = inputs_hash({"x": b"1", "y": b"2"})
    assert a == inputs_hash({"y": b"2", "x": b"1"})
    assert a != inputs_hash({"x": b"12", "y": b""})
    assert len(a) == 64


@given(balance=st.integers(-10**10, 10**10), prospective=st.integers(0, 10**10))
def test_overspend_shares_add_up(balance: int, prospective: int) -> None:
    fund, own = overspend_shares(POLICY, balance=balance, prospective=prospective)
    assert fund >= 0 and own >= 0
    assert fund + own == max(0, -balance)
    assert fund <= (prospective * 5 // 100 + 1) // 2 + 1
