"""``earlier_claims_read``: of last year's claims, only the admissions and the two diseases' claims change this
year's adjudication (the simulator hands in only those)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from yigongti.benefits.domain import two_disease_of
from yigongti.benefits.service import adjudicate_data, designations_for, earlier_claims_read
from yigongti.core.policy import Policy
from yigongti.core.policy_files import folder_policy
from yigongti.datafolder.folder import DataFolder, read_folder
from yigongti.demo.county import write_demo_county

YEAR = 2026


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("earlier") / "county"
    write_demo_county(out, persons=1500, seed=5, fmt="csv", year=YEAR)
    return out


def _with_claims(data: DataFolder, claims: pa.Table) -> DataFolder:
    return DataFolder(data.path, {**data.tables, "claims": claims})


@pytest.mark.parametrize("two_disease", [True, False])
def test_the_claims_kept_give_the_same_adjudication(folder: Path, two_disease: bool) -> None:
    data = read_folder(folder)
    policy = folder_policy(folder)
    policy = Policy.model_validate(
        {
            **policy.model_dump(),
            "benefits": {
                **policy.benefits.model_dump(),
                "two_disease": {**policy.benefits.two_disease.model_dump(), "enabled": two_disease},
            },
        }
    )
    des = designations_for(data, YEAR, policy)
    claims = data["claims"]
    kept = earlier_claims_read(claims, YEAR, policy)
    before = pc.less(claims.column("admit_date"), pa.scalar(date(YEAR, 1, 1), pa.date32()))
    # every claim of the year is kept, and some of last year's are not
    assert (
        pc.sum(pc.invert(before)).as_py()
        == pc.sum(pc.greater_equal(kept.column("admit_date"), pa.scalar(date(YEAR, 1, 1), pa.date32()))).as_py()
    )
    assert 0 < kept.num_rows < claims.num_rows
    dropped = claims.filter(pc.invert(pc.is_in(claims.column("claim_id"), value_set=kept.column("claim_id"))))
    assert set(dropped.column("setting").to_pylist()) == {"outpatient"}
    assert all(d < date(YEAR, 1, 1) for d in dropped.column("admit_date").to_pylist())
    if two_disease:
        assert not any(two_disease_of(d, policy.benefits.two_disease) for d in dropped.column("diagnosis").to_pylist())
    full = adjudicate_data(data, YEAR, policy, des)
    assert adjudicate_data(_with_claims(data, kept), YEAR, policy, des).equals(full)
    # last year's claims do matter here (referrals, the registry): without any of them the adjudication differs
    this_year = claims.filter(pc.invert(before))
    if two_disease:
        assert not adjudicate_data(_with_claims(data, this_year), YEAR, policy, des).equals(full)
