"""adjudicate_data takes the claims' own columns from the claims it is given and orders them by claim_id itself
(the engine hands back row numbers and decisions only): the same table whatever the order of the claims, the
claims' columns exactly as given, ordered by claim_id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from yigongti.benefits.engine import adjudicate
from yigongti.benefits.service import _registered, adjudicate_data, designations_for
from yigongti.core.engine import connect
from yigongti.core.policy import BenefitPolicy, Policy
from yigongti.datafolder.folder import DataFolder, read_folder

YEAR = 2026


@pytest.fixture(scope="module")
def example(example_input: Path) -> tuple[DataFolder, pa.Table]:
    data = read_folder(example_input)
    return data, designations_for(data, YEAR, Policy())


def _with_claims(data: DataFolder, claims: pa.Table) -> DataFolder:
    return DataFolder(data.path, {**data.tables, "claims": claims})


def test_the_engine_ordered_by_itself_gives_the_same_table(example: tuple[DataFolder, pa.Table]) -> None:
    """The engine's own ORDER BY claim_id with every column (as before) and adjudicate_data agree value for value
    and type for type."""
    data, des = example
    got = adjudicate_data(data, YEAR, Policy(), des)
    con = connect("duckdb", joins_as_written=True)
    try:
        t = _registered(con, data, des)
        con.con.register("c", data["claims"])
        ref = adjudicate(con.table("c"), t["persons"], t["institutions"], t["designations"], Policy().benefits,
                         YEAR).to_pyarrow()
    finally:
        con.disconnect()
    assert got.num_rows > 900
    assert got.column_names == ref.column_names
    assert got.schema.types == ref.schema.types
    assert got.combine_chunks().equals(ref.combine_chunks())


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_any_order_of_the_claims_gives_the_same_table(example: tuple[DataFolder, pa.Table], seed: int) -> None:
    data, des = example
    claims = data["claims"]
    want = adjudicate_data(data, YEAR, Policy(), des)
    shuffled = claims.take(pa.array(np.random.default_rng(seed).permutation(claims.num_rows)))
    got = adjudicate_data(_with_claims(data, shuffled), YEAR, Policy(), des)
    assert got.combine_chunks().equals(want.combine_chunks())
    ids = got.column("claim_id")
    assert pc.all(pc.less(ids[:-1], ids[1:])).as_py()  # ordered by claim_id, each once


def test_the_years_claims_read_apart_give_the_same_table(example: tuple[DataFolder, pa.Table]) -> None:
    """adjudicate_data hands the engine the year's claims apart (``adjudicate(..., year_claims=)``) for the passes
    that read the year alone, and every claim for what last year's decide: the same table as the engine reading
    every claim from one table. Last year's claims here register persons for the two-disease benefit (on), and the
    annual cap is low enough for some persons to reach it (their claims decided apart)."""
    data, des = example
    claims = data["claims"]
    days = pc.subtract(claims.column("admit_date").cast(pa.int32()), pa.scalar(365, pa.int32())).cast(pa.date32())
    out = pc.subtract(claims.column("discharge_date").cast(pa.int32()), pa.scalar(365, pa.int32())).cast(
        pa.date32())
    last = claims.set_column(claims.column_names.index("admit_date"), "admit_date", days)
    last = last.set_column(last.column_names.index("discharge_date"), "discharge_date", out)
    for key in ("claim_id", "referral_from"):
        last = last.set_column(last.column_names.index(key), key,
                               pc.binary_join_element_wise("L", last.column(key), ""))
    both = pa.concat_tables([last, claims])  # last year's first: a pass reading every claim reads them too
    benefits = BenefitPolicy.model_validate({
        "annual_cap_resident": "3000",
        "designated_primary": {"inpatient_deductible": "100", "inpatient_rate": "90%", "outpatient_deductible": "50",
                               "outpatient_rate": "50%"},
        "two_disease": {"enabled": True, "rate": "60%", "yearly_cap": "300",
                        "statuses": ["designated", "in_consortium"], "tiers": ["primary", "county"]}})
    got = adjudicate_data(_with_claims(data, both), YEAR, Policy(benefits=benefits), des)
    con = connect("duckdb", joins_as_written=True)
    try:
        t = _registered(con, data, des)
        con.con.register("c", both)
        ref = adjudicate(con.table("c"), t["persons"], t["institutions"], t["designations"], benefits,
                         YEAR).to_pyarrow()
        con.con.register("y", claims.filter(pc.equal(pc.year(claims.column("admit_date")), YEAR)))
        apart = adjudicate(con.table("c"), t["persons"], t["institutions"], t["designations"], benefits, YEAR,
                           year_claims=con.table("y")).to_pyarrow()
    finally:
        con.disconnect()
    assert apart.combine_chunks().equals(ref.combine_chunks())
    assert got.num_rows > 900
    rules = set(got.column("rule").to_pylist())
    assert {"annual_cap", "two_disease"} <= rules, rules
    assert got.column_names == ref.column_names
    assert got.combine_chunks().equals(ref.combine_chunks())


def test_the_claims_classified_once_give_the_same_table(example: tuple[DataFolder, pa.Table]) -> None:
    """``adjudicate(..., classified=)`` classifies the year's claims once into a temporary table that the
    deductibles' pass and the main pass both read (claims in memory): the same table as the claims streaming through
    both passes, with deductibles accrued and persons at the annual cap; adjudicate_data drops the table again from
    a connection it is lent."""
    data, des = example
    benefits = BenefitPolicy.model_validate({
        "annual_cap_resident": "3000",
        "designated_primary": {"inpatient_deductible": "100", "inpatient_rate": "90%", "outpatient_deductible": "50",
                               "outpatient_rate": "50%"}})
    con = connect("duckdb", joins_as_written=True)
    try:
        t = _registered(con, data, des)
        con.con.register("c", data["claims"])
        args = (con.table("c"), t["persons"], t["institutions"], t["designations"], benefits, YEAR)
        ref = adjudicate(*args).to_pyarrow()
        once = adjudicate(*args, classified="_once").to_pyarrow()
        assert "_once" in _tables(con)
        con.raw_sql('DROP TABLE "_once"')
    finally:
        con.disconnect()
    con = connect("duckdb", joins_as_written=True)
    try:
        lent = adjudicate_data(data, YEAR, Policy(benefits=benefits), des, con=con)
        assert not [name for name in _tables(con) if name.startswith("_adj")]
    finally:
        con.disconnect()
    assert once.combine_chunks().equals(ref.combine_chunks())
    assert {"annual_cap", "outpatient"} <= set(ref.column("rule").to_pylist())
    assert ref.column("deductible").to_numpy().sum() > 0
    assert lent.num_rows == ref.num_rows


def _tables(con: Any) -> list[str]:
    """The tables of a DuckDB connection, temporary ones included."""
    return [row[0] for row in con.con.sql("SELECT table_name FROM duckdb_tables()").fetchall()]


@settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])  # no slow shrink
@given(seed=st.integers(0, 2**32 - 1), shuffle=st.booleans())
def test_the_claims_keyed_by_numbers_give_the_same_table(example: tuple[DataFolder, pa.Table], seed: int,
                                                          shuffle: bool) -> None:
    """The year's claims classified once carry the row number and the person's number instead of claim_id and
    person_id (``adjudicate(..., row_number=, rows_in_id_order=)``): the same table as the claims streaming by their
    ids, with persons missing from the persons (told apart by their person_id), claims without a person, deductibles
    accrued, the annual cap reached, the two-disease benefit paying (its table keyed by the row number); the row
    numbers in the order of claim_id or not (then claim_id breaks the running sums' ties)."""
    data, des = example
    rng = np.random.default_rng(seed)
    claims = data["claims"]
    persons = np.asarray(claims.column("person_id").to_pylist(), dtype=object)
    some = set(rng.choice(np.unique(persons), size=12, replace=False).tolist())
    gone = [None if p in some and k % 5 == 0 else f"X{p}" if p in some else p for k, p in enumerate(persons)]
    claims = claims.set_column(claims.column_names.index("person_id"), "person_id", pa.array(gone, pa.string()))
    if shuffle:
        claims = claims.take(pa.array(rng.permutation(claims.num_rows)))
    claims = claims.append_column("_n", pa.array(np.arange(claims.num_rows, dtype=np.int64)))
    ids = claims.column("claim_id")
    rising = bool(pc.all(pc.less(ids[:-1], ids[1:])).as_py())
    assert rising is not shuffle
    benefits = BenefitPolicy.model_validate({
        "annual_cap_resident": "3000",
        "designated_primary": {"inpatient_deductible": "100", "inpatient_rate": "90%", "outpatient_deductible": "50",
                               "outpatient_rate": "50%"},
        "in_consortium_primary": {"inpatient_deductible": "200", "inpatient_rate": "80%",
                                  "outpatient_deductible": "80", "outpatient_rate": "50%"},
        "two_disease": {"enabled": True, "rate": "60%", "yearly_cap": "300",
                        "statuses": ["designated", "in_consortium"], "tiers": ["primary", "county"]}})
    con = connect("duckdb", joins_as_written=True)
    try:
        t = _registered(con, data, des)
        con.con.register("c", claims)
        args = (con.table("c"), t["persons"], t["institutions"], t["designations"], benefits, YEAR)
        ref = adjudicate(*args).to_pyarrow()
        keyed = adjudicate(*args, classified="_keyed", row_number="_n", rows_in_id_order=rising).to_pyarrow()
        con.raw_sql('DROP TABLE "_keyed"')
    finally:
        con.disconnect()
    assert keyed.combine_chunks().equals(ref.combine_chunks())
    rules = ref.column("rule").to_pylist()
    assert {"annual_cap", "outpatient", "two_disease"} <= set(rules), set(rules)
    unknown = pc.fill_null(pc.starts_with(ref.column("person_id"), "X"), False).to_numpy(zero_copy_only=False)
    assert ref.column("deductible").to_numpy()[unknown].sum() > 0  # persons missing from persons accrue too
    assert ref.column("person_id").null_count > 0
