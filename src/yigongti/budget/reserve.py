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
reserve: + the balance brought in (``carried_in``), + funded, - drawn; it sums to the balance it carries into the next
year (opening + funded - drawn). Account ``distribution`` records each payment by form; account ``overspend`` the
reserve's cover of the consortium's overspend.

Next year opens with what a year's entries leave (:func:`closing_from_entries`: the ``reserve`` account's sum and the
part carried forward), read back from last year's ``surplus.csv`` (:func:`opening_from_surplus`) or from the rows of
an ``opening`` table (:func:`opening_from_rows`), each row checked: the consortium known, the year the one before,
no negative balance; a problem names the file, the row and the field.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from yigongti.core.money import apply_rate_bp, format_yuan, largest_remainder
from yigongti.core.policy import SurplusPolicy
from yigongti.core.problems import Problem

__all__ = [
    "Balances",
    "InterimRow",
    "closing_from_entries",
    "interim_rows",
    "opening_from_rows",
    "opening_from_surplus",
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
    add("reserve", "carried_in", opening.reserve)  # the balance brought in: the account sums to the closing balance
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


# --------------------------------------------------------------------------------------------- the year after

# the surplus entries that carry over into the next year, and the sign each has in a sound file
CARRIED_OVER: Mapping[tuple[str, str], int] = {
    ("reserve", "carried_in"): 1, ("reserve", "reserve_funded"): 1, ("reserve", "reserve_drawn"): -1,
    ("surplus", "carried_forward"): -1,
}


def closing_from_entries(entries: Iterable[SurplusEntry]) -> dict[str, Balances]:
    """What a year's surplus entries leave each consortium for the next: the risk reserve (the ``reserve`` account's
    sum: brought in + funded - drawn) and the surplus carried forward (the ``surplus`` account's ``carried_forward``,
    booked negative). A consortium with neither is left out."""
    reserve: dict[str, int] = {}
    carried: dict[str, int] = {}
    for e in entries:
        if e.account == "reserve":
            reserve[e.consortium_id] = reserve.get(e.consortium_id, 0) + e.amount
        elif (e.account, e.kind) == ("surplus", "carried_forward"):
            carried[e.consortium_id] = carried.get(e.consortium_id, 0) - e.amount
    out = {c: Balances(reserve.get(c, 0), carried.get(c, 0)) for c in sorted({*reserve, *carried})}
    return {c: b for c, b in out.items() if b != Balances()}


def _known(c: object, consortia: Collection[str] | None, file: str, row: int) -> list[Problem]:
    if consortia is None or c in consortia:
        return []
    return [Problem(file, row, "consortium_id", f"unknown consortium {c} / 医共体不存在")]


def opening_from_surplus(rows: Sequence[Mapping[str, object]], *, year: int, file: str,
                         consortia: Collection[str] | None = None) -> tuple[dict[str, Balances], list[Problem]]:
    """The balances ``year`` opens with from the rows of last year's ``surplus.csv`` (``consortium_id``,
    ``account``, ``kind``, ``amount`` in fen, ``period``; row i is line i + 2 of ``file``), and the problems: a
    consortium not in ``consortia`` (None: not checked), a period of another year than ``year - 1``, an amount that
    carries over with the wrong sign, a risk reserve that would open negative. Balances only when no problem."""
    last = str(year - 1)
    problems: list[Problem] = []
    entries: list[SurplusEntry] = []
    last_reserve_row: dict[str, int] = {}
    for i, r in enumerate(rows):
        n = i + 2
        c, account, kind, period = (str(r.get(k) or "") for k in ("consortium_id", "account", "kind", "period"))
        problems += _known(c, consortia, file, n)
        if period != last and not period.startswith(last + "-Q"):
            problems.append(Problem(file, n, "period", (
                f"'{period}' is not {last}: the opening of {year} is the surplus of {last}, the year before / "
                f"{year}年的期初余额应取自上一年度（{last}年）的结余台账")))
        amount = r.get("amount")
        if not isinstance(amount, int):
            continue  # the file's own check names an empty or bad amount
        sign = CARRIED_OVER.get((account, kind), 0)
        if sign * amount < 0:
            word = "below 0 / 不能为负" if sign > 0 else "above 0 (booked negative) / 应为负数"
            problems.append(Problem(file, n, "amount", f"{account} {kind} {format_yuan(amount)} is {word}"))
        if account == "reserve":
            last_reserve_row[c] = n
        entries.append(SurplusEntry(c, account, kind, amount, period))
    if problems:
        return {}, problems
    reserve = {c: sum(e.amount for e in entries if e.consortium_id == c and e.account == "reserve")
               for c in last_reserve_row}
    for c, bal in reserve.items():
        if bal < 0:
            problems.append(Problem(file, last_reserve_row[c], "amount", (
                f"the risk reserve of {c} would open at {format_yuan(bal)}: more drawn than held / "
                f"风险基金余额为负（支取多于结存）")))
    return ({}, problems) if problems else (closing_from_entries(entries), [])


def opening_from_rows(rows: Sequence[Mapping[str, object]], *, year: int, file: str,
                      consortia: Collection[str] | None = None) -> tuple[dict[str, Balances], list[Problem]]:
    """The balances ``year`` opens with from the rows of an ``opening`` table (``consortium_id``, ``year`` or None,
    ``carried_in`` and ``risk_reserve`` in fen; row i is line i + 2 of ``file``), and the problems: a consortium not
    in ``consortia``, a row of another year, a negative balance. Balances only when no problem."""
    problems: list[Problem] = []
    out: dict[str, Balances] = {}
    for i, r in enumerate(rows):
        n = i + 2
        c = str(r.get("consortium_id") or "")
        problems += _known(c, consortia, file, n)
        y = r.get("year")
        if y is not None and y != year:
            problems.append(Problem(file, n, "year", (
                f"{y} is not {year}: these balances open another year / 期初余额不属于{year}年")))
        values = {k: r.get(k) for k in ("carried_in", "risk_reserve")}
        for k, v in values.items():
            if isinstance(v, int) and v < 0:
                problems.append(Problem(file, n, k, f"{format_yuan(v)} is below 0 / 不能为负"))
        carried, reserve = values["carried_in"], values["risk_reserve"]
        if isinstance(carried, int) and isinstance(reserve, int) and (carried or reserve):
            out[c] = Balances(reserve=reserve, carried=carried)
    return ({}, problems) if problems else (dict(sorted(out.items())), [])
