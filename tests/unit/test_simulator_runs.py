"""The simulator's runs on the platform without the platform: the form's bounds, the run's rows through JSON and back
(fen stay integers), the bands of a consortium's figures as the county's, and the line chart's bands, reference lines
and negative values."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.core.problems import InvalidRequest
from yigongti.platform.charts import line_chart
from yigongti.simulator import runs
from yigongti.simulator.domain import (
    ConsortiumYear,
    CountyYear,
    SimulationResult,
    band,
    percentile,
    summarise_consortia,
)

OFFERED, _ = runs.offered_scenarios(None)
NAMES = [o.scenario.name for o in OFFERED]


@given(st.lists(st.sampled_from(NAMES), max_size=12), st.integers(-5, 30), st.integers(-5, 40), st.integers(-3, 9))
def test_a_run_is_accepted_exactly_within_the_pages_bounds(picked: list[str], years: int, replicates: int,
                                                           seed: int) -> None:
    n = len(set(picked))
    ok = n >= 2 and 1 <= years <= runs.MAX_YEARS and 1 <= replicates <= runs.MAX_REPLICATES and seed >= 0 \
        and n * years * replicates <= runs.MAX_RUN_SIZE
    try:
        params = runs.parse_run_request(OFFERED, picked, str(years), str(replicates), str(seed))
    except InvalidRequest as exc:
        assert not ok, exc
        assert exc.field in ("scenario", "years", "replicates", "seed")
        return
    assert ok
    assert [s.name for s in params.scenarios] == list(dict.fromkeys(picked))
    assert runs.RunParameters.from_json(params.to_json()) == params


@pytest.mark.parametrize("text", ["", " ", "1e1", "0x10", "+3", "３", "1_0", "99999999999"])
def test_a_number_field_takes_plain_digits_only(text: str) -> None:
    with pytest.raises(InvalidRequest) as got:
        runs.parse_run_request(OFFERED, NAMES[:2], text, "1", "1")
    assert got.value.field == "years"


fen = st.integers(-10**12, 10**12)
counts = st.integers(0, 10**6)
county_years = st.builds(CountyYear, st.just("c"), st.sampled_from(NAMES[:2]), st.just("global_budget"),
                         st.integers(1, 20), st.integers(2027, 2036), counts, counts, counts, counts, counts, fen,
                         fen, fen, fen, fen, counts)
consortium_years = st.builds(ConsortiumYear, st.just("c"), st.sampled_from(NAMES[:2]), st.integers(1, 20),
                             st.integers(2027, 2036), st.sampled_from(["G1", "G2"]), st.text(max_size=8), counts,
                             counts, counts, fen, fen, fen, fen, fen, st.just("81.5"), st.just("B"))


@given(st.lists(county_years, max_size=6), st.lists(consortium_years, max_size=6))
def test_the_rows_come_back_from_json_as_they_went_in(rows: list[CountyYear], crows: list[ConsortiumYear]) -> None:
    params = runs.RunParameters(tuple(o.scenario for o in OFFERED[:2]), 1, 1, 1)
    result = SimulationResult(list(params.scenarios), ["c"], 1, 1, 1, rows, crows, rows[:1])
    back = runs.decode_result(runs.encode_result(result), params)
    assert back == result
    assert all(type(r.fund_balance) is int and type(c.surplus) is int for r in back.rows for c in back.consortia)


@given(st.lists(st.floats(-1e9, 1e9), min_size=1, max_size=30))
def test_the_band_holds_the_mean_between_its_percentiles(values: list[float]) -> None:
    mean, p5, p95 = band(values)
    assert p5 == percentile(values, 0.05) and p95 == percentile(values, 0.95)
    assert min(values) <= p5 <= p95 <= max(values)
    assert min(values) - 1e-6 <= mean <= max(values) + 1e-6


def test_a_consortiums_bands_are_across_its_replicates() -> None:
    rows = [ConsortiumYear("c", "s", rep, 2027, cid, "", heads, 0, 0, 0, 0, 0, surplus, 0, "", "")
            for rep, (heads, surplus) in enumerate([(10, 100), (12, 300), (14, 200)], start=1) for cid in ("G1",)]
    rows.append(ConsortiumYear("c", "s", 1, 2027, "G2", "", 5, 0, 0, 0, 0, 0, -50, 0, "", ""))
    got = {(r.consortium_id, r.metric): r for r in summarise_consortia(rows)}
    assert (got[("G1", "surplus")].mean, got[("G1", "surplus")].replicates) == (200, 3)
    assert got[("G1", "heads")].mean == 12 and got[("G1", "heads")].p5 == pytest.approx(10.2)
    assert got[("G2", "surplus")].mean == -50 and got[("G2", "surplus")].county == "c"


def test_the_line_chart_draws_bands_reference_lines_and_values_below_zero() -> None:
    svg = str(line_chart(["2026", "2027", "2028"], [("a", [0.0, -40.0, 60.0]), ("b", [0.0, 10.0, 20.0])],
                         bands=[([0.0, -50.0, 50.0], [0.0, -30.0, 70.0]), None], lines=[("WHO 20%", 20.0)],
                         title="t"))
    assert svg.count("<polygon") == 1 and "WHO 20%" in svg and 'stroke-dasharray="3 3"' in svg
    points = re.findall(r'polyline points="([^"]*)"', svg)[0]
    ys = [float(y) for y in points.replace(",", " ").split()[1::2]]
    assert all(12 <= y <= 260 - 48 for y in ys)  # every point inside the plot, the one below zero too
    assert ">-50<" in svg  # the axis reaches the band's lowest value
    before = str(line_chart(["1", "2"], [("a", [1.0, 2.0])]))
    assert "<polygon" not in before
