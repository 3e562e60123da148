import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.engine.geo import great_circle_km, nearest


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
