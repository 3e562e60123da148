"""rules.md A as pure domain rules: validate_choice (window, nesting, county) and the precedence of sources."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from yigongti.core.policy import EnrollmentPolicy
from yigongti.enrollment.domain import (
    MESSAGES,
    Choice,
    Designation,
    RefusalCode,
    Source,
    household_choice,
    last_valid_choice,
    pick_designation,
    render,
    validate_choice,
)
from yigongti.registry.domain import Consortium, Institution, Registry, Tier

COUNTY = "510727"


def inst(i: str, tier: Tier, *, cons: str | None = "C1", parent: str | None = None,
         county: str = COUNTY) -> Institution:
    kind = {"county": "general", "township": "township_centre", "village": "village_clinic"}.get(tier.value, "general")
    return Institution(i, i, tier, 2 if tier in (Tier.COUNTY, Tier.OUTSIDE) else 0, kind, cons, parent, county,
                       104.5, 32.4)


REGISTRY = Registry.of(
    [inst("H1", Tier.COUNTY), inst("T1", Tier.TOWNSHIP), inst("T1-V1", Tier.VILLAGE, parent="T1"),
     inst("T2", Tier.TOWNSHIP), inst("T2-V1", Tier.VILLAGE, parent="T2"),
     inst("H2", Tier.COUNTY, cons="C2"), inst("U1", Tier.TOWNSHIP, cons="C2"),
     inst("U1-V1", Tier.VILLAGE, cons="C2", parent="U1"),
     inst("K1", Tier.COUNTY, cons="C9", county="510000"), inst("K1-T", Tier.TOWNSHIP, cons="C9", county="510000"),
     inst("K1-V", Tier.VILLAGE, cons="C9", parent="K1-T", county="510000"),
     inst("X", Tier.OUTSIDE, cons=None)],
    [Consortium("C1", "one", COUNTY, "H1"), Consortium("C2", "two", COUNTY, "H2"),
     Consortium("C9", "nine", "510000", "K1")],
)
WINDOW = EnrollmentPolicy().window(2026)


def choice(cons: str | None = "C1", town: str | None = "T1", village: str | None = "T1-V1",
           at: datetime = datetime(2025, 11, 1, 9, 0), person: str = "P1") -> Choice:
    return Choice(person, 2026, cons, town, village, at)


def check(c: Choice, county: str = COUNTY) -> RefusalCode | None:
    r = validate_choice(c, registry=REGISTRY, person_county=county, window=WINDOW)
    return None if r is None else r.code


def test_default_window_is_oct_1_to_dec_31_of_the_year_before() -> None:
    assert WINDOW == (date(2025, 10, 1), date(2025, 12, 31))


@pytest.mark.parametrize(("at", "ok"), [
    (datetime(2025, 9, 30, 23, 59, 59), False),
    (datetime(2025, 10, 1, 0, 0, 0), True),
    (datetime(2025, 12, 31, 23, 59, 59), True),
    (datetime(2026, 1, 1, 0, 0, 0), False),
    (datetime(2026, 10, 15, 12, 0), False),  # a choice for 2026 made in the window for 2027
])
def test_window_edges_are_inclusive(at: datetime, ok: bool) -> None:
    assert check(choice(at=at)) is (None if ok else RefusalCode.OUTSIDE_WINDOW)


def test_choice_after_window_is_refused_with_the_window_dates() -> None:
    r = validate_choice(choice(at=datetime(2026, 1, 1, 8, 30)), registry=REGISTRY, person_county=COUNTY, window=WINDOW)
    assert r is not None and r.code is RefusalCode.OUTSIDE_WINDOW
    assert "2025-10-01" in r.message_en and "2025-12-31" in r.message_en and "2026-01-01T08:30:00" in r.message_en
    assert "2025-10-01 至 2025-12-31" in r.message_zh
    assert r.fields == ("chosen_at", "year")
    assert r.message == f"{r.message_zh} / {r.message_en}"


def test_first_year_window_comes_from_the_policy() -> None:
    pol = EnrollmentPolicy(first_year=2026, first_year_window_start=date(2026, 1, 1),
                           first_year_window_end=date(2026, 3, 31))
    w = pol.window(2026)
    ok = validate_choice(choice(at=datetime(2026, 2, 1)), registry=REGISTRY, person_county=COUNTY, window=w)
    late = validate_choice(choice(at=datetime(2025, 11, 1)), registry=REGISTRY, person_county=COUNTY, window=w)
    assert ok is None and late is not None and late.code is RefusalCode.OUTSIDE_WINDOW


def test_a_valid_choice_is_accepted() -> None:
    assert check(choice()) is None
    assert check(choice("C2", "U1", "U1-V1")) is None


@pytest.mark.parametrize(("c", "code", "words"), [
    (choice(cons=None), RefusalCode.MISSING_FIELD, "consortium_id is empty"),
    (choice(village=""), RefusalCode.MISSING_FIELD, "village_id is empty"),
    (choice(cons="C7"), RefusalCode.UNKNOWN_CONSORTIUM, "consortium C7 does not exist"),
    (choice("C9", "K1-T", "K1-V"), RefusalCode.CONSORTIUM_NOT_IN_COUNTY,
     "consortium C9 belongs to county 510000, not to the person's insured county 510727"),
    (choice(town="T7"), RefusalCode.UNKNOWN_INSTITUTION, "institution T7 (township_id) does not exist"),
    (choice(village="V7"), RefusalCode.UNKNOWN_INSTITUTION, "institution V7 (village_id) does not exist"),
    (choice(town="H1"), RefusalCode.TOWNSHIP_WRONG_TIER, "H1 is of tier county"),
    (choice(town="T1-V1"), RefusalCode.TOWNSHIP_WRONG_TIER, "T1-V1 is of tier village"),
    (choice(town="U1", village="U1-V1"), RefusalCode.TOWNSHIP_NOT_MEMBER,
     "the township institution U1 belongs to consortium C2, not C1"),
    (choice(village="T2"), RefusalCode.VILLAGE_WRONG_TIER, "T2 is of tier township"),
    (choice(village="X"), RefusalCode.VILLAGE_WRONG_TIER, "X is of tier outside"),
    (choice(village="T2-V1"), RefusalCode.VILLAGE_NOT_UNDER_TOWNSHIP,
     "the village clinic T2-V1 belongs to township centre T2, not T1"),
])
def test_broken_nesting_is_refused_with_its_code(c: Choice, code: RefusalCode, words: str) -> None:
    r = validate_choice(c, registry=REGISTRY, person_county=COUNTY, window=WINDOW)
    assert r is not None and r.code is code
    assert words in r.message_en
    assert r.message_zh and r.fields == MESSAGES[code][2]


def test_village_not_under_township_message_in_chinese_names_both_townships() -> None:
    r = validate_choice(choice(village="T2-V1"), registry=REGISTRY, person_county=COUNTY, window=WINDOW)
    assert r is not None and r.message_zh == "村级机构 T2-V1 隶属乡镇级机构 T2，不隶属所选的 T1"


def test_person_of_another_county_cannot_choose_this_county() -> None:
    assert check(choice(), county="510000") is RefusalCode.CONSORTIUM_NOT_IN_COUNTY
    assert check(choice("C9", "K1-T", "K1-V"), county="510000") is None


def test_window_is_checked_before_nesting() -> None:
    assert check(choice(cons="C7", at=datetime(2025, 9, 1))) is RefusalCode.OUTSIDE_WINDOW


def test_every_code_has_messages_in_both_languages() -> None:
    assert set(MESSAGES) == set(RefusalCode)
    for zh, en, fields in MESSAGES.values():
        assert fields and zh != en
        assert render(zh, {}) and render(en, {})


def test_last_valid_choice_wins_and_refused_are_ignored() -> None:
    a = choice(at=datetime(2025, 10, 2))
    b = choice("C2", "U1", "U1-V1", at=datetime(2025, 12, 1))
    c = choice(cons="C7", at=datetime(2025, 12, 30))  # later but refused
    assert last_valid_choice([b, a, c], [True, True, False]) == b
    assert last_valid_choice([a, c], [False, False]) is None
    # equal times: the later in the list
    d = choice("C2", "U1", "U1-V1", at=a.chosen_at)
    assert last_valid_choice([a, d], [True, True]) == d


def test_household_choice_is_the_most_recent_lowest_id_on_ties() -> None:
    a = choice(person="P2", at=datetime(2025, 10, 2))
    b = choice("C2", "U1", "U1-V1", person="P3", at=datetime(2025, 11, 2))
    c = choice(person="P1", at=datetime(2025, 11, 2))
    assert household_choice([a, b]) == b
    assert household_choice([b, c]) == c
    assert household_choice([]) is None


def test_precedence_choice_then_carried_then_household_then_nearest() -> None:
    own = choice()
    carried = Designation("P1", 2025, "C2", "U1", "U1-V1", Source.CHOICE)
    hh = choice("C2", "U1", "U1-V1", person="P9")
    near = ("C1", "T2", "T2-V1")
    d = pick_designation("P1", 2026, choice=own, carried=carried, household=hh, nearest=near)
    assert d == Designation("P1", 2026, "C1", "T1", "T1-V1", Source.CHOICE)
    d = pick_designation("P1", 2026, choice=None, carried=carried, household=hh, nearest=near)
    assert d == Designation("P1", 2026, "C2", "U1", "U1-V1", Source.CARRIED)
    d = pick_designation("P1", 2026, choice=None, carried=None, household=hh, nearest=near)
    assert d is not None and d.source is Source.HOUSEHOLD and d.person_id == "P1" and d.village_id == "U1-V1"
    d = pick_designation("P1", 2026, choice=None, carried=None, household=None, nearest=near)
    assert d == Designation("P1", 2026, "C1", "T2", "T2-V1", Source.NEAREST)
    assert pick_designation("P1", 2026, choice=None, carried=None, household=None, nearest=None) is None


def test_domain_module_imports_no_io_libraries() -> None:
    import ast
    from pathlib import Path

    import yigongti.enrollment.domain as mod

    tree = ast.parse(Path(mod.__file__).read_text(encoding="utf-8"))
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert names <= {"__future__", "math", "string", "collections", "dataclasses", "datetime", "enum", "yigongti"}
