"""Designated-care inputs for the demo (定点选择): Q4 choices, last year's designations, and who is designated where.

About 70% of households file a choice in the switch window (Oct 1 - Dec 31 of the year before) for every member or,
sometimes, for the first member only (the others follow by household); some change their mind within the window;
a few file outside the window or with a village that is not under the chosen township, so that ``enroll`` has
refusals to list. Part of the households carry a designation from the year before. The designation the claim
generator uses follows rules.md A4: own valid choice, else carry-over, else the household's, else the nearest village.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from yigongti.core.geo import nearest
from yigongti.demo.calibration import Calibration
from yigongti.demo.geography import CountyRegistry
from yigongti.demo.population import Population

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


@dataclass(frozen=True)
class _Plan:
    """Per household: what it would pick, whether and how it files, what it carries from last year."""

    near: NDArray[np.int64]  # nearest village-tier institution (registry index)
    alt: NDArray[np.int64]  # the alternative: nearest of the other consortium (or the home village)
    pref: NDArray[np.int64]  # what it chooses
    chooser: NDArray[np.bool_]
    partial: NDArray[np.bool_]  # only the first member files
    changed: NDArray[np.bool_]  # an earlier, superseded choice in the window
    carried: NDArray[np.bool_]
    prev_village: NDArray[np.int64]
    prev_source: NDArray[np.str_]
    bad_window: NDArray[np.bool_]
    bad_nesting: NDArray[np.bool_]


def _plan(reg: CountyRegistry, pop: Population, rng: np.random.Generator, cal: Calibration) -> _Plan:
    n_hh = pop.n_households
    near = reg.villages[pop.hh_nearest]
    if reg.n_consortia == 2:
        alt = _per_consortium_nearest(reg, pop)[1 - reg.consortium[near], np.arange(n_hh)]
    else:
        alt = reg.villages[pop.hh_village]  # the home village (sometimes not the nearest clinic)
    pref = np.where(rng.random(n_hh) < cal.choose_alternative, alt, near)
    chooser = rng.random(n_hh) < cal.choosing_households
    partial = chooser & (rng.random(n_hh) < cal.only_head_chooses)
    changed = chooser & (rng.random(n_hh) < cal.changed_mind)
    u = rng.random(n_hh)
    carried = rng.random(n_hh) < cal.carried_households
    w = rng.random(n_hh)
    return _Plan(near=near, alt=alt, pref=pref, chooser=chooser, partial=partial, changed=changed, carried=carried,
                 prev_village=np.where(u < 0.3, near, np.where(u < 0.85, pref, alt)),
                 prev_source=np.where(u < 0.3, "nearest", "choice"),
                 bad_window=~chooser & (w < cal.outside_window),
                 bad_nesting=~chooser & (w >= cal.outside_window) & (w < cal.outside_window + cal.broken_nesting))


def _choices(reg: CountyRegistry, pop: Population, plan: _Plan, files: NDArray[np.bool_],
             rng: np.random.Generator, year: int) -> pa.Table:
    """The choice rows: superseded earlier choices, final choices, and the ones ``enroll`` must refuse."""
    n_hh = pop.n_households
    window = np.datetime64(f"{year - 1}-10-01T00:00", "m")
    t_final = window + rng.integers(60, _MINUTES_Q4, size=n_hh).astype("timedelta64[m]")
    t_early = window + (rng.random(n_hh) * (t_final - window).astype(np.int64)).astype("timedelta64[m]")
    before = np.datetime64(f"{year - 1}-09-01T08:00", "m") + rng.integers(0, 29 * 1440, n_hh).astype("timedelta64[m]")
    after = np.datetime64(f"{year}-01-01T08:00", "m") + rng.integers(0, 20 * 1440, n_hh).astype("timedelta64[m]")
    t_bad = np.where(rng.random(n_hh) < 0.5, before, after)

    hh = pop.household
    head = pop.member == 0
    person = np.arange(pop.n_persons, dtype=np.int64)
    other = np.where(plan.pref == plan.near, plan.alt, plan.near)
    shifted = reg.villages[(pop.hh_nearest + _NESTING_SHIFT) % len(reg.villages)]
    parts = [(files & plan.changed[hh], other, t_early), (files, plan.pref, t_final),
             (head & plan.bad_window[hh], plan.near, t_bad), (head & plan.bad_nesting[hh], shifted, t_final)]
    p = np.concatenate([person[m] for m, _, _ in parts])
    v = np.concatenate([vil[hh[person[m]]] for m, vil, _ in parts])
    t = np.concatenate([when[hh[person[m]]] for m, _, when in parts]).astype("datetime64[s]")
    # a broken nesting names the township (and consortium) of the nearest village with a village of another one
    anchor = np.concatenate([np.where(k == 3, plan.near, vil)[hh[person[m]]] for k, (m, vil, _) in enumerate(parts)])
    township, consortium = reg.parent[anchor], reg.consortium[anchor]
    order = np.lexsort((t, p))
    return pa.table({
        "person_id": pop.person_id.take(pa.array(p[order], pa.int64())),
        "year": pa.array(np.full(len(p), year, dtype=np.int64)),
        "consortium_id": pa.array(np.array(reg.consortium_ids)[consortium[order]], pa.string()),
        "township_id": pa.array(reg.inst_id[township[order]], pa.string()),
        "village_id": pa.array(reg.inst_id[v[order]], pa.string()),
        "chosen_at": pa.array(t[order], pa.timestamp("s")),
    })


def _previous(reg: CountyRegistry, pop: Population, plan: _Plan, year: int) -> pa.Table:
    """Designations of the year before, for the households that carry one."""
    hh = pop.household
    persons = np.flatnonzero(plan.carried[hh])
    pv = plan.prev_village[hh[persons]]
    return pa.table({
        "person_id": pop.person_id.take(pa.array(persons, pa.int64())),
        "year": pa.array(np.full(len(persons), year - 1, dtype=np.int64)),
        "consortium_id": pa.array(np.array(reg.consortium_ids)[reg.consortium[pv]], pa.string()),
        "township_id": pa.array(reg.inst_id[reg.parent[pv]], pa.string()),
        "village_id": pa.array(reg.inst_id[pv], pa.string()),
        "source": pa.array(plan.prev_source[hh[persons]], pa.string()),
    })


def make_enrollment(reg: CountyRegistry, pop: Population, *, rng: np.random.Generator, year: int,
                    cal: Calibration) -> Enrollment:
    """Choices and last year's designations of one chunk, and every person's designation (rules.md A4)."""
    plan = _plan(reg, pop, rng, cal)
    hh = pop.household
    files = plan.chooser[hh] & (~plan.partial[hh] | (pop.member == 0))
    choices = _choices(reg, pop, plan, files, rng, year)
    village = np.where(files, plan.pref[hh],
                       np.where(plan.carried[hh], plan.prev_village[hh],
                                np.where(plan.chooser[hh], plan.pref[hh], plan.near[hh])))
    return Enrollment(choices=choices, previous=_previous(reg, pop, plan, year), village=village,
                      consortium=reg.consortium[village], township=reg.parent[village])
