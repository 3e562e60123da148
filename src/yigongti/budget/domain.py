"""Year-end settlement (结余留用、合理超支分担), rules.md D: balance, surplus or shared overspend, P4P by grade, the
internal split across tiers and institutions, and the append-only ledger (资金台账).

Pure arithmetic over int fen; the spending figures come from the engine.

The ledger has two accounts per consortium c, both of which close at exactly 0 fen:

- ``budget`` (预算账户): + monthly prepayments, - in-network spending, - out-of-network deductions (its sum so far is
  the balance); then - the retained surplus (moved to the pool) and, on overspend, + the fund's share and + c's share
  (taken from the pool);
- ``pool`` (待分配, the amount to share): + retained surplus, + P4P paid, - c's share of an overspend,
  - each institution's part of the internal split.

Rows of account ``fund`` record what goes back to the fund (unpaid P4P, a surplus not retained); they do not close.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from yigongti.budget.capitation import Budget
from yigongti.core.money import apply_rate_bp, largest_remainder
from yigongti.core.policy import SettlementPolicy

__all__ = [
    "ACCOUNTS_THAT_CLOSE",
    "Allocation",
    "ConsortiumSettlement",
    "LedgerEntry",
    "Member",
    "Spending",
    "consortium_ledger",
    "inputs_hash",
    "internal_split",
    "number_ledger",
    "overspend_shares",
    "settle_consortium",
]

ACCOUNTS_THAT_CLOSE = ("budget", "pool")


@dataclass(frozen=True)
class Spending:
    """Charged spending of a consortium by month (1..12): I_c in-network, D_c out-of-network deductions, in fen."""

    in_network: Mapping[int, int] = field(default_factory=dict)
    out_of_network: Mapping[int, int] = field(default_factory=dict)

    @property
    def total_in(self) -> int:
        return sum(self.in_network.values())

    @property
    def total_out(self) -> int:
        return sum(self.out_of_network.values())


@dataclass(frozen=True)
class ConsortiumSettlement:
    """One row of ``settlement`` (amounts in fen; every amount but ``balance`` and ``amount_to_share`` >= 0)."""

    consortium_id: str
    enrollees: int
    budget: Budget
    in_network_spend: int
    out_of_network_deductions: int
    balance: int
    retained_surplus: int
    surplus_returned: int
    fund_overspend_share: int
    consortium_overspend: int
    score: Decimal | None
    grade: str
    p4p_paid: int
    p4p_returned: int

    @property
    def amount_to_share(self) -> int:
        """Retained surplus + P4P paid - the overspend c bears (negative: a charge the members share, 风险共担)."""
        return self.retained_surplus + self.p4p_paid - self.consortium_overspend


@dataclass(frozen=True)
class Member:
    """A member institution taking part in the internal split: its head count (designated persons; for the
    county tier all the consortium's enrollees) and appraisal score (None: missing)."""

    inst_id: str
    tier: str
    kind: str
    heads: int
    score: Decimal | None = None


@dataclass(frozen=True)
class Allocation:
    """One institution's part of the amount to share (fen; negative when it shares a charge)."""

    consortium_id: str
    inst_id: str
    tier: str
    amount: int


@dataclass(frozen=True)
class LedgerEntry:
    """A movement of money; ``amount`` is signed as seen by ``account`` (+ in, - out)."""

    consortium_id: str
    inst_id: str | None
    account: str
    kind: str
    amount: int
    month: str | None = None
    entry_id: int = 0


def overspend_shares(policy: SettlementPolicy, *, balance: int, prospective: int) -> tuple[int, int]:
    """(fund's share, consortium's share) of an overspend (balance < 0): the fund bears the in-band rate of the part
    up to the band (a share of B, half-up to the fen) and the beyond rate of the rest. (0, 0) when balance >= 0."""
    if balance >= 0:
        return 0, 0
    over = -balance
    band = apply_rate_bp(max(prospective, 0), policy.overspend_band)
    in_band = min(over, band)
    fund = apply_rate_bp(in_band, policy.overspend_fund_share_in_band) + apply_rate_bp(
        over - in_band, policy.overspend_fund_share_beyond)
    return fund, over - fund


def settle_consortium(policy: SettlementPolicy, *, consortium_id: str, enrollees: int, budget: Budget,
                      spending: Spending, score: Decimal | None) -> ConsortiumSettlement:
    """Balance, surplus retained or overspend shared, grade and P4P paid for one consortium."""
    i_c, d_c = spending.total_in, spending.total_out
    balance = budget.prospective - i_c - d_c
    retained = apply_rate_bp(balance, policy.surplus_retained) if balance > 0 else 0
    fund_share, own_share = overspend_shares(policy, balance=balance, prospective=budget.prospective)
    grade, share_bp = policy.grade(score)
    paid = apply_rate_bp(budget.reserve, share_bp)
    return ConsortiumSettlement(
        consortium_id=consortium_id, enrollees=enrollees, budget=budget, in_network_spend=i_c,
        out_of_network_deductions=d_c, balance=balance, retained_surplus=retained,
        surplus_returned=max(balance, 0) - retained, fund_overspend_share=fund_share, consortium_overspend=own_share,
        score=score, grade=grade, p4p_paid=paid, p4p_returned=budget.reserve - paid)


def _score(policy: SettlementPolicy, m: Member) -> Decimal:
    return policy.missing_institution_score if m.score is None else m.score


def internal_split(policy: SettlementPolicy, *, consortium_id: str, amount: int,
                   members: Sequence[Member]) -> list[Allocation]:
    """Split ``amount`` inside a consortium: the public-health institutions' share first (among them by score),
    then the tiers by their shares (a tier without members gives its share to the others in proportion), within a
    tier by head count x score. Every split is by largest remainder, members in inst_id order; one row per member."""
    ordered = sorted(members, key=lambda m: m.inst_id)
    parts = {m.inst_id: 0 for m in ordered}
    public = [m for m in ordered if m.kind in policy.public_health_kinds]
    ph_total = apply_rate_bp(amount, policy.public_health_share) if public else 0
    for m, p in zip(public, largest_remainder(ph_total, [_score(policy, m) for m in public]), strict=True):
        parts[m.inst_id] += p
    rest = amount - ph_total
    tiers = [t for t in policy.tier_shares if any(m.tier == t for m in ordered)]
    if not tiers:
        if rest != 0:
            raise ValueError(f"consortium {consortium_id} has no member in any tier to share {rest} fen with")
        return [Allocation(consortium_id, m.inst_id, m.tier, parts[m.inst_id]) for m in ordered]
    for tier, tier_total in zip(tiers, largest_remainder(rest, [policy.tier_shares[t] for t in tiers]), strict=True):
        in_tier = [m for m in ordered if m.tier == tier]
        weights = [Decimal(m.heads) * _score(policy, m) for m in in_tier]
        for m, p in zip(in_tier, largest_remainder(tier_total, weights), strict=True):
            parts[m.inst_id] += p
    return [Allocation(consortium_id, m.inst_id, m.tier, parts[m.inst_id]) for m in ordered]


def consortium_ledger(s: ConsortiumSettlement, *, year: int, spending: Spending,
                      allocations: Iterable[Allocation]) -> list[LedgerEntry]:
    """The ledger entries of one consortium's settlement, in booking order (entry ids are given by
    :func:`number_ledger`). Both accounts ``budget`` and ``pool`` close at 0."""
    c = s.consortium_id
    out: list[LedgerEntry] = []

    def add(account: str, kind: str, amount: int, *, month: int | None = None, inst: str | None = None) -> None:
        out.append(LedgerEntry(c, inst, account, kind, amount, None if month is None else f"{year}-{month:02d}"))

    for m, p in enumerate(s.budget.prepayments, start=1):
        add("budget", "prepayment", p, month=m)
    for m in sorted(spending.in_network):
        add("budget", "in_network_spend", -spending.in_network[m], month=m)
    for m in sorted(spending.out_of_network):
        add("budget", "out_of_network_deduction", -spending.out_of_network[m], month=m)
    if s.balance > 0:
        add("budget", "surplus_retained", -s.retained_surplus)
        add("pool", "surplus_retained", s.retained_surplus)
        if s.surplus_returned:
            add("budget", "surplus_returned", -s.surplus_returned)
            add("fund", "surplus_returned", s.surplus_returned)
    elif s.balance < 0:
        add("budget", "overspend_fund_share", s.fund_overspend_share)
        add("budget", "consortium_overspend", s.consortium_overspend)
        add("pool", "consortium_overspend", -s.consortium_overspend)
    add("pool", "p4p_paid", s.p4p_paid)
    add("fund", "p4p_returned", s.p4p_returned)
    for a in allocations:
        add("pool", "internal_split", -a.amount, inst=a.inst_id)
    return out


def number_ledger(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """Entry ids 1, 2, ... in the given order."""
    return [LedgerEntry(e.consortium_id, e.inst_id, e.account, e.kind, e.amount, e.month, i)
            for i, e in enumerate(entries, start=1)]


def inputs_hash(parts: Mapping[str, bytes | Iterable[bytes | memoryview]]) -> str:
    """SHA-256 (hex) over named canonical inputs, in name order: each a byte string or a stream of byte strings
    (or byte views), every piece length-prefixed so that different splits of the same bytes cannot collide."""
    h = hashlib.sha256()
    for name in sorted(parts):
        h.update(b"\x1e" + name.encode("utf-8") + b"\0")
        data = parts[name]
        for piece in ((data,) if isinstance(data, bytes) else data):
            view = memoryview(piece).cast("B")
            h.update(str(view.nbytes).encode("ascii") + b"\0")
            h.update(view)
    return h.hexdigest()
