"""The internal package, the members' statements, the year-end split after the surplus rules, the quarters
(budget.package, budget.domain, budget.reserve): exact money, property-tested."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.budget.capitation import budget
from yigongti.budget.domain import (
    Member,
    Spending,
    balance_split,
    consortium_ledger,
    internal_split,
    member_allocations,
    settle_consortium,
    with_surplus,
)
from yigongti.budget.package import MONTHS, closing_balances, member_statements, monthly_instalments, package_lines
from yigongti.budget.reserve import Balances, SurplusYear, interim_rows, quarter_balances, surplus_year
from yigongti.core.money import largest_remainder
from yigongti.core.policy import CapitationPolicy, Policy, PolicyError, SurplusPolicy, policy_from_toml

POLICY = Policy()
SP = POLICY.settlement
BUDGET = budget(CapitationPolicy(), Decimal("10.00"), 100_000)  # G 10,000.00, reserve 500.00, B 9,500.00
MEMBERS = [Member("H", "county", "general", 0, Decimal(90)), Member("M", "county", "mch", 0, Decimal(80)),
           Member("T", "township", "township_centre", 300, Decimal(85)),
           Member("V1", "village", "village_clinic", 100, Decimal(70)),
           Member("V2", "village", "village_clinic", 200, Decimal(95))]


def _pct(n: int) -> str:
    return f"{n}%"


@st.composite
def surplus_policies(draw: st.DrawFn) -> SurplusPolicy:
    cash = draw(st.integers(0, 100))
    project = draw(st.integers(0, 100 - cash))
    return SurplusPolicy.model_validate({
        "reserve_share": _pct(draw(st.integers(0, 100))), "carry_forward": _pct(draw(st.integers(0, 100))),
        "interim_share": _pct(draw(st.integers(0, 100))),
        "distribution": {"cash": _pct(cash), "project": _pct(project), "equipment": _pct(100 - cash - project)}})


@st.composite
def members(draw: st.DrawFn) -> list[Member]:
    kinds = {"county": ["general", "cdc", "mch", "tcm"], "township": ["township_centre"], "village": ["clinic"]}
    out = []
    for i in range(draw(st.integers(1, 8))):
        tier = draw(st.sampled_from(sorted(kinds)))
        out.append(Member(f"I{i}", tier, draw(st.sampled_from(kinds[tier])),
                          0 if tier == "county" else draw(st.integers(0, 5000)),
                          draw(st.none() | st.integers(0, 100).map(Decimal))))
    return out


# --------------------------------------------------------------------------------------------- the surplus's split

def test_the_members_share_what_the_reserve_and_the_carry_forward_leave() -> None:
    """Before the fix the allocation split all of the retained surplus although surplus.csv moved 10% of it into the
    risk reserve and half of the rest into next year: the same money twice."""
    s = settle_consortium(SP, consortium_id="G1", enrollees=10, budget=BUDGET, spending=Spending({1: 550_000}),
                          score=Decimal(95))
    assert s.retained_surplus == 400_000 and s.p4p_paid == 50_000
    policy = SurplusPolicy.model_validate({"reserve_share": "10%", "carry_forward": "50%"})
    o = surplus_year(policy, SurplusYear("G1", 2026, s.retained_surplus, 0))
    assert (o.reserve_funded, o.carried_out, o.distributed) == (40_000, 180_000, 180_000)
    shared = with_surplus(s, o)
    assert shared.amount_to_share == 180_000 + 50_000  # what is distributed + P4P, not 400,000 + P4P
    alloc = member_allocations(SP, consortium_id="G1", amount=shared.amount_to_share, public_health=0,
                               members=MEMBERS)
    assert sum(a.amount for a in alloc) + o.reserve_funded + o.carried_out == s.retained_surplus + s.p4p_paid
    ledger = consortium_ledger(shared, year=2026, spending=Spending({1: 550_000}), allocations=alloc)
    assert sum(e.amount for e in ledger if e.account == "pool") == 0


@settings(max_examples=300, deadline=None)
@given(policy=surplus_policies(), retained=st.integers(0, 10**11), p4p=st.integers(0, 10**9),
       over=st.integers(0, 10**10), opening=st.tuples(st.integers(0, 10**10), st.integers(0, 10**10)),
       ms=members())
def test_allocation_plus_reserve_plus_carry_forward_is_the_retained_surplus_to_the_fen(
        policy: SurplusPolicy, retained: int, p4p: int, over: int, opening: tuple[int, int],
        ms: list[Member]) -> None:
    if not any(m.kind not in SP.public_health_kinds for m in ms):
        ms = [*ms, Member("T0", "township", "township_centre", 1)]
    over = 0 if retained else over  # a year has a surplus or an overspend
    s = settle_consortium(SP, consortium_id="G", enrollees=1, budget=BUDGET, spending=Spending(), score=None)
    s = s.__class__(**{**s.__dict__, "retained_surplus": retained, "p4p_paid": p4p, "consortium_overspend": over})
    o = surplus_year(policy, SurplusYear("G", 2026, retained, over), Balances(*opening))
    shared = with_surplus(s, o)
    alloc = sum(a.amount for a in member_allocations(SP, consortium_id="G", amount=shared.amount_to_share,
                                                     public_health=0, members=ms))
    # in general: what the members get + what the reserve keeps + what is carried forward is exactly what came in
    assert alloc + o.reserve_funded + o.carried_out == retained + o.opening.carried + p4p - over + o.reserve_drawn
    if not p4p and not over and not opening[1]:
        assert alloc + o.reserve_funded + o.carried_out == retained  # the statement, to the fen
    assert alloc - p4p + over - o.reserve_drawn == o.distributed  # the members' surplus is what is distributed


# --------------------------------------------------------------------------------------------- the package

def test_the_package_by_duty_history_and_heads_worked_by_hand() -> None:
    lines = package_lines(POLICY, consortium_id="G1", prospective=1_000_000, public_health=10_000, members=MEMBERS,
                          last_year_costs={"H": 600, "T": 300, "V1": 100, "M": 999})
    by = {ln.inst_id: ln for ln in lines}
    # duty 500,000 by tier shares 40/35/25 (the MCH centre is a public-health institution: no part), the county
    # tier by duty weight (1 each), the villages by heads 100:200
    assert {i: by[i].duty for i in by} == {"H": 200_000, "M": 0, "T": 175_000, "V1": 41_667, "V2": 83_333}
    # history 300,000 by last year's costs at the member (the MCH centre's costs do not count)
    assert {i: by[i].history for i in by} == {"H": 180_000, "M": 0, "T": 90_000, "V1": 30_000, "V2": 0}
    # heads 200,000 by designated heads 300:100:200
    assert {i: by[i].by_heads for i in by} == {"H": 0, "M": 0, "T": 100_000, "V1": 33_333, "V2": 66_667}
    assert sum(ln.allocation for ln in lines) == 1_000_000
    # public health apart, by duties only: the MCH centre takes the public-health institutions' 20%
    assert by["M"].public_health == 2_000 and sum(ln.public_health for ln in lines) == 10_000


def test_a_part_without_basis_gives_its_share_to_the_others() -> None:
    lines = package_lines(POLICY, consortium_id="G1", prospective=1_000_000, public_health=0, members=MEMBERS,
                          last_year_costs={})
    assert sum(ln.history for ln in lines) == 0
    assert sum(ln.duty for ln in lines) == 714_286 and sum(ln.by_heads for ln in lines) == 285_714  # 50:20


def test_the_package_policy_is_validated() -> None:
    with pytest.raises(PolicyError, match="package"):
        policy_from_toml('[package.mix]\nheads = "30%"\n')
    with pytest.raises(PolicyError, match="package.mix"):
        policy_from_toml('[package.mix]\nlast_year = "10%"\nduty = "40%"\n')
    with pytest.raises(PolicyError, match="balance_share"):
        policy_from_toml('[package]\nbalance_share = "120%"\n')


@settings(max_examples=200, deadline=None)
@given(ms=members(), prospective=st.integers(0, 10**11), ph=st.integers(0, 10**9),
       costs=st.lists(st.integers(0, 10**9), min_size=8, max_size=8),
       mix=st.tuples(st.integers(0, 100), st.integers(0, 100)).filter(lambda t: t[0] + t[1] <= 100))
def test_the_package_sums_exactly_and_public_health_institutions_take_none(
        ms: list[Member], prospective: int, ph: int, costs: list[int], mix: tuple[int, int]) -> None:
    policy = policy_from_toml(f'[package.mix]\nduty = "{mix[0]}%"\nhistory = "{mix[1]}%"\n'
                              f'heads = "{100 - mix[0] - mix[1]}%"\n')
    if not any(m.kind not in SP.public_health_kinds for m in ms):
        prospective = 0
    lines = package_lines(policy, consortium_id="G", prospective=prospective, public_health=ph, members=ms,
                          last_year_costs={f"I{i}": c for i, c in enumerate(costs)})
    assert [ln.inst_id for ln in lines] == sorted(m.inst_id for m in ms)
    assert sum(ln.allocation for ln in lines) == prospective
    assert sum(ln.public_health for ln in lines) == ph
    assert all(min(ln.duty, ln.history, ln.by_heads) >= 0 for ln in lines)
    assert all(ln.allocation == 0 for ln in lines if ln.kind in SP.public_health_kinds)


def test_a_consortium_without_members_has_no_package_to_take_money() -> None:
    with pytest.raises(ValueError, match="no member"):
        package_lines(POLICY, consortium_id="G9", prospective=1, public_health=0,
                      members=[Member("C", "county", "cdc", 0)], last_year_costs={})


# --------------------------------------------------------------------------------------------- the statements

@settings(max_examples=200, deadline=None)
@given(ms=members(), prospective=st.integers(0, 10**10),
       charges=st.dictionaries(st.tuples(st.sampled_from(["I0", "I1", "I2", "X"]), st.integers(1, 12)),
                               st.integers(0, 10**8), max_size=30))
def test_statements_instal_the_allocation_exactly_and_their_balances_sum_to_the_consortium_balance(
        ms: list[Member], prospective: int, charges: dict[tuple[str, int], int]) -> None:
    if not any(m.kind not in SP.public_health_kinds for m in ms):
        prospective = 0
    lines = package_lines(POLICY, consortium_id="G", prospective=prospective, public_health=0, members=ms,
                          last_year_costs={})
    by_inst: dict[tuple[str, str], dict[int, int]] = {}
    for (inst, month), fen in charges.items():
        by_inst.setdefault(("G", inst), {})[month] = fen
    rows = member_statements(lines, by_inst)
    for ln in lines:
        mine = [r for r in rows if r.inst_id == ln.inst_id]
        assert [r.month for r in mine] == list(range(1, MONTHS + 1))
        assert sum(r.allocated for r in mine) == ln.allocation == mine[-1].allocated_to_date
        assert max(r.allocated for r in mine) - min(r.allocated for r in mine) <= 1  # 1/12 each, remainder exact
    balances = closing_balances(rows).get("G", {})
    assert sum(balances.values()) == prospective - sum(charges.values())  # nothing charged is lost


def test_a_statement_worked_by_hand() -> None:
    lines = package_lines(POLICY, consortium_id="G1", prospective=1_000_000, public_health=0,
                          members=[Member("T", "township", "township_centre", 10)], last_year_costs={})
    rows = member_statements(lines, {("G1", "T"): {1: 90_000, 3: 10_000}})
    assert [r.allocated for r in rows[:5]] == [83_334, 83_334, 83_334, 83_334, 83_333]  # 1,000,000 = 4 x 83,334 + ...
    assert (rows[2].allocated_to_date, rows[2].charged_to_date, rows[2].balance) == (250_002, 100_000, 150_002)
    assert rows[-1].balance == 900_000


# --------------------------------------------------------------------------------------------- the year-end split

@settings(max_examples=200, deadline=None)
@given(ms=members(), amount=st.integers(-10**9, 10**9), share=st.integers(0, 100),
       balances=st.lists(st.integers(-10**8, 10**8), min_size=8, max_size=8))
def test_the_balances_share_a_surplus_and_never_an_overspend(ms: list[Member], amount: int, share: int,
                                                             balances: list[int]) -> None:
    if not any(m.kind not in SP.public_health_kinds for m in ms):
        amount = 0
    bal = {f"I{i}": b for i, b in enumerate(balances)}
    rows = balance_split(SP, consortium_id="G", amount=amount, members=ms, balances=bal, balance_share=share * 100)
    assert sum(a.amount for a in rows) == amount
    plain = internal_split(SP, consortium_id="G", amount=amount, members=ms)
    if amount <= 0:
        assert rows == plain  # an overspend is the fair internal split, whatever the balances
    else:
        # A member that saved never gets less than its plain part of what the balances leave. Rounding: the plain
        # split and the split of the rest are each two largest-remainder steps (tiers, then members: < 2 fen off the
        # exact part each), the balance share is rounded half-up (<= 0.5 fen) and share // 100 floors (< 1 fen):
        # together under 5.5 fen, so 5 fen at most (a hypothesis case found 2 where this said 1).
        for a, p in zip(rows, plain, strict=True):
            if bal.get(a.inst_id, 0) > 0 and a.inst_id in {m.inst_id for m in ms if m.kind not in
                                                           SP.public_health_kinds}:
                assert a.amount >= p.amount - p.amount * share // 100 - 5


def test_the_balance_share_goes_to_the_members_that_saved() -> None:
    rows = balance_split(SP, consortium_id="G1", amount=100_000, members=MEMBERS,
                         balances={"T": 5_000, "V1": -3_000, "V2": 5_000, "M": 9_000}, balance_share=3000)
    plain = {a.inst_id: a.amount for a in internal_split(SP, consortium_id="G1", amount=70_000, members=MEMBERS)}
    got = {a.inst_id: a.amount for a in rows}
    # 30,000 by balance x score: T 5,000 x 85, V2 5,000 x 95 (V1 overspent its package; the MCH centre takes none)
    assert got["T"] - plain["T"] == 14_167 and got["V2"] - plain["V2"] == 15_833
    assert got["V1"] == plain["V1"] and got["M"] == 0


# --------------------------------------------------------------------------------------------- the quarters

@settings(max_examples=200, deadline=None)
@given(policy=surplus_policies(), retained=st.integers(0, 10**10),
       spent=st.dictionaries(st.integers(1, 12), st.integers(0, 10**8)))
def test_the_quarters_reconcile_with_the_year_exactly(policy: SurplusPolicy, retained: int,
                                                      spent: dict[int, int]) -> None:
    o = surplus_year(policy, SurplusYear("G", 2026, retained, 0, quarter_balances(BUDGET.prepayments, spent)))
    rows = interim_rows(o, BUDGET.prepayments, spent)
    assert [r.quarter for r in rows] == [1, 2, 3, 4]
    assert rows[-1].distributed_to_date == sum(r.distributed for r in rows) == o.distributed
    assert rows[-1].prepaid_to_date == BUDGET.prospective and rows[-1].spent_to_date == sum(spent.values())
    assert [r.balance_to_date for r in rows[:3]] == list(quarter_balances(BUDGET.prepayments, spent))
    for r in rows:
        assert sum(r.forms.values()) == r.distributed
        assert set(r.forms) <= {f for f, s in policy.distribution.items() if s}
    assert all(r.distributed >= 0 for r in rows[:3])


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_monthly_instalments_are_the_largest_remainder_split(total: int) -> None:
    parts = monthly_instalments(total)
    assert parts == largest_remainder(total, [1] * MONTHS) and sum(parts) == total
