"""The pilot simulator on a small demo county (1,500 persons, 2 years, 2 replicates) run once for the module:
the output files, reproducibility, the validation against the observed year and the direction of change."""

from __future__ import annotations

import csv
import dataclasses
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.demo.county import write_demo_county
from yigongti.simulator import engine as g
from yigongti.simulator.domain import SimulationResult, load_pilot_design, load_scenarios
from yigongti.simulator.pilot import write_pilot
from yigongti.simulator.report import write_report
from yigongti.simulator.service import (
    CONSORTIA_COLUMNS,
    RESULTS_COLUMNS,
    county_folders,
    prepare_county,
    run_simulation,
    simulate_county,
    write_results,
)

SCENARIOS = """
[scenarios.baseline]
label = "现行政策 Current policy"

[scenarios.low_copay]
label = "基层低自付 Lower primary copay"
[scenarios.low_copay.policy.benefits]
flat_copay = "2.00"
[scenarios.low_copay.policy.benefits.designated_primary]
inpatient_deductible = "0"
inpatient_rate = "95%"
"""
SEED = 11


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sim") / "county"
    write_demo_county(folder, persons=1500, seed=5, fmt="csv")
    return folder


@pytest.fixture(scope="module")
def result(county: Path) -> SimulationResult:
    return run_simulation(county, load_scenarios(SCENARIOS), years=2, replicates=2, seed=SEED)


def _rows(result: SimulationResult, scenario: str, year: int | None = None) -> list:
    return [r for r in result.rows if r.scenario == scenario and (year is None or r.year == year)]


