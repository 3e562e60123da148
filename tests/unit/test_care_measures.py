"""The chronic-disease measures (慢病管理指标) on a small hand-made county, every figure checked by hand.

County 500101, consortium C1: county hospital H, township centre T1, its village clinics V1 and V2. Year 2026.
* A (hypertension), followed up at V1: 2025-11-10 150/95 (registered), 2026-01-15 130/80, 2026-04-10 145/85,
  2026-07-01 128/82, 2026-10-01 135/85: four follow-ups in 2026, the last controlled.
* B (diabetes): a claim at H on 2026-02-20 with E11.9 registers B there; one follow-up at V2 on 2026-03-05, fasting
  glucose 6.5 (controlled).
* C (hypertension): one follow-up at V1 on 2024-06-01, ``controlled`` given (true), nothing since: lost.
* D: a claim with J18 (pneumonia): not a chronic patient.
* E (hypertension): registered by a claim at H on 2025-09-01, never followed up: counted at H (consortium, county),
  missed from the start, lost from September 2026 (12 months after the claim).
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from yigongti.care.engine import MEASURE_COLUMNS, fill_controlled, measures
from yigongti.core.policy import CarePolicy

INSTITUTIONS = pa.table({
    "inst_id": ["H", "T1", "V1", "V2"], "tier": ["county", "township", "village", "village"],
    "parent_id": [None, None, "T1", "T1"], "consortium_id": ["C1"] * 4, "county_code": ["500101"] * 4})


def _followups() -> pa.Table:
    rows = [("A", "V1", date(2025, 11, 10), "hypertension", None, 150, 95, None),
            ("A", "V1", date(2026, 1, 15), "hypertension", None, 130, 80, None),
            ("A", "V1", date(2026, 4, 10), "hypertension", None, 145, 85, None),
            ("A", "V1", date(2026, 7, 1), "hypertension", None, 128, 82, None),
            ("A", "V1", date(2026, 10, 1), "hypertension", None, 135, 85, None),
            ("B", "V2", date(2026, 3, 5), "diabetes", None, None, None, 6.5),
            ("C", "V1", date(2024, 6, 1), "hypertension", True, None, None, None)]
    cols = list(zip(*rows, strict=True))
    return pa.table({"person_id": pa.array(cols[0]), "inst_id": pa.array(cols[1]), "date": pa.array(cols[2]),
                     "disease": pa.array(cols[3]), "controlled": pa.array(cols[4], pa.bool_()),
                     "systolic": pa.array(cols[5], pa.int64()), "diastolic": pa.array(cols[6], pa.int64()),
                     "fasting_glucose": pa.array(cols[7], pa.float64())})


CLAIMS = pa.table({"person_id": ["B", "D", "E"], "inst_id": ["H", "H", "H"],
                   "admit_date": pa.array([date(2026, 2, 20), date(2026, 5, 1), date(2025, 9, 1)]),
                   "diagnosis": ["E11.9", "J18.9", "I10"]})


@pytest.fixture(scope="module")
def rows() -> dict[tuple[str, str, str, int], dict[str, object]]:
    m = measures(_followups(), INSTITUTIONS, 2026, CarePolicy(), claims=CLAIMS)
    assert m.patients == 4
    assert tuple(m.table.column_names) == MEASURE_COLUMNS
    return {(r["scope_kind"], r["scope"], r["disease"], r["month"]): r for r in m.table.to_pylist()}


def _figures(r: dict[str, object]) -> tuple[object, ...]:
    return tuple(r[k] for k in ("registered", "under_management", "standardized", "controlled", "missed_visit",
                                "lost", "standardized_rate", "control_rate", "missed_visit_rate", "lost_rate"))


def test_march_at_the_village_clinic(rows: dict) -> None:
    # A: registered 2025-11-10 (under management), one follow-up this year (Jan, controlled); C: lost
    assert _figures(rows[("village", "V1", "hypertension", 3)]) == (2, 2, 0, 1, 1, 1, "0.0", "50.0", "50.0", "50.0")
    # B: registered 2026-02-20, not yet under management: no control rate
    assert _figures(rows[("village", "V2", "diabetes", 3)]) == (1, 0, 0, 0, 0, 0, "0.0", None, None, None)


def test_may_the_last_reading_is_not_controlled(rows: dict) -> None:
    assert _figures(rows[("village", "V1", "hypertension", 5)])[:6] == (2, 2, 0, 0, 1, 1)


def test_december(rows: dict) -> None:
    # A: 4 follow-ups in the year (standardized), the last on 10-01 controlled and inside the 3 months
    assert _figures(rows[("village", "V1", "hypertension", 12)]) == (2, 2, 1, 1, 1, 1, "50.0", "50.0", "50.0",
                                                                      "50.0")
    # B: under management since May; last seen 03-05 (missed visit, not lost), controlled
    assert _figures(rows[("county", "500101", "diabetes", 12)]) == (1, 1, 0, 1, 1, 0, "0.0", "100.0", "100.0",
                                                                     "0.0")


def test_a_patient_never_followed_up_counts_from_the_claim(rows: dict) -> None:
    # January: A (registered 2025-11-10) not yet under management; C lost; E missed, not lost
    assert _figures(rows[("county", "500101", "hypertension", 1)])[:6] == (3, 2, 0, 0, 2, 1)
    # August: A seen 07-01 (controlled, 3 follow-ups so far); E's claim 2025-09-01 is not before 2025-09-01
    assert _figures(rows[("county", "500101", "hypertension", 8)])[:6] == (3, 3, 0, 1, 2, 1)
    assert _figures(rows[("county", "500101", "hypertension", 9)])[:6] == (3, 3, 0, 1, 2, 2)  # now E is lost
    assert not any(k[:2] == ("village", "H") or (k[0] == "township" and k[2] == "hypertension" and
                                                 rows[k]["registered"] > 2) for k in rows)


def test_roll_up_and_the_institution_of_registration(rows: dict) -> None:
    assert _figures(rows[("township", "T1", "hypertension", 3)]) == _figures(rows[("village", "V1", "hypertension",
                                                                                   3)])
    # February: B registered at the county hospital, not yet followed up: consortium and county only
    assert ("village", "V2", "diabetes", 2) not in rows
    assert ("township", "T1", "diabetes", 2) not in rows
    assert _figures(rows[("consortium", "C1", "diabetes", 2)])[:2] == (1, 0)
    assert ("county", "500101", "diabetes", 1) not in rows  # not registered yet in January
    assert not any(k[0] == "village" and k[1] == "H" for k in rows)


def test_thresholds_from_the_policy() -> None:
    strict = CarePolicy(systolic_below=130)  # 2026-10-01 135/85 no longer controlled
    m = measures(_followups(), INSTITUTIONS, 2026, strict, claims=CLAIMS)
    r = {(x["scope"], x["disease"], x["month"]): x for x in m.table.to_pylist() if x["scope_kind"] == "village"}
    assert r[("V1", "hypertension", 12)]["controlled"] == 0


def test_fill_controlled_keeps_given_values() -> None:
    out = fill_controlled(_followups(), CarePolicy())
    assert out.column("controlled").to_pylist() == [False, True, False, True, True, True, True]
    assert out.column_names == _followups().column_names


def _folder(tmp_path: Path, followups: str) -> Path:
    import shutil

    src = Path(__file__).resolve().parents[1] / "data" / "county-2026" / "input"
    data = tmp_path / "data"
    data.mkdir(parents=True)
    for name in ("institutions", "consortia", "persons", "claims"):
        shutil.copy(src / f"{name}.csv", data / f"{name}.csv")
    (data / "followups.csv").write_text(followups, encoding="utf-8")
    return data


def test_the_command(tmp_path: Path) -> None:
    from yigongti.cli import app

    data = _folder(tmp_path, "person_id,inst_id,date,disease,controlled,systolic,diastolic,fasting_glucose\n"
                             "R0001,G1-T1-V1,2026-01-10,hypertension,,150,92,\n"
                             "R0001,G1-T1-V1,2026-03-10,hypertension,,132,84,\n"
                             "R0002,G1-T1-V2,2026-02-10,diabetes,true,,,\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["care", "measures", "--data", str(data), "--year", "2026", "--out", str(out)])
    assert result.exit_code == 0, result.output
    got = list(csv.DictReader((out / "care_measures.csv").open(encoding="utf-8")))
    assert list(got[0])[:5] == ["scope_kind", "scope", "year", "month", "disease"]
    v1 = {int(r["month"]): r for r in got if r["scope"] == "G1-T1-V1" and r["disease"] == "hypertension"}
    assert (v1[3]["registered"], v1[3]["controlled"]) == ("1", "0")  # registered in January: not yet managed
    assert (v1[4]["under_management"], v1[4]["controlled"], v1[4]["control_rate"]) == ("1", "1", "100.0")


def test_the_command_names_file_row_and_field(tmp_path: Path) -> None:
    from yigongti.cli import app

    data = _folder(tmp_path, "person_id,inst_id,date,disease,systolic,diastolic\n"
                             "R0001,G1-T1-V1,2026-01-10,hypertension,abc,92\n"
                             "NOBODY,G1-T1-V1,2026-01-10,hypertension,120,80\n")
    result = CliRunner().invoke(app, ["care", "measures", "--data", str(data), "--year", "2026", "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "followups.csv:2" in result.output and "systolic" in result.output
    data2 = _folder(tmp_path / "b", "person_id,inst_id,date,disease,systolic,diastolic\n"
                                    "NOBODY,G1-T1-V1,2026-01-10,hypertension,120,80\n")
    result = CliRunner().invoke(app, ["care", "measures", "--data", str(data2), "--year", "2026", "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "followups.csv:2" in result.output and "person_id" in result.output


# --- the engine against a plain-Python reading of the same rules (property) ---------------------------------------

def _reference(rows: list[tuple], year: int, policy: CarePolicy) -> dict[tuple[str, str, int], tuple[int, ...]]:
    """(village, disease, month) -> counts, from the domain's rules, one patient at a time."""
    from yigongti.care.domain import Control, Reading, add_months, control_status

    out: dict[tuple[str, str, int], list[int]] = {}
    patients = {(r[0], r[3]) for r in rows}
    for pid, dis in patients:
        mine = sorted((r for r in rows if (r[0], r[3]) == (pid, dis)), key=lambda r: r[2])
        registered = mine[0][2]
        for m in range(1, 13):
            end = add_months(date(year, m, 1), 1).replace(day=1)
            cut, lost_cut = add_months(end, -policy.overdue_months), add_months(end, -policy.lost_months)
            seen = [r for r in mine if r[2] < end]
            if registered >= end:
                continue
            last = seen[-1]
            managed = registered < cut
            n_year = sum(1 for r in seen if r[2].year == year)
            ctl = last[4] if last[4] is not None else (
                control_status(dis, Reading(last[5], last[6], None if last[7] is None else Decimal(str(last[7]))),
                               policy) is Control.CONTROLLED)
            figures = [1, int(managed), int(n_year >= policy.followups_per_year),
                       int(managed and last[2].year == year and ctl), int(managed and last[2] < cut),
                       int(managed and last[2] < lost_cut)]
            acc = out.setdefault((last[1], dis, m), [0] * 6)
            for i, v in enumerate(figures):
                acc[i] += v
    return {k: tuple(v) for k, v in out.items()}


