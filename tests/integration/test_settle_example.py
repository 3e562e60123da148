"""The worked example county settles exactly as expected/settlement.csv, through the service and the CLI."""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yigongti.budget.service import settle_data, settle_year, write_settlement
from yigongti.cli import app
from yigongti.core.money import parse_yuan
from yigongti.core.policy import Policy


def example_folder(example_input: Path, example_expected: Path, target: Path) -> Path:
    """The example input plus expected designations (for 2026) and adjudicated claims, as `settle` accepts them."""
    target.mkdir(parents=True, exist_ok=True)
    for f in example_input.iterdir():
        shutil.copyfile(f, target / f.name)
    earlier = (example_input / "designations.csv").read_text(encoding="utf-8")
    y2026 = (example_expected / "designations.csv").read_text(encoding="utf-8").split("\n", 1)[1]
    (target / "designations.csv").write_text(earlier.rstrip("\n") + "\n" + y2026, encoding="utf-8")
    shutil.copyfile(example_expected / "adjudicated.csv", target / "adjudicated.csv")
    return target


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def folder(example_input: Path, example_expected: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return example_folder(example_input, example_expected, tmp_path_factory.mktemp("county"))


@pytest.fixture(scope="module")
def out(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("out")
    result = CliRunner().invoke(app, ["settle", "--data", str(folder), "--year", "2026", "--out", str(target)])
    assert result.exit_code == 0, result.output
    return target


def test_settlement_matches_expected_every_column(out: Path, example_expected: Path) -> None:
    expected = read_csv(example_expected / "settlement.csv")
    got = read_csv(out / "settlement.csv")
    assert [r["consortium_id"] for r in got] == [r["consortium_id"] for r in expected]
    for e, g in zip(expected, got, strict=True):
        for column, value in e.items():
            assert g[column] == value, (e["consortium_id"], column)


def test_allocation_sums_to_the_amount_to_share(out: Path) -> None:
    settlement = {r["consortium_id"]: r for r in read_csv(out / "settlement.csv")}
    sums: dict[str, int] = {}
    for r in read_csv(out / "allocation.csv"):
        sums[r["consortium_id"]] = sums.get(r["consortium_id"], 0) + parse_yuan(r["amount"])
    for c, s in settlement.items():
        to_share = parse_yuan(s["retained_surplus"]) + parse_yuan(s["p4p_paid"]) - parse_yuan(s["consortium_overspend"])
        assert sums[c] == to_share
    assert sums["G2"] < 0  # overspent: the members share a charge


def test_ledger_closes_and_records_the_inputs_hash(out: Path) -> None:
    ledger = read_csv(out / "ledger.csv")
    assert [int(r["entry_id"]) for r in ledger] == list(range(1, len(ledger) + 1))
    assert len({r["inputs_hash"] for r in ledger}) == 1 and len(ledger[0]["inputs_hash"]) == 64
    for c in ("G1", "G2", "G3"):
        for account in ("budget", "pool"):
            assert sum(parse_yuan(r["amount"]) for r in ledger if r["consortium_id"] == c
                       and r["account"] == account) == 0
    settlement = {r["consortium_id"]: r for r in read_csv(out / "settlement.csv")}
    for c, s in settlement.items():
        prepaid = sum(parse_yuan(r["amount"]) for r in ledger if r["consortium_id"] == c and r["kind"] == "prepayment")
        assert prepaid == parse_yuan(s["prospective_budget"])
        deducted = -sum(parse_yuan(r["amount"]) for r in ledger
                        if r["consortium_id"] == c and r["kind"] == "out_of_network_deduction")
        assert deducted == parse_yuan(s["out_of_network_deductions"])


def test_reports_are_self_contained(out: Path) -> None:
    page = (out / "reports" / "settlement-G2.html").read_text(encoding="utf-8")
    assert page.count("<figure><svg ") == 4 and "<img" not in page and "<script" not in page  # charts inline
    assert "http://" not in page and "https://" not in page
    assert "年终清算" in page and "-22,661.97" in page
    from openpyxl import load_workbook

    wb = load_workbook(out / "reports" / "settlement-G2.xlsx")
    assert wb.sheetnames[0] == "summary 清算"
    assert wb["split 分配"].max_row == 1 + 13
    # the appraisal's ties of seed 002 六, per member: the public-health subsidy and the performance pay ceiling
    head = [c.value for c in wb["split 分配"][1]]
    assert "公共卫生经费（元） public_health" in head and "绩效工资总量上限（元） performance_pay_ceiling" in head
    assert "绩效工资总量上限" in page and "公共卫生经费" in page


def test_same_inputs_give_byte_identical_outputs(folder: Path, out: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    result = CliRunner().invoke(app, ["settle", "--data", str(folder), "--year", "2026", "--out", str(again)])
    assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for f in files:
        assert (out / f).read_bytes() == (again / f).read_bytes(), f


def test_reports_rendered_by_worker_processes_are_the_serial_bytes(folder: Path, out: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from yigongti.budget.report import REPORT_WORKERS_ENV, report_workers, write_reports

    result = settle_year(folder, 2026)
    serial = write_reports(result, tmp_path / "serial", workers=1)
    parallel = write_reports(result, tmp_path / "parallel", workers=2)  # spawned processes, one consortium each
    assert [p.name for p in serial] == [p.name for p in parallel] and len(serial) == 2 * len(result.consortia) >= 4
    for s, p in zip(serial, parallel, strict=True):
        assert s.read_bytes() == p.read_bytes() == (out / "reports" / s.name).read_bytes(), s.name
    monkeypatch.setenv(REPORT_WORKERS_ENV, "3")
    assert report_workers() == 3
    monkeypatch.setenv(REPORT_WORKERS_ENV, "many")
    with pytest.raises(ValueError, match=REPORT_WORKERS_ENV):
        report_workers()


def test_changed_input_changes_the_hash(folder: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(folder, changed)
    (changed / "scores.csv").write_text("unit_id,year,score\nG1,2026,95\nG2,2026,90\nG3,2026,41\n", encoding="utf-8")
    a = settle_data(folder, 2026)
    b = settle_data(changed, 2026)
    assert a.inputs_hash != b.inputs_hash
    assert {s.consortium_id: s.grade for s in b.consortia}["G2"] == "excellent"


def test_without_scores_the_p4p_is_pending(folder: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(folder, bare)
    (bare / "scores.csv").unlink()
    result = settle_data(bare, 2026)
    assert {s.grade for s in result.consortia} == {"pending"}
    assert all(s.p4p_paid == 0 and s.p4p_returned == s.budget.reserve for s in result.consortia)
    assert result.settlement.column("score").to_pylist() == [None, None, None]
    write_settlement(result, tmp_path / "o", reports=False)
    assert read_csv(tmp_path / "o" / "settlement.csv")[0]["grade"] == "pending"


def test_bad_adjudicated_is_reported_with_file_and_row(folder: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    text = (bad / "adjudicated.csv").read_text(encoding="utf-8").splitlines()
    parts = text[3].split(",")
    parts[4] = "12.345"  # fund_paid with 3 decimals
    text[3] = ",".join(parts)
    (bad / "adjudicated.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["settle", "--data", str(bad), "--year", "2026", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "adjudicated.csv:4:fund_paid" in result.output
    assert not (tmp_path / "o" / "settlement.csv").exists()


def test_standard_heads_are_exact_decimals(folder: Path) -> None:
    result = settle_data(folder, 2026)
    assert [s.budget.standard_heads for s in result.consortia] == [Decimal("57.15"), Decimal("130.95"),
                                                                  Decimal("96.30")]


def test_calibrate_writes_a_policy_fragment_and_a_chart(folder: Path, tmp_path: Path) -> None:
    from yigongti.core.policy import policy_from_toml

    target = tmp_path / "cal" / "fragment.toml"
    result = CliRunner().invoke(app, ["calibrate", "--data", str(folder), "--year", "2026", "--out", str(target)])
    assert result.exit_code == 0, result.output
    policy = policy_from_toml(target.read_text(encoding="utf-8"))
    weights = [b.weight for b in policy.capitation.age_bands]
    assert len(weights) == 7 and all(w >= 0 for w in weights)
    assert "# age 0+: 6 persons" in target.read_text(encoding="utf-8")
    assert (tmp_path / "cal" / "fragment-cost-by-age.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the population mean of the derived weights is 1 (to rounding)
    counts = [int(line.split()[3]) for line in target.read_text(encoding="utf-8").splitlines()
              if line.startswith("# age ")]
    mean = sum(w * n for w, n in zip(weights, counts, strict=True)) / sum(counts)
    assert abs(mean - 1) < Decimal("0.01")


def test_settle_runs_enroll_and_adjudicate_when_their_outputs_are_missing(
        example_input: Path, example_expected: Path, folder: Path, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(example_input, raw)
    result = CliRunner().invoke(app, ["settle", "--data", str(raw), "--year", "2026", "--out", str(tmp_path / "o"),
                                      "--no-reports"])
    assert result.exit_code == 0, result.output
    expected = read_csv(example_expected / "settlement.csv")
    got = read_csv(tmp_path / "o" / "settlement.csv")
    assert [{k: g[k] for k in e} for e, g in zip(expected, got, strict=True)] == expected
    # the computed designations and adjudication are the expected ones: same inputs hash
    # (settle scores the P4P with the appraisal, so its scores are part of the inputs)
    assert read_csv(tmp_path / "o" / "ledger.csv")[0]["inputs_hash"] == settle_year(folder, 2026,
                                                                                   Policy()).inputs_hash


def test_risk_adjustment_and_pool_rate_through_the_service(folder: Path, example_expected: Path) -> None:
    from yigongti.core.dates import age_on_jan_1
    from yigongti.core.policy import CapitationPolicy, Policy

    cap = CapitationPolicy(risk_adjustment=True, risk_weights={"dm": Decimal("1.5")},  # type: ignore[arg-type]
                           risk_diagnoses={"dm": ("E11",)}, pool_resident="200000", pool_public_health="84000.00")
    result = settle_data(folder, 2026, Policy(capitation=cap))
    # by hand: persons with a 2025 diabetes diagnosis weigh 1.5 x their age weight
    diabetic = {r["person_id"] for r in read_csv(folder / "claims.csv")
                if r["admit_date"].startswith("2025") and r["diagnosis"].startswith("E11")}
    assert diabetic
    births = {r["person_id"]: r["birth_date"] for r in read_csv(folder / "persons.csv")}
    heads: dict[str, Decimal] = {}
    for d in read_csv(example_expected / "designations.csv"):
        y, m, day = (int(x) for x in births[d["person_id"]].split("-"))
        w = cap.weight(age_on_jan_1(y, m, day, 2026)) * (Decimal("1.5") if d["person_id"] in diabetic else 1)
        heads[d["consortium_id"]] = heads.get(d["consortium_id"], Decimal(0)) + w
    assert {s.consortium_id: s.budget.standard_heads for s in result.consortia} == heads
    total = sum(heads.values())
    # the medical pool only: the public-health 84,000.00 are earmarked (专款专用), never in the per-head rate
    rate = int(Decimal(20_000_000) / total)  # 200,000.00 yuan in fen over all heads, rounded down
    assert {s.budget.rate for s in result.consortia} == {rate}
    assert sum(s.budget.gross for s in result.consortia) <= 20_000_000
    # ... but allocated apart, to the fen: an account per consortium that closes on the members' parts
    assert sum(s.public_health for s in result.consortia) == 8_400_000
    for s in result.consortia:
        assert sum(a.public_health for a in result.allocations if a.consortium_id == s.consortium_id) == s.public_health
    ph = [e for e in result.ledger.to_pylist() if e["account"] == "public_health"]
    assert sum(e["amount"] for e in ph) == 0 and ph


POLICIES = Path(__file__).resolve().parents[2] / "src" / "yigongti" / "budget" / "policies"


def test_the_suixi_and_pingwu_policy_examples_load_and_settle_as_their_seeds_say(folder: Path) -> None:
    from yigongti.core.policy import policy_from_toml

    suixi = policy_from_toml((POLICIES / "suixi.toml").read_text(encoding="utf-8"), source="suixi.toml")
    pingwu = policy_from_toml((POLICIES / "pingwu.toml").read_text(encoding="utf-8"), source="pingwu.toml")
    shared = {s.consortium_id: s for s in settle_data(folder, 2026, suixi).consortia}
    alone = {s.consortium_id: s for s in settle_data(folder, 2026, pingwu).consortia}
    # 结余留用 / 结余归己: G1's surplus of 15,866.15 is kept whole under both
    assert shared["G1"].retained_surplus == alone["G1"].retained_surplus == 1_586_615
    # 合理超支分担: the fund bears 3,110.07 of G2's overspend; 超支不补: none of it, G2 bears all 22,661.97
    assert shared["G2"].fund_overspend_share == 311_007
    assert alone["G2"].fund_overspend_share == 0 and alone["G2"].consortium_overspend == 2_266_197
