"""The demo population (示例参保人群): households (家庭) scattered around village clinics, and their members.

One call makes one chunk of households with exactly ``n_persons`` members; every draw is vectorised with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from yigongti.core.geo import nearest
from yigongti.demo.calibration import Calibration
from yigongti.demo.geography import CountyRegistry
from yigongti.demo.identifiers import IdNumberSerials, sequential_ids

__all__ = ["Population", "age_group", "make_population"]

BAND_YEARS = 5
ADULT_AGE = 18


@dataclass(frozen=True)
class Population:
    """One chunk: households and persons, with what the choice and claim generators need."""

    # households
    hh_village: NDArray[np.int64]  # position in reg.villages of the village the home belongs to
    hh_nearest: NDArray[np.int64]  # position in reg.villages of the nearest village-tier institution
    hh_start: NDArray[np.int64]  # first person of each household
    hh_lon: NDArray[np.float64]
    hh_lat: NDArray[np.float64]
    hh_size: NDArray[np.int64]
    # persons
    household: NDArray[np.int64]  # chunk-local household index per person
    member: NDArray[np.int64]  # 0 for the first member (who files the household's choice)
    age: NDArray[np.int64]  # completed years on Jan 1 of the year
    male: NDArray[np.bool_]
    person_id: pa.Array
    table: pa.Table  # the ``persons`` rows

    @property
    def n_persons(self) -> int:
        return len(self.age)

    @property
    def n_households(self) -> int:
        return len(self.hh_size)


def age_group(age: NDArray[np.int64]) -> NDArray[np.int64]:
    """0 child (0-14), 1 adult (15-59), 2 elderly (60+)."""
    return (age >= 15).astype(np.int64) + (age >= 60).astype(np.int64)


def _age_shares(cal: Calibration) -> NDArray[np.float64]:
    s = np.asarray(cal.age_shares, dtype=np.float64)
    return np.asarray(s / s.sum(), dtype=np.float64)


def employee_probability(cal: Calibration) -> float:
    """Probability that an 18-74 year old has employee insurance, so that the overall share is as calibrated."""
    shares = _age_shares(cal)
    ages = np.arange(len(shares) * BAND_YEARS)
    per_age = np.repeat(shares / BAND_YEARS, BAND_YEARS)
    working = per_age[(ages >= ADULT_AGE) & (ages <= 74)].sum()
    return float(min(1.0, cal.employee_share / working))


def _household_sizes(rng: np.random.Generator, n_persons: int, cal: Calibration) -> NDArray[np.int64]:
    p = np.asarray(cal.household_sizes) / np.sum(cal.household_sizes)
    mean = float(np.dot(p, np.arange(1, len(p) + 1)))
    sizes = np.empty(0, dtype=np.int64)
    while sizes.sum() < n_persons:
        more = int((n_persons - sizes.sum()) / mean * 1.1) + 8
        sizes = np.concatenate((sizes, rng.choice(len(p), size=more, p=p).astype(np.int64) + 1))
    cum = np.cumsum(sizes)
    last = int(np.searchsorted(cum, n_persons))
    sizes = sizes[: last + 1].copy()
    sizes[-1] -= int(cum[last]) - n_persons
    return sizes


def make_population(reg: CountyRegistry, *, rng: np.random.Generator, n_persons: int, first_person: int,
                    first_household: int, year: int, serials: IdNumberSerials, cal: Calibration) -> Population:
    """``n_persons`` persons in whole households (the last one may be cut short), numbered from the given offsets."""
    sizes = _household_sizes(rng, n_persons, cal)
    n_hh = len(sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
    household = np.repeat(np.arange(n_hh, dtype=np.int64), sizes)
    member = np.arange(n_persons, dtype=np.int64) - starts[household]

    # homes around village clinics (closer together in town)
    v = rng.choice(len(reg.villages), size=n_hh, p=reg.village_weight).astype(np.int64)
    spread = np.where(reg.village_urban[v], cal.urban_spread_deg, cal.home_spread_deg)
    vi = reg.villages[v]
    hh_lon = np.round(reg.lon[vi] + rng.normal(0.0, 1.0, n_hh) * spread, 5)
    hh_lat = np.round(reg.lat[vi] + rng.normal(0.0, 1.0, n_hh) * spread, 5)
    near = nearest(hh_lon, hh_lat, reg.lon[reg.villages], reg.lat[reg.villages], workers=1)

    # ages from the pyramid; a household whose members are all minors gets an adult first member
    shares = _age_shares(cal)
    band = rng.choice(len(shares), size=n_persons, p=shares)
    age = band * BAND_YEARS + rng.integers(0, BAND_YEARS, size=n_persons)
    oldest = np.maximum.reduceat(age, starts)
    fix = starts[oldest < ADULT_AGE]
    adult_bands = np.arange(4, len(shares))
    adult_p = shares[adult_bands] / shares[adult_bands].sum()
    age[fix] = rng.choice(adult_bands, size=len(fix), p=adult_p) * BAND_YEARS + rng.integers(0, BAND_YEARS, len(fix))
    male = rng.random(n_persons) < cal.male_share
    # born in year (Y - age - 1), after Jan 1: completed age on Jan 1 of Y is exactly `age`
    birth_year = (year - age - 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    birth = birth_year + rng.integers(1, 365, size=n_persons).astype("timedelta64[D]")
    employee = (age >= ADULT_AGE) & (age <= 74) & (rng.random(n_persons) < employee_probability(cal))

    cc = reg.county.code
    person_id = sequential_ids(f"P{cc}-", np.arange(first_person, first_person + n_persons, dtype=np.int64) + 1,
                               width=8)
    hh_ids = sequential_ids(f"H{cc}-", np.arange(first_household, first_household + n_hh, dtype=np.int64) + 1,
                            width=7)
    table = pa.table({
        "person_id": person_id,
        "id_number": serials.make(birth, male),
        "sex": pa.array(np.where(male, "M", "F"), pa.string()),
        "birth_date": pa.array(birth, pa.date32()),
        "household_id": hh_ids.take(pa.array(household)),
        "insurance": pa.array(np.where(employee, "employee", "resident"), pa.string()),
        "county_code": pa.array(np.full(n_persons, cc), pa.string()),
        "lon": pa.array(hh_lon[household], pa.float64()),
        "lat": pa.array(hh_lat[household], pa.float64()),
    })
    return Population(hh_village=v, hh_nearest=near, hh_start=starts, hh_lon=hh_lon, hh_lat=hh_lat, hh_size=sizes,
                      household=household,
                      member=member, age=age, male=male, person_id=person_id, table=table)
