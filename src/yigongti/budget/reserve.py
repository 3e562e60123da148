"""The surplus over the years (结余留用、风险基金; 001 四2(2)): what becomes of a consortium's retained surplus.

Pure arithmetic over int fen, by the policy's ``[surplus]`` section. For one consortium-year, given the settlement's
retained surplus R, the overspend the consortium bears O, the running balance at the end of each of the first three
quarters, and the balances coming in (the risk reserve, the surplus carried forward from last year C):

1. the risk reserve (风险基金) is funded with ``reserve_share`` of R (half-up), not beyond ``reserve_cap``;
2. it is drawn on for O, as far as its balance goes (the members' charge is smaller by that much);
3. of what is left of R + C, ``carry_forward`` (half-up) goes into next year's account (留用于下一年度);
4. the rest is distributed (结余分配): in advance at the end of Q1, Q2 and Q3 (``interim_share`` of the running
   balance, less what was advanced already, never below 0), and at the year end what remains (negative: advances
   taken back); each payment split among the forms of ``distribution`` (cash 资金拨付, project 项目资助, equipment
   设备投入) by largest remainder.

The entries are signed as seen by their account. Account ``surplus`` (the year's surplus account) closes at exactly
0: + R, + C, - the reserve's part, - the part carried forward, - every distribution. Account ``reserve`` is the risk
reserve: + funded, - drawn; its balance carries over the years (opening + funded - drawn). Account ``distribution``
records each payment by form; account ``overspend`` the reserve's cover of the consortium's overspend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from yigongti.core.money import apply_rate_bp, largest_remainder
from yigongti.core.policy import SurplusPolicy

__all__ = [
    "Balances",
    "InterimRow",
    "interim_rows",
    "quarter_balances",
    "SurplusEntry",
    "SurplusOutcome",
    "SurplusYear",
    "surplus_over_years",
    "surplus_year",
]


@dataclass(frozen=True)
class SurplusYear:
    """The settlement's figures of one consortium-year that the surplus rules need (fen)."""

    consortium_id: str
    year: int
    retained_surplus: int
    consortium_overspend: int
    quarter_balances: tuple[int, ...] = ()  # running balance (prepaid - spent) at the end of Q1, Q2, Q3


@dataclass(frozen=True)
class Balances:
    """What a consortium's accounts hold between two years: the risk reserve, the surplus carried forward."""

    reserve: int = 0
    carried: int = 0


@dataclass(frozen=True)
class SurplusEntry:
    """A movement of the surplus; ``period`` is ``YYYY-Qn`` for a quarter's advance, ``YYYY`` for the year end;
    ``form`` the distribution's form (cash, project, equipment), empty for other entries."""

    consortium_id: str
    account: str
    kind: str
    amount: int
    period: str
    form: str = ""


@dataclass(frozen=True)
class SurplusOutcome:
    consortium_id: str
    year: int
    opening: Balances
    closing: Balances
    reserve_funded: int
    reserve_drawn: int
    carried_out: int
    distributed: int
    entries: list[SurplusEntry] = field(default_factory=list)


def _to_date(prepayments: Sequence[int], spent_by_month: Mapping[int, int], quarter: int) -> tuple[int, int]:
    """(prepaid, spent) to the end of ``quarter``; the fourth has every prepayment."""
    last = 3 * quarter if quarter < 4 else max(len(prepayments), 12)
    return (sum(prepayments[:last]), sum(v for m, v in spent_by_month.items() if 1 <= m <= last))


def quarter_balances(prepayments: Sequence[int], spent_by_month: Mapping[int, int]) -> tuple[int, ...]:
    """The running balance (prepaid - spent in and out of the network) at the end of March, June and September."""
    return tuple(p - s for p, s in (_to_date(prepayments, spent_by_month, q) for q in (1, 2, 3)))


def _forms(policy: SurplusPolicy, amount: int) -> list[tuple[str, int]]:
    forms = sorted(f for f, share in policy.distribution.items() if share > 0)
    parts = largest_remainder(amount, [policy.distribution[f] for f in forms])
    return [(f, p) for f, p in zip(forms, parts, strict=True) if p != 0]


def _advances(policy: SurplusPolicy, quarter_balances: Sequence[int], distributed: int) -> list[int]:
    """The advances at the end of Q1..Q3: the interim share of the running balance less what was advanced, never
    below 0, and never more in all than the year's distribution will be."""
    out: list[int] = []
    paid = 0
    for bal in list(quarter_balances)[:3]:
        due = max(0, apply_rate_bp(max(bal, 0), policy.interim_share) - paid)
        due = min(due, max(distributed - paid, 0))
        out.append(due)
        paid += due
    return out


