"""The key populations' service schedules (重点人群服务时间表), as properties: the national norms' counts, windows that
never overlap, a service counting once, states that partition, completion rates, the policy's validation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from yigongti.care.domain import KeyPopulation
from yigongti.care.schedules import (
    Slot,
    SlotState,
    child_slots,
    completion,
    elderly_slots,
    first_service,
    mental_slots,
    prenatal_slots,
    slot_state,
    tuberculosis_slots,
)
from yigongti.core.policy import KeyPopulationPolicy, policy_from_toml

KP = KeyPopulationPolicy()
dates = st.dates(date(2015, 1, 1), date(2030, 12, 31))


def _well_formed(slots: list[Slot]) -> None:
    for s in slots:
        assert s.start <= s.due <= s.end
    for a, b in zip(slots, slots[1:], strict=False):
        assert a.end < b.start  # never overlapping: a service counts for one slot at most


def test_the_national_child_schedule_has_13_visits_at_the_norms_ages() -> None:
    birth = date(2024, 1, 31)
    slots = child_slots(birth, KP)
    assert len(slots) == 13
    assert slots[0].due == date(2024, 2, 7)  # the newborn home visit, 7 days after birth
    assert [s.due for s in slots[1:4]] == [date(2024, 2, 29), date(2024, 4, 30), date(2024, 7, 31)]
    assert slots[-1].due == date(2030, 1, 31)  # 6 years
    assert slots[-1].end < date(2031, 1, 31)  # before the 7th birthday
    assert slots[0].start == birth


def test_prenatal_windows_five_by_the_gestational_weeks_and_a_delivery_ends_them() -> None:
    lmp = date(2026, 1, 5)
    slots = prenatal_slots(lmp, KP)
    assert len(slots) == 5 >= KP.prenatal_min_visits
    assert slots[0].start == lmp and slots[0].end == lmp + timedelta(weeks=13, days=6)
    assert slots[1].start == lmp + timedelta(weeks=16)
    early = prenatal_slots(lmp, KP, delivered=lmp + timedelta(weeks=30))
    assert len(early) == 4 and early[-1].end == lmp + timedelta(weeks=30)


def test_tuberculosis_every_10_days_for_two_months_then_monthly_to_six() -> None:
    start = date(2026, 3, 1)
    slots = tuberculosis_slots(start, KP)
    intensive = [s for s in slots if s.due <= date(2026, 5, 1)]
    assert [s.due for s in intensive] == [start + timedelta(days=10 * k) for k in range(1, 7)]
    assert [s.due for s in slots[6:]] == [date(2026, 6, 1), date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)]
    stopped = tuberculosis_slots(start, KP, stopped=date(2026, 4, 15))
    assert stopped[-1].end == date(2026, 4, 15) and len(stopped) == 4


def test_mental_quarterly_while_registered() -> None:
    slots = mental_slots(date(2025, 1, 10), date(2026, 1, 9), KP)
    assert [s.due for s in slots] == [date(2025, 4, 10), date(2025, 7, 10), date(2025, 10, 10), date(2026, 1, 10)]
    ended = mental_slots(date(2025, 1, 10), date(2026, 1, 9), KP, ended=date(2025, 8, 1))
    assert ended[-1].end == date(2025, 8, 1)


def test_elderly_once_a_year_from_the_day_they_turn_65() -> None:
    slots = elderly_slots(date(1961, 6, 15), range(2025, 2028), KP)
    assert [(s.start, s.end) for s in slots] == [(date(2026, 6, 15), date(2026, 12, 31)),
                                                 (date(2027, 1, 1), date(2027, 12, 31))]


@given(dates, st.sampled_from(["child", "prenatal", "tb", "mental"]), st.integers(0, 40))
def test_every_schedule_is_well_formed(start: date, kind: str, stop: int) -> None:
    stopped = start + timedelta(days=7 * stop)
    if kind == "child":
        slots = child_slots(start, KP)
    elif kind == "prenatal":
        slots = prenatal_slots(start, KP, delivered=stopped)
    elif kind == "tb":
        slots = tuberculosis_slots(start, KP, stopped=stopped)
    else:
        slots = mental_slots(start, start + timedelta(days=700), KP, ended=stopped)
    _well_formed(slots)
    assert all(s.start >= start for s in slots)


@given(dates, st.lists(st.integers(0, 2600), max_size=40), dates)
def test_states_partition_and_completion_counts_each_service_once(birth: date, offsets: list[int],
                                                                   today: date) -> None:
    slots = child_slots(birth, KP)
    services = sorted({birth + timedelta(days=d) for d in offsets if birth + timedelta(days=d) <= today})
    states = [slot_state(s, services, today) for s in slots]
    done = [s for s, st_ in zip(slots, states, strict=True) if st_ is SlotState.DONE]
    assert len(done) <= len(services)
    for s in done:
        hit = first_service(s, services)
        assert hit is not None and s.start <= hit <= s.end
    for s, st_ in zip(slots, states, strict=True):
        if st_ is SlotState.MISSED:
            assert today > s.end
        if st_ in (SlotState.DUE, SlotState.OVERDUE):
            assert s.start <= today <= s.end
    total = sum((completion(slots, services, y, today) for y in range(birth.year, birth.year + 8)),
                start=completion([], [], 0, today))
    assert total.done == len(done)
    assert total.counted == len(done) + states.count(SlotState.MISSED)
    assert total.rate is None or 0 <= total.rate <= 1


def test_a_late_visit_can_still_be_made_up_until_the_window_closes() -> None:
    slots = mental_slots(date(2025, 1, 10), date(2025, 12, 31), KP)
    first = slots[0]
    assert slot_state(first, [], first.due) is SlotState.DUE
    assert slot_state(first, [], first.due + timedelta(days=1)) is SlotState.OVERDUE
    assert slot_state(first, [], first.end + timedelta(days=1)) is SlotState.MISSED
    assert slot_state(first, [first.end], first.end + timedelta(days=1)) is SlotState.DONE


def test_the_policy_refuses_a_schedule_that_makes_no_sense() -> None:
    with pytest.raises(ValidationError, match="child_visit_months"):
        KeyPopulationPolicy(child_visit_months=(3, 1))
    with pytest.raises(ValidationError, match="prenatal_weeks"):
        KeyPopulationPolicy(prenatal_weeks=((0, 13), (16, 20)))  # fewer than 5 windows
    with pytest.raises(ValidationError, match="tb_intensive_months"):
        KeyPopulationPolicy(tb_intensive_months=8)


def test_the_toml_section_merges_key_by_key() -> None:
    policy = policy_from_toml('[care.key_populations]\nmental_every_months = 1\n'
                              'prenatal_weeks = [[0, 12], [16, 20], [21, 24], [28, 36], [37, 40]]\n')
    kp = policy.care.key_populations
    assert kp.mental_every_months == 1 and kp.prenatal_weeks[0] == (0, 12)
    assert kp.child_visit_months == KP.child_visit_months and policy.care.panel_cap == 1500
    assert KeyPopulation.CHILD in {s.population for s in child_slots(date(2026, 1, 1), kp)}