def test_outputs(result: SimulationResult, tmp_path: Path) -> None:
    assert len(result.rows) == 2 * 2 * 2 and {r.year for r in result.rows} == {2027, 2028}
    files = {f.name for f in write_results(result, tmp_path) + write_report(result, tmp_path)}
    assert files == {"results.csv", "consortia.csv", "observed.csv", "summary.csv", "report.html", "simulation.xlsx"}
    with (tmp_path / "results.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == RESULTS_COLUMNS and len(rows) == 8
    assert {"scenario", "replicate", "year", "fund_balance", "in_county_admission_share", "primary_visit_share",
            "out_of_pocket_share"} <= set(rows[0])
    with (tmp_path / "consortia.csv").open(encoding="utf-8") as fh:
        cons = list(csv.DictReader(fh))
    assert tuple(cons[0]) == CONSORTIA_COLUMNS and len(cons) == 8 * 2  # two consortia
    for r in result.rows:  # heads: every person designated, in one of the two consortia
        heads = [c.heads for c in result.consortia if (c.scenario, c.replicate, c.year) == (r.scenario,
                                                                                             r.replicate, r.year)]
        assert sum(heads) == r.persons
        moved_in = sum(c.heads_in for c in result.consortia
                       if (c.scenario, c.replicate, c.year) == (r.scenario, r.replicate, r.year))
        assert moved_in == r.heads_moved
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "基层低自付" in page and page.count("data:image/png;base64,") == 5
    wb = load_workbook(tmp_path / "simulation.xlsx")
    assert wb.sheetnames[:3] == ["summary 汇总", "pilot 试点对比", "results 结果"]
    assert write_report(result, tmp_path / "again") and \
        (tmp_path / "again" / "simulation.xlsx").read_bytes() == (tmp_path / "simulation.xlsx").read_bytes()


def test_same_seed_same_numbers(result: SimulationResult, county: Path) -> None:
    setup = prepare_county(county.name, county)
    again, cons = simulate_county(setup, load_scenarios(SCENARIOS)[0], county_index=0, years=1, replicates=1,
                                  seed=SEED)
    assert again[0] == _rows(result, "baseline", 2027)[0]
    other, _ = simulate_county(setup, load_scenarios(SCENARIOS)[0], county_index=0, years=1, replicates=1,
                               seed=SEED + 1)
    assert other[0] != again[0]


def test_replicates_adjudicated_together_give_the_same_numbers(result: SimulationResult, county: Path) -> None:
    """The replicates of a year adjudicated and appraised in one run (keys prefixed, split after) give each replicate
    the numbers of its own run (scores and grades too): one at a time (batch 1), all together, and the default
    batches of run_simulation agree."""
    setup = prepare_county(county.name, county)
    scenario = load_scenarios(SCENARIOS)[1]  # the lower copay: the adjudication differs from the observed year's
    alone = simulate_county(setup, scenario, county_index=0, years=2, replicates=3, seed=SEED, batch=1)
    together = simulate_county(setup, scenario, county_index=0, years=2, replicates=3, seed=SEED, batch=3)
    assert together == alone
    assert [r.replicate for r in together[0]] == [1, 1, 2, 2, 3, 3]
    assert alone[0][:4] == _rows(result, "low_copay")
    assert len({(r.fund_balance, r.heads_moved, r.fund_paid_claims) for r in together[0]}) == 6  # replicates differ
    assert len({c.score for c in together[1]}) > 2 and all(c.score for c in together[1])


def test_processes_give_the_same_files(result: SimulationResult, county: Path, tmp_path: Path) -> None:
    """--jobs 2 (the replicates shared out to two spawned processes) writes byte for byte the files of one process."""
    two = run_simulation(county, load_scenarios(SCENARIOS), years=2, replicates=2, seed=SEED, jobs=2)
    assert two.rows == result.rows and two.consortia == result.consortia and two.observed == result.observed
    one_files, two_files = write_results(result, tmp_path / "one"), write_results(two, tmp_path / "two")
    assert [f.read_bytes() for f in one_files] == [f.read_bytes() for f in two_files]


def test_baseline_reproduces_the_observed_year(result: SimulationResult) -> None:
    """docs/en/simulator.md, Validation: at the baseline the first simulated year is the observed one within
    visits per person 5%, admissions per 100 15% (a county of 1,500), primary share 2 and in-county share 5 points."""
    obs = result.observed[0]
    first = _rows(result, "baseline", 2027)
    mean = {m: float(np.mean([r.metric(m) for r in first]))
            for m in ("visits_per_person", "admissions_per_100", "primary_visit_share", "in_county_admission_share")}
    assert mean["visits_per_person"] == pytest.approx(obs.visits_per_person, rel=0.05)
    assert mean["admissions_per_100"] == pytest.approx(obs.admissions_per_100, rel=0.15)
    assert mean["primary_visit_share"] == pytest.approx(obs.primary_visit_share, abs=0.02)
    assert mean["in_county_admission_share"] == pytest.approx(obs.in_county_admission_share, abs=0.05)


def test_lower_copay_at_designated_primary_care_raises_the_primary_share(result: SimulationResult) -> None:
    for base in _rows(result, "baseline"):
        low = next(r for r in _rows(result, "low_copay", base.year) if r.replicate == base.replicate)
        assert low.primary_visit_share > base.primary_visit_share + 0.01
        assert low.out_of_pocket_share < base.out_of_pocket_share


def test_shift_back_keeps_the_day_and_the_stay() -> None:
    claims = pa.table({"admit_date": pa.array([date(2028, 2, 29), date(2027, 12, 30)], pa.date32()),
                       "discharge_date": pa.array([date(2028, 3, 3), None], pa.date32())})
    back = g.shift_back(claims).to_pylist()
    assert [str(r["admit_date"]) for r in back] == ["2027-02-28", "2026-12-30"]
    assert str(back[0]["discharge_date"]) == "2027-03-03" and back[1]["discharge_date"] is None


def test_the_command_refuses_a_bad_scenarios_file(county: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenarios.x]\npayment = "barter"\n', encoding="utf-8")
    out = CliRunner().invoke(app, ["simulate", "--data", str(county), "--scenarios", str(bad), "--out",
                                   str(tmp_path / "out")])
    assert out.exit_code == 2
    assert "bad.toml:0:scenarios.x.payment" in out.output
    assert not (tmp_path / "out").exists()


def test_pilot_counties_carry_their_design(tmp_path: Path) -> None:
    design = load_pilot_design("""
persons = 300
[regions.west]
outside_scale = 2.0
[regions.east]
cost_scale = 1.5
[incomes.low]
resident_per_enrollee = 900
""")
    write_pilot(design, tmp_path)
    with (tmp_path / "design.csv").open(encoding="utf-8") as fh:
        rows = {r["county"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"east-low", "west-low"} and rows["east-low"]["resident_per_enrollee"] == "900.00"
    assert float(rows["west-low"]["in_county_admission_share"]) < float(rows["east-low"]["in_county_admission_share"])
    policy = (tmp_path / "east-low" / "policy.toml").read_text(encoding="utf-8")
    assert "pool_resident" in policy and (tmp_path / "west-low" / "claims.csv").is_file()
    assert (tmp_path / "east-low" / "surveys.csv").is_file()
    assert [name for name, _ in county_folders(tmp_path)] == ["west-low", "east-low"]  # the design's order


PROVIDER_RESPONSE = """
[scenarios.budget]
[scenarios.budget_keeps]
[scenarios.budget_keeps.behaviour]
repatriation = 0.4
repatriated_cost_ratio = 0.8
[scenarios.fee]
payment = "fee_for_service"
[scenarios.fee_keeps]
payment = "fee_for_service"
[scenarios.fee_keeps.behaviour]
repatriation = 0.4
"""


def test_the_global_budget_brings_admissions_back_into_the_county(county: Path) -> None:
    """The providers' response (``repatriation``): under the global budget a share of the non-emergency admissions
    outside the county is had at the consortium's lead hospital instead, so the in-county admission share rises and
    nothing else of the draw changes (the same admissions and visits); under fee for service the parameter does
    nothing (the same rows)."""
    setup = prepare_county(county.name, county)
    budget, keeps, fee, fee_keeps = load_scenarios(PROVIDER_RESPONSE)

    def rows(scenario: object, replicates: int) -> list:
        out, _ = simulate_county(setup, scenario, county_index=0, years=1, replicates=replicates,  # type: ignore[arg-type]
                                 seed=SEED)
        return out

    plain, back = rows(budget, 2), rows(keeps, 2)
    for a, b in zip(plain, back, strict=True):
        assert (a.admissions, a.visits, a.primary_visits) == (b.admissions, b.visits, b.primary_visits)
        assert b.in_county_admission_share > a.in_county_admission_share, (a, b)
        assert b.total_cost < a.total_cost  # brought back at 80% of the cost outside
    same = [dataclasses.replace(r, scenario="fee") for r in rows(fee_keeps, 1)]
    assert same == rows(fee, 1)
