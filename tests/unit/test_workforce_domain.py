"""Workforce rules: a year covered by stationing intervals (overlaps, gaps, touching stints), reproducible sampling of
prescriptions for review, scores per doctor, the medical-record checklist (hypothesis where there is an invariant)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.core.labels import label
from yigongti.core.policy import PolicyError, policy_from_toml
from yigongti.datafolder.schema import PROFESSIONS, TITLES
from yigongti.workforce.domain import (
    ChecklistError,
    Profession,
    StaffingRule,
    Stint,
    Title,
    checklist_from_toml,
    coverage,
    days_in_year,
    draw_sample,
    headcount_runs,
    merge_days,
    sample_size,
    stationed_days,
    summarise_scores,
)
from yigongti.workforce.engine import DEFAULT_CHECKLIST

D = date


def test_touching_stints_cover_the_year_and_a_gap_is_named() -> None:
    full = [Stint("D1", D(2026, 1, 1), D(2026, 6, 30)), Stint("D2", D(2026, 7, 1))]
    c = coverage(full, 2026, 1)
    assert c.met and c.days == c.days_met == 365 and c.gaps == () and c.fewest == 1
    half = coverage([Stint("D1", D(2026, 7, 1), D(2026, 12, 31))], 2026, 1)
    assert not half.met and half.days_met == 184 and half.gaps == ((D(2026, 1, 1), D(2026, 6, 30)),)
    assert half.fewest == 0


def test_one_persons_overlapping_stints_count_once() -> None:
    stints = [Stint("E1", D(2025, 6, 1), D(2026, 12, 31)), Stint("E1", D(2026, 2, 1), D(2026, 2, 28)),
              Stint("E2", D(2026, 1, 1)), Stint("E3", D(2026, 1, 1), D(2026, 3, 31))]
    c = coverage(stints, 2026, 3)
    assert c.days_met == 31 + 28 + 31 and c.gaps == ((D(2026, 4, 1), D(2026, 12, 31)),)
    assert headcount_runs(stints, 2026) == [(D(2026, 1, 1), D(2026, 3, 31), 3), (D(2026, 4, 1), D(2026, 12, 31), 2)]


def test_gaps_between_stints_and_outside_the_year() -> None:
    stints = [Stint("A", D(2026, 3, 1), D(2026, 3, 10)), Stint("B", D(2026, 3, 20), D(2027, 5, 1)),
              Stint("C", D(2024, 1, 1), D(2025, 12, 31))]
    c = coverage(stints, 2026, 1)
    assert c.gaps == ((D(2026, 1, 1), D(2026, 2, 28)), (D(2026, 3, 11), D(2026, 3, 19)))
    assert c.days_met == 10 + (D(2026, 12, 31) - D(2026, 3, 20)).days + 1
    assert coverage([], 2024, 0).met and days_in_year(2024) == 366
    assert stationed_days([(D(2026, 1, 1), D(2026, 1, 10)), (D(2026, 1, 5), D(2026, 1, 20))], 2026) == 20


_days = st.integers(0, 800).map(lambda n: D(2025, 1, 1) + timedelta(days=n))
_stints = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), _days, st.one_of(st.none(), _days)),
                   max_size=12).map(lambda xs: [Stint(p, s, e) for p, s, e in xs])


@given(_stints, st.integers(0, 4))
def test_coverage_agrees_with_counting_day_by_day(stints: list[Stint], required: int) -> None:
    year = 2026
    day, met, gap_days = D(year, 1, 1), 0, 0
    while day.year == year:
        here = {s.staff_id for s in stints if s.start <= day and (s.end is None or day <= s.end)}
        met += len(here) >= required
        day += timedelta(days=1)
    c = coverage(stints, year, required)
    assert c.days_met == met
    gap_days = sum((hi - lo).days + 1 for lo, hi in c.gaps)
    assert c.days_met + gap_days == c.days == 365
    runs = headcount_runs(stints, year)
    assert runs[0][0] == D(year, 1, 1) and runs[-1][1] == D(year, 12, 31)
    assert all(a[1] + timedelta(days=1) == b[0] and a[2] != b[2] for a, b in zip(runs, runs[1:], strict=False))
    merged = merge_days([(s.start, s.end) for s in stints], year)
    assert all(a[1] + timedelta(days=1) < b[0] for a, b in zip(merged, merged[1:], strict=False))


@given(st.sets(st.text("0123456789ABC", min_size=1, max_size=8), max_size=300), st.integers(0, 10_000),
       st.integers(0, 10_000), st.integers(1, 50), st.text(max_size=8))
def test_sampling_is_reproducible_nested_and_sized(ids: set[str], r1: int, r2: int, minimum: int, seed: str) -> None:
    lo, hi = sorted((r1, r2))
    small = draw_sample(sorted(ids), rate_bp=lo, minimum=minimum, seed=seed)
    again = draw_sample(sorted(ids, reverse=True), rate_bp=lo, minimum=minimum, seed=seed)
    big = draw_sample(list(ids), rate_bp=hi, minimum=minimum, seed=seed)
    assert small == again
    assert set(small) <= set(big) <= ids
    assert len(small) == sample_size(len(ids), lo, minimum) == len(set(small))
    assert len(ids) == 0 or len(small) >= min(len(ids), minimum)


def test_sample_sizes_and_a_different_seed_draws_differently() -> None:
    assert sample_size(1000, 100, 100) == 100 and sample_size(50_000, 100, 100) == 500
    assert sample_size(30, 100, 100) == 30 and sample_size(10_001, 100, 1) == 101
    ids = [f"RX{i:05d}" for i in range(1000)]
    assert draw_sample(ids, rate_bp=100, minimum=20, seed="2026-11") != draw_sample(ids, rate_bp=100, minimum=20,
                                                                                     seed="2026-12")


def test_scores_per_doctor() -> None:
    s = summarise_scores([("D1", 90), ("D1", 75), ("D2", 100)], pass_score=80)
    assert (s["D1"].reviewed, s["D1"].points, s["D1"].passed, str(s["D1"].mean)) == (2, 165, 1, "82.5")
    assert s["D2"].passed == 1 and list(s) == ["D1", "D2"]


def test_checklist_scores_and_refusals() -> None:
    cl = checklist_from_toml(DEFAULT_CHECKLIST.read_text(encoding="utf-8"))
    assert sum(i.weight for i in cl.items) == 100
    assert cl.score(cl.codes) == 100 and cl.score([]) == 0
    assert cl.score(["front_page", "history"]) == 30
    with pytest.raises(ChecklistError, match="nope"):
        cl.score(["nope"])
    tiny = checklist_from_toml('[[item]]\ncode="a"\nname_zh="甲"\nweight=1\n'
                               '[[item]]\ncode="b"\nname_zh="乙"\nweight=2\n')
    assert tiny.score(["a"]) == 33 and tiny.score(["b"]) == 67
    for bad, where in (("", "no \\[\\[item\\]\\]"), ('[[item]]\ncode="a"\nname_zh="甲"\nweight=0\n', "weight"),
                       ('[[item]]\ncode="a"\nname_zh="甲"\nweight=1\n[[item]]\ncode="a"\nname_zh="乙"\nweight=1\n',
                        "twice"), ('[[item]]\ncode="a"\nweight=1\n', "name_zh"),
                       ('[[item]]\ncode="a"\nname_zh="甲"\nweight=1\ncolour="red"\n', "colour"), ("x=", "TOML")):
        with pytest.raises(ChecklistError, match=where):
            checklist_from_toml(bad, source="c.toml")


def test_codes_match_the_data_contract_and_have_labels() -> None:
    assert tuple(t.value for t in Title) == TITLES and tuple(p.value for p in Profession) == PROFESSIONS
    for group, codes in (("title", list(Title)), ("profession", list(Profession)),
                         ("staffing_rule", list(StaffingRule))):
        for code in codes:
            assert label(group, code, "zh") != code.value and label(group, code, "en")
    assert label("title", "intermediate") == "中级（主治医师）"


def test_policy_defaults_and_a_bad_title() -> None:
    pol = policy_from_toml("[workforce]\ncity_experts = 2\nreview_rate = \"2%\"\n")
    assert pol.workforce.city_experts == 2 and pol.workforce.review_rate == 200
    assert pol.workforce.attending_per_township == 1 and pol.workforce.attending_titles[0] == "intermediate"
    with pytest.raises(PolicyError, match="attending_titles"):
        policy_from_toml('[workforce]\nattending_titles = ["chief"]\n')
    with pytest.raises(PolicyError, match="review_pass_score"):
        policy_from_toml("[workforce]\nreview_pass_score = 101\n")
