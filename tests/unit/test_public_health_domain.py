"""Notifiable-disease rules: the shipped list, deadlines (2 h / 24 h), episode joining, timeliness; the engine's
episodes agree with the domain's on random diagnoses (hypothesis)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.core.engine import connect, register_arrow
from yigongti.core.policy import PublicHealthPolicy
from yigongti.public_health.domain import (
    CatalogueError,
    Diagnosis,
    Timeliness,
    assign_episodes,
    catalogue_from_toml,
    deadline_of,
    joins_episode,
    tally,
    timeliness,
)
from yigongti.public_health.engine import DEFAULT_DISEASES, cards_expr, load_catalogue

CAT = load_catalogue(PublicHealthPolicy())
POLICY = PublicHealthPolicy()


def test_shipped_list_classes_and_longest_prefix() -> None:
    assert CAT.match("A00.9").code == "cholera" and CAT.match("a009").cls == "A"
    assert CAT.match("A22.1").code == "anthrax_pulmonary" and CAT.match("A22.0").code == "anthrax"
    assert CAT.match("J06.9") is None and CAT.match("") is None
    assert {d.cls.value for d in CAT.diseases} == {"A", "B", "C"}
    assert "ours" in DEFAULT_DISEASES.read_text(encoding="utf-8").lower()


@pytest.mark.parametrize(("dx", "day", "hours"), [
    ("A00.1", date(2026, 5, 1), 2), ("A20", date(2026, 5, 1), 2), ("U04", date(2026, 5, 1), 2),
    ("A22.1", date(2026, 5, 1), 2), ("A22.0", date(2026, 5, 1), 24), ("U07.1", date(2023, 1, 7), 2),
    ("U07.1", date(2023, 1, 8), 24), ("J11.1", date(2026, 5, 1), 24), ("A15.0", date(2026, 5, 1), 24)])
def test_deadline_by_class(dx: str, day: date, hours: int) -> None:
    disease = CAT.match(dx)
    assert disease is not None
    at = datetime.combine(day, datetime.min.time()) + timedelta(hours=23, minutes=30)
    assert deadline_of(disease, at, class_a_hours=2, other_hours=24) == at + timedelta(hours=hours)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
       st.integers(1, 72), st.integers(1, 240))
def test_deadline_is_diagnosis_plus_the_class_hours(at: datetime, a_hours: int, other: int) -> None:
    for disease in CAT.diseases:
        dl = deadline_of(disease, at, class_a_hours=a_hours, other_hours=other)
        assert dl - at == timedelta(hours=a_hours if disease.urgent_on(at.date()) else other)


def test_catalogue_errors_name_entry_and_field() -> None:
    with pytest.raises(CatalogueError, match=r"f.toml: disease 2 \(y\): field icd10"):
        catalogue_from_toml('[[disease]]\ncode="x"\nclass="A"\nicd10=["A00"]\n[[disease]]\ncode="y"\nclass="B"\n'
                            'icd10=[]\n', source="f.toml")
    with pytest.raises(CatalogueError, match="prefix A00 is already x"):
        catalogue_from_toml('[[disease]]\ncode="x"\nclass="A"\nicd10=["A00"]\n[[disease]]\ncode="y"\nclass="B"\n'
                            'icd10=["a00"]\n')


def test_episode_joins_within_window_from_the_latest_diagnosis() -> None:
    d0 = datetime(2026, 3, 1)
    dx = [Diagnosis("P", "T1", "cholera", d0), Diagnosis("P", "H1", "cholera", d0 + timedelta(days=30)),
          Diagnosis("P", "T1", "cholera", d0 + timedelta(days=60)), Diagnosis("P", "T1", "cholera",
                                                                               d0 + timedelta(days=91))]
    cards = assign_episodes(dx, 30)
    assert [(c.diagnosed_at, c.diagnoses, c.inst_id) for c in cards] == [(d0, 3, "T1"),
                                                                         (d0 + timedelta(days=91), 1, "T1")]
    assert joins_episode(d0, d0, 0) and not joins_episode(d0, d0 + timedelta(days=1), 0)


_day = st.integers(0, 120).map(lambda n: datetime(2026, 1, 1) + timedelta(days=n))
_dx = st.builds(Diagnosis, st.sampled_from(["P1", "P2", "P3"]), st.sampled_from(["T1", "V1", "H1"]),
                st.sampled_from(["cholera", "influenza", "tuberculosis"]), _day,
                st.integers(0, 10**6).map(lambda n: f"K{n:07d}"))


@given(st.lists(_dx, max_size=40, unique_by=lambda d: d.source_id), st.integers(0, 40))
def test_episodes_partition_the_diagnoses(dx: list[Diagnosis], window: int) -> None:
    cards = assign_episodes(dx, window)
    assert sum(c.diagnoses for c in cards) == len(dx)
    assert sorted(s for c in cards for s in c.sources) == sorted(d.source_id for d in dx)
    at = {d.source_id: d.at for d in dx}
    by_key: dict[tuple[str, str], list[list[datetime]]] = {}
    for c in cards:
        by_key.setdefault((c.person_id, c.disease_code), []).append(sorted(at[s] for s in c.sources))
    for episodes in by_key.values():
        for times in episodes:  # inside a card every diagnosis joins the one before it
            assert all(joins_episode(a, b, window) for a, b in zip(times, times[1:], strict=False))
        for before, after in zip(episodes, episodes[1:], strict=False):  # the next card starts beyond the window
            assert not joins_episode(before[-1], after[0], window)


_ICD = {"cholera": "A00.9", "influenza": "J11.1", "tuberculosis": "A15.0"}


@settings(max_examples=25, deadline=None)
@given(st.lists(_dx, min_size=1, max_size=30, unique_by=lambda d: d.source_id), st.integers(0, 40))
def test_engine_episodes_agree_with_the_domain(dx: list[Diagnosis], window: int) -> None:
    claims = pa.table({"claim_id": [d.source_id for d in dx], "person_id": [d.person_id for d in dx],
                       "inst_id": [d.inst_id for d in dx], "admit_date": [d.at.date() for d in dx],
                       "diagnosis": [_ICD[d.disease_code] for d in dx]})
    policy = PublicHealthPolicy(episode_days=window)
    con = connect("duckdb")
    try:
        got = cards_expr(register_arrow(con, claims), CAT, 2026, policy).to_pyarrow().to_pylist()
    finally:
        con.disconnect()
    want = assign_episodes(dx, window)
    assert [(r["person_id"], r["disease_code"], r["inst_id"], r["diagnosed_at"]) for r in got] == \
        [(c.person_id, c.disease_code, c.inst_id, c.diagnosed_at.isoformat()) for c in want]


def test_timeliness_and_tally() -> None:
    dl = datetime(2026, 3, 1, 2)
    assert timeliness("submitted", dl, dl, dl) is Timeliness.ON_TIME
    assert timeliness("submitted", dl, dl + timedelta(seconds=1), dl) is Timeliness.LATE
    assert timeliness("pending", dl, None, dl) is Timeliness.PENDING
    assert timeliness("pending", dl, None, dl + timedelta(minutes=1)) is Timeliness.OVERDUE
    rows = tally([("T1", Timeliness.ON_TIME), ("T1", Timeliness.LATE), ("T1", Timeliness.OVERDUE),
                  ("H1", Timeliness.VOIDED)])
    assert [(r.inst_id, r.cards, r.on_time, r.late, r.missed, r.voided) for r in rows] == [
        ("H1", 1, 0, 0, 0, 1), ("T1", 3, 1, 1, 1, 0)]
