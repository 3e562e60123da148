"""This year's and last year's passes of a province's appraisal share their claims statements
(``appraisal.engine.ClaimsShare``): the measures of each pass are those it computes alone, for any claims."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yigongti.appraisal.engine import ClaimsShare, MeasureInputs, MeasureResult, compute_measures
from yigongti.appraisal.indicator_sets import load_indicator_set
from yigongti.core.engine import connect
from yigongti.datafolder.folder import read_folder
from yigongti.datafolder.schema import APPRAISAL_TABLES

HERE = Path(__file__).parent / "appraisal_county"
YEAR = 2026
DATA = read_folder(HERE)
ISET = load_indicator_set()
EXTRA = {t.name: DATA[t.name] for t in APPRAISAL_TABLES if DATA.get(t.name) is not None}
# every measure of the set, and the providers' measures of last year (their columns are what is shared)
WANTED = ISET.needed_measures() | {f"prev:{m}" for m in ("visits", "discharges", "bed_days", "up_referrals",
                                                         "down_referrals", "down_referrals_from_county",
                                                         "cost_res", "admissions_res")}


def _designations() -> dict[int, pa.Table]:
    """This year's designations, and last year's: the same ones of other persons (the persons' order reversed),
    so that the two passes' scope groups differ."""
    now = DATA["designations"]
    people = now.column("person_id").to_pylist()[::-1]
    before = now.set_column(now.column_names.index("person_id"), "person_id", pa.array(people, pa.string()))
    before = before.set_column(before.column_names.index("year"), "year", pa.array([YEAR - 1] * len(people)))
    return {YEAR: now, YEAR - 1: before}


DESIGNATIONS = _designations()


def _passes(claims: pa.Table, *, shared: bool, fund: bool = False) -> list[MeasureResult]:
    """This year's measures and last year's, on one connection, with a share of both years (the providers' and the
    residents' statements) or none; with ``fund``, this year's pass reads the year's claims from an adjudication
    that carries them (``settle``'s spill)."""
    con = connect("duckdb")
    try:
        table = ibis.memtable(claims)
        share = ClaimsShare(table, frozenset({YEAR, YEAR - 1}), dict(DESIGNATIONS)) if shared else None
        out = []
        for year in (YEAR, YEAR - 1):
            adj = None
            if fund and year == YEAR:
                adj = ibis.memtable(claims.append_column("fund_paid", pc.divide(claims["total_cost"], 3)))
            inputs = MeasureInputs(DATA["institutions"], DATA["consortia"], DATA["persons"], DESIGNATIONS[year],
                                   table, adj, EXTRA, previous_year=True, adjudicated_claims=adj is not None)
            out.append(compute_measures(inputs, year=year, params=ISET.parameters, wanted=WANTED, con=con,
                                        share=share))
        return out
    finally:
        con.disconnect()


def test_the_hand_county_s_passes_are_the_same_shared() -> None:
    claims = DATA["claims"]
    for fund in (False, True):
        alone, shared = _passes(claims, shared=False, fund=fund), _passes(claims, shared=True, fund=fund)
        for a, b in zip(alone, shared, strict=True):
            assert a.available == b.available
            assert a.as_dict() == b.as_dict()
    assert alone[0].as_dict() != alone[1].as_dict()
    assert shared[0].as_dict()[("county", DATA["consortia"].column("county_code")[0].as_py())]["visits"] > 0


_PERSONS = [*DATA["persons"].column("person_id").to_pylist(), "NOBODY"]
_INSTS = [*DATA["institutions"].column("inst_id").to_pylist(), "NOWHERE"]
_claim = st.tuples(st.sampled_from(_PERSONS), st.sampled_from(_INSTS), st.sampled_from(["outpatient", "inpatient"]),
                   st.integers(-200, 729), st.one_of(st.none(), st.integers(0, 30)), st.integers(0, 500_000),
                   st.one_of(st.none(), st.integers(0, 60)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_claim, min_size=1, max_size=50))
def test_any_claims_give_each_pass_its_own_measures_shared(
        rows: list[tuple[str, str, str, int, int | None, int, int | None]]) -> None:
    """Claims of three years (the year before last too), of unknown persons and institutions, without discharge
    dates, referred from other claims of any year or from unknown ones: each pass's measures are the same shared."""
    start = date(YEAR - 1, 1, 1)
    n = len(rows)
    claims = pa.table({
        "claim_id": pa.array([f"c{i}" for i in range(n)], pa.string()),
        "person_id": pa.array([r[0] for r in rows], pa.string()),
        "inst_id": pa.array([r[1] for r in rows], pa.string()),
        "setting": pa.array([r[2] for r in rows], pa.string()),
        "admit_date": pa.array([start + timedelta(days=r[3]) for r in rows], pa.date32()),
        "discharge_date": pa.array([None if r[4] is None else start + timedelta(days=r[3] + r[4]) for r in rows],
                                   pa.date32()),
        "total_cost": pa.array([r[5] for r in rows], pa.int64()),
        "diagnosis": pa.array(["I21.0" if r[5] % 3 == 0 else "I10" for r in rows], pa.string()),
        "referral_from": pa.array([None if r[6] is None else f"c{r[6]}" for r in rows], pa.string()),
    })
    for fund in (False, True):
        alone, shared = _passes(claims, shared=False, fund=fund), _passes(claims, shared=True, fund=fund)
        for a, b in zip(alone, shared, strict=True):
            assert a.available == b.available
            assert a.as_dict() == b.as_dict()
