"""The food-borne case list (食源性疾病病例目录): the shipped file loads, a diagnosis matches by its longest ICD-10
prefix, the deadline is the list's hours after the diagnosis, and a broken file names the entry and the field."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.public_health.domain import CatalogueError, foodborne_from_toml
from yigongti.public_health.engine import load_foodborne


def test_the_shipped_list_matches_by_the_longest_prefix() -> None:
    cases = load_foodborne()
    assert cases.report_hours == 48
    assert cases.match("t62.0") is cases.get("mushroom_poisoning")
    assert cases.match("T62.9") is cases.get("noxious_food")
    assert cases.match("A05.9") is cases.get("bacterial_intoxication")
    assert cases.match("I10") is None
    assert cases.deadline(datetime(2025, 11, 15, 9, 0)) == datetime(2025, 11, 17, 9, 0)


@given(st.integers(min_value=1, max_value=10_000), st.datetimes(min_value=datetime(2000, 1, 1),
                                                               max_value=datetime(2100, 1, 1)))
def test_the_deadline_is_the_hours_after_the_diagnosis(hours: int, at: datetime) -> None:
    cases = foodborne_from_toml(f'report_hours = {hours}\n[[case]]\ncode = "x"\nicd10 = ["A05"]\n')
    assert (cases.deadline(at) - at).total_seconds() == hours * 3600


@pytest.mark.parametrize(("text", "words"), [
    ("report_hours = 0\n[[case]]\ncode = 'x'\nicd10 = ['A05']", "report_hours"),
    ("report_hours = true\n[[case]]\ncode = 'x'\nicd10 = ['A05']", "report_hours"),
    ("report_hours = 48\n", "no [[case]]"),
    ("report_hours = 48\n[[case]]\ncode = 'x'\nicd10 = []", "case 1 (x): field icd10"),
    ("report_hours = 48\n[[case]]\nicd10 = ['A05']", "case 1: field code"),
    ("report_hours = 48\n[[case]]\ncode = 'x'\nicd10 = ['A05']\n[[case]]\ncode = 'x'\nicd10 = ['T61']", "twice"),
    ("report_hours = ", "not valid TOML"),
])
def test_a_broken_list_names_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(CatalogueError, match=words.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        foodborne_from_toml(text, source="f.toml")
