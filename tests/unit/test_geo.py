import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.core.geo import great_circle_km, nearest


def test_tie_goes_to_lowest_index() -> None:
    # two targets at the same distance east and west of the point
    assert nearest([104.0], [32.0], [104.1, 103.9], [32.0, 32.0]).tolist() == [0]
    assert nearest([104.0], [32.0], [103.9, 104.1], [32.0, 32.0]).tolist() == [0]


def test_great_circle_km() -> None:
    # one degree of latitude is about 111.2 km
    assert abs(float(great_circle_km(104, 32, 104, 33)) - 111.2) < 0.1


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    tl, ta = rng.uniform(100, 110, 50), rng.uniform(25, 35, 50)
    pl, pa = rng.uniform(100, 110, 200), rng.uniform(25, 35, 200)
    d = great_circle_km(pl[:, None], pa[:, None], tl[None, :], ta[None, :])
    assert nearest(pl, pa, tl, ta).tolist() == d.argmin(axis=1).tolist()


def test_many_tied_targets_still_go_to_the_lowest_index() -> None:
    # seen from the pole, ten targets on one parallel are all at the same distance; three farther ones come first
    lon_t = [10.0, 20.0, 30.0] + [float(x) for x in range(170, -180, -35)]
    lat_t = [80.0, 80.0, 80.0] + [89.0] * 10
    assert nearest([0.0], [90.0], lon_t, lat_t, k_ties=2).tolist() == [3]
    assert nearest([0.0], [90.0], lon_t[::-1], lat_t[::-1], k_ties=2).tolist() == [0]


def test_large_inputs_are_reordered_but_answers_stay_in_place() -> None:
    rng = np.random.default_rng(7)
    for m in (300, 60_000):  # 60,000 targets are reordered too
        tl, ta = rng.uniform(100, 110, m), rng.uniform(25, 35, m)
        _check_sample(rng, tl, ta)


def _check_sample(rng: np.random.Generator, tl: np.ndarray, ta: np.ndarray) -> None:
    pl, pa = rng.uniform(100, 110, 60_000), rng.uniform(25, 35, 60_000)
    got = nearest(pl, pa, tl, ta)
    sample = rng.integers(0, 60_000, 200)
    d = great_circle_km(pl[sample, None], pa[sample, None], tl[None, :], ta[None, :])
    assert got[sample].tolist() == d.argmin(axis=1).tolist()


def test_one_target() -> None:
    assert nearest([1.0, 2.0], [3.0, 4.0], [104.0], [32.0]).tolist() == [0, 0]
