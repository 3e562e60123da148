"""``yigongti demo`` on real files: the folder passes ``check``, is reproducible and lands near rules.md §9."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.datafolder.folder import DataFolder, read_folder
from yigongti.datafolder.service import check_data_folder
from yigongti.demo import DemoSummary, generate_demo

PERSONS = 20_000
YEAR = 2026


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoSummary, DataFolder]:
    out = tmp_path_factory.mktemp("demo") / "county"
    summary = generate_demo(out, persons=PERSONS, seed=11, year=YEAR)
    return summary, read_folder(out)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _np(col: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(col.to_numpy(zero_copy_only=False))


def test_check_accepts_the_demo_folder_with_zero_problems(tmp_path: Path) -> None:
    out = tmp_path / "d"
    generate_demo(out, persons=3000, seed=5)
    report = check_data_folder(out)
    assert report.problems == []
    assert set(report.rows) == {"institutions", "consortia", "persons", "choices", "claims", "designations"}
    assert not (out / "policy.toml").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["d"]  # the staging folder is gone


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate_demo(tmp_path / name, persons=2500, seed=seed, counties=2)
    a, b, c = (_files(tmp_path / n) for n in "abc")
    assert a == b
    assert a["persons.csv"] != c["persons.csv"] and a["claims.csv"] != c["claims.csv"]


def test_last_year_leaves_the_years_files_as_they_were(tmp_path: Path) -> None:
    """Last year's claims are drawn after the year's: every other file is the same with or without them, and the
    claims file only gains rows at its end (the figures tests pin stay the year's)."""
    generate_demo(tmp_path / "without", persons=2500, seed=3, last_year=False)
    summary = generate_demo(tmp_path / "with", persons=2500, seed=3)
    without, with_last = _files(tmp_path / "without"), _files(tmp_path / "with")
    assert with_last.keys() == without.keys()
    assert {k for k in without if without[k] != with_last[k]} == {"claims.csv"}
    assert with_last["claims.csv"].startswith(without["claims.csv"])
    added = with_last["claims.csv"][len(without["claims.csv"]):].decode().splitlines()
    assert len(added) == summary.last_year_claims > 0
    assert all(line.startswith(f'"C510727-{YEAR - 1}-') for line in added)


def test_parquet_output_holds_the_same_data_as_csv_and_passes_check(tmp_path: Path) -> None:
    generate_demo(tmp_path / "csv", persons=2000, seed=9, fmt="csv")
    summary = generate_demo(tmp_path / "pq", persons=2000, seed=9, fmt="parquet")
    assert summary.fmt == "parquet"
    assert (tmp_path / "pq" / "claims").is_dir() and (tmp_path / "pq" / "institutions.csv").is_file()
    assert check_data_folder(tmp_path / "pq").problems == []
    a, b = read_folder(tmp_path / "csv"), read_folder(tmp_path / "pq")
    for name in ("persons", "choices", "designations", "claims"):
        assert a[name].equals(b[name]), name
    # a rerun in another format replaces the table instead of leaving two versions of it
    generate_demo(tmp_path / "pq", persons=2000, seed=9, fmt="csv")
    assert not (tmp_path / "pq" / "claims").exists()
    assert _files(tmp_path / "pq") == _files(tmp_path / "csv")


def test_one_consortium_and_two_counties(tmp_path: Path) -> None:
    s = generate_demo(tmp_path / "d", persons=4000, seed=2, consortia=1, counties=2)
    assert check_data_folder(tmp_path / "d").problems == []
    data = read_folder(tmp_path / "d")
    cons = data["consortia"]
    assert s.consortia == 2 and cons.num_rows == 2
    assert sorted(cons.column("county_code").to_pylist()) == ["510726", "510727"]
    persons = data["persons"]
    assert sorted(set(persons.column("county_code").to_pylist())) == ["510726", "510727"]
    # a person's choices are for consortia of their own county
    county_of = dict(zip(persons.column("person_id").to_pylist(), persons.column("county_code").to_pylist(),
                         strict=True))
    ch = data["choices"]
    assert all(c.startswith(county_of[p]) for p, c in zip(ch.column("person_id").to_pylist(),
                                                           ch.column("consortium_id").to_pylist(), strict=True))


def test_volumes_and_shares_are_near_the_published_figures(demo: tuple[DemoSummary, DataFolder]) -> None:
    summary, data = demo
    claims, inst, persons = data["claims"], data["institutions"], data["persons"]
    tier_of = dict(zip(inst.column("inst_id").to_pylist(), inst.column("tier").to_pylist(), strict=True))
    tier = np.array([tier_of[i] for i in claims.column("inst_id").to_pylist()])
    admit = _np(claims.column("admit_date"))
    in_year = admit >= np.datetime64(f"{YEAR}-01-01")
    inpatient = _np(claims.column("setting")) == "inpatient"
    visits = in_year & ~inpatient
    admissions = in_year & inpatient
    assert 6.0 <= visits.sum() / PERSONS <= 7.5
    assert 18.0 <= 100 * admissions.sum() / PERSONS <= 24.0
    assert 0.55 <= np.isin(tier[visits], ["village", "township"]).mean() <= 0.68
    assert 0.80 <= (tier[admissions] != "outside").mean() <= 0.90
    covered = _np(claims.column("covered_cost"))
    assert 0.28 <= covered[in_year & (tier == "outside")].sum() / covered[in_year].sum() <= 0.45
    # the summary reports what the files hold
    assert summary.stats.visits == visits.sum() and summary.stats.admissions == admissions.sum()
    # household size, ageing and insurance
    assert 2.6 <= PERSONS / len(set(persons.column("household_id").to_pylist())) <= 3.0
    born = _np(persons.column("birth_date"))
    assert 0.22 <= (born < np.datetime64(f"{YEAR - 60}-01-02")).mean() <= 0.30
    assert 0.17 <= (_np(persons.column("insurance")) == "employee").mean() <= 0.23
    # a whole year before (for the dashboards' and the appraisal's last year), none earlier, nobody before birth
    before = admit < np.datetime64(f"{YEAR}-01-01")
    assert admit.min() >= np.datetime64(f"{YEAR - 1}-01-01")
    assert len(set(admit[before].astype("datetime64[M]").tolist())) == 12
    series = np.char.find(_np(claims.column("claim_id")).astype(str), f"-{YEAR - 1}-") > 0
    assert summary.last_year_claims == int(series.sum()) > 0 and (admit[series] < np.datetime64(f"{YEAR}-01-01")).all()
    birth_of = dict(zip(persons.column("person_id").to_pylist(), born.tolist(), strict=True))
    assert all(a >= birth_of[p] for p, a, s in zip(claims.column("person_id").to_pylist(), admit.tolist(),
                                                   series.tolist(), strict=True) if s)
    # last year: about as many visits, at prices about 6% lower
    last_visits = before & ~inpatient
    assert 0.9 <= last_visits.sum() / visits.sum() <= 1.1
    assert covered[before].sum() / before.sum() < covered[in_year].sum() / in_year.sum()


def test_costs_rise_with_tier_and_covered_cost_is_75_to_95_percent(demo: tuple[DemoSummary, DataFolder]) -> None:
    _, data = demo
    claims, inst = data["claims"], data["institutions"]
    tier_of = dict(zip(inst.column("inst_id").to_pylist(), inst.column("tier").to_pylist(), strict=True))
    tier = np.array([tier_of[i] for i in claims.column("inst_id").to_pylist()])
    inpatient = _np(claims.column("setting")) == "inpatient"
    total = _np(claims.column("total_cost")) / 100
    covered = _np(claims.column("covered_cost")) / 100
    assert 100 <= total[~inpatient].mean() <= 400
    means = [total[inpatient & (tier == t)].mean() for t in ("township", "county", "outside")]
    assert means == sorted(means) and 2000 <= means[0] and means[2] <= 25_000
    ratio = covered / total
    assert ratio.min() >= 0.749 and ratio.max() <= 0.951
    assert (_np(claims.column("emergency"))).mean() > 0.005
    assert 0 < (_np(claims.column("unreasonable"))).mean() < 0.02


def test_referred_admissions_point_at_an_admission_of_the_same_person_discharged_0_to_15_days_before(
        demo: tuple[DemoSummary, DataFolder]) -> None:
    _, data = demo
    claims = data["claims"]
    rows = {r["claim_id"]: r for r in claims.select(["claim_id", "person_id", "setting", "admit_date",
                                                     "discharge_date", "referral_from"]).to_pylist()}
    referred = [r for r in rows.values() if r["referral_from"]]
    assert len(referred) > 50
    for r in referred:
        src = rows[r["referral_from"]]
        assert r["setting"] == src["setting"] == "inpatient"
        assert src["person_id"] == r["person_id"]
        assert 0 <= (r["admit_date"] - src["discharge_date"]).days <= 15


def test_diagnoses_are_icd10_and_fit_age_and_sex(demo: tuple[DemoSummary, DataFolder]) -> None:
    _, data = demo
    claims, persons = data["claims"], data["persons"]
    diag = claims.column("diagnosis")
    assert pc.all(pc.match_substring_regex(diag, r"^[A-Z][0-9]{2}(\.[0-9])?$")).as_py()
    sex = dict(zip(persons.column("person_id").to_pylist(), persons.column("sex").to_pylist(), strict=True))
    births = [sex[p] for p, d in zip(claims.column("person_id").to_pylist(), diag.to_pylist(), strict=True)
              if d == "O80"]
    assert births and set(births) == {"F"}
    top = pc.value_counts(diag).to_pylist()
    common = {x["values"] for x in sorted(top, key=lambda x: -x["counts"])[:4]}
    assert "I10" in common and "J06.9" in common


def test_most_primary_care_is_at_the_designated_consortium(tmp_path: Path) -> None:
    out = tmp_path / "d"
    generate_demo(out, persons=5000, seed=8)
    data = read_folder(out)
    claims, inst = data["claims"], data["institutions"]
    cons_of = dict(zip(inst.column("inst_id").to_pylist(), inst.column("consortium_id").to_pylist(), strict=True))
    # a household's chosen consortium (when it chose) against where its members went for primary care
    chosen = dict(zip(data["choices"].column("person_id").to_pylist(),
                      data["choices"].column("consortium_id").to_pylist(), strict=True))
    tier_of = dict(zip(inst.column("inst_id").to_pylist(), inst.column("tier").to_pylist(), strict=True))
    same = [cons_of[i] == chosen[p] for p, i in zip(claims.column("person_id").to_pylist(),
                                                   claims.column("inst_id").to_pylist(), strict=True)
            if p in chosen and tier_of[i] in ("village", "township")]
    assert 0.85 <= float(np.mean(same)) <= 0.99


def test_the_command_writes_the_folder_and_prints_a_summary(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["demo", "--out", str(tmp_path / "d"), "--persons", "1500", "--seed", "4"])
    assert res.exit_code == 0, res.output
    assert "persons 1,500" in res.output and "claims" in res.output
    assert check_data_folder(tmp_path / "d").problems == []
    bad = runner.invoke(app, ["demo", "--out", str(tmp_path / "e"), "--persons", "0"])
    assert bad.exit_code == 2
    assert not (tmp_path / "e").exists()


def test_an_output_path_that_is_a_file_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("not a folder")
    with pytest.raises(ValueError, match="not a folder"):
        generate_demo(target, persons=100)
    assert target.read_text() == "not a folder"
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_a_failure_midway_leaves_the_target_folder_as_it_was(tmp_path: Path) -> None:
    from dataclasses import replace

    from yigongti.demo import Calibration

    out = tmp_path / "county"
    generate_demo(out, persons=500, seed=1)
    before = _files(out)
    broken = replace(Calibration(), household_sizes=(-1.0, 2.0))  # fails when the first households are drawn
    with pytest.raises(ValueError):
        generate_demo(out, persons=500, seed=2, calibration=broken)
    assert _files(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["county"]
