"""The surplus over the years (budget.reserve): exact money whatever the policy and the figures."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.budget.reserve import Balances, SurplusYear, surplus_over_years, surplus_year
from yigongti.core.policy import SurplusPolicy

FEN = st.integers(0, 10**11)


@st.composite
def policies(draw: st.DrawFn) -> SurplusPolicy:
    cash = draw(st.integers(0, 100))
    project = draw(st.integers(0, 100 - cash))
    cap = draw(st.none() | st.integers(0, 10**10).map(lambda f: f"{f // 100}.{f % 100:02d}"))
    return SurplusPolicy.model_validate({
        "reserve_share": f"{draw(st.integers(0, 100))}%", "carry_forward": f"{draw(st.integers(0, 100))}%",
        "interim_share": f"{draw(st.integers(0, 100))}%", "reserve_cap": cap,
        "distribution": {"cash": f"{cash}%", "project": f"{project}%", "equipment": f"{100 - cash - project}%"}})


@st.composite
def years(draw: st.DrawFn) -> list[SurplusYear]:
    n = draw(st.integers(1, 5))
    out = []
    for i in range(n):
        surplus = draw(st.integers(0, 10**10))
        over = 0 if surplus else draw(st.integers(0, 10**10))
        qs = tuple(draw(st.lists(st.integers(-10**10, 10**10), min_size=3, max_size=3)))
        out.append(SurplusYear("G1", 2026 + i, surplus, over, qs))
    return out


def _sums(entries: list) -> dict[str, int]:  # type: ignore[type-arg]
    out: dict[str, int] = defaultdict(int)
    for e in entries:
        out[e.account] += e.amount
    return out


@settings(max_examples=300, deadline=None)
@given(policy=policies(), ys=years(), reserve=FEN, carried=FEN)
def test_the_reserve_balance_is_funds_in_minus_draws_and_the_surplus_account_closes(
        policy: SurplusPolicy, ys: list[SurplusYear], reserve: int, carried: int) -> None:
    outcomes = surplus_over_years(policy, ys, Balances(reserve, carried))
    entries = [e for o in outcomes for e in o.entries]
    funded = sum(e.amount for e in entries if e.account == "reserve" and e.kind == "reserve_funded")
    drawn = -sum(e.amount for e in entries if e.account == "reserve" and e.kind == "reserve_drawn")
    assert outcomes[-1].closing.reserve == reserve + funded - drawn >= 0
    for o, prev in zip(outcomes, [Balances(reserve, carried)] + [x.closing for x in outcomes], strict=False):
        assert o.opening == prev
        sums = _sums(o.entries)
        assert sums["surplus"] == 0  # retained + carried in = reserve part + carried out + distributed
        assert sums["distribution"] == o.distributed  # the distributions sum to what is distributed
        assert sums["overspend"] == o.reserve_drawn <= o.opening.reserve + o.reserve_funded
        if policy.reserve_cap is not None:
            assert o.closing.reserve <= max(policy.reserve_cap, o.opening.reserve)


@settings(max_examples=300, deadline=None)
@given(policy=policies(), surplus=FEN, qs=st.lists(st.integers(-10**10, 10**10), min_size=3, max_size=3))
def test_interim_advances_never_exceed_the_year_and_every_form_gets_its_share(
        policy: SurplusPolicy, surplus: int, qs: list[int]) -> None:
    o = surplus_year(policy, SurplusYear("G1", 2026, surplus, 0, tuple(qs)))
    advances = [e.amount for e in o.entries if e.account == "distribution" and e.kind == "interim"]
    assert all(a > 0 for a in advances) and sum(advances) <= o.distributed
    by_form: dict[str, int] = defaultdict(int)
    for e in o.entries:
        if e.account == "distribution":
            by_form[e.form] += e.amount
    assert set(by_form) <= {f for f, s in policy.distribution.items() if s > 0}
    assert sum(by_form.values()) == o.distributed


def test_the_worked_case() -> None:
    policy = SurplusPolicy.model_validate({"reserve_share": "20%", "carry_forward": "25%", "interim_share": "50%",
                                           "distribution": {"cash": "60%", "project": "30%", "equipment": "10%"}})
    first = surplus_year(policy, SurplusYear("G1", 2026, 1_000_000, 0, (100_000, 300_000, 200_000)))
    assert (first.reserve_funded, first.carried_out, first.distributed) == (200_000, 200_000, 600_000)
    advances = [(e.period, e.form, e.amount) for e in first.entries if e.kind == "interim"]
    assert advances == [("2026-Q1", "cash", 30_000), ("2026-Q1", "equipment", 5_000), ("2026-Q1", "project", 15_000),
                        ("2026-Q2", "cash", 60_000), ("2026-Q2", "equipment", 10_000),
                        ("2026-Q2", "project", 30_000)]  # Q3: half of 200000 is less than the 150000 advanced
    assert first.closing == Balances(200_000, 200_000)
    # an overspend next year: no surplus, the reserve covers the consortium's share as far as it goes
    second = surplus_year(policy, SurplusYear("G1", 2027, 0, 350_000, (0, 0, 0)), first.closing)
    assert (second.reserve_drawn, second.closing.reserve) == (200_000, 0)
    assert second.distributed == 150_000 and second.closing.carried == 50_000  # the carried 200000: 25% on again
