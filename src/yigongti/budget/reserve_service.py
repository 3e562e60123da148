"""Use case: the surplus over the years (结余留用、风险基金) of a settlement, as ledger entries beside the settlement's.

:func:`surplus_of` applies ``budget.reserve`` to every consortium of a :class:`SettlementResult` (the running balance
at each quarter's end from its prepayments and monthly spending), opening with the balances the year before left
(none given: 0); :func:`surplus_table` is the ``surplus`` contract table (``surplus.csv``) and
:func:`reserve_balances` the risk reserve's balance by consortium (the dashboard's figure).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from yigongti.budget.reserve import Balances, SurplusOutcome, SurplusYear, surplus_year
from yigongti.budget.reserve import quarter_balances as _quarter_balances
from yigongti.budget.service import SettlementResult, spent_by_month, surplus_table
from yigongti.core.policy import SurplusPolicy
from yigongti.datafolder.folder import write_table

__all__ = ["quarter_balances", "reserve_balances", "surplus_of", "surplus_table", "write_surplus"]


def quarter_balances(result: SettlementResult, consortium_id: str) -> tuple[int, ...]:
    """The running balance (prepaid - spent in and out of the network) at the end of March, June and September."""
    s = next(c for c in result.consortia if c.consortium_id == consortium_id)
    return _quarter_balances(s.budget.prepayments, spent_by_month(result.by_month, consortium_id))


def surplus_of(result: SettlementResult, policy: SurplusPolicy,
               opening: Mapping[str, Balances] | None = None) -> list[SurplusOutcome]:
    """The surplus outcome of every consortium of the settled year, in consortium order (``opening`` by default the
    balances the settlement opened with; with the settlement's own surplus policy, ``result.surplus``)."""
    opening = result.surplus_opening if opening is None else opening
    out = []
    for s in sorted(result.consortia, key=lambda c: c.consortium_id):
        y = SurplusYear(s.consortium_id, result.year, s.retained_surplus, s.consortium_overspend,
                        quarter_balances(result, s.consortium_id))
        out.append(surplus_year(policy, y, opening.get(s.consortium_id, Balances())))
    return out


def reserve_balances(outcomes: list[SurplusOutcome]) -> dict[str, int]:
    """The risk reserve's balance by consortium after the year (fen)."""
    return {o.consortium_id: o.closing.reserve for o in outcomes}


def write_surplus(outcomes: list[SurplusOutcome], out: Path | str) -> Path:
    """Write ``surplus.csv`` into ``out``."""
    return write_table(surplus_table(outcomes), out, "surplus")
