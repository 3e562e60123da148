"""Hostile and careless input to the simulator's files (scenarios, pilot design) and the policy amounts they carry:
every problem is an InvalidInput naming the file and the dotted key, never a traceback nor a silent wrong number."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.core.policy import Policy, PolicyError, policy_from_toml
from yigongti.core.policy_files import load_policy
from yigongti.core.problems import InvalidInput, read_text_file
from yigongti.simulator.domain import load_pilot_design, load_scenarios
from yigongti.simulator.pilot import PILOT_4X3, read_pilot_design
from yigongti.simulator.service import county_folders, grown, read_scenarios


def _where(text: str, loader=load_scenarios) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as err:
        loader(text, source="f.toml")
    assert all(p.file == "f.toml" for p in err.value.problems)
    return {p.column: p.message for p in err.value.problems}


@pytest.mark.parametrize(("text", "key", "says"), [
    ("[scenarios.a.behaviour]\nreview_share = true\n", "scenarios.a.behaviour.review_share", "number"),
    ("[scenarios.a.behaviour]\ninertia = inf\n", "scenarios.a.behaviour.inertia", "finite"),
    ("[scenarios.a.behaviour]\nreview_share = nan\n", "scenarios.a.behaviour.review_share", "finite"),
    ("[scenarios.a.behaviour]\nprevention_by_consortium = {G1 = 2.0}\n",
     "scenarios.a.behaviour.prevention_by_consortium.G1", "less than or equal to 1"),
    ("[scenarios.a]\nmerge_consortia = \"yes\"\n", "scenarios.a.merge_consortia", "boolean"),
    ("[scenarios.a]\nlabel = 5\n", "scenarios.a.label", "string"),
    ("[scenarios.a.policy.benefits]\nflat_copay = -5\n", "scenarios.a.policy.benefits.flat_copay", "negative"),
    ("[scenarios.\"a b\"]\n", "scenarios.a b", "letters, digits"),
    ("[scenarios.\"../x\"]\n", "scenarios.../x", "letters, digits"),
    ("[scenarios.\"=HYPERLINK(1)\"]\n", "scenarios.=HYPERLINK(1)", "letters, digits"),
])
def test_a_bad_scenario_names_its_key(text: str, key: str, says: str) -> None:
    """Each was accepted before (a boolean read as 1.0, inf as a utility, an effort of 2 clipped to 1, "yes" as
    true, a negative copay, a name with a space or a path) or, for inf, gave NaN utilities."""
    where = _where(text)
    assert key in where and says in where[key], where


def test_chinese_and_dashed_scenario_names_are_fine() -> None:
    assert [s.name for s in load_scenarios('[scenarios."总额付费"]\n[scenarios.low-copay_2]\n')] == ["总额付费",
                                                                                                "low-copay_2"]


def test_files_that_are_not_utf8_or_not_files_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "s.toml"
    bad.write_bytes(b'[scenarios.a]\nlabel = "\xff\xfe"\n')
    for read in (read_scenarios, read_pilot_design, read_text_file):
        with pytest.raises(InvalidInput, match="not UTF-8") as err:
            read(bad)
        assert err.value.problems[0].file == str(bad)
    with pytest.raises(InvalidInput, match="a folder"):
        read_scenarios(tmp_path)
    with pytest.raises(InvalidInput, match="no such file"):
        read_pilot_design(tmp_path / "none.toml")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(bad)
    (tmp_path / "bom.toml").write_bytes("\ufeff[scenarios.a]\n".encode())
    assert [s.name for s in read_scenarios(tmp_path / "bom.toml")] == ["a"]


@pytest.mark.parametrize(("text", "key", "says"), [
    ("persons = 0\n[regions.e]\n[incomes.l]\n", "persons", "greater than or equal to 100"),
    ("persons = -5\n[regions.e]\n[incomes.l]\n", "persons", "greater than or equal to 100"),
    ("[incomes.l]\n", "regions", "no [regions.NAME]"),
    ("[regions.e]\n[incomes.l]\nresident_per_enrollee = true\n", "incomes.l.resident_per_enrollee", "boolean"),
    ("[regions.e]\n[incomes.l]\nresident_per_enrollee = 1180.005\n", "incomes.l.resident_per_enrollee",
     "at most 2 decimals"),
    ("[regions.e]\n[incomes.l]\nresident_per_enrollee = -3\n", "incomes.l.resident_per_enrollee", "negative"),
    ("[regions.\"../../evil\"]\n[incomes.l]\n", "regions.../../evil", "letters, digits"),
    ("bogus = 1\n[regions.e]\n[incomes.l]\n", "bogus", "unknown key"),
    ("seed = \"x\"\n[regions.e]\n[incomes.l]\n", "seed", "integer"),
    ("[regions]\ne = 5\n[incomes.l]\n", "regions.e", "table"),
    ("[regions.e]\n[incomes.l]\ncost_scale = \"x\"\n", "incomes.l.cost_scale", "number"),
    ("[regions.e]\ncost_scale = 3\n[incomes.l]\ncost_scale = 4\n", "regions.e+incomes.l.cost_scale",
     "less than or equal to 10"),
    ("year = 1200\n[regions.e]\n[incomes.l]\n", "year", "greater than or equal to 1990"),
    ("[regions.a-b]\n[regions.a]\n[incomes.c]\n[incomes.b-c]\n", "regions.a+incomes.b-c", "also from"),
    ("[regions.e]\n[incomes]\n" + "".join(f"i{k} = {{}}\n" for k in range(11)), "incomes", "at most 10"),
])
def test_a_bad_pilot_design_names_its_key(text: str, key: str, says: str) -> None:
    """Before: a boolean income was 1 yuan, 1180.005 yuan a float rounded to 1180.01, a region "../../evil" a folder
    outside --out, two regions and incomes joined into one county name twice (one folder written over the other),
    an unknown top-level key ignored, a string seed or scale a TypeError, a scalar region an AttributeError, and an
    11th income level a county seed equal to the next region's first."""
    where = _where(text, load_pilot_design)
    assert key in where and says in where[key], where


