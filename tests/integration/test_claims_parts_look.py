"""The first look at the claims files (``datafolder.partslook``) shows only what the full checks confirm (property):
a column it finds plain has no cell the Arrow check (``yigongti check``) refuses or trims; claim ids it finds unique
by their order hold no id twice; referrals it finds named all name a claim. And the streamed check still refuses, by
file, row and column, what it does not clear."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yigongti.benefits.service import check_parquet_claims
from yigongti.core.engine import connect, read_parquet, register_arrow
from yigongti.core.problems import InvalidInput
from yigongti.datafolder.folder import parse_table
from yigongti.datafolder.partslook import look_at_parts
from yigongti.datafolder.schema import CLAIMS

_LOOKED = ["claim_id", "diagnosis", "referral_from"]
_ids = st.sampled_from(["C1", "C2", "C3", "C10", "C4", "D1", "C2 ", " C3", "C,5", "C;6", "", "平武", "C\x007",
                        "C\u30008", "C\x7f9"])
_text = st.one_of(st.sampled_from(["I10", "E11.9", "a,b", "a;b", " I10", "I10\t", "", "x\u00a0", "\u3000", "H1\x85",
                                   "C1", "C2", "C9", "C10"]), st.none())


def _claims(ids: list[str | None], diagnosis: list[str | None], referral: list[str | None]) -> pa.Table:
    n = len(ids)
    return pa.table({"claim_id": pa.array(ids, pa.string()), "person_id": ["P1"] * n, "inst_id": ["I1"] * n,
                     "setting": ["outpatient"] * n, "admit_date": pa.array([19000] * n, pa.date32()),
                     "total_cost": pa.array([100] * n, pa.int64()), "covered_cost": pa.array([50] * n, pa.int64()),
                     "diagnosis": pa.array(diagnosis, pa.string()), "referral_from": pa.array(referral, pa.string())})


def _write(folder: Path, table: pa.Table, cuts: list[int]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    bounds = [0, *sorted({min(max(c, 0), table.num_rows) for c in cuts}), table.num_rows]
    files = []
    for k, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        files.append(folder / f"part-{k:03d}.parquet")
        pq.write_table(table.slice(a, b - a), files[-1], row_group_size=max(1, (b - a) // 2 or 1))
    return files


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.one_of(_ids, st.none()), _text, _text), min_size=1, max_size=10),
       ordered=st.booleans(), cuts=st.lists(st.integers(0, 10), max_size=3))
def test_what_the_look_shows_the_full_checks_confirm(tmp_path_factory: pytest.TempPathFactory,
                                                     rows: list[tuple[str | None, str | None, str | None]],
                                                     ordered: bool, cuts: list[int]) -> None:
    if ordered:  # ids in order, so that the uniqueness and the lookup by order are the paths taken
        rows = sorted(rows, key=lambda r: (r[0] is None, r[0] or ""))
    table = _claims([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    files = _write(tmp_path_factory.mktemp("claims"), table, cuts)
    look = look_at_parts(files, _LOOKED, required=["claim_id"], key="claim_id", reference="referral_from")
    typed, problems = parse_table(CLAIMS, table, file="claims/")
    for name in look.plain:
        assert not [p for p in problems if p.column == name and "主键重复" not in p.message], (name, rows)
        given_values = pc.drop_null(table.column(name))
        assert typed.column(name).drop_null().equals(given_values), (name, rows)  # nothing trimmed
        if name == "claim_id":
            assert table.column(name).null_count == 0
    ids = table.column("claim_id").to_pylist()
    if look.unique:
        assert None not in ids and len(set(ids)) == len(ids), rows
    if look.referenced:
        assert {r for r in table.column("referral_from").to_pylist() if r} <= set(ids), rows


def test_plain_sorted_claims_are_shown_valid_without_the_engine(tmp_path: Path) -> None:
    ids = [f"C{i:05d}" for i in range(1000)]
    table = _claims(ids, ["I10"] * 1000, [None] * 500 + ids[:250] + [None] * 250)
    look = look_at_parts(_write(tmp_path / "a", table, [300, 700]), _LOOKED, required=["claim_id"],
                         key="claim_id", reference="referral_from")
    assert look.plain == frozenset(_LOOKED) and look.unique and look.referenced
    # referrals to no claim: within a part's range, or outside every part's; not shown
    for k, ref in enumerate(["C00001x", "C99999", "B"]):
        unknown = _claims(ids, ["I10"] * 1000, [None] * 999 + [ref])
        look = look_at_parts(_write(tmp_path / f"c{k}", unknown, [300, 700]), _LOOKED, required=["claim_id"],
                             key="claim_id", reference="referral_from")
        assert look.unique and not look.referenced, ref


@pytest.mark.parametrize("case", ["repeated id across parts", "unknown referral", "padded diagnosis"])
def test_the_streamed_check_still_names_what_the_look_does_not_clear(tmp_path: Path, case: str) -> None:
    ids = [f"C{i:05d}" for i in range(600)]
    diagnosis = ["I10"] * 600
    referral: list[str | None] = [None] * 600
    if case == "repeated id across parts":
        ids[400] = ids[100]  # parts 0-299 and 300-599: each in order no more, or their ranges overlap
        ids = sorted(ids)
    elif case == "unknown referral":
        referral[500] = "C99999"
    else:
        diagnosis[42] = " I10"
    folder = tmp_path / "data"
    _write(folder / "claims", _claims(ids, diagnosis, referral), [300])
    con = connect("duckdb", joins_as_written=True)
    try:
        t = read_parquet(con, str(folder / "claims" / "*.parquet"))
        persons = register_arrow(con, pa.table({"person_id": ["P1"]}), "p")
        institutions = register_arrow(con, pa.table({"inst_id": ["I1"]}), "i")
        if case == "padded diagnosis":  # valid, but padded: the readers must trim
            assert check_parquet_claims(t, folder / "claims", persons=persons, institutions=institutions) is True
            return
        pq.write_table(pa.table({"person_id": ["P1"], "id_number": ["51072719830819103X"], "sex": ["M"],
                                 "birth_date": ["1983-08-19"], "household_id": ["H1"], "insurance": ["resident"],
                                 "county_code": ["510727"], "lon": [104.5], "lat": [32.4]}), folder / "persons.parquet")
        with pytest.raises(InvalidInput) as raised:
            check_parquet_claims(t, folder / "claims", persons=persons, institutions=institutions)
    finally:
        con.disconnect()
    found = [(p.file, p.column) for p in raised.value.problems]
    column = "claim_id" if case == "repeated id across parts" else "referral_from"
    assert ("claims/", column) in found, raised.value.problems
