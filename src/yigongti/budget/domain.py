"""Year-end settlement (结余留用、合理超支分担), rules.md D: balance, surplus or shared overspend, P4P by grade, the
internal split across tiers and institutions, and the append-only ledger (资金台账).

Pure arithmetic over int fen; the spending figures come from the engine.

The ledger has three accounts per consortium c, all of which close at exactly 0 fen:

- ``budget`` (预算账户): + monthly prepayments, - in-network spending, - out-of-network deductions (its sum so far is
  the balance); then - the retained surplus (moved to the pool) and, on overspend, + the fund's share and + c's share
  (taken from the pool);
- ``pool`` (待分配, the amount to share): + retained surplus, + P4P paid, - c's share of an overspend, + the
  surplus carried in from last year, - the risk reserve's part, - the part carried forward, + the reserve's cover of
  the overspend (budget.reserve),
  - each institution's part of the internal split;
- ``public_health`` (基本公共卫生专项, 专款专用): + c's part of the county's public-health money, - each institution's
  part of it. Never spent against claims.

Rows of account ``reserve`` (the risk reserve, 风险基金; only when it moves) do not close: + the balance brought in
from last year (``carried_in``), + funded, - drawn for the overspend; they sum to the balance carried into next year.

Rows of account ``fund`` record what goes back to the fund (unpaid P4P, a surplus not retained) and what the fund pays
for insured persons living away (常年外出) without a designation (consortium_id None); they do not close.

The internal split (rules.md D4): the public-health institutions (``public_health_kinds``) take no part in it: they are
paid from the public-health account only. Within a tier a member weighs its basis (its designated heads; a county-tier
member its duty weight, ``county_duty_weights``) x a score factor: the score for a surplus, ``200 - score`` for an
overspend (风险共担 with a relief by score: a member scoring 100 bears half per head of what one scoring 0 bears), so
a better score never bears more of an overspend per head, nor gets less of a surplus per head.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from yigongti.budget.capitation import Budget
from yigongti.budget.reserve import SurplusOutcome
from yigongti.core.money import apply_rate_bp, largest_remainder
from yigongti.core.policy import PUBLIC_HEALTH_GROUP, SettlementPolicy
from yigongti.registry.domain import Tier

__all__ = [
    "ACCOUNTS_THAT_CLOSE",
    "Allocation",
    "balance_split",
    "by_groups",
    "ConsortiumSettlement",
    "LedgerEntry",
    "Member",
    "Spending",
    "consortium_ledger",
    "inputs_hash",
    "internal_split",
    "lives_away_ledger",
    "member_allocations",
    "public_health_accounts",
    "public_health_split",
    "split_basis",
    "split_factor",
    "number_ledger",
    "overspend_shares",
    "settle_consortium",
    "with_surplus",
]

ACCOUNTS_THAT_CLOSE = ("budget", "pool", "public_health")
_RELIEF_BASE = Decimal(200)  # an overspend is shared by heads x (200 - score): score 100 bears half of score 0


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
    public_health: int = 0  # c's part of the county's public-health money (its own account, never spent on claims)
    # the surplus over the years (budget.reserve, surplus.csv): what of the retained surplus the members never share
    carried_in: int = 0  # last year's surplus carried forward into this year's account
    reserve_funded: int = 0  # the part of the retained surplus that funds the risk reserve (风险基金)
    carried_forward: int = 0  # the part carried forward into next year's account (留用于下一年度)
    reserve_drawn: int = 0  # the risk reserve's cover of the overspend c bears
    reserve_carried_in: int = 0  # the risk reserve's balance brought in from last year (what an overspend draws on)

    @property
    def reserve_closing(self) -> int:
        """The risk reserve's balance carried into next year: brought in + funded - drawn."""
        return self.reserve_carried_in + self.reserve_funded - self.reserve_drawn

    @property
    def amount_to_share(self) -> int:
        """What the members share (negative: a charge, 风险共担): the retained surplus + what was carried in - the
        risk reserve's part - what is carried forward (that is, the surplus distributed) + P4P paid - the part of
        the overspend c bears that the risk reserve does not cover."""
        distributed = self.retained_surplus + self.carried_in - self.reserve_funded - self.carried_forward
        return distributed + self.p4p_paid - (self.consortium_overspend - self.reserve_drawn)


@dataclass(frozen=True)
class Member:
    """A member institution taking part in the internal split: its head count (persons designated to it; 0 for a
    county-tier unit, which weighs by its duty weight instead) and appraisal score (None: missing; the service
    resolves it to the consortium's score when the policy says so)."""

    inst_id: str
    tier: str
    kind: str
    heads: int
    score: Decimal | None = None


@dataclass(frozen=True)
class Allocation:
    """One institution's part of the amount to share (fen; negative when it shares a charge), its part of the
    public-health account, the score it was weighed by and the ceiling of its performance pay (绩效工资总量, the share
    of a positive ``amount`` its grade allows)."""

    consortium_id: str
    inst_id: str
    tier: str
    amount: int
    public_health: int = 0
    score: Decimal | None = None
    performance_pay_ceiling: int = 0


