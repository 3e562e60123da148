from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from yigongti.core.idnumber import check_digit, id_number_problems, make_id_number, mask_id_number


def test_known_valid_number() -> None:
    # GB 11643 example: 11010519491231002X
    assert check_digit("11010519491231002") == "X"
    assert id_number_problems("11010519491231002X", birth_date=date(1949, 12, 31), sex="F") == []


def test_wrong_check_digit_birth_and_sex_are_all_reported() -> None:
    msgs = id_number_problems("110105194912310021", birth_date=date(1950, 1, 1), sex="M")
    assert any("check digit" in m for m in msgs)
    assert any("birth date" in m for m in msgs)
    assert any("sex digit" in m for m in msgs)


def test_length_is_checked() -> None:
    assert "18 characters" in id_number_problems("1234", birth_date=None, sex=None)[0]


@given(st.dates(date(1900, 1, 1), date(2026, 12, 31)), st.integers(0, 999), st.sampled_from(["M", "F"]))
def test_synthetic_numbers_are_valid(born: date, serial: int, sex: str) -> None:
    n = make_id_number("513433", born, serial, sex)
    assert id_number_problems(n, birth_date=born, sex=sex) == []


def test_mask() -> None:
    assert mask_id_number("11010519491231002X") == "1101**********002X"
