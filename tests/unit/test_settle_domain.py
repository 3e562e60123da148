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
    lives_away_ledger,
    member_allocations,
    overspend_shares,
    public_health_accounts,
    public_health_split,
    settle_consortium,
    split_basis,
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
    # township 35,000 by 30 x 50 = 1500 vs 10 x 60 (missing score: the policy's stated 60, not the best) = 600
    # -> 25,000 / 10,000
    assert alloc == {"H": 40_000, "T1": 25_000, "T2": 10_000, "V1": 25_000}


def test_tier_without_members_passes_its_share_on() -> None:
    members = [Member("H", "county", "general", 10), Member("T", "township", "township_centre", 10)]
    alloc = internal_split(POLICY, consortium_id="G", amount=75_000, members=members)
    assert [a.amount for a in alloc] == [40_000, 35_000]


def test_public_health_institutions_take_no_part_in_the_split_and_the_county_tier_weighs_by_duty() -> None:
    members = [Member("C", "county", "cdc", 0, Decimal(80)), Member("H", "county", "general", 0),
               Member("M", "county", "mch", 0, Decimal(80)), Member("T", "township", "township_centre", 20),
               Member("V", "village", "village_clinic", 20)]
    alloc = {a.inst_id: a.amount for a in internal_split(POLICY, consortium_id="G", amount=100_000, members=members)}
    # the CDC and the MCH centre are paid from the public-health account only: the county tier is the hospital's
    assert alloc == {"C": 0, "H": 40_000, "M": 0, "T": 35_000, "V": 25_000}
    duty = SettlementPolicy(county_duty_weights={"general": "3", "tcm": "1"})  # type: ignore[dict-item]
    two = [Member("H", "county", "general", 0), Member("Z", "county", "tcm", 0), Member("T", "township", "x", 9)]
    alloc = {a.inst_id: a.amount for a in internal_split(duty, consortium_id="G", amount=75_000, members=two)}
    assert alloc == {"H": 30_000, "Z": 10_000, "T": 35_000}


def test_an_overspend_falls_lighter_on_the_better_score() -> None:
    # the check: two township centres of equal heads scoring 95 and 60 share a charge of 350.00.
    # Before, by heads x score, the 95 bore -214.52 and the 60 -135.48; now by heads x (200 - score): 105 : 140
    members = [Member("A", "township", "township_centre", 100, Decimal(95)),
               Member("B", "township", "township_centre", 100, Decimal(60))]
    policy = SettlementPolicy(tier_shares={"township": "100%"})  # type: ignore[dict-item]
    alloc = {a.inst_id: a.amount for a in internal_split(policy, consortium_id="G", amount=-35_000, members=members)}
    assert alloc == {"A": -15_000, "B": -20_000}
    surplus = {a.inst_id: a.amount for a in internal_split(policy, consortium_id="G", amount=35_000, members=members)}
    assert surplus["A"] > surplus["B"]


def test_public_health_account_split_by_duties_and_score() -> None:
    members = [Member("C", "county", "cdc", 0, Decimal(80)), Member("H", "county", "general", 0),
               Member("M", "county", "mch", 0, Decimal(40)), Member("T", "township", "township_centre", 30),
               Member("V1", "village", "village_clinic", 20, Decimal(90)),
               Member("V2", "village", "village_clinic", 10, Decimal(90))]
    ph = public_health_split(POLICY, consortium_id="G", amount=100_000, members=members)
    # 20% to C and M by score 80 : 40; county 0%; township 40%; village 40% by heads 20 : 10
    assert ph == {"C": 13_333, "H": 0, "M": 6_667, "T": 40_000, "V1": 26_667, "V2": 13_333}
    assert sum(ph.values()) == 100_000
    # no public-health institution: their share passes to the tiers
    rest = [m for m in members if m.kind not in ("cdc", "mch")]
    assert public_health_split(POLICY, consortium_id="G", amount=100_000, members=rest) == {
        "H": 0, "T": 50_000, "V1": 33_333, "V2": 16_667}
    with pytest.raises(ValueError, match="cannot be negative"):
        public_health_split(POLICY, consortium_id="G", amount=-1, members=members)


