"""The two-disease benefit (两病用药保障) through the commands on the worked example's county with a policy that turns
it on: ``yigongti adjudicate`` pays a registered patient's outpatient claim for the disease by the rule and not the
claim that registers them, within the yearly cap; ``yigongti settle`` spends exactly what the adjudication pays;
Parquet claims streamed through the engine settle the same."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from parquet_parts import claims_in_parquet_parts
from tests.integration.test_settle_example import read_csv
from typer.testing import CliRunner

from yigongti.budget.service import settle_year
from yigongti.cli import app
from yigongti.core.icd import icd_matches
from yigongti.core.money import apply_rate_bp, parse_yuan
from yigongti.core.policy_files import resolve_policy

ROWS = """[benefits.designated_primary]
inpatient_deductible = "100"
inpatient_rate = "90%"
outpatient_deductible = "50"
outpatient_rate = "50%"
"""
ON = ROWS + """
[benefits.two_disease]
enabled = true
rate = "60%"
yearly_cap = "300"
tiers = ["primary", "county"]
"""
CAP, RATE = 30_000, 6_000


def _folder(example_input: Path, example_expected: Path, target: Path, policy: str) -> Path:
    for f in example_input.iterdir():
        shutil.copyfile(f, target / f.name)
    earlier = (example_input / "designations.csv").read_text(encoding="utf-8")
    y2026 = (example_expected / "designations.csv").read_text(encoding="utf-8").split("\n", 1)[1]
    (target / "designations.csv").write_text(earlier.rstrip("\n") + "\n" + y2026, encoding="utf-8")
    (target / "policy.toml").write_text(policy, encoding="utf-8")
    return target


def _run(*args: str) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def runs(example_input: Path, example_expected: Path,
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Per policy (on, off): the data folder and the output folder of ``adjudicate`` then ``settle``."""
    out = {}
    for name, text in (("on", ON), ("off", ROWS)):
        folder = _folder(example_input, example_expected, tmp_path_factory.mktemp(name), text)
        target = tmp_path_factory.mktemp(f"out-{name}")
        _run("adjudicate", "--data", str(folder), "--year", "2026", "--out", str(target))
        _run("settle", "--data", str(folder), "--year", "2026", "--out", str(target), "--no-appraise")
        out[name] = (folder, target)
    return out


def _registry(claims: list[dict[str, str]]) -> dict[tuple[str, str], str]:
    """(person, disease) -> the date of the first claim for it, as the rules register."""
    reg: dict[tuple[str, str], str] = {}
    for c in claims:
        for disease, icd in (("h", ("I10-I15",)), ("d", ("E10-E14",))):
            if c["diagnosis"] and icd_matches(c["diagnosis"], icd):
                key = (c["person_id"], disease)
                reg[key] = min(reg.get(key, c["admit_date"]), c["admit_date"])
    return reg


def _disease(dx: str) -> str | None:
    return "h" if icd_matches(dx, ("I10-I15",)) else "d" if icd_matches(dx, ("E10-E14",)) else None


def test_registered_patients_are_paid_by_the_rule_and_the_registering_claim_is_not(
        runs: dict[str, tuple[Path, Path]], example_input: Path) -> None:
    claims = {c["claim_id"]: c for c in read_csv(example_input / "claims.csv")}
    reg = _registry(list(claims.values()))
    rows = read_csv(runs["on"][1] / "adjudicated.csv")
    paid = [r for r in rows if r["rule"] == "two_disease"]
    assert len(paid) > 10
    for r in paid:
        c = claims[r["claim_id"]]
        disease = _disease(c["diagnosis"])
        assert disease is not None and c["setting"] == "outpatient"
        assert reg[(c["person_id"], disease)] < c["admit_date"]  # registered before the claim
        assert parse_yuan(r["deductible"]) == 0
    # the claims that register a patient at the same places are paid the ordinary way
    registering = [r for r in rows if (c := claims[r["claim_id"]])["setting"] == "outpatient"
                   and (d := _disease(c["diagnosis"])) is not None and reg[(c["person_id"], d)] == c["admit_date"]
                   and r["network_status"] in ("designated", "in_consortium")
                   and r["rule"] not in ("no_benefit", "unreasonable")]
    assert registering and all(r["rule"] in ("outpatient", "flat_copay") for r in registering)


def test_the_yearly_cap_to_the_fen_and_amounts_by_hand(runs: dict[str, tuple[Path, Path]],
                                                       example_input: Path) -> None:
    claims = {c["claim_id"]: c for c in read_csv(example_input / "claims.csv")}
    rows = read_csv(runs["on"][1] / "adjudicated.csv")
    used: dict[str, int] = {}
    for r in sorted(rows, key=lambda r: (claims[r["claim_id"]]["admit_date"], r["claim_id"])):
        c = claims[r["claim_id"]]
        fund, patient = parse_yuan(r["fund_paid"]), parse_yuan(r["patient_paid"])
        assert fund + patient == parse_yuan(c["total_cost"])
        if r["rule"] == "two_disease":
            left = CAP - used.get(c["person_id"], 0)
            assert left > 0
            assert fund == min(apply_rate_bp(parse_yuan(c["covered_cost"]), RATE), left)
            used[c["person_id"]] = used.get(c["person_id"], 0) + fund
    assert used and max(used.values()) <= CAP


def test_settle_spends_what_the_adjudication_pays(runs: dict[str, tuple[Path, Path]]) -> None:
    """Turning the benefit on moves the consortia's spending by exactly the change in fund payments."""
    def spent(out: Path) -> int:
        return sum(parse_yuan(r["in_network_spend"]) + parse_yuan(r["out_of_network_deductions"])
                   for r in read_csv(out / "settlement.csv"))

    def fund(out: Path) -> int:
        return sum(parse_yuan(r["fund_paid"]) for r in read_csv(out / "adjudicated.csv"))

    on, off = runs["on"][1], runs["off"][1]
    assert fund(on) != fund(off)
    assert spent(on) - spent(off) == fund(on) - fund(off)


def test_parquet_claims_streamed_settle_the_same(runs: dict[str, tuple[Path, Path]],
                                                tmp_path: Path) -> None:
    folder, out = runs["on"]
    pq_folder = tmp_path / "pq"
    claims_in_parquet_parts(folder, pq_folder, 2)
    streamed = settle_year(pq_folder, 2026, resolve_policy(pq_folder, None), stream_above=0, appraise=False)
    assert streamed.streamed
    expected = {r["consortium_id"]: parse_yuan(r["in_network_spend"]) for r in read_csv(out / "settlement.csv")}
    got = {s.consortium_id: s.in_network_spend for s in streamed.consortia}
    assert got == expected
