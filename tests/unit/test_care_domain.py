"""The rules of family-doctor care (家庭医生与慢病规则), as properties: control thresholds, worklists by dates, the
panel cap, long prescriptions, key populations."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.care.domain import (
    Control,
    Disease,
    KeyPopulation,
    PanelFull,
    PrescriptionRefused,
    Reading,
    Worklist,
    add_months,
    check_panel,
    check_prescription,
    contract_end,
    control_status,
    disease_of_icd,
    key_populations,
    worklists,
)
from yigongti.core.policy import CarePolicy

POLICY = CarePolicy()
dates = st.dates(date(2020, 1, 1), date(2030, 12, 31))
bp = st.integers(40, 300)
glucose = st.decimals(Decimal("0.5"), Decimal(50), places=1)


@given(bp, bp, st.integers(100, 180), st.integers(60, 110))
def test_blood_pressure_controlled_exactly_below_both_thresholds(sys: int, dia: int, s_cut: int, d_cut: int) -> None:
    policy = CarePolicy(systolic_below=s_cut, diastolic_below=d_cut)
    got = control_status(Disease.HYPERTENSION, Reading(sys, dia), policy)
    assert (got is Control.CONTROLLED) == (sys < s_cut and dia < d_cut)
    assert got is not Control.UNKNOWN


@given(glucose)
def test_fasting_glucose_controlled_below_7(g: Decimal) -> None:
    got = control_status("diabetes", Reading(fasting_glucose=g), POLICY)
    assert got is (Control.CONTROLLED if g < Decimal("7.0") else Control.UNCONTROLLED)


def test_the_boundaries_and_missing_readings() -> None:
    assert control_status("hypertension", Reading(139, 89), POLICY) is Control.CONTROLLED
    assert control_status("hypertension", Reading(140, 80), POLICY) is Control.UNCONTROLLED
    assert control_status("hypertension", Reading(130, 90), POLICY) is Control.UNCONTROLLED
    assert control_status("hypertension", Reading(130, None), POLICY) is Control.UNKNOWN
    assert control_status("hypertension", Reading(fasting_glucose=Decimal(5)), POLICY) is Control.UNKNOWN
    assert control_status("diabetes", Reading(120, 80), POLICY) is Control.UNKNOWN
    assert control_status("diabetes", Reading(fasting_glucose=Decimal("6.9")), POLICY) is Control.CONTROLLED
    assert control_status("diabetes", Reading(fasting_glucose=Decimal("7.0")), POLICY) is Control.UNCONTROLLED


@given(today=dates, gap=st.integers(0, 800), since_gap=st.integers(0, 2000), next_in=st.none() | st.integers(-30, 60),
       last=st.sampled_from([None, *Control]), never=st.booleans())
def test_worklists_by_dates(today: date, gap: int, since_gap: int, next_in: int | None, last: Control | None,
                            never: bool) -> None:
    followup = None if never else today - timedelta(days=gap)
    since = (followup or today) - timedelta(days=since_gap)
    nxt = None if next_in is None else today + timedelta(days=next_in)
    got = worklists(today, since=since, last_followup=followup, next_date=nxt, last_control=last, policy=POLICY)
    anchor = followup or since
    lost = anchor <= add_months(today, -12)
    assert (Worklist.LOST in got) == lost
    assert (Worklist.OVERDUE in got) == (not lost and anchor <= add_months(today, -3))
    assert not {Worklist.LOST, Worklist.OVERDUE} <= got  # the two never overlap
    assert (Worklist.DUE in got) == (next_in is not None and 0 <= next_in < 7)
    assert (Worklist.UNCONTROLLED in got) == (last is Control.UNCONTROLLED)
    if followup is not None and gap < 80:  # seen within the last 80 days: neither overdue nor lost
        assert not got & {Worklist.LOST, Worklist.OVERDUE}


def test_worklist_edges() -> None:
    today = date(2026, 5, 31)
    assert worklists(today, since=date(2026, 1, 1), last_followup=date(2026, 2, 28), next_date=None,
                     last_control=None, policy=POLICY) == {Worklist.OVERDUE}  # Feb 28 = 3 months before May 31
    assert worklists(today, since=date(2026, 1, 1), last_followup=date(2026, 3, 1), next_date=None,
                     last_control=None, policy=POLICY) == set()
    assert worklists(today, since=date(2025, 5, 31), last_followup=None, next_date=None, last_control=None,
                     policy=POLICY) == {Worklist.LOST}


@given(st.integers(0, 3000), st.integers(1, 10), st.integers(1, 3000))
def test_panel_cap(current: int, adding: int, cap: int) -> None:
    policy = CarePolicy(panel_cap=cap)
    if current + adding > cap:
        with pytest.raises(PanelFull, match=str(cap)):
            check_panel(current, adding, policy, gp="张医生")
    else:
        check_panel(current, adding, policy)


@given(st.integers(1, 400), st.booleans(), st.booleans(), st.sampled_from([None, *Control]))
def test_long_prescriptions(days: int, contracted: bool, registered: bool, last: Control | None) -> None:
    allowed = days <= 30 or (days <= 60 and contracted and registered and last is Control.CONTROLLED)
    if allowed:
        check_prescription(days, contracted=contracted, registered=registered, last_control=last, policy=POLICY)
    else:
        with pytest.raises(PrescriptionRefused):
            check_prescription(days, contracted=contracted, registered=registered, last_control=last, policy=POLICY)


def test_a_prescription_refusal_says_why() -> None:
    with pytest.raises(PrescriptionRefused, match="60"):
        check_prescription(90, contracted=True, registered=True, last_control=Control.CONTROLLED, policy=POLICY)
    with pytest.raises(PrescriptionRefused, match="contract"):
        check_prescription(45, contracted=False, registered=True, last_control=Control.CONTROLLED, policy=POLICY)
    check_prescription(90, contracted=True, registered=True, last_control=Control.CONTROLLED,
                       policy=CarePolicy(long_prescription_days=90))


@given(dates)
def test_a_contract_lasts_a_year(start: date) -> None:
    end = contract_end(start, POLICY)
    assert start < end < start + timedelta(days=366)
    assert end + timedelta(days=1) == add_months(start, 12)


def test_icd_ranges() -> None:
    assert disease_of_icd("I10", POLICY) is Disease.HYPERTENSION
    assert disease_of_icd("i15.9", POLICY) is Disease.HYPERTENSION
    assert disease_of_icd("I16", POLICY) is None
    assert disease_of_icd("E11.9", POLICY) is Disease.DIABETES
    assert disease_of_icd("E14", POLICY) is Disease.DIABETES
    assert disease_of_icd("E15", POLICY) is None
    assert disease_of_icd("J18.9", POLICY) is None


def test_key_populations() -> None:
    on = date(2026, 6, 1)
    assert key_populations(date(1961, 6, 1), on) == {KeyPopulation.ELDERLY}  # 65 that day
    assert key_populations(date(1961, 6, 2), on) == set()
    assert key_populations(date(2019, 6, 2), on) == {KeyPopulation.CHILD}  # 6
    assert key_populations(date(2019, 6, 1), on) == set()  # 7
    assert key_populations(date(1990, 1, 1), on, pregnant=True, conditions=["diabetes", "tuberculosis"]) == {
        KeyPopulation.PREGNANT, KeyPopulation.DIABETES, KeyPopulation.TUBERCULOSIS}