def test_public_health_accounts_by_heads_and_score() -> None:
    accounts = public_health_accounts(POLICY, 1_000_000, {"G1": (100, Decimal(90)), "G2": (100, None),
                                                          "G3": (50, Decimal(60))})
    # 100 x 90 : 100 x 60 (missing: the stated default) : 50 x 60 = 9000 : 6000 : 3000
    assert accounts == {"G1": 500_000, "G2": 333_333, "G3": 166_667}


def test_member_allocations_carry_score_public_health_and_pay_ceiling() -> None:
    members = [Member("H", "county", "general", 0, Decimal(95)), Member("T", "township", "t", 10, Decimal(70)),
               Member("V", "village", "v", 10, Decimal(30))]
    rows = member_allocations(POLICY, consortium_id="G", amount=100_000, public_health=10_000, members=members)
    got = {a.inst_id: (a.amount, a.public_health, a.score, a.performance_pay_ceiling) for a in rows}
    # pay ceilings: excellent 100%, qualified 70%, unqualified 0% of the part of the split
    assert got == {"H": (40_000, 0, Decimal(95), 40_000), "T": (35_000, 5_000, Decimal(70), 24_500),
                   "V": (25_000, 5_000, Decimal(30), 0)}
    charged = member_allocations(POLICY, consortium_id="G", amount=-100_000, public_health=0, members=members)
    assert all(a.performance_pay_ceiling == 0 for a in charged)


def test_lives_away_claims_are_a_fund_line_of_no_consortium() -> None:
    rows = lives_away_ledger({3: 12_000, 1: 500, 7: 0}, year=2026)
    assert [(e.consortium_id, e.account, e.kind, e.amount, e.month) for e in rows] == [
        (None, "fund", "lives_away_claims", -500, "2026-01"), (None, "fund", "lives_away_claims", -12_000, "2026-03")]


_SCORES = st.one_of(st.none(), st.integers(0, 100).map(Decimal), st.decimals(0, 100, places=2))


@st.composite
def _members(draw: st.DrawFn) -> list[Member]:
    n = draw(st.integers(1, 8))
    tiers = ["county", "township", "village"]
    kinds = {"county": ["general", "cdc", "mch", "tcm"], "township": ["township_centre"], "village": ["clinic"]}
    out = []
    for i in range(n):
        tier = draw(st.sampled_from(tiers))
        out.append(Member(f"I{i}", tier, draw(st.sampled_from(kinds[tier])),
                          0 if tier == "county" else draw(st.integers(0, 5000)), draw(_SCORES)))
    return out


@given(members=_members(), amount=st.integers(-10**9, 10**9), ph=st.integers(0, 10**8))
def test_every_split_sums_exactly_and_an_overspend_never_falls_heavier_on_a_better_score(
        members: list[Member], amount: int, ph: int) -> None:
    sharing = [m for m in members if m.kind not in POLICY.public_health_kinds]
    if not sharing:
        amount = 0
    rows = member_allocations(POLICY, consortium_id="G", amount=amount, public_health=ph, members=members)
    assert sum(a.amount for a in rows) == amount
    assert sum(a.public_health for a in rows) == ph or not members
    by_id = {a.inst_id: a for a in rows}
    for m in members:
        if m.kind in POLICY.public_health_kinds:
            assert by_id[m.inst_id].amount == 0  # paid from the public-health account only
        assert by_id[m.inst_id].performance_pay_ceiling <= max(by_id[m.inst_id].amount, 0)
    # monotonicity within a tier: per unit of basis (heads; duty weight), a better score never bears more of an
    # overspend nor gets less of a surplus. The parts are whole fen (largest remainder: each within 1 fen of its
    # exact value), so per unit the comparison holds up to 1 fen / basis of each.
    for a in sharing:
        for b in sharing:
            if a.tier != b.tier or a.inst_id == b.inst_id:
                continue
            ba, bb = split_basis(POLICY, a), split_basis(POLICY, b)
            if not ba or not bb:
                continue
            sa = POLICY.missing_institution_score if a.score is None else a.score
            sb = POLICY.missing_institution_score if b.score is None else b.score
            if sa > sb:
                pa, pb = Decimal(by_id[a.inst_id].amount) / ba, Decimal(by_id[b.inst_id].amount) / bb
                slack = 1 / ba + 1 / bb
                if amount < 0:
                    assert -pa <= -pb + slack  # the better score's charge per head is not larger
                else:
                    assert pa >= pb - slack


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
