"""The streamed Parquet claims (settlement above ``stream_above`` rows) refuse a repeated claim id as the in-memory
path does: before, the engine's one-scan check had no look at the key, so a claim repeated in another part (or with
a space before its id) passed and was settled, paid twice."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from parquet_parts import claims_in_parquet_parts

from yigongti.budget.service import settle_year
from yigongti.core.problems import InvalidInput

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "county-2026" / "input"


def _with_id(folder: Path, part: int, row: int, claim_id: str) -> None:
    path = folder / "claims" / f"part-{part}.parquet"
    t = pq.read_table(path)
    ids = t.column("claim_id").to_pylist()
    ids[row] = claim_id
    pq.write_table(t.set_column(t.column_names.index("claim_id"), "claim_id", pa.array(ids, pa.string())), path)


@pytest.mark.parametrize("pad", ["{}", " {}", "\u3000{}"])
def test_a_claim_id_repeated_in_another_part_is_refused_when_streamed(tmp_path: Path, pad: str) -> None:
    folder = claims_in_parquet_parts(EXAMPLE, tmp_path / "county", 2)
    plain = settle_year(folder, 2026, stream_above=0)
    assert plain.streamed
    first = pq.read_table(folder / "claims" / "part-0.parquet").column("claim_id")[0].as_py()
    _with_id(folder, 1, 0, pad.format(first))
    for above in (0, 10**9):  # streamed, and in memory (which refused it before too)
        with pytest.raises(InvalidInput, match="duplicate key") as err:
            settle_year(folder, 2026, stream_above=above)
        assert err.value.problems[0].column == "claim_id"
