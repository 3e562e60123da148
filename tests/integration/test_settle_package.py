"""The worked example county with a package, a risk reserve, a carry-forward and quarterly distribution, through
``yigongti settle`` and ``yigongti package``: the files agree with each other to the fen."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from tests.integration.test_settle_example import example_folder, read_csv
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.core.money import parse_yuan

POLICY = """
[surplus]
reserve_share = "10%"
carry_forward = "50%"
interim_share = "50%"
distribution = { cash = "60%", project = "30%", equipment = "10%" }

[package]
mix = { duty = "50%", history = "30%", heads = "20%" }
balance_share = "30%"
"""


@pytest.fixture(scope="module")
def run(example_input: Path, example_expected: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = example_folder(example_input, example_expected, tmp_path_factory.mktemp("county"))
    (folder / "policy.toml").write_text(POLICY, encoding="utf-8")
    out = tmp_path_factory.mktemp("out")
    result = CliRunner().invoke(app, ["settle", "--data", str(folder), "--year", "2026", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return folder, out


def _sum_by(rows: list[dict[str, str]], column: str, **where: str) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for r in rows:
        if all(r[k] == v for k, v in where.items()):
            out[r["consortium_id"]] += parse_yuan(r[column])
    return out


def test_allocation_is_what_the_reserve_and_the_carry_forward_leave(run: tuple[Path, Path]) -> None:
    _, out = run
    settlement = read_csv(out / "settlement.csv")
    alloc = _sum_by(read_csv(out / "allocation.csv"), "amount")
    surplus = read_csv(out / "surplus.csv")
    funded = _sum_by(surplus, "amount", account="reserve", kind="reserve_funded")
    carried = _sum_by(surplus, "amount", account="surplus", kind="carried_forward")
    drawn = _sum_by(surplus, "amount", account="overspend")
    assert any(funded.values()) and any(carried.values())  # the policy takes part of the surplus
    for s in settlement:
        c = s["consortium_id"]
        came_in = (parse_yuan(s["retained_surplus"]) + parse_yuan(s["p4p_paid"])
                   - parse_yuan(s["consortium_overspend"]) + drawn[c])
        assert alloc[c] + funded[c] - carried[c] == came_in, c  # carried_forward is booked negative
    ledger = read_csv(out / "ledger.csv")
    assert sum(_sum_by(ledger, "amount", account="pool").values()) == 0


def test_the_package_and_the_statements_reconcile_with_the_settlement(run: tuple[Path, Path]) -> None:
    _, out = run
    settlement = {r["consortium_id"]: r for r in read_csv(out / "settlement.csv")}
    package = read_csv(out / "package.csv")
    assert _sum_by(package, "allocation") == {c: parse_yuan(s["prospective_budget"]) for c, s in settlement.items()}
    assert any(parse_yuan(r["history"]) for r in package)  # the example has claims of 2025
    assert all(parse_yuan(r["allocation"]) == 0 for r in package if r["kind"] in ("cdc", "mch"))
    statements = read_csv(out / "member_statements.csv")
    assert {r["month"] for r in statements} == {str(m) for m in range(1, 13)}
    december = _sum_by(statements, "balance", month="12")
    assert december == {c: parse_yuan(s["balance"]) for c, s in settlement.items()}
    charged = _sum_by(statements, "charged")
    assert charged == {c: parse_yuan(s["in_network_spend"]) + parse_yuan(s["out_of_network_deductions"])
                       for c, s in settlement.items()}


def test_the_quarters_reconcile_with_the_year_end(run: tuple[Path, Path]) -> None:
    _, out = run
    interim = read_csv(out / "interim.csv")
    surplus = read_csv(out / "surplus.csv")
    distributed = _sum_by(surplus, "amount", account="distribution")
    for c, total in distributed.items():
        mine = [r for r in interim if r["consortium_id"] == c]
        assert [r["quarter"] for r in mine] == ["1", "2", "3", "4"]
        assert parse_yuan(mine[-1]["distributed_to_date"]) == total
        for r in mine:
            assert sum(parse_yuan(r[f]) for f in ("cash", "project", "equipment")) == parse_yuan(r["distributed"])


def test_the_package_command_writes_the_package_settle_charges_against(run: tuple[Path, Path],
                                                                      tmp_path: Path) -> None:
    folder, out = run
    result = CliRunner().invoke(app, ["package", "--data", str(folder), "--year", "2026", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "包干" in result.output
    assert (tmp_path / "package.csv").read_bytes() == (out / "package.csv").read_bytes()


def test_a_bad_package_policy_is_named(run: tuple[Path, Path], tmp_path: Path) -> None:
    folder, _ = run
    bad = tmp_path / "bad.toml"
    bad.write_text('[package.mix]\nduty = "90%"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["package", "--data", str(folder), "--year", "2026", "--out", str(tmp_path),
                                      "--policy", str(bad)])
    assert result.exit_code == 2 and "package" in result.output


def test_the_report_shows_the_package_the_statements_the_reserve_and_the_quarters(run: tuple[Path, Path]) -> None:
    from openpyxl import load_workbook

    _, out = run
    page = (out / "reports" / "settlement-G1.html").read_text(encoding="utf-8")
    for heading in ("年初包干与成员对账", "风险基金余额 / risk reserve balance", "提取风险基金", "结转下年",
                    "季度预结算", "资金拨付 / cash", "村卫生室 village_clinic"):
        assert heading in page, heading
    package = {r["inst_id"]: r for r in read_csv(out / "package.csv") if r["consortium_id"] == "G1"}
    assert f"<td>G1-T1</td><td>{'乡镇卫生院/社区卫生服务中心 township'}</td>" in page
    assert package["G1-T1"]["allocation"].replace(".", "") in page.replace(",", "").replace(".", "")
    wb = load_workbook(out / "reports" / "settlement-G1.xlsx")
    assert {"package 包干", "interim 季度"} <= set(wb.sheetnames)
    sheet = wb["package 包干"]
    assert sheet.max_row == 1 + len(package)
