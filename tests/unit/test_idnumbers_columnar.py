"""The columnar ID number check agrees with the domain function, row for row."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.core.idnumber import id_number_problems, make_id_number
from yigongti.datafolder.idnumbers import id_number_rows, suspect_id_numbers

_ASCII_ID = st.text(alphabet="0123456789Xx", min_size=18, max_size=18)


@st.composite
def _person(draw: st.DrawFn) -> tuple[str, date | None, str | None]:
    born = draw(st.dates(date(1900, 1, 1), date(2030, 12, 31)))
    sex = draw(st.sampled_from(["M", "F"]))
    valid = make_id_number(draw(st.sampled_from(["513433", "110105", "510727"])), born, draw(st.integers(0, 999)), sex)
    kind = draw(st.integers(0, 7))
    if kind == 0:  # one character changed
        i = draw(st.integers(0, 17))
        number = valid[:i] + draw(st.sampled_from("0123456789Xx")) + valid[i + 1:]
    elif kind == 1:  # anything of 18 ASCII digits / X
        number = draw(_ASCII_ID)
    elif kind == 2:  # any text, of any length, any script
        number = draw(st.text(max_size=20))
    elif kind == 3:  # another birth date in the number
        number = make_id_number("513433", draw(st.dates(date(1900, 1, 1), date(2030, 12, 31))), 1, sex)
    elif kind == 4:  # an impossible date in an otherwise well-formed number
        first17 = f"513433{draw(st.integers(0, 9999)):04d}{draw(st.integers(0, 99)):02d}" \
                  f"{draw(st.integers(0, 99)):02d}{draw(st.integers(0, 999)):03d}"
        number = first17 + draw(st.sampled_from("0123456789X"))
    else:
        number = valid
    birth = draw(st.one_of(st.none(), st.just(born)))
    shown_sex = draw(st.sampled_from([sex, sex, "M", "F", None, "U"]))
    return number, birth, shown_sex


@settings(max_examples=300, deadline=None)
@given(st.lists(_person(), min_size=0, max_size=40))
def test_columnar_check_equals_the_domain_function(people: list[tuple[str, date | None, str | None]]) -> None:
    ids = pa.array([p[0] for p in people], pa.string())
    births = pa.array([p[1] for p in people], pa.date32())
    sexes = pa.array([p[2] for p in people], pa.string())
    expected = [(i, m) for i, (n, b, s) in enumerate(people) if n
                for m in id_number_problems(n, birth_date=b, sex=s)]
    assert id_number_rows(ids, births, sexes) == expected
    mask = suspect_id_numbers(ids, births, sexes)
    flagged = {i for i, _ in expected}
    # no false negative ever; for plain ASCII numbers no false positive either (only suspects cost time)
    for i, (n, _, _) in enumerate(people):
        if i in flagged:
            assert mask[i]
        elif n.isascii() and n == n.strip():
            assert not mask[i], n


def test_chunked_sliced_and_empty_values() -> None:
    good = make_id_number("513433", date(1990, 1, 1), 12, "F")
    ids = pa.chunked_array([pa.array(["", None, good]), pa.array([good[:-1] + "0", good])]).slice(1)
    births = pa.chunked_array([pa.array([None, None, date(1990, 1, 1)], pa.date32()),
                               pa.array([date(1990, 1, 1), date(1990, 1, 2)], pa.date32())]).slice(1)
    sexes = pa.chunked_array([pa.array(["F", "F", "F"]), pa.array(["F", "F"])]).slice(1)
    rows = id_number_rows(ids, births, sexes)
    assert [i for i, _ in rows] == [2, 3]
    assert "check digit" in rows[0][1] and "birth date" in rows[1][1]
