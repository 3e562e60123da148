"""Food-borne clusters (食源性聚集性病例) grouped from the cases: one place, within the window of the first case, at
least the minimum of cases; every case in at most one cluster, whatever the order the cases were recorded in."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.public_health.domain import ClusterCase, find_clusters, place_key

T0 = datetime(2026, 6, 1, 8, 0)


def case(i: int, place: str, hours: float, dx_hours: float | None = None) -> ClusterCase:
    at = T0 + timedelta(hours=hours)
    return ClusterCase(i, place_key(place), at, at + timedelta(hours=dx_hours if dx_hours is not None else 1))


def test_two_cases_of_one_banquet_within_the_window_are_a_cluster_due_two_hours_after_the_second() -> None:
    found = find_clusters([case(1, "王家婚宴", 0, 3), case(2, "王家婚宴", 5, 4), case(3, "李家饭店", 1)],
                          min_cases=2, window_hours=72, report_hours=2)
    assert len(found) == 1
    k = found[0]
    assert k.case_ids == (1, 2) and k.cluster_id == 1 and k.place == "王家婚宴"
    assert k.formed_at == T0 + timedelta(hours=9)  # the second diagnosis (case 2: onset 5 h + 4 h)
    assert k.deadline == k.formed_at + timedelta(hours=2)
    assert (k.first_at, k.last_at) == (T0, T0 + timedelta(hours=5))


def test_a_case_past_the_window_of_the_first_opens_another_group() -> None:
    cases = [case(1, "食堂", 0), case(2, "食堂", 70), case(3, "食堂", 75), case(4, "食堂", 140)]
    found = find_clusters(cases, min_cases=2, window_hours=72, report_hours=2)
    assert [k.case_ids for k in found] == [(1, 2), (3, 4)]
    assert find_clusters(cases, min_cases=3, window_hours=72, report_hours=2) == []


def test_no_place_never_groups_and_places_compare_without_spaces_case_or_width() -> None:
    assert find_clusters([case(1, "", 0), case(2, "", 1)], min_cases=2, window_hours=72, report_hours=2) == []
    assert place_key(" Ｘ村 王家 酒席 ") == place_key("x村王家酒席") == "x村王家酒席"
    found = find_clusters([case(1, "Ｘ村 王家酒席", 0), case(2, "x村王家酒席", 1)], min_cases=2, window_hours=72,
                          report_hours=2)
    assert [k.case_ids for k in found] == [(1, 2)]


def test_the_rules_refuse_numbers_that_make_no_cluster() -> None:
    with pytest.raises(ValueError):
        find_clusters([], min_cases=1, window_hours=72, report_hours=2)


CASES = st.lists(st.tuples(st.sampled_from(["", "A", "B", "c", "C"]), st.integers(0, 400), st.integers(0, 48)),
                 max_size=40)


@settings(max_examples=200, deadline=None)
@given(CASES, st.integers(2, 5), st.integers(1, 96), st.randoms(use_true_random=False))
def test_every_case_in_at_most_one_cluster_and_the_order_of_recording_changes_nothing(
        raw: list[tuple[str, int, int]], min_cases: int, window: int, rnd: object) -> None:
    cases = [case(i + 1, p, h, d) for i, (p, h, d) in enumerate(raw)]
    found = find_clusters(cases, min_cases=min_cases, window_hours=window, report_hours=2)
    ids = [i for k in found for i in k.case_ids]
    assert len(ids) == len(set(ids))
    by_id = {c.case_id: c for c in cases}
    for k in found:
        members = [by_id[i] for i in k.case_ids]
        assert len(members) >= min_cases
        assert {m.place for m in members} == {k.place} and k.place
        assert all(timedelta(0) <= m.at - k.first_at <= timedelta(hours=window) for m in members)
        assert k.formed_at in {m.diagnosed_at for m in members} and k.deadline == k.formed_at + timedelta(hours=2)
    shuffled = list(cases)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    again = find_clusters(shuffled, min_cases=min_cases, window_hours=window, report_hours=2)
    assert {k.case_ids for k in again} == {k.case_ids for k in found}
    # and numbered in another order (ids given by the recording order): the same groups of cases
    renumbered = [type(c)(len(shuffled) - n, c.place, c.at, c.diagnosed_at) for n, c in enumerate(shuffled)]
    back = {len(shuffled) - n: c.case_id for n, c in enumerate(shuffled)}
    third = find_clusters(renumbered, min_cases=min_cases, window_hours=window, report_hours=2)
    assert {frozenset(back[i] for i in k.case_ids) for k in third} == {frozenset(k.case_ids) for k in found}
