"""The demo generator of the appraisal tables: valid against the contract, reproducible, and enough to compute
every indicator of the national-2024 set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.appraisal.service import appraise_data
from yigongti.core.policy import Policy
from yigongti.datafolder.folder import read_folder
from yigongti.demo import generate_demo
from yigongti.demo.appraisal import APPRAISAL_DEMO_TABLES, _date_text, _dates, write_appraisal_tables
from yigongti.enrollment.service import enroll_data


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "county"
    generate_demo(folder, persons=1500, seed=5)
    write_appraisal_tables(folder, seed=5, year=2026)
    return folder


def test_the_tables_are_valid_and_reproducible(demo: Path, tmp_path: Path) -> None:
    data = read_folder(demo)  # raises on any contract problem
    for name in APPRAISAL_DEMO_TABLES:
        assert data.get(name) is not None and data[name].num_rows > 0, name
    again = tmp_path / "again"
    generate_demo(again, persons=1500, seed=5)
    write_appraisal_tables(again, seed=5, year=2026)
    for name in APPRAISAL_DEMO_TABLES:
        assert (demo / f"{name}.csv").read_bytes() == (again / f"{name}.csv").read_bytes(), name


def test_every_indicator_is_computable_for_the_county(demo: Path) -> None:
    data = read_folder(demo)
    designations = enroll_data(data, 2026, Policy()).designations
    res = appraise_data(data, 2026, Policy(), designations, None)
    county = [r for r in res.indicators.to_pylist() if r["scope_kind"] == "county"]
    missing = {r["indicator"] for r in county if r["status"] != "ok"}
    # fund indicators need adjudicated claims; growth needs a whole year of last year's claims (the demo has weeks);
    # S4b counts the referral workflow's table, which a folder of claims alone does not hand in
    assert missing <= {"3.2", "3.3", "S7", "S8", "4.1g", "S6", "S4b"}, missing
    values = {r["indicator"]: float(r["value"]) for r in county if r["value"] is not None}
    assert 40 < values["S9"] < 95 and 40 < values["S10"] < 80 and 50 < values["S16"] < 80
    assert 0 < values["2.2b"] <= 100 and 0 < values["2.3"] < 1


def test_followups_and_contracts_are_at_the_persons_designated_village(demo: Path) -> None:
    """Per person the tables name the village of the folder's latest designation (the rest a village-tier
    institution): the positions the writer takes the ids by point at the right person's village."""
    data = read_folder(demo)
    des = data["designations"]
    latest = des.filter(pc.equal(des.column("year"), pc.max(des.column("year"))))
    village = dict(zip(latest.column("person_id").to_pylist(), latest.column("village_id").to_pylist(), strict=True))
    inst = data["institutions"]
    villages = {i for i, t in zip(inst.column("inst_id").to_pylist(), inst.column("tier").to_pylist(), strict=True)
                if t == "village"}
    for name in ("followups", "contracts"):
        rows = data[name].select(["person_id", "inst_id"]).to_pylist()
        designated = [r for r in rows if r["person_id"] in village]
        assert len(designated) > 50 and len(designated) < len(rows), name
        assert all(r["inst_id"] == village[r["person_id"]] for r in designated), name
        assert all(r["inst_id"] in villages for r in rows), name


@settings(max_examples=60, deadline=None)
@given(year=st.integers(1990, 2100), days=st.lists(st.integers(-800, 800), max_size=20))
def test_date_text_is_the_iso_date_of_numpy(year: int, days: list[int]) -> None:
    d = np.asarray(days, dtype=np.int64)
    assert _date_text(year, d).to_pylist() == list(_dates(year, d))
