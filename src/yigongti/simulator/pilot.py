"""Use case: generate a pilot design's counties (试点县生成) with the demo generator, one data folder per county.

A design (``domain.load_pilot_design``; the shipped one is ``pilots/pilot-4x3.toml``: four regions x three income
levels, seed 000 §3.4) gives each county multipliers of the demo's calibration (cost per claim, visits, admissions,
care outside the county), its insurance mix and its fund income per enrollee. Each county is written as the demo
county is (claims, designations, the appraisal inputs), with a ``policy.toml`` whose pool is its income, and a
summary table ``design.csv`` lists the counties with their parameters and observed figures.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from yigongti.core.money import format_yuan
from yigongti.core.problems import read_text_file
from yigongti.demo import Calibration, DemoSummary, generate_demo
from yigongti.demo.appraisal import write_appraisal_tables
from yigongti.demo.calibration import DEFAULT_CALIBRATION
from yigongti.demo.policy import write_demo_policy
from yigongti.simulator.domain import PilotCounty, PilotDesign, load_pilot_design

__all__ = ["DESIGN_COLUMNS", "PILOT_4X3", "calibration_for", "read_pilot_design", "write_pilot"]

PILOT_4X3 = Path(__file__).parent / "pilots" / "pilot-4x3.toml"
"""The shipped design: east, centre, west and north-east, each with a high, middle and low income county."""

DESIGN_COLUMNS = ("county", "region", "income", "persons", "seed", "resident_per_enrollee",
                  "employee_per_enrollee", "cost_scale", "visits_scale", "admissions_scale", "outside_scale",
                  "employee_share", "urban_share", "visits_per_person", "admissions_per_100", "primary_visit_share",
                  "in_county_admission_share")


def read_pilot_design(path: Path) -> PilotDesign:
    """A pilot design file (raises InvalidInput naming the file and key)."""
    return load_pilot_design(read_text_file(path), source=str(path))


def _scaled_tiers(table: tuple[tuple[float, ...], ...], outside: float) -> tuple[tuple[float, ...], ...]:
    """Tier probabilities (village, township, county, outside) with the outside one scaled; the generator
    renormalises each row."""
    return tuple((*row[:3], row[3] * outside) for row in table)


def calibration_for(c: PilotCounty, base: Calibration = DEFAULT_CALIBRATION) -> Calibration:
    """The demo calibration of one pilot county: costs, volumes and care outside scaled, its insurance mix."""
    return dataclasses.replace(
        base,
        visits_per_year=base.visits_per_year * c.visits_scale,
        admissions_per_year=base.admissions_per_year * c.admissions_scale,
        outpatient_tiers=_scaled_tiers(base.outpatient_tiers, c.outside_scale),
        inpatient_tiers=_scaled_tiers(base.inpatient_tiers, c.outside_scale),
        outpatient_cost=tuple((k, m * c.cost_scale, s) for k, m, s in base.outpatient_cost),
        inpatient_cost=tuple((k, m * c.cost_scale, s) for k, m, s in base.inpatient_cost),
        employee_share=c.employee_share, urban_share=c.urban_share)


def write_pilot(design: PilotDesign, out: Path, *, persons: int | None = None) -> list[DemoSummary]:
    """Write every county of ``design`` under ``out`` (``out/NAME``) and ``out/design.csv``; ``persons``
    overrides each county's size (tests, quick looks)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summaries = []
    rows = []
    for c in design.counties:
        folder = out / c.name
        s = generate_demo(folder, persons=persons or c.persons, seed=c.seed, year=design.year, fmt="csv",
                          calibration=calibration_for(c))
        write_appraisal_tables(folder, seed=c.seed, year=design.year)
        write_demo_policy(folder, resident_per_enrollee=c.resident_per_enrollee,
                          employee_per_enrollee=c.employee_per_enrollee,
                          heading=f"# 试点县 {c.name}（{c.region} / {c.income}）：资金池按人均筹资计算，其余为默认值\n"
                                  f"# Pilot county {c.name}: the pool from per-enrollee income; every other key "
                                  "keeps its default.\n")
        summaries.append(s)
        rows.append([c.name, c.region, c.income, s.persons, c.seed, format_yuan(c.resident_per_enrollee),
                     format_yuan(c.employee_per_enrollee), c.cost_scale, c.visits_scale, c.admissions_scale,
                     c.outside_scale, c.employee_share, c.urban_share, f"{s.visits_per_person:.3f}",
                     f"{s.admissions_per_100:.2f}", f"{s.primary_visit_share:.4f}",
                     f"{s.county_admission_share:.4f}"])
    with (out / "design.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(DESIGN_COLUMNS)
        w.writerows(rows)
    return summaries
