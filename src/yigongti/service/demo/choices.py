"""Designated-care inputs for the demo (定点选择): Q4 choices, last year's designations, and who is designated where.

About 70% of households file a choice in the switch window (Oct 1 - Dec 31 of the year before) for every member or,
sometimes, for the first member only (the others follow by household); some change their mind within the window;
a few file outside the window or with a village that is not under the chosen township, so that ``enroll`` has
refusals to list. Part of the households carry a designation from the year before. The designation the claim
generator uses follows RULES.md A4: own valid choice, else carry-over, else the household's, else the nearest village.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from yigongti.engine.geo import nearest
from yigongti.service.demo.calibration import Calibration
from yigongti.service.demo.geography import CountyRegistry
from yigongti.service.demo.population import Population

__all__ = ["Enrollment", "make_enrollment"]

_MINUTES_Q4 = 92 * 24 * 60
_NESTING_SHIFT = 20  # village positions apart: always under another township (no township has 20 villages)


@dataclass(frozen=True)
class Enrollment:
    choices: pa.Table
    previous: pa.Table  # designations of the year before
    village: NDArray[np.int64]  # per person: designated village-tier institution (index into the registry)
    consortium: NDArray[np.int64]  # per person: designated consortium (index into reg.consortium_ids)
    township: NDArray[np.int64]


def _per_consortium_nearest(reg: CountyRegistry, pop: Population) -> NDArray[np.int64]:
    """(consortia, households): the nearest village-tier institution of each consortium."""
    out = np.empty((reg.n_consortia, pop.n_households), dtype=np.int64)
    for c in range(reg.n_consortia):
        members = reg.members(c, "village")
        out[c] = members[nearest(pop.hh_lon, pop.hh_lat, reg.lon[members], reg.lat[members], workers=1)]
    return out


def make_enrollment(reg: CountyRegistry, pop: Population, *, rng: np.random.Generator, year: int,
                    cal: Calibration) -> Enrollment:
    n_hh = pop.n_households
    near = reg.villages[pop.hh_nearest]
    by_cons = _per_consortium_nearest(reg, pop)
    if reg.n_consortia == 2:
        alt = by_cons[1 - reg.consortium[near], np.arange(n_hh)]
    else:
        alt = reg.villages[pop.hh_village]  # the home village (sometimes not the nearest clinic)
    pref = np.where(rng.random(n_hh) < cal.choose_alternative, alt, near)
    chooser = rng.random(n_hh) < cal.choosing_households
    partial = chooser & (rng.random(n_hh) < cal.only_head_chooses)
    changed = chooser & (rng.random(n_hh) < cal.changed_mind)
    u = rng.random(n_hh)
    carried = rng.random(n_hh) < cal.carried_households
    prev_village = np.where(u < 0.3, near, np.where(u < 0.85, pref, alt))
    prev_source = np.where(u < 0.3, "nearest", "choice")
    w = rng.random(n_hh)
    bad_window = ~chooser & (w < cal.outside_window)
    bad_nesting = ~chooser & (w >= cal.outside_window) & (w < cal.outside_window + cal.broken_nesting)

    window = np.datetime64(f"{year - 1}-10-01T00:00", "m")
    t_final = window + rng.integers(60, _MINUTES_Q4, size=n_hh).astype("timedelta64[m]")
    t_early = window + (rng.random(n_hh) * (t_final - window).astype(np.int64)).astype("timedelta64[m]")
    before = np.datetime64(f"{year - 1}-09-01T08:00", "m") + rng.integers(0, 29 * 1440, n_hh).astype("timedelta64[m]")
    after = np.datetime64(f"{year}-01-01T08:00", "m") + rng.integers(0, 20 * 1440, n_hh).astype("timedelta64[m]")
    t_bad = np.where(rng.random(n_hh) < 0.5, before, after)

    hh = pop.household
    files = chooser[hh] & (~partial[hh] | (pop.member == 0))
    head = pop.member == 0
    person = np.arange(pop.n_persons, dtype=np.int64)
    parts_p: list[NDArray[np.int64]] = []
    parts_v: list[NDArray[np.int64]] = []
    parts_t: list[NDArray[np.datetime64]] = []
    # a superseded earlier choice, the final choice, and the refused ones
    early = files & changed[hh]
    other = np.where(pref == near, alt, near)
    for mask, village, when in (
        (early, other, t_early), (files, pref, t_final), (head & bad_window[hh], near, t_bad),
        (head & bad_nesting[hh], reg.villages[(pop.hh_nearest + _NESTING_SHIFT) % len(reg.villages)], t_final),
    ):
        sel = person[mask]
        parts_p.append(sel)
        parts_t.append(when[hh[sel]])
        parts_v.append(village[hh[sel]])
    p = np.concatenate(parts_p)
    v = np.concatenate(parts_v)
    t = np.concatenate(parts_t).astype("datetime64[s]")
    # broken nesting keeps the township (and consortium) of the nearest village
    n_nest = len(parts_p[3])
    township = reg.parent[v].copy()
    consortium = reg.consortium[v].copy()
    if n_nest:
        nest_rows = slice(len(p) - n_nest, len(p))
        township[nest_rows] = reg.parent[near[hh[parts_p[3]]]]
        consortium[nest_rows] = reg.consortium[near[hh[parts_p[3]]]]
    order = np.lexsort((t, p))
    p, v, t, township, consortium = p[order], v[order], t[order], township[order], consortium[order]
    choices = pa.table({
        "person_id": pop.person_id.take(pa.array(p, pa.int64())),
        "year": pa.array(np.full(len(p), year, dtype=np.int64)),
        "consortium_id": pa.array(np.array(reg.consortium_ids)[consortium], pa.string()),
        "township_id": pa.array(reg.inst_id[township], pa.string()),
        "village_id": pa.array(reg.inst_id[v], pa.string()),
        "chosen_at": pa.array(t, pa.timestamp("s")),
    })

    prev_persons = person[carried[hh]]
    pv = prev_village[hh[prev_persons]]
    previous = pa.table({
        "person_id": pop.person_id.take(pa.array(prev_persons, pa.int64())),
        "year": pa.array(np.full(len(prev_persons), year - 1, dtype=np.int64)),
        "consortium_id": pa.array(np.array(reg.consortium_ids)[reg.consortium[pv]], pa.string()),
        "township_id": pa.array(reg.inst_id[reg.parent[pv]], pa.string()),
        "village_id": pa.array(reg.inst_id[pv], pa.string()),
        "source": pa.array(prev_source[hh[prev_persons]], pa.string()),
    })

    village = np.where(files, pref[hh], np.where(carried[hh], prev_village[hh], np.where(chooser[hh], pref[hh],
                                                                                         near[hh])))
    return Enrollment(choices=choices, previous=previous, village=village, consortium=reg.consortium[village],
                      township=reg.parent[village])