def test_the_shipped_design_reads_as_before() -> None:
    d = read_pilot_design(PILOT_4X3)
    east_high = next(c for c in d.counties if c.name == "east-high")
    assert (east_high.seed, east_high.resident_per_enrollee, east_high.employee_per_enrollee) == (2026000, 130_000,
                                                                                                 260_000)
    assert len({c.seed for c in d.counties}) == len({c.name for c in d.counties}) == 12


def test_policy_amounts_are_never_negative() -> None:
    """A negative amount anywhere in a policy (copay, deductible, cap, pool, GP pay) was accepted and turned the
    sums it entered upside down."""
    for text in ("[benefits]\nflat_copay = -5\n", "[benefits.designated_primary]\ninpatient_deductible = \"-0.01\"\n",
                 "[capitation]\npool_resident = -1000\n", "[benefits]\nannual_cap_resident = 1e300\n"):
        with pytest.raises(PolicyError):
            policy_from_toml(text)
    assert policy_from_toml("[benefits]\nflat_copay = 0\n").benefits.flat_copay == 0
    assert Policy().benefits.flat_copay == 2000


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**17), st.decimals(min_value=-0.5, max_value=1, places=4), st.integers(0, 50))
def test_growth_of_money_is_exact_to_the_fen(fen: int, growth: object, years: int) -> None:
    """The fund's income grown by ``income_growth``: exactly (fen x (1 + g) ** k, half up), where a float product is
    off by a fen from about 10^14 fen."""
    g = float(growth)  # type: ignore[arg-type]
    exact = fen * (1 + Fraction(repr(g))) ** years
    floor = exact.numerator // exact.denominator
    want = floor + (1 if exact - floor >= Fraction(1, 2) else 0)
    assert grown(fen, g, years) == want


def test_float_growth_would_lose_a_fen() -> None:
    assert grown(10**15 + 1, 0.03, 7) != round((10**15 + 1) * 1.03 ** 7)  # the float result is a fen off


def test_a_pilot_s_design_csv_not_utf8_is_named(tmp_path: Path) -> None:
    """Before: a UnicodeDecodeError traceback from ``county_folders`` (the order of a pilot's counties)."""
    for name in ("b", "a"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "persons.csv").write_text("person_id\n", encoding="utf-8")
    (tmp_path / "design.csv").write_bytes("county\nb\n南\n".encode("gbk"))
    with pytest.raises(InvalidInput, match="not UTF-8") as err:
        county_folders(tmp_path)
    assert err.value.problems[0].file == str(tmp_path / "design.csv")
    (tmp_path / "design.csv").write_text("county,x\nb,1\na,2\n", encoding="utf-8")
    assert [n for n, _ in county_folders(tmp_path)] == ["b", "a"]
