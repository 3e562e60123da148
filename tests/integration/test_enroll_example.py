"""The worked example county: enroll for 2026 agrees with expected/designations.csv row for row."""

from __future__ import annotations

import csv
from pathlib import Path

from yigongti.core.policy import Policy
from yigongti.datafolder.folder import read_folder
from yigongti.enrollment.service import enroll_data


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_example_designations_match_expected_row_for_row(example_input: Path, example_expected: Path) -> None:
    result = enroll_data(read_folder(example_input), 2026, Policy())
    got = [{k: str(v) for k, v in r.items()} for r in result.designations.to_pylist()]
    expected = _rows(example_expected / "designations.csv")
    assert len(got) == len(expected) == 225
    for g, e in zip(got, expected, strict=True):
        assert g == e
    assert result.by_source == {"choice": 68, "carried": 27, "household": 48, "nearest": 82}
    assert result.unassigned.num_rows == 0 and result.stale_carried.num_rows == 0


def test_example_refusals_have_codes_and_messages(example_input: Path) -> None:
    result = enroll_data(read_folder(example_input), 2026, Policy())
    refused = {r["person_id"]: r for r in result.refused.to_pylist()}
    assert refused["R0011"]["reason"] == "outside_window"
    assert "2025-10-01" in refused["R0011"]["message"]
    assert refused["R0104"]["reason"] == "village_not_under_township"
    assert refused["R0104"]["message"].endswith(
        "the village clinic G2-T3-V3 belongs to township centre G2-T3, not G2-T1")
    assert refused["R0022"]["reason"] == "township_not_member"
    # R0037 chose on Oct 1, the first day of the window: accepted
    assert "R0037" not in refused


def test_the_plain_domain_loop_agrees_with_expected_too(example_input: Path, example_expected: Path) -> None:
    from yigongti.datafolder.crosschecks import registry_from_tables
    from yigongti.enrollment.domain import Choice, Designation, Resident, Source, reference_designations
    from yigongti.registry.domain import Registry

    data = read_folder(example_input)
    residents = [Resident(p["person_id"], p["household_id"], p["county_code"], p["lon"], p["lat"])
                 for p in data["persons"].to_pylist()]
    choices = [Choice(c["person_id"], c["year"], c["consortium_id"], c["township_id"], c["village_id"],
                      c["chosen_at"]) for c in data["choices"].to_pylist()]
    previous = [Designation(d["person_id"], d["year"], d["consortium_id"], d["township_id"], d["village_id"],
                            Source(d["source"])) for d in data["designations"].to_pylist()]
    registry = Registry.of(*registry_from_tables(data["institutions"], data["consortia"]))
    got = reference_designations(residents, choices, previous, registry=registry, year=2026,
                                 window=Policy().enrollment.window(2026))
    expected = _rows(example_expected / "designations.csv")
    assert [(d.person_id, d.consortium_id, d.township_id, d.village_id, d.source.value)
            for d in sorted(got.values(), key=lambda d: d.person_id)] == [
        (e["person_id"], e["consortium_id"], e["township_id"], e["village_id"], e["source"]) for e in expected]
