"""Signed budget agreements as a data-folder table (``budget_agreements``) and as the settlement's budgets.

``settle`` reads the folder's optional ``budget_agreements`` (consortium_id, year, amount, signed_by, signed_at,
version): a consortium with a row for the year is settled on the signed amount as its gross budget, the others on
the formula; the settlement says which (``budget_source``). The platform hands its signed agreements in the same
table (:func:`agreements_table`), so both paths settle one way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from yigongti.budget.agreement import FORMULA_SOURCE, SignedAgreement, agreed_budget
from yigongti.budget.capitation import Budget
from yigongti.core.policy import CapitationPolicy
from yigongti.datafolder.folder import DataFolder

__all__ = ["agreed_budgets", "agreements_table", "signed_from_table", "with_agreements", "with_budget_source"]


def signed_from_table(table: pa.Table | None, year: int) -> dict[str, SignedAgreement]:
    """The signed agreements of ``year`` in a typed ``budget_agreements`` table (None: none)."""
    if table is None or table.num_rows == 0:
        return {}
    rows = table.filter(pc.equal(table.column("year"), year)).to_pylist()
    return {r["consortium_id"]: SignedAgreement(r["consortium_id"], int(r["year"]), int(r["amount"]),
                                                int(r["version"]), r["signed_by"] or "", r["signed_at"])
            for r in rows}


def agreed_budgets(policy: CapitationPolicy, formula: Mapping[str, Budget], table: pa.Table | None,
                   year: int) -> tuple[dict[str, Budget], dict[str, str]]:
    """(the budgets the settlement uses, their source by consortium): the signed amount where there is one."""
    signed = signed_from_table(table, year)
    budgets = {c: agreed_budget(policy, b, signed[c].amount) if c in signed else b for c, b in formula.items()}
    sources = {c: signed[c].source if c in signed else FORMULA_SOURCE for c in formula}
    return budgets, sources


def agreements_table(signed: Iterable[SignedAgreement]) -> pa.Table:
    """Signed agreements as a typed ``budget_agreements`` table (money in fen)."""
    rows = sorted(signed, key=lambda s: (s.consortium_id, s.year))
    return pa.table({
        "consortium_id": pa.array([s.consortium_id for s in rows], pa.string()),
        "year": pa.array([s.year for s in rows], pa.int64()),
        "amount": pa.array([s.amount for s in rows], pa.int64()),
        "signed_by": pa.array([s.signed_by for s in rows], pa.string()),
        "signed_at": pa.array([s.signed_at for s in rows], pa.timestamp("s")),
        "version": pa.array([s.version for s in rows], pa.int64()),
    })


def with_agreements(data: DataFolder, signed: Iterable[SignedAgreement]) -> DataFolder:
    """``data`` whose ``budget_agreements`` are ``signed`` (the platform's, from its database) instead of its own."""
    return DataFolder(data.path, {**data.tables, "budget_agreements": agreements_table(signed)})


def with_budget_source(settlement: pa.Table, sources: Mapping[str, str]) -> pa.Table:
    """The settlement table with its ``budget_source`` column (formula, or the signed agreement's version, signer
    and time)."""
    ids = settlement.column("consortium_id").to_pylist()
    return settlement.append_column("budget_source", pa.array([sources.get(c, FORMULA_SOURCE) for c in ids],
                                                               pa.string()))
