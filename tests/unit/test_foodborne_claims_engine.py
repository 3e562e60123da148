"""Food-borne case reports from claims, in the engine (``engine.foodborne_expr`` on DuckDB): a claim of a person and
case within the episode window of the previous one joins its report; each report is due the list's hours after the
admit date's midnight; claims off the list or of another year make none."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.core.engine import connect, register_arrow
from yigongti.core.policy import PublicHealthPolicy
from yigongti.public_health.domain import Diagnosis, assign_episodes
from yigongti.public_health.engine import FOODBORNE_COLUMNS, foodborne_expr, load_foodborne

CASES = load_foodborne()


def _reports(rows: list[tuple[str, str, str, date, str]], *, episode_days: int = 30,
             year: int = 2026) -> list[dict[str, object]]:
    table = pa.table({"claim_id": [r[0] for r in rows], "person_id": [r[1] for r in rows],
                      "inst_id": [r[2] for r in rows], "admit_date": pa.array([r[3] for r in rows], pa.date32()),
                      "diagnosis": [r[4] for r in rows]})
    con = connect("duckdb")
    try:
        expr = foodborne_expr(register_arrow(con, table), CASES, year, PublicHealthPolicy(episode_days=episode_days))
        return list(expr.to_pyarrow().to_pylist())
    finally:
        con.disconnect()


def test_a_claim_within_the_window_of_the_latest_joins_its_report() -> None:
    got = _reports([("C1", "P1", "T1", date(2026, 2, 1), "A02.0"), ("C2", "P1", "H1", date(2026, 2, 20), "A02.1"),
                    ("C3", "P1", "T1", date(2026, 3, 15), "a02"), ("C4", "P1", "T1", date(2026, 5, 1), "A02.0")])
    assert [(r["card_id"], r["inst_id"], r["diagnosed_at"], r["deadline"]) for r in got] == [
        ("FBR2026-000001", "T1", "2026-02-01T00:00:00", "2026-02-03T00:00:00"),
        ("FBR2026-000002", "T1", "2026-05-01T00:00:00", "2026-05-03T00:00:00")]
    assert tuple(got[0]) == FOODBORNE_COLUMNS and {r["status"] for r in got} == {"pending"}


def test_another_case_or_person_opens_its_own_report_and_others_open_none() -> None:
    got = _reports([("C1", "P1", "T1", date(2026, 2, 1), "T62.0"), ("C2", "P1", "T1", date(2026, 2, 1), "T62.9"),
                    ("C3", "P2", "T1", date(2026, 2, 1), "T62.0"), ("C4", "P3", "T1", date(2026, 2, 1), "I10"),
                    ("C5", "P3", "T1", date(2025, 12, 31), "A05.9"), ("C6", "P3", "T1", date(2026, 2, 1), "")])
    assert [(r["person_id"], r["case_code"]) for r in got] == [
        ("P1", "mushroom_poisoning"), ("P1", "noxious_food"), ("P2", "mushroom_poisoning")]


DAYS = st.lists(st.integers(min_value=0, max_value=364), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None)
@given(DAYS, st.integers(min_value=0, max_value=60))
def test_the_engine_agrees_with_the_domain_episodes(days: list[int], window: int) -> None:
    """The engine's reports are the domain's episodes (``assign_episodes``), for any claims of one person and case."""
    start = date(2026, 1, 1)
    rows = [(f"C{i:03d}", "P1", "T1", start + timedelta(days=d), "A08.1") for i, d in enumerate(days)]
    got = [r["diagnosed_at"] for r in _reports(rows, episode_days=window)]
    midnight = datetime.min.time()
    drafts = assign_episodes([Diagnosis("P1", "T1", "viral_gastroenteritis", datetime.combine(r[3], midnight))
                              for r in rows], window)
    assert got == sorted(d.diagnosed_at.isoformat(timespec="seconds") for d in drafts)
