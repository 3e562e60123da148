"""Who a household choice counts for (domain.household)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.core.policy import HouseholdMode
from yigongti.enrollment.household import Member, completed_years, covered_members, household_head

ON = date(2025, 11, 3)
GRANDMA = Member("P1", date(1950, 1, 1))
FATHER = Member("P2", date(1980, 5, 1))
MOTHER = Member("P3", date(1982, 5, 1))
CHILD = Member("P4", date(2015, 1, 1))
TEEN = Member("P5", date(2007, 11, 4))  # turns 18 the day after ON
FAMILY = [GRANDMA, FATHER, MOTHER, CHILD, TEEN]


def test_completed_years_counts_birthdays() -> None:
    assert completed_years(date(2007, 11, 4), date(2025, 11, 3)) == 17
    assert completed_years(date(2007, 11, 3), date(2025, 11, 3)) == 18
    assert completed_years(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert completed_years(date(2008, 2, 29), date(2026, 3, 1)) == 18


def test_each_adult_covers_themself_and_the_children() -> None:
    cover = covered_members("P2", FAMILY, mode=HouseholdMode.EACH_ADULT, adult_age=18, on=ON)
    assert cover == ("P2", "P4", "P5")


def test_head_covers_everyone_other_adults_themselves_only() -> None:
    assert covered_members("P1", FAMILY, mode=HouseholdMode.HEAD_FOR_ALL, adult_age=18, on=ON) == (
        "P1", "P2", "P3", "P4", "P5")
    assert covered_members("P3", FAMILY, mode=HouseholdMode.HEAD_FOR_ALL, adult_age=18, on=ON) == ("P3",)


def test_a_marked_head_beats_the_oldest() -> None:
    marked = [GRANDMA, Member("P3", MOTHER.birth_date, head=True), FATHER, CHILD]
    assert household_head(marked, adult_age=18, on=ON) == marked[1]
    assert covered_members("P3", marked, mode=HouseholdMode.HEAD_FOR_ALL, adult_age=18, on=ON) == (
        "P1", "P2", "P3", "P4")
    assert household_head([CHILD], adult_age=18, on=ON) is None


def test_a_child_chooses_for_the_child_only() -> None:
    for mode in HouseholdMode:
        assert covered_members("P4", FAMILY, mode=mode, adult_age=18, on=ON) == ("P4",)


def test_chooser_outside_the_household_is_an_error() -> None:
    with pytest.raises(ValueError, match="P9"):
        covered_members("P9", FAMILY, mode=HouseholdMode.EACH_ADULT, adult_age=18, on=ON)


members = st.lists(
    st.builds(Member, st.from_regex(r"P[0-9]{1,3}", fullmatch=True), st.dates(date(1920, 1, 1), date(2025, 11, 3)),
              st.booleans()),
    min_size=1, max_size=8, unique_by=lambda m: m.person_id)


@given(members, st.data(), st.sampled_from(list(HouseholdMode)))
def test_cover_includes_the_chooser_and_never_another_adult_unless_head(
        household: list[Member], data: st.DataObject, mode: HouseholdMode) -> None:
    chooser = data.draw(st.sampled_from(household))
    cover = covered_members(chooser.person_id, household, mode=mode, adult_age=18, on=ON)
    assert chooser.person_id in cover and list(cover) == sorted(set(cover))
    assert set(cover) <= {m.person_id for m in household}
    other_adults = {m.person_id for m in household
                    if m.person_id != chooser.person_id and completed_years(m.birth_date, ON) >= 18}
    head = household_head(household, adult_age=18, on=ON)
    if other_adults & set(cover):
        assert mode is HouseholdMode.HEAD_FOR_ALL and head is not None and head.person_id == chooser.person_id
