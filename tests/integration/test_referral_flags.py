"""``yigongti referral flags``: first-visit flags and proposed down-referrals from a year's claims, on the worked
example county (checked row by row against the claims read here) and on a hand-made addition whose answer is known."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.core.policy import ReferralPolicy
from yigongti.referral.domain import first_visit_flag
from yigongti.referral.engine import load_catalogues

CLAIM_HEADER = ("claim_id,person_id,inst_id,setting,emergency,admit_date,discharge_date,total_cost,covered_cost,"
                "diagnosis,referral_from,unreasonable")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _run(data: Path, year: int, out: Path) -> None:
    res = CliRunner().invoke(app, ["referral", "flags", "--data", str(data), "--year", str(year), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "基层首诊提示" in res.output


def test_every_unreferred_county_visit_for_a_first_visit_disease_is_flagged(example_input: Path,
                                                                           tmp_path: Path) -> None:
    _run(example_input, 2026, tmp_path)
    cats = load_catalogues(ReferralPolicy())
    tier = {i["inst_id"]: i["tier"] for i in _rows(example_input / "institutions.csv")}
    want = {c["claim_id"] for c in _rows(example_input / "claims.csv")
            if c["admit_date"].startswith("2026") and first_visit_flag(
                cats, tier=tier[c["inst_id"]], diagnosis=c["diagnosis"], referred=bool(c["referral_from"]),
                emergency=c["emergency"] == "true")}
    got = _rows(tmp_path / "referral_flags.csv")
    assert want and {r["claim_id"] for r in got} == want
    assert all(tier[r["inst_id"]] == "county" and r["disease_label"] for r in got)


def test_a_stable_case_not_sent_back_is_proposed_to_its_township(example_input: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(example_input, data)
    person = _rows(example_input / "designations.csv")[0]
    pid, township = person["person_id"], person["township_id"]
    extra = [  # two hip fractures at the county hospital: X1 sent back to the township (X2 names it), X3 not
        f"X1,{pid},G1-H,inpatient,false,2026-03-01,2026-03-20,9000.00,8000.00,S72.0,,false",
        f"X2,{pid},{township},inpatient,false,2026-03-20,2026-04-02,900.00,800.00,S72.0,X1,false",
        f"X3,{pid},G1-H,inpatient,false,2026-10-01,2026-10-12,9000.00,8000.00,S72.1,,false",
        f"X5,{pid},G1-H,outpatient,true,2026-11-02,,90.00,80.00,I10,,false",  # an emergency: not flagged
    ]
    with (data / "claims.csv").open("a", encoding="utf-8") as fh:
        fh.write("\n".join(extra) + "\n")
    _run(data, 2026, tmp_path / "out")
    proposed = {r["claim_id"]: r for r in _rows(tmp_path / "out" / "down_referral_proposals.csv")}
    assert "X1" not in proposed
    assert proposed["X3"]["to_inst_id"] == township and proposed["X3"]["disease"] == "S72"
    assert "X5" not in {r["claim_id"] for r in _rows(tmp_path / "out" / "referral_flags.csv")}
