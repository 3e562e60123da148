"""Use case: calibrate the capitation weights (人头权重测算) from a year of adjudicated claims.

Age weight = mean fund payment per insured person in the band / overall mean (rules.md C1); with risk classes
configured, a class's multiplier = its members' fund payments / what the new age weights predict for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import tomli_w

from yigongti.budget import engine as q
from yigongti.budget.capitation import BandCost, calibrate_risk, calibrate_weights
from yigongti.budget.service import settlement_inputs
from yigongti.core.engine import connect, register_arrow, to_arrow
from yigongti.core.money import format_yuan
from yigongti.core.policy import Policy
from yigongti.core.policy_files import folder_policy
from yigongti.datafolder.folder import DataFolder, read_folder

__all__ = ["Calibration", "calibrate_data", "calibration_toml", "cost_by_age_png"]


@dataclass(frozen=True)
class Calibration:
    """Derived weights and the figures behind them: (age, persons, fund paid fen) per single year of age."""

    year: int
    bands: list[BandCost]
    risk_weights: dict[str, Decimal]
    by_age: list[tuple[int, int, int]]


def calibrate_data(data: DataFolder | Path | str, year: int, policy: Policy | None = None, *,
                   backend: str = "duckdb") -> Calibration:
    """Weights from the folder's claims of ``year`` (adjudicating them first when no adjudicated table is there)."""
    if not isinstance(data, DataFolder):
        data = read_folder(Path(data))
    policy = policy or folder_policy(data.path)
    cap = policy.capitation
    _, adjudicated = settlement_inputs(data, year, policy)
    con = connect(backend)
    try:
        t_adj = register_arrow(con, adjudicated)
        t_per = register_arrow(con, data["persons"].select(["person_id", "birth_date"]))
        claims = data.get("claims")
        classes = dict(sorted(cap.risk_diagnoses.items()))
        risk = None
        if classes and claims is not None:
            t_claims = register_arrow(con, claims.select(["person_id", "admit_date", "diagnosis"]))
            risk = q.risk_flags(t_claims, classes, year=year - 1)
        rows = to_arrow(q.cost_by_age(t_adj, t_per, year=year, risk=risk)).to_pylist()
    finally:
        if con.name != "pyspark":
            con.disconnect()
    by_age: dict[int, list[int]] = {}
    for r in rows:
        acc = by_age.setdefault(int(r["age"]), [0, 0])
        acc[0] += int(r["persons"])
        acc[1] += int(r["fund_paid"])
    ages = [(a, n, fen) for a, (n, fen) in sorted(by_age.items())]
    bands = calibrate_weights(cap, ages)
    names = sorted(classes)
    risk_rows = [(int(r["age"]), tuple(n for i, n in enumerate(names) if r.get(f"risk_{i}")), int(r["persons"]),
                  int(r["fund_paid"])) for r in rows]
    risk_weights = calibrate_risk(cap, bands, risk_rows) if names else {}
    return Calibration(year, bands, risk_weights, ages)


def calibration_toml(c: Calibration) -> str:
    """A policy fragment: ``[capitation] age_bands`` (and ``risk_weights``), with the figures as comments."""
    lines = [f"# yigongti calibrate --year {c.year}: weight = mean fund payment per person in the band / overall mean",
             "# 权重 = 该年龄组人均基金支付 / 全体人均基金支付", "#"]
    for b in c.bands:
        lines.append(f"# age {b.min_age}+: {b.persons} persons, fund paid {format_yuan(b.fund_paid)} yuan")
    doc: dict[str, object] = {"age_bands": [{"min_age": b.min_age, "weight": f"{b.weight}"} for b in c.bands]}
    if c.risk_weights:
        doc["risk_weights"] = {k: f"{v}" for k, v in c.risk_weights.items()}
    return "\n".join(lines) + "\n" + tomli_w.dumps({"capitation": doc})


def cost_by_age_png(c: Calibration) -> bytes:
    """Chart: mean fund payment per person by single year of age, and the band weights (x overall mean)."""
    from yigongti.core.reports import chart_png, chart_text

    total_n = sum(b.persons for b in c.bands)
    overall = sum(b.fund_paid for b in c.bands) / total_n / 100 if total_n else 0.0

    def draw(ax: Any) -> None:
        ages = [a for a, n, _ in c.by_age if n]
        means = [fen / n / 100 for _, n, fen in c.by_age if n]
        ax.bar(ages, means, width=0.9, color="#8fb8de",
               label=chart_text("人均基金支付", "mean fund payment per person"))
        edges = [b.min_age for b in c.bands] + [max([*ages, c.bands[-1].min_age]) + 1]
        for b, lo, hi in zip(c.bands, edges, edges[1:], strict=False):
            ax.hlines(float(b.weight) * overall, lo, hi, colors="#c62828")
        ax.set_xlabel(chart_text("1月1日年龄", "age on Jan 1"))
        ax.set_ylabel(chart_text("元", "yuan"))
        ax.set_title(chart_text(f"{c.year}年分年龄费用（红线：年龄组权重×总体均值）",
                                f"Cost by age, {c.year} (red: band weight x overall mean)"))
        ax.legend(fontsize=8)

    return chart_png(draw)
