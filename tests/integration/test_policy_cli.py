"""The policy through the command line (政策配置): ``policy show`` marks what a file sets, a partial benefit row keeps
the rest of the row all the way through adjudication, and a bad key exits 2 naming the file and the key."""

from __future__ import annotations

import csv
import shutil
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.core.policy import Policy, PolicyError, policy_from_toml
from yigongti.core.policy_files import folder_policy
from yigongti.demo.policy import write_demo_policy

runner = CliRunner()
REPORTED = '[benefits.designated_primary]\ninpatient_deductible = "150"\ninpatient_rate = "90%"\n'


def _lines(text: str) -> dict[str, str]:
    """``[table] key`` -> the line, for every key line of a ``policy show`` output."""
    out, table = {}, ""
    for line in text.splitlines():
        if line.startswith("["):
            table = line.split("#")[0].strip().strip("[]")
        elif " = " in line:
            out[f"{table}.{line.split(' = ')[0]}".lstrip(".")] = line
    return out


def test_policy_show_marks_what_the_file_sets_and_stays_valid_toml(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text(REPORTED + '[settlement.scores]\n"县医院" = 85\n', encoding="utf-8")
    result = runner.invoke(app, ["policy", "show", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    source = str(tmp_path / "policy.toml")
    lines = _lines(result.stdout)
    assert lines["benefits.designated_primary.inpatient_deductible"] == f'inpatient_deductible = "150.00"  # {source}'
    assert lines["benefits.designated_primary.inpatient_rate"].endswith(f"# {source} (same as default / 同默认值)")
    assert lines["benefits.designated_primary.outpatient_flat_copay"] == "outpatient_flat_copay = true"
    assert lines['settlement.scores."县医院"'].endswith(f"# {source}")
    marked = [k for k, v in lines.items() if "#" in v]
    assert sorted(marked) == ["benefits.designated_primary.inpatient_deductible",
                              "benefits.designated_primary.inpatient_rate", 'settlement.scores."县医院"']
    shown = policy_from_toml(result.stdout)
    assert shown == folder_policy(tmp_path) and shown.benefits.designated_primary.outpatient_flat_copay
    # --policy FILE names that file; without any file nothing is marked and the defaults are printed
    other = tmp_path / "other.toml"
    other.write_text('[benefits]\nflat_copay = "15"\n', encoding="utf-8")
    by_file = runner.invoke(app, ["policy", "show", "--policy", str(other)])
    assert by_file.exit_code == 0 and f'flat_copay = "15.00"  # {other}' in by_file.stdout
    plain = runner.invoke(app, ["policy", "show"])
    assert plain.exit_code == 0 and "#" not in plain.stdout and policy_from_toml(plain.stdout) == Policy()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert policy_from_toml(runner.invoke(app, ["policy", "show", "--data", str(empty)]).stdout) == Policy()


def test_policy_show_and_check_refuse_an_unknown_key_with_exit_2(example_input: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(example_input, data)
    (data / "policy.toml").write_text('[benefits.designated_primary]\ninpatient_deductable = "150"\n',
                                      encoding="utf-8")
    shown = runner.invoke(app, ["policy", "show", "--data", str(data)])
    assert shown.exit_code == 2
    assert f"{data / 'policy.toml'}: benefits.designated_primary.inpatient_deductable: unknown key" in shown.output
    checked = runner.invoke(app, ["check", str(data)])
    assert checked.exit_code == 2
    assert "policy.toml:0:benefits.designated_primary.inpatient_deductable: unknown key" in checked.output
    adjudicated = runner.invoke(app, ["adjudicate", "--data", str(data), "--year", "2026", "--out",
                                      str(tmp_path / "out")])
    assert adjudicated.exit_code == 2 and "inpatient_deductable: unknown key" in adjudicated.output
    missing = runner.invoke(app, ["policy", "show", "--policy", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "no such policy file" in missing.output


def test_a_partial_row_keeps_every_flat_copay_through_adjudication(example_input: Path, example_expected: Path,
                                                                  tmp_path: Path) -> None:
    """The reported case end to end: with the designated primary row's deductible and rate in policy.toml every
    flat-copay visit of the worked example is decided as before (the fund pays all but 20 yuan)."""
    data = tmp_path / "data"
    shutil.copytree(example_input, data)
    (data / "policy.toml").write_text(REPORTED, encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["adjudicate", "--data", str(data), "--year", "2026", "--out", str(out)])
    assert result.exit_code == 0, result.output
    keys = ("claim_id", "network_status", "deductible", "fund_paid", "patient_paid", "rule")
    with (example_expected / "adjudicated.csv").open(encoding="utf-8") as fh:
        expected = {r["claim_id"]: tuple(r[k] for k in keys) for r in csv.DictReader(fh) if r["rule"] == "flat_copay"}
    with (out / "adjudicated.csv").open(encoding="utf-8") as fh:
        got = {r["claim_id"]: tuple(r[k] for k in keys) for r in csv.DictReader(fh)}
    assert len(expected) > 400
    assert {c: got[c] for c in expected} == expected


def test_the_demo_policy_changes_only_the_pools_the_two_disease_benefit_and_the_training_hours(
        example_input: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(example_input, data)
    path = write_demo_policy(data)
    policy = folder_policy(data)
    assert policy.capitation.pool is not None and policy.capitation.pool > 0
    td = policy.benefits.two_disease
    assert (td.enabled, td.rate, td.yearly_cap, td.tiers) == (True, 6_000, 30_000, ("primary", "county"))
    assert policy.workforce.training_hours_required == 24
    benefits = policy.benefits.model_copy(update={"two_disease": Policy().benefits.two_disease})
    assert policy.model_copy(update={"capitation": Policy().capitation, "benefits": benefits,
                                     "workforce": Policy().workforce}) == Policy()
    result = runner.invoke(app, ["policy", "show", "--data", str(data)])
    marked = sorted(k for k, v in _lines(result.stdout).items() if "#" in v)
    assert marked == ["benefits.two_disease.enabled", "benefits.two_disease.rate",  # (a list is not one line)
                      "benefits.two_disease.yearly_cap", "capitation.pool_employee", "capitation.pool_public_health",
                      "capitation.pool_resident", "workforce.training_hours_required"]
    assert tomllib.loads(result.stdout)["capitation"]["pool_resident"] == tomllib.loads(
        path.read_text(encoding="utf-8"))["capitation"]["pool_resident"]


def test_the_web_platforms_stored_policy_merges_with_the_defaults(tmp_path: Path) -> None:
    """The policy kept in the platform's data dir (a full dump, or edited by hand) is read with the same merge."""
    from yigongti.app.startup import POLICY_FILE, _policy
    from yigongti.platform.settings import Settings

    settings = Settings.resolve(data_dir=tmp_path)
    assert _policy(settings) == Policy()
    (tmp_path / POLICY_FILE).write_text(REPORTED, encoding="utf-8")
    row = _policy(settings).benefits.designated_primary
    assert (row.inpatient_deductible, row.outpatient_flat_copay) == (15_000, True)
    (tmp_path / POLICY_FILE).write_text('[benefits]\nflat_copy = "15"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="benefits.flat_copy: unknown key") as exc:
        _policy(settings)
    assert str(exc.value).splitlines()[1].startswith(f"{tmp_path / POLICY_FILE}: ")
