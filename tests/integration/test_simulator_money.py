"""Money conservation in the simulator, to the fen, read back from the files it writes (results.csv, consortia.csv):
hypothesis draws the policy (the pool, surplus retention, overspend sharing, the P4P reserve) and the growth of
income and costs, and both payments run on the same random numbers.

Every simulated year:
- the fund's result is its income less its outlay, and the balance is the sum of the results (from 0);
- the income is the observed year's pool grown exactly (``income_growth``, half up to the fen);
- fee for service: the fund pays exactly the claims' fund_paid;
- global budget: the fund pays each consortium its spending, its surplus (retained less the overspend it bears) and
  its P4P (budget account: prepayments - spending = retained + returned, or + the two overspend shares), plus the
  claims of persons living away; the same claims under fee for service are the consortia's spending plus the same
  persons living away. So ``outlay - sum(spending + surplus + p4p)`` (global budget) equals ``outlay -
  sum(spending)`` (fee for service): one fen leaked anywhere in either settlement breaks it.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yigongti.demo.county import write_demo_county
from yigongti.simulator.domain import Behaviour, Payment, Scenario, SimulationResult
from yigongti.simulator.service import CountySetup, grown, prepare_county, simulate_county, write_results

YEARS = 2


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> CountySetup:
    folder = tmp_path_factory.mktemp("money") / "county"
    write_demo_county(folder, persons=300, seed=8, fmt="csv")
    return prepare_county(folder.name, folder)


def _yuan(text: str) -> Decimal:
    d = Decimal(text)
    assert d == d.quantize(Decimal("0.01")), text  # written to the fen
    return d


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


policies = st.fixed_dictionaries({
    "capitation": st.fixed_dictionaries({
        "pool_resident": st.integers(200_000, 3_000_000).map(str),  # yuan: from a deep overspend to a surplus
        "p4p_reserve": st.sampled_from(["5%", "7.5%", "10%"]),
    }),
    "settlement": st.fixed_dictionaries({
        "surplus_retained": st.sampled_from(["100%", "60%", "33.33%", "0%"]),
        "overspend_band": st.sampled_from(["5%", "10%", "0%"]),
        "overspend_fund_share_in_band": st.sampled_from(["50%", "70%", "0%"]),
        "overspend_fund_share_beyond": st.sampled_from(["0%", "30%", "100%"]),
    }),
})


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(policy=policies, income_growth=st.sampled_from([0.0, 0.037, -0.011]),
       cost_growth=st.sampled_from([0.0, 0.05]), seed=st.integers(0, 1000))
def test_every_fen_of_the_fund_is_accounted_for(setup: CountySetup, tmp_path_factory: pytest.TempPathFactory,
                                                policy: dict, income_growth: float, cost_growth: float,
                                                seed: int) -> None:
    behaviour = Behaviour(income_growth=income_growth, cost_growth=cost_growth)
    scenarios = [Scenario(name=p.value, payment=p, policy=policy, behaviour=behaviour) for p in Payment]
    result = SimulationResult(scenarios, [setup.name], YEARS, 1, seed)
    for sc in scenarios:
        rows, crows = simulate_county(setup, sc, county_index=0, years=YEARS, replicates=1, seed=seed)
        result.rows += rows
        result.consortia += crows
    out = tmp_path_factory.mktemp("out")
    write_results(result, out)
    results, consortia = _read(out / "results.csv"), _read(out / "consortia.csv")
    assert len(results) == 2 * YEARS

    pool = (Decimal(policy["capitation"]["pool_resident"])
            + Decimal(setup.policy.capitation.pool_employee or 0) / 100)
    balance: dict[str, Decimal] = defaultdict(Decimal)
    away: dict[tuple[str, int], dict[str, Decimal]] = defaultdict(dict)
    for r in results:
        year, k = int(r["year"]), int(r["year"]) - setup.year
        income, outlay = _yuan(r["fund_income"]), _yuan(r["fund_outlay"])
        assert _yuan(r["fund_result"]) == income - outlay
        balance[r["scenario"]] += income - outlay
        assert _yuan(r["fund_balance"]) == balance[r["scenario"]]
        assert income * 100 == grown(int(pool * 100), income_growth, k)
        mine = [c for c in consortia if (c["scenario"], int(c["year"])) == (r["scenario"], year)]
        assert len(mine) == len(setup.geo.consortia)
        spending = sum(_yuan(c["spending"]) for c in mine)
        if r["payment"] == Payment.FEE_FOR_SERVICE.value:
            assert outlay == _yuan(r["claims_fund_paid"])
            assert all(_yuan(c[k]) == 0 for c in mine for k in ("budget", "balance", "surplus", "p4p_paid"))
            away[("ffs", year)] = {"away": outlay - spending}
        else:
            paid = sum(_yuan(c["spending"]) + _yuan(c["surplus"]) + _yuan(c["p4p_paid"]) for c in mine)
            away[("gb", year)] = {"away": outlay - paid}
            for c in mine:  # the budget account: gross budget less spending, as the settlement wrote it
                assert _yuan(c["balance"]) <= _yuan(c["budget"]) - _yuan(c["spending"])
    for year in range(setup.year + 1, setup.year + YEARS + 1):
        # persons living away: the same claims, paid by the fund alike under both payments, never negative
        assert away[("gb", year)] == away[("ffs", year)] and away[("gb", year)]["away"] >= 0
    gb = {(c["year"], c["consortium_id"]): c["spending"] for c in consortia if c["scenario"] == "global_budget"}
    ffs = {(c["year"], c["consortium_id"]): c["spending"] for c in consortia if c["scenario"] == "fee_for_service"}
    assert gb == ffs  # common random numbers: the same claims under both payments
