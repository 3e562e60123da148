"""``yigongti simulate`` and ``simulate-pilot`` given bad arguments and files: exit 2 (the code of every command's
invalid input, core.cli.EXIT_INVALID) with the file and key named, before any work; never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.core.cli import EXIT_INVALID
from yigongti.demo.county import write_demo_county


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small demo county and a scenarios file of one plain scenario."""
    where = tmp_path_factory.mktemp("hostile")
    write_demo_county(where / "county", persons=400, seed=3, fmt="csv")
    (where / "s.toml").write_text("[scenarios.a]\n", encoding="utf-8")
    return where / "county", where / "s.toml"


@pytest.fixture(scope="module")
def county(made: tuple[Path, Path]) -> Path:
    return made[0]


@pytest.fixture(scope="module")
def scenarios(made: tuple[Path, Path]) -> Path:
    return made[1]


def _flat(text: str) -> str:
    """The output as one line: rich's error box (its borders and line breaks) taken away."""
    return " ".join(text.replace("│", " ").split())


def _simulate(county: Path, scenarios: Path, out: Path, *more: str) -> tuple[int, str]:
    got = CliRunner().invoke(app, ["simulate", "--data", str(county), "--scenarios", str(scenarios), "--out",
                                   str(out), "--years", "1", "--replicates", "1", "--no-reports", *more])
    assert got.exception is None or isinstance(got.exception, SystemExit), got.exception
    return got.exit_code, _flat(got.output)


def test_an_out_that_is_a_file_is_refused_before_the_run(county: Path, scenarios: Path, tmp_path: Path) -> None:
    """Before: the whole simulation ran, then mkdir raised FileExistsError (exit 1 with a traceback)."""
    afile = tmp_path / "results"
    afile.write_text("mine", encoding="utf-8")
    for out in (afile, afile / "sub"):
        code, text = _simulate(county, scenarios, out)
        assert code == EXIT_INVALID and "is a file, not a folder" in text
    assert afile.read_text(encoding="utf-8") == "mine"
    got = CliRunner().invoke(app, ["run", "--data", str(county), "--year", "2026", "--out", str(afile)])
    assert got.exit_code == EXIT_INVALID and "is a file, not a folder" in _flat(got.output)  # every command's --out


@pytest.mark.parametrize(("more", "says"), [
    (("--engine", "nope"), "--engine must be duckdb or spark"),
    (("--years", "51"), "--years: at most 50"),
    (("--years", "0", "--replicates", "-1", "--jobs", "0"), "3 problem(s)"),
])
def test_bad_arguments_exit_2(county: Path, scenarios: Path, tmp_path: Path, more: tuple[str, ...],
                              says: str) -> None:
    """Before: --engine nope was a ValueError traceback (exit 1); --years 1000000 ran until the years ran out."""
    code, text = _simulate(county, scenarios, tmp_path / "out", *more)
    assert code == EXIT_INVALID and says in text, text
    assert not (tmp_path / "out").exists()


def test_a_scenarios_file_not_utf8_is_named(county: Path, tmp_path: Path) -> None:
    bad = tmp_path / "gbk.toml"
    bad.write_bytes('[scenarios.a]\nlabel = "总额"\n'.encode("gbk"))
    code, text = _simulate(county, bad, tmp_path / "out")
    assert code == EXIT_INVALID and f"{bad}:0:: not UTF-8" in text


def test_prevention_of_a_consortium_the_county_lacks_is_named(county: Path, tmp_path: Path) -> None:
    """Before: the effort of an unknown consortium id was ignored without a word."""
    path = tmp_path / "s.toml"
    path.write_text("[scenarios.p.behaviour]\nprevention_by_consortium = { NOPE = 0.5 }\n", encoding="utf-8")
    code, text = _simulate(county, path, tmp_path / "out")
    assert code == EXIT_INVALID and "scenarios.p.behaviour.prevention_by_consortium.NOPE" in text, text


def test_simulate_pilot_refuses_a_bad_size_and_a_region_that_is_a_path(tmp_path: Path) -> None:
    """Before: --persons 0 silently used the design's size; a region named ../x wrote a county outside --out."""
    got = CliRunner().invoke(app, ["simulate-pilot", "--out", str(tmp_path / "p"), "--persons", "0"])
    assert got.exit_code == EXIT_INVALID and not (tmp_path / "p").exists()
    design = tmp_path / "d.toml"
    design.write_text('persons = 100\n[regions."../x"]\n[incomes.low]\n', encoding="utf-8")
    got = CliRunner().invoke(app, ["simulate-pilot", "--out", str(tmp_path / "p" / "q"), "--design", str(design)])
    assert got.exit_code == EXIT_INVALID and "regions.../x" in _flat(got.output)
    assert not (tmp_path / "p").exists() and not (tmp_path / "x-low").exists()


def test_a_policy_override_is_checked_against_every_county_s_policy(county: Path, tmp_path: Path) -> None:
    """Before: only the first county's policy was checked up front; an override invalid for another county failed
    in the middle of the run, after the counties before it, without the file's name."""
    for name in ("a", "b"):
        shutil.copytree(county, tmp_path / "pilot" / name)
    policy = tmp_path / "pilot" / "b" / "policy.toml"
    text = policy.read_text(encoding="utf-8").replace("[capitation]\n", '[capitation]\np4p_reserve_max = "8%"\n')
    policy.write_text(text, encoding="utf-8")
    path = tmp_path / "s.toml"
    path.write_text('[scenarios.p4p]\n[scenarios.p4p.policy.capitation]\np4p_reserve = "10%"\n', encoding="utf-8")
    code, text = _simulate(tmp_path / "pilot", path, tmp_path / "out")
    assert code == EXIT_INVALID and f"{path}:0:scenarios.p4p.policy" in text and "county b:" in text, text
    assert not (tmp_path / "out").exists()
