"""Use case: the surplus over the years (结余留用、风险基金) of a settlement, as ledger entries beside the settlement's.

:func:`surplus_of` applies ``budget.reserve`` to every consortium of a :class:`SettlementResult` (the running balance
at each quarter's end from its prepayments and monthly spending), opening with the balances the year before left
(none given: 0); :func:`surplus_table` is the ``surplus`` contract table (``surplus.csv``) and
:func:`reserve_balances` the risk reserve's balance by consortium (the dashboard's figure).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from yigongti.budget.reserve import Balances, SurplusOutcome, SurplusYear, surplus_year
from yigongti.budget.service import SettlementResult
from yigongti.core.policy import SurplusPolicy
from yigongti.datafolder.folder import write_table

__all__ = ["quarter_balances", "reserve_balances", "surplus_of", "surplus_table", "write_surplus"]


def quarter_balances(result: SettlementResult, consortium_id: str) -> tuple[int, ...]:
    """The running balance (prepaid - spent in and out of the network) at the end of March, June and September."""
    s = next(c for c in result.consortia if c.consortium_id == consortium_id)
    spent: dict[int, int] = {}
    for r in result.by_month.to_pylist():
        if r["consortium_id"] == consortium_id:
            spent[int(r["month"])] = int(r["in_network"] or 0) + int(r["out_of_network"] or 0)
    out = []
    for q in (1, 2, 3):
        months = range(1, 3 * q + 1)
        out.append(sum(s.budget.prepayments[m - 1] for m in months if m <= len(s.budget.prepayments))
                   - sum(spent.get(m, 0) for m in months))
    return tuple(out)


def surplus_of(result: SettlementResult, policy: SurplusPolicy,
               opening: Mapping[str, Balances] | None = None) -> list[SurplusOutcome]:
    """The surplus outcome of every consortium of the settled year, in consortium order."""
    out = []
    for s in sorted(result.consortia, key=lambda c: c.consortium_id):
        y = SurplusYear(s.consortium_id, result.year, s.retained_surplus, s.consortium_overspend,
                        quarter_balances(result, s.consortium_id))
        out.append(surplus_year(policy, y, (opening or {}).get(s.consortium_id, Balances())))
    return out


def reserve_balances(outcomes: list[SurplusOutcome]) -> dict[str, int]:
    """The risk reserve's balance by consortium after the year (fen)."""
    return {o.consortium_id: o.closing.reserve for o in outcomes}


def surplus_table(outcomes: list[SurplusOutcome]) -> pa.Table:
    """The ``surplus`` contract table: entry ids 1, 2, ... in booking order, money in fen."""
    rows = [e for o in outcomes for e in o.entries]
    return pa.table({
        "entry_id": pa.array(range(1, len(rows) + 1), pa.int64()),
        "consortium_id": pa.array([e.consortium_id for e in rows], pa.string()),
        "account": pa.array([e.account for e in rows], pa.string()),
        "kind": pa.array([e.kind for e in rows], pa.string()),
        "amount": pa.array([e.amount for e in rows], pa.int64()),
        "period": pa.array([e.period for e in rows], pa.string()),
        "form": pa.array([e.form for e in rows], pa.string()),
    })


def write_surplus(outcomes: list[SurplusOutcome], out: Path | str) -> Path:
    """Write ``surplus.csv`` into ``out``."""
    return write_table(surplus_table(outcomes), out, "surplus")