def surplus_year(policy: SurplusPolicy, y: SurplusYear, opening: Balances = Balances()) -> SurplusOutcome:
    """The surplus entries of one consortium-year and the balances it leaves for the next."""
    if y.retained_surplus < 0 or y.consortium_overspend < 0 or opening.reserve < 0 or opening.carried < 0:
        raise ValueError("the surplus, the overspend and the balances are amounts >= 0")
    c, year = y.consortium_id, str(y.year)
    entries: list[SurplusEntry] = []

    def add(account: str, kind: str, amount: int, period: str = year, form: str = "") -> None:
        if amount:
            entries.append(SurplusEntry(c, account, kind, amount, period, form))

    add("surplus", "retained_surplus", y.retained_surplus)
    add("surplus", "carried_in", opening.carried)
    funded = apply_rate_bp(y.retained_surplus, policy.reserve_share)
    if policy.reserve_cap is not None:
        funded = min(funded, max(policy.reserve_cap - opening.reserve, 0))
    add("surplus", "reserve_funded", -funded)
    add("reserve", "reserve_funded", funded)
    drawn = min(opening.reserve + funded, y.consortium_overspend)
    add("reserve", "reserve_drawn", -drawn)
    add("overspend", "reserve_drawn", drawn)
    rest = y.retained_surplus + opening.carried - funded
    carried_out = apply_rate_bp(rest, policy.carry_forward)
    add("surplus", "carried_forward", -carried_out)
    distributed = rest - carried_out
    advances = _advances(policy, y.quarter_balances, distributed)
    payments = [(f"{year}-Q{q}", a) for q, a in enumerate(advances, start=1)]
    payments.append((year, distributed - sum(advances)))
    for period, amount in payments:
        for form, part in _forms(policy, amount):
            add("surplus", "distributed", -part, period, form)
            add("distribution", "interim" if "-Q" in period else "year_end", part, period, form)
    closing = Balances(opening.reserve + funded - drawn, carried_out)
    return SurplusOutcome(c, y.year, opening, closing, funded, drawn, carried_out, distributed, entries)


def surplus_over_years(policy: SurplusPolicy, years: Iterable[SurplusYear],
                       opening: Balances = Balances()) -> list[SurplusOutcome]:
    """One consortium's years in order, each opening with the balances the year before left."""
    out: list[SurplusOutcome] = []
    balances = opening
    for y in sorted(years, key=lambda y: y.year):
        outcome = surplus_year(policy, y, balances)
        out.append(outcome)
        balances = outcome.closing
    return out


@dataclass(frozen=True)
class InterimRow:
    """A consortium's quarter (季度预结算, 001 四2(2) 「按季度进行结余分配」): prepaid and spent to the quarter's end,
    the running balance, the distribution paid at the quarter's end (Q1-Q3 the advances; Q4 the year end, which
    takes back an advance too many when negative) by form, and what was distributed to date (fen)."""

    consortium_id: str
    quarter: int
    prepaid_to_date: int
    spent_to_date: int
    distributed: int
    distributed_to_date: int
    forms: Mapping[str, int] = field(default_factory=dict)

    @property
    def balance_to_date(self) -> int:
        return self.prepaid_to_date - self.spent_to_date


def interim_rows(o: SurplusOutcome, prepayments: Sequence[int],
                 spent_by_month: Mapping[int, int]) -> list[InterimRow]:
    """The four quarters of a consortium-year from its surplus outcome: Q4 reconciles with the year exactly (its
    balance to date is the year's balance before the settlement's shares, its distribution to date
    ``o.distributed``)."""
    paid: dict[int, dict[str, int]] = {q: {} for q in (1, 2, 3, 4)}
    for e in o.entries:
        if e.account == "distribution":
            q = int(e.period.rsplit("Q", 1)[1]) if "-Q" in e.period else 4
            paid[q][e.form] = paid[q].get(e.form, 0) + e.amount
    out: list[InterimRow] = []
    to_date = 0
    for q in (1, 2, 3, 4):
        amount = sum(paid[q].values())
        to_date += amount
        prepaid, spent = _to_date(prepayments, spent_by_month, q)
        out.append(InterimRow(o.consortium_id, q, prepaid, spent, amount, to_date, dict(paid[q])))
    return out