@dataclass(frozen=True)
class LedgerEntry:
    """A movement of money; ``amount`` is signed as seen by ``account`` (+ in, - out)."""

    consortium_id: str | None
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


def with_surplus(s: ConsortiumSettlement, o: SurplusOutcome) -> ConsortiumSettlement:
    """``s`` with the surplus rules' outcome of its year (budget.reserve): the amount to share is what is left of
    the retained surplus after the risk reserve and the carry-forward (the surplus distributed), never all of it."""
    if o.consortium_id != s.consortium_id:
        raise ValueError(f"surplus outcome of {o.consortium_id} applied to {s.consortium_id}")
    return replace(s, carried_in=o.opening.carried, reserve_funded=o.reserve_funded, carried_forward=o.carried_out,
                   reserve_drawn=o.reserve_drawn, reserve_carried_in=o.opening.reserve)


def _score(policy: SettlementPolicy, m: Member) -> Decimal:
    return policy.missing_institution_score if m.score is None else m.score


def split_basis(policy: SettlementPolicy, m: Member) -> Decimal:
    """What a member weighs in its tier before its score: its designated heads; a county-tier member (which has no
    designated persons) its duty weight by kind (``county_duty_weights``, 1 when not configured)."""
    if m.tier == Tier.COUNTY:
        return policy.county_duty_weights.get(m.kind, Decimal(1))
    return Decimal(m.heads)


def split_factor(policy: SettlementPolicy, m: Member, *, overspend: bool) -> Decimal:
    """The score factor of a member's weight: its score when sharing money, ``200 - score`` when sharing a charge."""
    s = _score(policy, m)
    return _RELIEF_BASE - s if overspend else s


def by_groups(total: int, groups: Sequence[tuple[int, Sequence[Member]]],
               weight: Callable[[Member], Decimal]) -> dict[str, int]:
    """``total`` over groups by their shares (a group without members gives its share to the others in proportion),
    within a group by ``weight``; largest remainder throughout."""
    live = [(share, ms) for share, ms in groups if ms]
    out: dict[str, int] = {}
    if not live:
        if total != 0:
            raise ValueError(f"no member to share {total} fen with")
        return out
    shares = [share for share, _ in live]
    if sum(shares) == 0:
        shares = [1] * len(live)
    for (_, ms), part in zip(live, largest_remainder(total, shares), strict=True):
        for m, p in zip(ms, largest_remainder(part, [weight(m) for m in ms]), strict=True):
            out[m.inst_id] = out.get(m.inst_id, 0) + p
    return out


def internal_split(policy: SettlementPolicy, *, consortium_id: str, amount: int,
                   members: Sequence[Member]) -> list[Allocation]:
    """Split ``amount`` inside a consortium (rules.md D4): by the tiers' shares (a tier without members gives its share
    to the others in proportion), within a tier by :func:`split_basis` x :func:`split_factor`. The public-health
    institutions take no part (they are paid from the public-health account). Largest remainder, members in inst_id
    order; one row per member (0 for a public-health institution)."""
    ordered = sorted(members, key=lambda m: m.inst_id)
    sharing = [m for m in ordered if m.kind not in policy.public_health_kinds]
    overspend = amount < 0
    groups = [(share, [m for m in sharing if m.tier == t]) for t, share in policy.tier_shares.items()]
    if amount != 0 and not any(ms for _, ms in groups):
        raise ValueError(f"consortium {consortium_id} has no member in any tier to share {amount} fen with")
    parts = by_groups(amount, groups,
                       lambda m: split_basis(policy, m) * split_factor(policy, m, overspend=overspend))
    return [Allocation(consortium_id, m.inst_id, m.tier, parts.get(m.inst_id, 0), score=_score(policy, m))
            for m in ordered]


def public_health_split(policy: SettlementPolicy, *, consortium_id: str, amount: int,
                        members: Sequence[Member]) -> dict[str, int]:
    """A consortium's public-health account (>= 0) over its members by their public-health duties and appraisal
    (rules.md D6): the groups of ``public_health_shares`` (the public-health institutions, then the tiers; a group
    without members gives its share to the others), within a group by :func:`split_basis` x score. Largest
    remainder; every member's part, 0 included."""
    if amount < 0:
        raise ValueError(f"consortium {consortium_id}: a public-health account cannot be negative ({amount} fen)")
    ordered = sorted(members, key=lambda m: m.inst_id)
    public = [m for m in ordered if m.kind in policy.public_health_kinds]
    others = [m for m in ordered if m.kind not in policy.public_health_kinds]
    groups = [(share, public if g == PUBLIC_HEALTH_GROUP else [m for m in others if m.tier == g])
              for g, share in policy.public_health_shares.items()]
    if amount and not any(ms for _, ms in groups):
        raise ValueError(f"consortium {consortium_id} has no member to allocate {amount} fen of public health to")
    parts = by_groups(amount, groups, lambda m: (
        (Decimal(1) if m.kind in policy.public_health_kinds else split_basis(policy, m)) * _score(policy, m)))
    return {m.inst_id: parts.get(m.inst_id, 0) for m in ordered}