_row = st.tuples(st.sampled_from(["P1", "P2", "P3", "P4"]), st.sampled_from(["V1", "V2"]),
                 st.dates(date(2024, 6, 1), date(2026, 12, 31)), st.sampled_from(["hypertension", "diabetes"]),
                 st.none() | st.booleans(), st.none() | st.integers(90, 180), st.integers(50, 110),
                 st.none() | st.sampled_from([5.5, 6.9, 7.0, 8.4]))


@settings(max_examples=40, deadline=None)
@given(st.lists(_row, min_size=1, max_size=25))
def test_the_engine_follows_the_rules(rows: list[tuple]) -> None:
    # one follow-up per patient and day (the order of two on the same day is not defined)
    rows = list({(r[0], r[3], r[2]): r for r in rows}.values())
    rows = [r[:6] + ((r[6] if r[5] is not None else None),) + r[7:] for r in rows]
    cols = list(zip(*rows, strict=True))
    f = pa.table({"person_id": pa.array(cols[0]), "inst_id": pa.array(cols[1]), "date": pa.array(cols[2]),
                  "disease": pa.array(cols[3]), "controlled": pa.array(cols[4], pa.bool_()),
                  "systolic": pa.array(cols[5], pa.int64()), "diastolic": pa.array(cols[6], pa.int64()),
                  "fasting_glucose": pa.array(cols[7], pa.float64())})
    got = measures(f, INSTITUTIONS, 2026, CarePolicy())
    village = {(r["scope"], r["disease"], r["month"]): tuple(r[k] for k in ("registered", "under_management",
               "standardized", "controlled", "missed_visit", "lost"))
               for r in got.table.to_pylist() if r["scope_kind"] == "village"}
    assert village == _reference(rows, 2026, CarePolicy())
    for r in got.table.to_pylist():
        assert r["controlled"] <= r["under_management"] <= r["registered"]
        assert r["lost"] <= r["missed_visit"] <= r["under_management"]
        assert r["standardized"] <= r["registered"]
