"""The referral indicators from the workflow's ``referrals`` table (转诊指标): on the hand-built appraisal county, a
table mirroring the claims' two referrals gives the same S3, S4 and S5 as the claims; referrals that never arrived
are not counted; the table, when handed in, is what the figures come from; referrals completed (S4b)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from yigongti.appraisal.service import appraise_data
from yigongti.core.policy import Policy
from yigongti.core.problems import InvalidInput
from yigongti.datafolder.folder import read_folder
from yigongti.datafolder.schema import REFERRAL_STATUSES
from yigongti.referral.domain import Status

HERE = Path(__file__).parent / "appraisal_county"
HEADER = "referral_id,person_id,from_inst_id,to_inst_id,direction,diagnosis,requested_at,status,completed_at\n"
MIRROR = [  # c02 (A-T1) -> c03 (A-H) up; c03 (A-H) -> c04 (A-T1) down, as the claims' referral_from say
    "r1,P1,A-T1,A-H,up,I63.9,2026-03-01T09:00:00,completed,2026-04-06T10:00:00",
    "r2,P1,A-H,A-T1,down,I63.9,2026-04-06T10:00:00,returned,2026-04-10T10:00:00",
]
NEVER_ARRIVED = [
    "r3,P5,B-T1,B-H,up,K29.7,2026-09-02T09:00:00,declined,",
    "r4,P5,B-T1,B-H,up,K29.7,2026-09-03T09:00:00,cancelled,",
    "r5,P6,A-T1,A-H,up,J06.9,2026-11-01T09:00:00,requested,",
    "r6,P5,B-T1,B-H,up,K29.7,2026-09-04T09:00:00,expired,",
]


def _figures(tmp_path: Path, rows: list[str] | None) -> dict[tuple[str, str], tuple[object, object]]:
    folder = tmp_path / "county"
    shutil.copytree(HERE, folder)
    if rows is not None:
        (folder / "referrals.csv").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    data = read_folder(folder)
    res = appraise_data(data, 2026, Policy(), data["designations"], None, with_previous=False)
    return {(r["scope"], r["indicator"]): (r["numerator"], r["value"]) for r in res.indicators.to_pylist()
            if r["indicator"] in ("S3", "S4", "S4b", "S5")}


def test_the_workflows_table_gives_the_claims_figures_and_what_never_arrived_does_not_count(tmp_path: Path) -> None:
    from_claims = _figures(tmp_path / "a", None)
    from_table = _figures(tmp_path / "b", MIRROR + NEVER_ARRIVED)
    for key, (num, value) in from_claims.items():
        if key[1] != "S4b":
            assert from_table[key] == (num, value), key
    assert from_claims[("510001", "S4b")] == (None, None)  # not computable without the table
    assert from_table[("510001", "S4b")] == ("2", "2.00")
    assert from_table[("A-T1", "S4b")] == ("1", "1.00") and from_table[("A-H", "S4b")] == ("1", "1.00")
    assert from_table[("B", "S3")] == ("0", "0.00")


def test_when_handed_in_the_table_is_what_counts(tmp_path: Path) -> None:
    more = MIRROR + ["r7,P5,B-T1,B-H,up,K29.7,2026-09-02T09:00:00,arrived,",
                     "r8,P5,B-H,B-T1,down,K29.7,2026-10-11T09:00:00,completed,2027-01-02T09:00:00",
                     "r9,P6,A-T1,A-H,up,J06.9,2025-12-30T09:00:00,completed,2026-01-03T09:00:00"]
    got = _figures(tmp_path, more)
    assert got[("510001", "S3")] == ("2", "2.00")  # r1, r7 (r9 was requested in 2025)
    assert got[("510001", "S4")] == ("2", "2.00")  # r2, r8
    assert got[("B", "S5")] == ("1", "100.00")  # r8 from B-H over c10, the one county-tier admission of B
    assert got[("510001", "S4b")] == ("3", "3.00")  # r1, r2, r9 completed in 2026 (r8 in 2027)


def test_a_referral_naming_an_unknown_institution_is_refused_with_its_row(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        _figures(tmp_path, ["r1,P1,A-T1,NOWHERE,up,I63.9,2026-03-01T09:00:00,completed,2026-04-06T10:00:00"])
    assert "referrals" in str(err.value) and "to_inst_id" in str(err.value)


def test_the_contracts_statuses_are_the_workflows() -> None:
    assert set(REFERRAL_STATUSES) == {s.value for s in Status}


def test_the_internal_statement_prices_referrals_and_remote_reads_between_members(tmp_path: Path) -> None:
    import csv

    from typer.testing import CliRunner

    from yigongti.cli import app

    folder = tmp_path / "county"
    shutil.copytree(HERE, folder)
    (folder / "referrals.csv").write_text(HEADER + "\n".join(MIRROR + NEVER_ARRIVED) + "\n", encoding="utf-8")
    (folder / "policy.toml").write_text('[referral.prices.ecg]\nprice = "12.50"\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["referral", "statement", "--data", str(folder), "--year", "2026", "--out",
                                   str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    with (tmp_path / "out" / "internal_statement.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    net = {(r["month"], r["inst_id"], r["item"]): r["net"] for r in rows}
    # remote_diagnoses: r1 imaging A-T1 -> A-H (Feb), r2 ecg A-T1-V1 -> A-H (Mar, the county's 12.50), r3 pathology
    # A-T1 -> A-H (Apr), r4 2025; referrals r1 up and r2 down completed in April (the others never completed)
    assert net == {("2026-02", "A-H", "imaging"): "40.00", ("2026-02", "A-T1", "imaging"): "-40.00",
                   ("2026-03", "A-H", "ecg"): "12.50", ("2026-03", "A-T1-V1", "ecg"): "-12.50",
                   ("2026-04", "A-H", "pathology"): "60.00", ("2026-04", "A-T1", "pathology"): "-60.00",
                   ("2026-04", "A-H", "up_referral"): "-20.00", ("2026-04", "A-T1", "up_referral"): "20.00",
                   ("2026-04", "A-H", "down_referral"): "-50.00", ("2026-04", "A-T1", "down_referral"): "50.00"}
    assert "182.50" in res.output