def balance_split(policy: SettlementPolicy, *, consortium_id: str, amount: int, members: Sequence[Member],
                  balances: Mapping[str, int], balance_share: int) -> list[Allocation]:
    """The year-end split when the members' package balances take part (包干结余, budget.package): of a positive
    ``amount``, ``balance_share`` (bp, half-up) goes to the members (not the public-health institutions) whose
    package balance is positive, by balance x score; the rest by :func:`internal_split`. An overspend (or no member
    with a positive balance) is split by :func:`internal_split` alone, so a better score never bears more of an
    overspend per head. Sums exactly to ``amount``."""
    saved = sorted((m for m in members if m.kind not in policy.public_health_kinds and balances.get(m.inst_id, 0) > 0),
                   key=lambda m: m.inst_id)
    if amount <= 0 or not balance_share or not saved:
        return internal_split(policy, consortium_id=consortium_id, amount=amount, members=members)
    by_balance = apply_rate_bp(amount, balance_share)
    extra = dict(zip((m.inst_id for m in saved), largest_remainder(
        by_balance, [Decimal(balances[m.inst_id]) * _score(policy, m) for m in saved]), strict=True))
    return [replace(a, amount=a.amount + extra.get(a.inst_id, 0)) for a in internal_split(
        policy, consortium_id=consortium_id, amount=amount - by_balance, members=members)]


def member_allocations(policy: SettlementPolicy, *, consortium_id: str, amount: int, public_health: int,
                       members: Sequence[Member], balances: Mapping[str, int] | None = None,
                       balance_share: int = 0) -> list[Allocation]:
    """Each member's part of the amount to share (:func:`balance_split`; without ``balances`` the internal split)
    and of the public-health account, its score and the ceiling of its performance pay: ``performance_pay_share`` of
    its grade x its part of the amount to share when positive (seed 002 六: the appraisal is tied to
    公共卫生服务经费补助 and 绩效工资总量核定)."""
    ph = public_health_split(policy, consortium_id=consortium_id, amount=public_health, members=members)
    out = []
    for a in balance_split(policy, consortium_id=consortium_id, amount=amount, members=members,
                           balances=balances or {}, balance_share=balance_share):
        score = a.score if a.score is not None else policy.missing_institution_score
        ceiling = apply_rate_bp(max(a.amount, 0), policy.performance_pay_share(score))
        out.append(Allocation(a.consortium_id, a.inst_id, a.tier, a.amount, ph[a.inst_id], score, ceiling))
    return out


def public_health_accounts(policy: SettlementPolicy, total: int,
                           consortia: Mapping[str, tuple[int, Decimal | None]]) -> dict[str, int]:
    """The county's public-health money (``capitation.pool_public_health``) over the consortia by designated heads
    (seed 000: 按医共体定点诊疗人头数) x appraisal score (seed 002 六: 考核结果与公共卫生服务经费补助挂钩; a consortium
    without a score counts ``missing_institution_score``). ``consortia``: id -> (enrollees, score). Largest
    remainder in id order; 0 each when ``total`` is 0."""
    ids = sorted(consortia)
    if not ids:
        if total:
            raise ValueError(f"no consortium to allocate {total} fen of public health to")
        return {}
    weights = []
    for c in ids:
        heads, score = consortia[c]
        weights.append(Decimal(heads) * (policy.missing_institution_score if score is None else score))
    return dict(zip(ids, largest_remainder(total, weights), strict=True))


def lives_away_ledger(paid_by_month: Mapping[int, int], *, year: int) -> list[LedgerEntry]:
    """The fund's payments (by month, -) for the claims of insured persons living away all year (常年外出) without a
    designation: paid by the fund, charged to no consortium (consortium_id None), reported apart."""
    return [LedgerEntry(None, None, "fund", "lives_away_claims", -paid_by_month[m], f"{year}-{m:02d}")
            for m in sorted(paid_by_month) if paid_by_month[m]]


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
    # the surplus over the years (surplus.csv has the reserve's and the carried accounts): the pool keeps only
    # what is distributed
    for kind, amount in (("carried_in", s.carried_in), ("reserve_funded", -s.reserve_funded),
                         ("carried_forward", -s.carried_forward), ("reserve_drawn", s.reserve_drawn)):
        if amount:
            add("pool", kind, amount)
    # the risk reserve (风险基金): the balance brought in, + funded, - drawn; it sums to the balance carried over
    for kind, amount in (("carried_in", s.reserve_carried_in), ("reserve_funded", s.reserve_funded),
                         ("reserve_drawn", -s.reserve_drawn)):
        if amount:
            add("reserve", kind, amount)
    add("pool", "p4p_paid", s.p4p_paid)
    add("fund", "p4p_returned", s.p4p_returned)
    allocations = list(allocations)
    for a in allocations:
        add("pool", "internal_split", -a.amount, inst=a.inst_id)
    add("public_health", "public_health_allocated", s.public_health)
    for a in allocations:
        if a.public_health:
            add("public_health", "public_health_split", -a.public_health, inst=a.inst_id)
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
