"""The settlements of a batch of worlds from one run of the engine's figures (``budget.service.settle_worlds``) are
each world's own settlement (``settle_year``): same money, same tables, same inputs hash, the pool per world."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from yigongti.appraisal.service import appraise_data
from yigongti.benefits.service import adjudicate_data
from yigongti.budget.service import SettlementResult, settle_worlds, settle_year
from yigongti.datafolder.folder import DataFolder
from yigongti.demo.county import write_demo_county
from yigongti.simulator import worlds
from yigongti.simulator.service import prepare_county


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("simworlds") / "county"
    write_demo_county(folder, persons=1500, seed=5, fmt="csv")
    return folder


def _world(data: DataFolder, des: pa.Table, away: int, undesignated: int) -> tuple[DataFolder, pa.Table]:
    """The county with its first ``away`` persons living away (no designation) and the next ``undesignated``
    without one either: worlds that differ in heads and in the fund's payments for persons living away."""
    persons = data["persons"]
    ids = persons.column("person_id").to_pylist()
    flag = pa.array([i < away for i in range(len(ids))], pa.bool_())
    names = persons.column_names
    persons = (persons.set_column(names.index("lives_away"), "lives_away", flag) if "lives_away" in names
               else persons.append_column("lives_away", flag))
    gone = pa.array(ids[:away + undesignated], pa.string())
    des = des.filter(pc.invert(pc.is_in(des.column("person_id"), value_set=gone)))
    return DataFolder(data.path, {**data.tables, "persons": persons, "designations": des}), des


def _same(a: SettlementResult, b: SettlementResult) -> None:
    assert a.inputs_hash == b.inputs_hash
    for name in ("settlement", "allocation", "ledger", "by_month", "by_tier", "top_diagnoses"):
        assert getattr(a, name).equals(getattr(b, name)), name
    assert a.consortia == b.consortia and a.allocations == b.allocations
    assert a.lives_away == b.lives_away and a.formula_budgets == b.formula_budgets
    assert a.package == b.package and a.statements == b.statements and a.surplus == b.surplus


def test_a_batch_of_worlds_settles_as_each_world_alone(county: Path) -> None:
    setup = prepare_county("c", county)
    year, policy = setup.year, setup.policy
    made = [_world(setup.data, setup.designations, away, undesignated)
            for away, undesignated in ((0, 0), (40, 25), (120, 0))]
    own = []
    for data, des in made:
        adj = adjudicate_data(data, year, policy, des)
        own.append((data, des, adj, appraise_data(data, year, policy, des, adj, with_previous=False)))
    tags = worlds.prefixes(len(made))
    names = setup.data.tables.keys()
    stacked = DataFolder(county, {n: worlds.stack([d.tables[n] for d, _ in made]) for n in names
                                  if n != "designations"} | {"designations": worlds.stack([d for _, d in made])})
    adj_all = adjudicate_data(stacked, year, policy, stacked["designations"])
    batch = settle_worlds(stacked, tags, own, year, policy, designations=stacked["designations"],
                          adjudicated=adj_all)
    alone = [settle_year(data, year, policy, designations=des, adjudicated=adj, appraisal=app)
             for data, des, adj, app in own]
    for a, b in zip(batch, alone, strict=True):
        _same(a, b)
    # without the inputs hash (the simulator's batches): the same money and tables, the hash left empty
    unhashed = settle_worlds(stacked, tags, own, year, policy, designations=stacked["designations"],
                             adjudicated=adj_all, hashed=False)
    for a, b in zip(unhashed, batch, strict=True):
        assert a.inputs_hash == "" and b.inputs_hash
        assert set(a.ledger.column("inputs_hash").to_pylist()) <= {""}
        assert a.ledger.drop_columns(["inputs_hash"]).equals(b.ledger.drop_columns(["inputs_hash"]))
        _same(dataclasses.replace(a, inputs_hash=b.inputs_hash, ledger=b.ledger), b)
    # the worlds differ where a figure summed over the stacked table would mix them: heads (the pool's rate per
    # world) and the fund's payments for persons living away (grouped by month alone in one world)
    assert len({sum(s.enrollees for s in r.consortia) for r in alone}) == 3
    assert not alone[0].lives_away and alone[1].lives_away and alone[1].lives_away != alone[2].lives_away
    for r in batch:  # the money of each world is conserved: its members' allocations add up to what it shares
        for s in r.consortia:
            mine = [a for a in r.allocations if a.consortium_id == s.consortium_id]
            assert sum(a.amount for a in mine) == s.amount_to_share
            assert sum(a.public_health for a in mine) == s.public_health


def test_settle_worlds_refuses_tags_of_different_widths(county: Path) -> None:
    setup = prepare_county("c", county)
    with pytest.raises(ValueError, match="one width"):
        settle_worlds(setup.data, ["0#", "10#"], [], setup.year, setup.policy,
                      designations=setup.designations, adjudicated=pa.table({}))
