"""Head counts on Jan 1 by age band and insurance, and the year-on-year movement ("vote with feet")."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from yigongti.core.policy import Policy
from yigongti.enrollment.headcount import ages_on_jan_1, band_labels, head_counts, movement_summary, movements

MIN_AGES = [b.min_age for b in Policy().capitation.age_bands]


def des(rows: list[tuple[str, str, str, str]], year: int = 2026) -> pa.Table:
    return pa.table({"person_id": [r[0] for r in rows], "year": [year] * len(rows),
                     "consortium_id": [r[1] for r in rows], "township_id": [r[2] for r in rows],
                     "village_id": [r[3] for r in rows], "source": ["choice"] * len(rows)})


def test_band_labels_follow_the_policy() -> None:
    assert band_labels(MIN_AGES) == ["0-4", "5-14", "15-44", "45-59", "60-69", "70-79", "80+"]


def test_age_is_completed_years_on_jan_1() -> None:
    births = pa.array([date(2021, 1, 1), date(2021, 1, 2), date(2020, 12, 31), date(2026, 1, 1),
                       date(2026, 3, 1), date(1946, 1, 1)], pa.date32())
    assert ages_on_jan_1(births, 2026).tolist() == [5, 4, 5, 0, 0, 80]  # born later: 0


def test_head_counts_by_unit_band_and_insurance_skip_the_unborn() -> None:
    persons = pa.table({
        "person_id": ["a", "b", "c", "d", "e"],
        "birth_date": pa.array([date(2021, 1, 1), date(2021, 1, 2), date(1946, 1, 1), date(1990, 6, 1),
                                date(2026, 5, 1)], pa.date32()),
        "insurance": ["resident", "resident", "employee", "resident", "resident"]})
    d = des([("a", "C1", "T1", "V1"), ("b", "C1", "T1", "V2"), ("c", "C1", "T1", "V1"), ("d", "C2", "U1", "W1"),
             ("e", "C1", "T1", "V1")])
    hc = head_counts(d, persons, year=2026, min_ages=MIN_AGES).to_pylist()
    got = {(r["level"], r["unit_id"], r["age_band"], r["insurance"]): r["enrollees"] for r in hc}
    assert got == {
        ("consortium", "C1", "0-4", "resident"): 1, ("consortium", "C1", "5-14", "resident"): 1,
        ("consortium", "C1", "80+", "employee"): 1, ("consortium", "C2", "15-44", "resident"): 1,
        ("township", "T1", "0-4", "resident"): 1, ("township", "T1", "5-14", "resident"): 1,
        ("township", "T1", "80+", "employee"): 1, ("township", "U1", "15-44", "resident"): 1,
        ("village", "V1", "5-14", "resident"): 1, ("village", "V1", "80+", "employee"): 1,
        ("village", "V2", "0-4", "resident"): 1, ("village", "W1", "15-44", "resident"): 1,
    }
    assert [r["level"] for r in hc][:4] == ["consortium"] * 4  # ordered by level, unit, band, insurance


def test_movement_gains_losses_new_and_leaving() -> None:
    prev = des([("a", "C1", "T1", "V1"), ("b", "C1", "T1", "V1"), ("c", "C1", "T1", "V2"), ("x", "C2", "U1", "W1")],
               2025)
    cur = des([("a", "C1", "T1", "V1"), ("b", "C2", "U1", "W1"), ("c", "C1", "T1", "V1"), ("n", "C2", "U1", "W1")])
    flows = {(r["from_village_id"], r["to_village_id"]): r["persons"] for r in movements(prev, cur).to_pylist()}
    assert flows == {("V1", "W1"): 1, ("V2", "V1"): 1, ("", "W1"): 1, ("W1", ""): 1}
    summary = {(r["level"], r["unit_id"]): (r["previous"], r["current"], r["gained"], r["lost"], r["net"])
               for r in movement_summary(prev, cur).to_pylist()}
    assert summary[("consortium", "C1")] == (3, 2, 0, 1, -1)
    assert summary[("consortium", "C2")] == (1, 2, 2, 1, 1)
    assert summary[("township", "T1")] == (3, 2, 0, 1, -1)
    assert summary[("village", "V1")] == (2, 2, 1, 1, 0)
    assert summary[("village", "V2")] == (1, 0, 0, 1, -1)
    assert summary[("village", "W1")] == (1, 2, 2, 1, 1)
    for prev_n, cur_n, gained, lost, net in summary.values():
        assert cur_n - prev_n == gained - lost == net


def test_without_last_year_everyone_is_gained() -> None:
    cur = des([("a", "C1", "T1", "V1")])
    s = movement_summary(None, cur).to_pylist()
    assert all(r["previous"] == 0 and r["gained"] == r["current"] == 1 for r in s)
