"""The internal package (医共体内部包干) and the members' monthly statements, docs/en/settlement.md "The package".

Pure arithmetic over int fen. At the start of the year a consortium's prospective budget B is allocated to its
members (seed 000 三(三)1 「根据其工作职责及绩效考核情况，合理确定包干费用的分配比例」; Suixi's health management
units run their share) by the policy's ``[package.mix]``: B is first cut into the parts ``duty``, ``history`` and
``heads`` (largest remainder; a part without any basis, e.g. no costs last year, gives its share to the others),
then each part over the members (``[package.mix]``):

- ``duty`` (职责): the tiers' ``settlement.tier_shares``, within a tier by the member's duty basis
  (:func:`~yigongti.budget.domain.split_basis`: a county-tier member its duty weight by kind, another its heads);
- ``history`` (近年统计): the member's share of last year's medical costs (claims' ``total_cost``) at it;
- ``heads`` (定点人头): the persons designated to it (a township or village institution).

The public-health institutions (``public_health_kinds``) take no part of B: they are paid from the public-health
account only, which is allocated beside it by the public-health duties alone (every score alike: the appraisal of
the year is not known yet; the year-end split by the appraisal replaces it).

A member's statement (对账单) charges it month by month: its allocation in twelve equal instalments (the remainder
fen to the first months), against the consortium's charged spending (rules.md D1) at it: an in-network claim is
charged to the institution that provided it, an out-of-network deduction to the institution the person is
designated to (the village institution, else the township one), so the members' charges sum to I_c + D_c and
their balances to the consortium's balance B - I_c - D_c.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import NamedTuple

from yigongti.budget.domain import Member, by_groups, public_health_split, split_basis
from yigongti.core.money import largest_remainder
from yigongti.core.policy import Policy

__all__ = ["MONTHS", "PackageLine", "StatementRow", "closing_balances", "member_statements", "monthly_instalments",
           "package_lines"]

MONTHS = 12


@dataclass(frozen=True)
class PackageLine:
    """One member's package for the year (fen): its parts by duty, history and heads, and its public-health
    allocation (a separate account, never part of ``allocation``)."""

    consortium_id: str
    inst_id: str
    tier: str
    kind: str
    heads: int
    duty_weight: Decimal
    last_year_costs: int
    duty: int
    history: int
    by_heads: int
    public_health: int

    @property
    def allocation(self) -> int:
        return self.duty + self.history + self.by_heads


class StatementRow(NamedTuple):
    """A member's statement for one month (fen): the month's instalment and charge, and the running figures.

    A named tuple, not a frozen dataclass: a province has 12 rows for each of its 12,000 members, and building a
    frozen dataclass costs twice as much (about 0.1 CPU s of a settlement's rows); it is as immutable, and rows of the
    same figures are equal."""

    consortium_id: str
    inst_id: str
    month: int
    allocated: int
    charged: int
    allocated_to_date: int
    charged_to_date: int

    @property
    def balance(self) -> int:
        return self.allocated_to_date - self.charged_to_date


def package_lines(policy: Policy, *, consortium_id: str, prospective: int, public_health: int,
                  members: Sequence[Member], last_year_costs: Mapping[str, int]) -> list[PackageLine]:
    """The package of one consortium: a line per member in inst_id order. The allocations sum exactly to
    ``prospective`` and the public-health parts to ``public_health``. Raises ValueError when there is money and no
    member to take it."""
    sp, pk = policy.settlement, policy.package
    ordered = sorted(members, key=lambda m: m.inst_id)
    sharing = [m for m in ordered if m.kind not in sp.public_health_kinds]
    if prospective and not sharing:
        raise ValueError(f"consortium {consortium_id} has no member to allocate its package of {prospective} fen to")
    costs = [max(last_year_costs.get(m.inst_id, 0), 0) for m in sharing]
    heads = [m.heads for m in sharing]
    live = [pk.part("duty"), pk.part("history") if sum(costs) else 0, pk.part("heads") if sum(heads) else 0]
    if not any(live):
        live = [1, 0, 0]  # no basis but duty: all of it by duty
    duty_total, history_total, heads_total = largest_remainder(prospective, live) if sharing else (0, 0, 0)
    duty = by_groups(duty_total, [(share, [m for m in sharing if m.tier == t]) for t, share in sp.tier_shares.items()],
                     lambda m: split_basis(sp, m)) if sharing else {}
    history = dict(zip((m.inst_id for m in sharing), largest_remainder(history_total, costs), strict=True))
    by_heads = dict(zip((m.inst_id for m in sharing), largest_remainder(heads_total, heads), strict=True))
    ph = public_health_split(sp, consortium_id=consortium_id, amount=public_health,
                             members=[replace(m, score=Decimal(100)) for m in ordered])
    return [PackageLine(consortium_id, m.inst_id, m.tier, m.kind, m.heads, split_basis(sp, m),
                        last_year_costs.get(m.inst_id, 0), duty.get(m.inst_id, 0), history.get(m.inst_id, 0),
                        by_heads.get(m.inst_id, 0), ph[m.inst_id]) for m in ordered]


def monthly_instalments(total: int) -> list[int]:
    """``total`` fen in twelve equal monthly instalments, the fen left over one each to the first months:
    ``largest_remainder(total, [1] * 12)`` without its general weights (a province has 12,000 members); a negative
    total as its absolute value, negated."""
    if total < 0:
        return [-p for p in monthly_instalments(-total)]
    q, r = divmod(total, MONTHS)
    return [q + 1] * r + [q] * (MONTHS - r)


def member_statements(lines: Sequence[PackageLine],
                      charges: Mapping[tuple[str, str], Mapping[int, int]]) -> list[StatementRow]:
    """Every member's statement, month 1..12, in (consortium, inst_id) order: the package lines' allocations in twelve
    instalments against ``charges`` ((consortium_id, inst_id) -> month -> fen). An institution charged without a
    package line (not a member of the split) gets a statement with no allocation, so nothing charged is lost."""
    alloc = {(ln.consortium_id, ln.inst_id): ln.allocation for ln in lines}
    out: list[StatementRow] = []
    add = out.append
    no_charges: Mapping[int, int] = {}
    for key in sorted(set(alloc) | {k for k, v in charges.items() if any(v.values())}):
        consortium_id, inst_id = key
        by_month = charges.get(key) or no_charges
        a_sum = c_sum = 0
        for month, a in enumerate(monthly_instalments(alloc.get(key, 0)), start=1):
            c = by_month.get(month, 0)
            a_sum += a
            c_sum += c
            add(StatementRow(consortium_id, inst_id, month, a, c, a_sum, c_sum))
    return out


def closing_balances(rows: Sequence[StatementRow]) -> dict[str, dict[str, int]]:
    """consortium_id -> inst_id -> the member's package balance at the end of the year (its last month's)."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        if r.month == MONTHS:
            out.setdefault(r.consortium_id, {})[r.inst_id] = r.balance
    return out
