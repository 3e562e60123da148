"""The residents' measures read the year's claims from the adjudication that carries them (``settle``'s spill,
``MeasureInputs.adjudicated_claims``) and give what the claims LEFT JOIN the adjudication by claim_id gives: this
year's and last year's measures, fund and major new cases included."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yigongti.appraisal.engine import ADJUDICATED_CLAIM_COLUMNS, MeasureInputs, MeasureResult, compute_measures
from yigongti.appraisal.indicator_sets import load_indicator_set
from yigongti.appraisal.service import appraise_data
from yigongti.benefits.service import adjudicate_data, designations_for
from yigongti.budget.service import load_adjudicated
from yigongti.core.engine import connect
from yigongti.core.policy import Policy
from yigongti.datafolder.folder import read_folder
from yigongti.datafolder.schema import APPRAISAL_TABLES

HERE = Path(__file__).parent / "appraisal_county"
YEAR = 2026
DATA = read_folder(HERE)
ISET = load_indicator_set()
FUND = ("fund_res", "fund_res_in_county", "fund_res_primary", "fund_res_in_county_primary")


def _adjudication_of(claims: pa.Table, fund: pa.Table) -> pa.Table:
    """The year's claims, each once, with the claims' columns and the fund_paid of ``fund`` (claim_id, fund_paid),
    as the engine's adjudication of them hands them on."""
    year = claims.filter(pc.equal(pc.year(claims.column("admit_date")), YEAR))
    return year.select(["claim_id", *ADJUDICATED_CLAIM_COLUMNS]).join(fund, "claim_id", join_type="left outer")


def _measures(claims: pa.Table, adjudicated: pa.Table, *, carried: bool) -> MeasureResult:
    extra = {t.name: DATA[t.name] for t in APPRAISAL_TABLES if DATA.get(t.name) is not None}
    wanted = ISET.needed_measures() | {m for m in (*FUND, "major_new_cases", "cost_res")} | {f"prev:{m}" for m in FUND}
    con = connect("duckdb")
    try:
        inputs = MeasureInputs(DATA["institutions"], DATA["consortia"], DATA["persons"], DATA["designations"],
                               ibis.memtable(claims), ibis.memtable(adjudicated), extra, adjudicated_claims=carried)
        return compute_measures(inputs, year=YEAR, params=ISET.parameters, wanted=wanted, con=con)
    finally:
        con.disconnect()


def test_the_hand_county_s_measures_are_the_same_read_from_the_adjudication() -> None:
    claims = DATA["claims"]
    adjudicated = _adjudication_of(claims, load_adjudicated(HERE, claims).select(["claim_id", "fund_paid"]))
    joined, carried = _measures(claims, adjudicated, carried=False), _measures(claims, adjudicated, carried=True)
    assert carried.available == joined.available
    assert carried.as_dict() == joined.as_dict()
    values = carried.as_dict()[("consortium", "A")]
    assert values["fund_res"] == 1_086_000
    assert values["prev:cost_res"] > 0  # last year's claims are counted, from the claims


_PERSONS = [*DATA["persons"].column("person_id").to_pylist(), "NOBODY"]
_INSTS = [*DATA["institutions"].column("inst_id").to_pylist(), "NOWHERE"]
_CODES = ["I10", "I21.0", "C34.1", "E11.9", None]
_claim = st.tuples(st.sampled_from(_PERSONS), st.sampled_from(_INSTS), st.sampled_from(["outpatient", "inpatient"]),
                   st.integers(0, 729), st.integers(0, 500_000), st.sampled_from(_CODES), st.integers(0, 100),
                   st.booleans())


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_claim, min_size=1, max_size=40))
def test_any_claims_give_the_same_measures_read_from_the_adjudication(
        rows: list[tuple[str, str, str, int, int, str | None, int, bool]]) -> None:
    """Claims of last year and this year (unknown persons and institutions among them, some of the year's claims
    without a fund_paid): the measures of the claims joined with the adjudication, and read from it, are equal."""
    start = date(YEAR - 1, 1, 1)
    claims = pa.table({
        "claim_id": pa.array([f"c{i}" for i in range(len(rows))], pa.string()),
        "person_id": pa.array([r[0] for r in rows], pa.string()),
        "inst_id": pa.array([r[1] for r in rows], pa.string()),
        "setting": pa.array([r[2] for r in rows], pa.string()),
        "admit_date": pa.array([start + timedelta(days=r[3]) for r in rows], pa.date32()),
        "discharge_date": pa.array([start + timedelta(days=r[3] + 1) for r in rows], pa.date32()),
        "total_cost": pa.array([r[4] for r in rows], pa.int64()),
        "diagnosis": pa.array([r[5] for r in rows], pa.string()),
        "referral_from": pa.array([None] * len(rows), pa.string()),
    })
    fund = pa.table({"claim_id": claims.column("claim_id"),
                     "fund_paid": pa.array([r[4] * r[6] // 100 if r[7] else None for r in rows], pa.int64())})
    adjudicated = _adjudication_of(claims, fund)
    joined, carried = _measures(claims, adjudicated, carried=False), _measures(claims, adjudicated, carried=True)
    assert carried.available == joined.available
    assert carried.as_dict() == joined.as_dict()



def test_appraise_data_reads_the_year_s_claims_from_an_arrow_adjudication() -> None:
    """The simulator's call: the folder's claims and ``adjudicate_data``'s Arrow table (it carries the claims'
    columns) with ``adjudicated_claims=True``: the indicators, scores and points of the join by claim_id."""
    des = designations_for(DATA, YEAR, Policy())
    adjudicated = adjudicate_data(DATA, YEAR, Policy(), des)
    assert isinstance(adjudicated, pa.Table) and set(ADJUDICATED_CLAIM_COLUMNS) <= set(adjudicated.column_names)
    joined = appraise_data(DATA, YEAR, Policy(), des, adjudicated, indicator_set=ISET)
    carried = appraise_data(DATA, YEAR, Policy(), des, adjudicated, indicator_set=ISET, adjudicated_claims=True)
    assert carried.indicators.num_rows > 0 and carried.previous is not None
    for name in ("indicators", "scores", "points", "previous"):
        assert getattr(carried, name).equals(getattr(joined, name)), name
    # and it is read indeed (main's fell back to the join for an Arrow table): its costs are the ones counted
    at = adjudicated.column_names.index("total_cost")
    doubled = adjudicated.set_column(at, "total_cost", pc.multiply(adjudicated.column("total_cost"), 2))
    other = appraise_data(DATA, YEAR, Policy(), des, doubled, indicator_set=ISET, adjudicated_claims=True)
    assert not other.indicators.equals(joined.indicators)
    assert appraise_data(DATA, YEAR, Policy(), des, doubled, indicator_set=ISET).indicators.equals(joined.indicators)
