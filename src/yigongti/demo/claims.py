"""A year of demo claims (示例结算清单), drawn column-wise for one chunk of persons.

Volumes rise with age (gamma frailty per person for overdispersion); the tier of care is drawn by age group and
setting, the institution mostly from the person's designation, sometimes another member of the consortium, the
other consortium, or a city hospital outside every consortium; costs are lognormal by tier; inpatient stays have a
length by tier; some admissions are followed by a referred admission upward (referral_from, 0-15 days after the
discharge). Claims start a few weeks before the year (``lead_in_days``).

:func:`make_previous_claims` draws the rest of the year before (January 1 up to the lead-in weeks) for the same
persons, with the same frailty, a year younger and at last year's prices (``cost_growth``), numbered in a series of
its own (``C<county>-<year>-...``): with the lead-in weeks it makes a whole previous year, so that the dashboards and
the appraisal have last year to compare with, while the year's claims stay exactly as :func:`make_claims` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from yigongti.demo.calibration import Calibration, DiagnosisTable
from yigongti.demo.choices import Enrollment
from yigongti.demo.geography import CountyRegistry
from yigongti.demo.identifiers import sequential_ids
from yigongti.demo.population import BAND_YEARS, Population, age_group

__all__ = ["ClaimStats", "draw_year_claims", "make_claims", "make_previous_claims"]

VILLAGE, TOWNSHIP, COUNTY, OUTSIDE = range(4)


@dataclass
class ClaimStats:
    """Counts over the claims of the year (not the lead-in weeks), to check the calibration."""

    claims: int = 0
    visits: int = 0
    primary_visits: int = 0
    admissions: int = 0
    county_admissions: int = 0
    covered: int = 0  # fen
    outside_covered: int = 0

    def add(self, other: ClaimStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _rate(cal_rel: tuple[float, ...], mean: float, cal: Calibration) -> NDArray[np.float64]:
    shares = np.asarray(cal.age_shares) / np.sum(cal.age_shares)
    rel = np.asarray(cal_rel, dtype=np.float64)
    return rel * (mean / float(np.dot(shares, rel)))


def _draw_tier(rng: np.random.Generator, group: NDArray[np.int64], table: tuple[tuple[float, ...], ...]
               ) -> NDArray[np.int64]:
    cum = np.cumsum(np.asarray(table, dtype=np.float64), axis=1)
    cum = cum / cum[:, -1:]
    drawn = (rng.random(len(group))[:, None] >= cum[group]).sum(axis=1)
    return np.asarray(np.minimum(drawn, 3), dtype=np.int64)


def _pick(rng: np.random.Generator, members: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    at = np.minimum((rng.random(n) * len(members)).astype(np.int64), len(members) - 1)
    return np.asarray(members[at], dtype=np.int64)


def _weighted(rng: np.random.Generator, items: NDArray[np.int64], weights: NDArray[np.float64], n: int
              ) -> NDArray[np.int64]:
    cum = np.cumsum(weights)
    at = np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), len(items) - 1)
    return np.asarray(items[at], dtype=np.int64)


def _vocabulary(cal: Calibration) -> list[str]:
    """Every ICD-10 code the calibration can draw (and the replacements below), sorted."""
    codes = {c for table in (*cal.outpatient_diagnoses, *cal.inpatient_diagnoses) for c, _ in table}
    return sorted(codes | {"K35.8", "N39.0", "J18.9"})


def _diagnoses(rng: np.random.Generator, tables: tuple[DiagnosisTable, ...], group: NDArray[np.int64],
               vocab: list[str]) -> NDArray[np.int64]:
    """Index into ``vocab`` per row, drawn from ``tables[group]``."""
    out = np.zeros(len(group), dtype=np.int64)
    for g, table in enumerate(tables):
        mask = group == g
        codes = np.array([vocab.index(c) for c, _ in table], dtype=np.int64)
        weights = np.array([w for _, w in table], dtype=np.float64)
        out[mask] = _weighted(rng, codes, weights, int(mask.sum()))
    return out


@dataclass(frozen=True)
class _Places:
    """Institution indices: the county's members first, then the outside hospitals."""

    ids: NDArray[np.str_]
    level: NDArray[np.int64]  # hospital level of every place
    outside: NDArray[np.int64]
    outside_level: NDArray[np.int64]


def _places(reg: CountyRegistry, outside_ids: NDArray[np.str_], outside_levels: NDArray[np.int64]) -> _Places:
    n = len(reg.inst_id)
    return _Places(np.concatenate((reg.inst_id, outside_ids)), np.concatenate((reg.level, outside_levels)),
                   n + np.arange(len(outside_ids)), outside_levels)


def _institutions(rng: np.random.Generator, reg: CountyRegistry, places: _Places, enr: Enrollment,
                  person: NDArray[np.int64], inpatient: NDArray[np.bool_], tier: NDArray[np.int64],
                  cal: Calibration) -> NDArray[np.int64]:
    n = len(person)
    inst = np.full(n, -1, dtype=np.int64)
    own = enr.consortium[person]
    other = 1 - own if reg.n_consortia == 2 else own
    u = rng.random(n)
    for t, designated in ((VILLAGE, enr.village), (TOWNSHIP, enr.township)):
        name = "village" if t == VILLAGE else "township"
        at = tier == t
        inst[at & (u < cal.at_designated)] = designated[person[at & (u < cal.at_designated)]]
        elsewhere = at & (u >= cal.at_designated)
        cons = np.where(u < cal.at_designated + cal.in_consortium, own, other)
        for c in range(reg.n_consortia):
            m = elsewhere & (cons == c)
            inst[m] = _pick(rng, reg.members(c, name), int(m.sum()))
    at = tier == COUNTY
    cons = np.where(rng.random(n) < cal.county_own_consortium, own, other)
    kinds = {k: (wo, wi) for k, wo, wi in cal.county_weights}
    for c in range(reg.n_consortia):
        units = reg.members(c, "county")
        for setting, col in ((False, 0), (True, 1)):
            w = np.array([kinds["lead" if i == reg.lead[c] else str(reg.kind[i])][col] for i in units])
            m = at & (cons == c) & (inpatient == setting)
            inst[m] = _weighted(rng, units, w, int(m.sum()))
    at = tier == OUTSIDE
    by_level = {lv: (wo, wi) for lv, wo, wi in cal.outside_weights}
    for setting, col in ((False, 0), (True, 1)):
        counts = np.array([np.sum(places.outside_level == lv) for lv in places.outside_level])
        w = np.array([by_level[int(lv)][col] for lv in places.outside_level]) / counts
        m = at & (inpatient == setting)
        inst[m] = _weighted(rng, places.outside, w, int(m.sum()))
    return inst


_COST_KEYS = ("village", "township", "county", "outside2", "outside3")


def _cost_keys(tier: NDArray[np.int64], level: NDArray[np.int64]) -> NDArray[np.int64]:
    """Index into _COST_KEYS: the tier, with outside hospitals split by level (secondary / tertiary)."""
    return np.asarray(np.where((tier == OUTSIDE) & (level >= 3), OUTSIDE + 1, tier), dtype=np.int64)


def _lookup(table: tuple[tuple[str, float, float], ...] | tuple[tuple[str, float], ...], keys: NDArray[np.int64],
            col: int) -> NDArray[np.float64]:
    values = np.zeros(len(_COST_KEYS))
    for row in table:
        values[_COST_KEYS.index(row[0])] = float(row[col])
    return np.asarray(values[keys], dtype=np.float64)


@dataclass
class _Draft:
    """Claims being drawn, one entry per claim (before sorting and numbering)."""

    person: NDArray[np.int64]
    inpatient: NDArray[np.bool_]
    tier: NDArray[np.int64]
    inst: NDArray[np.int64]
    keys: NDArray[np.int64]  # cost key (_COST_KEYS)
    admit: NDArray[np.datetime64]
    discharge: NDArray[np.datetime64]
    diagnosis: NDArray[np.int64]  # index into the vocabulary
    referral: NDArray[np.int64]  # index of the referring admission, -1 if none

    def only(self, keep: NDArray[np.bool_]) -> _Draft:
        """The claims where ``keep`` (before referrals are added: no index to renumber)."""
        return _Draft(self.person[keep], self.inpatient[keep], self.tier[keep], self.inst[keep], self.keys[keep],
                      self.admit[keep], self.discharge[keep], self.diagnosis[keep], self.referral[keep])


@dataclass(frozen=True)
class _Period:
    """The days claims are drawn for: ``span`` days from ``start``, at the yearly rates spread over ``year_days``;
    referred admissions up to ``last``; the calibration counts (ClaimStats) from ``counted_from``."""

    start: np.datetime64
    span: int
    year_days: int
    last: np.datetime64
    counted_from: np.datetime64


def _stay(rng: np.random.Generator, cal: Calibration, keys: NDArray[np.int64]) -> NDArray[np.int64]:
    return np.asarray(1 + rng.poisson(np.maximum(_lookup(cal.length_of_stay, keys, 1) - 1.0, 0.0)), dtype=np.int64)


def _draw(reg: CountyRegistry, pop: Population, enr: Enrollment, places: _Places, rng: np.random.Generator,
          period: _Period, vocab: list[str], cal: Calibration, frailty: NDArray[np.float64],
          age: NDArray[np.int64]) -> _Draft:
    """Visits and admissions per person by age and frailty, with tier, institution, date, diagnosis, stay."""
    band = np.minimum(age // BAND_YEARS, len(cal.age_shares) - 1)
    span = period.span
    stretch = span / period.year_days
    n_out = rng.poisson(_rate(cal.visit_by_age, cal.visits_per_year, cal)[band] * frailty * stretch)
    n_in = rng.poisson(_rate(cal.admission_by_age, cal.admissions_per_year, cal)[band] * frailty * stretch)
    person = np.concatenate((np.repeat(np.arange(pop.n_persons), n_out), np.repeat(np.arange(pop.n_persons), n_in)))
    inpatient = np.concatenate((np.zeros(int(n_out.sum()), bool), np.ones(int(n_in.sum()), bool)))
    group = age_group(age[person])
    tier = np.where(inpatient, _draw_tier(rng, group, cal.inpatient_tiers), _draw_tier(rng, group,
                                                                                       cal.outpatient_tiers))
    inst = _institutions(rng, reg, places, enr, person, inpatient, tier, cal)
    admit = period.start + rng.integers(0, span, size=len(person)).astype("timedelta64[D]")
    diagnosis = _diagnoses(rng, cal.outpatient_diagnoses + cal.inpatient_diagnoses,
                           group + len(cal.outpatient_diagnoses) * inpatient, vocab)
    keys = _cost_keys(tier, places.level[inst])
    discharge = admit + np.where(inpatient, _stay(rng, cal, keys), 0).astype("timedelta64[D]")
    return _Draft(person, inpatient, tier, inst, keys, admit, discharge, diagnosis,
                  np.full(len(person), -1, dtype=np.int64))


def _with_referrals(d: _Draft, reg: CountyRegistry, enr: Enrollment, places: _Places, rng: np.random.Generator,
                    dec31: np.datetime64, cal: Calibration) -> _Draft:
    """Add referred admissions: upward from a township or county admission, 0-15 days after its discharge, in the
    year: township -> the designated consortium's lead hospital, county -> a tertiary hospital outside."""
    src = np.flatnonzero(d.inpatient & (d.tier != OUTSIDE) & (rng.random(len(d.person)) < cal.referral_rate))
    ref_admit = d.discharge[src] + rng.integers(0, 16, size=len(src)).astype("timedelta64[D]")
    keep = ref_admit <= dec31
    src, ref_admit = src[keep], ref_admit[keep]
    up_tier = np.where(d.tier[src] == TOWNSHIP, COUNTY, OUTSIDE)
    level3 = places.outside[places.outside_level >= 3]
    up_inst = np.where(up_tier == COUNTY, reg.lead[enr.consortium[d.person[src]]], _pick(rng, level3, len(src)))
    up_keys = _cost_keys(up_tier, places.level[up_inst])
    up_stay = _stay(rng, cal, up_keys)
    return _Draft(
        person=np.concatenate((d.person, d.person[src])),
        inpatient=np.concatenate((d.inpatient, np.ones(len(src), bool))),
        tier=np.concatenate((d.tier, up_tier)), inst=np.concatenate((d.inst, up_inst)),
        keys=np.concatenate((d.keys, up_keys)), admit=np.concatenate((d.admit, ref_admit)),
        discharge=np.concatenate((d.discharge, ref_admit + up_stay.astype("timedelta64[D]"))),
        diagnosis=np.concatenate((d.diagnosis, d.diagnosis[src])), referral=np.concatenate((d.referral, src)))


def _fit_diagnoses(d: _Draft, pop: Population, ages: NDArray[np.int64], vocab: list[str]) -> None:
    """Replace diagnoses that do not fit the person (births of men or outside 16-45, prostate of women ...)."""
    age = ages[d.person]
    male = pop.male[d.person]
    code = {c: vocab.index(c) for c in ("O80", "K35.8", "N40", "N39.0", "P59.9", "J18.9")}
    d.diagnosis[(d.diagnosis == code["O80"]) & (male | (age < 16) | (age > 45))] = code["K35.8"]
    d.diagnosis[(d.diagnosis == code["N40"]) & ~male] = code["N39.0"]
    d.diagnosis[(d.diagnosis == code["P59.9"]) & (age > 0)] = code["J18.9"]


def _frailty(rng: np.random.Generator, pop: Population, cal: Calibration) -> NDArray[np.float64]:
    """Each person's gamma frailty (mean 1): the overdispersion of visits, the same person in every year."""
    return np.asarray(rng.gamma(cal.frailty_shape, 1.0 / cal.frailty_shape, size=pop.n_persons), dtype=np.float64)


def make_claims(reg: CountyRegistry, pop: Population, enr: Enrollment, *, rng: np.random.Generator, year: int,
                first_claim: int, outside_ids: NDArray[np.str_], outside_levels: NDArray[np.int64],
                cal: Calibration) -> tuple[pa.Table, ClaimStats]:
    """The claims of one chunk of persons, numbered from ``first_claim``; and their calibration counts."""
    table, stats, _ = draw_year_claims(reg, pop, enr, rng=rng, year=year, first_claim=first_claim,
                                   outside_ids=outside_ids, outside_levels=outside_levels, cal=cal)
    return table, stats


def make_previous_claims(reg: CountyRegistry, pop: Population, enr: Enrollment, *, rng: np.random.Generator,
                         year: int, outside_ids: NDArray[np.str_], outside_levels: NDArray[np.int64],
                         cal: Calibration, frailty: NDArray[np.float64] | None = None,
                         first_claim: int = 0) -> tuple[pa.Table, ClaimStats]:
    """The claims of ``year - 1`` before the lead-in weeks of :func:`make_claims` (January 1 of the year before up
    to ``lead_in_days`` before the year; referred admissions up to its December 31), for the same chunk of persons:
    ``frailty`` of the year's draw (None: drawn here), ages a year younger, nobody before their birth, costs
    ``1 + cost_growth`` times lower; numbered ``C<county>-<year - 1>-`` from ``first_claim``. ClaimStats count all
    of them (they are of the year before). Primary care goes mostly to the household's nearest village-tier
    institution and its township: the designation enrolment gives everyone for a year nobody chose for (the demo's
    choices are for ``year``), so that last year's settlement reads them as designated care like the year's."""
    jan1 = np.datetime64(f"{year - 1}-01-01", "D")
    dec31 = np.datetime64(f"{year - 1}-12-31", "D")
    year_days = int((dec31 - jan1).astype(np.int64)) + 1
    period = _Period(jan1, year_days - cal.lead_in_days, year_days, dec31, jan1)
    if frailty is None:
        frailty = _frailty(rng, pop, cal)
    born = np.asarray(pop.table.column("birth_date").to_numpy(zero_copy_only=False), dtype="datetime64[D]")
    near = reg.villages[pop.hh_nearest][pop.household]
    last = Enrollment(choices=enr.choices, previous=enr.previous, village=near, consortium=reg.consortium[near],
                      township=reg.parent[near])
    table, stats = _claims(reg, pop, last, rng=rng, period=period, first_claim=first_claim, outside_ids=outside_ids,
                           outside_levels=outside_levels, cal=cal, frailty=frailty,
                           ages=np.maximum(pop.age - 1, 0), born=born, cost_scale=1.0 / (1.0 + cal.cost_growth),
                           prefix=f"C{reg.county.code}-{year - 1}-")
    return table, stats


def draw_year_claims(reg: CountyRegistry, pop: Population, enr: Enrollment, *, rng: np.random.Generator, year: int,
                 first_claim: int, outside_ids: NDArray[np.str_], outside_levels: NDArray[np.int64],
                 cal: Calibration) -> tuple[pa.Table, ClaimStats, NDArray[np.float64]]:
    """:func:`make_claims`, with the frailty drawn (for :func:`make_previous_claims`)."""
    jan1 = np.datetime64(f"{year}-01-01", "D")
    dec31 = np.datetime64(f"{year}-12-31", "D")
    span = int((dec31 - jan1).astype(np.int64)) + 1 + cal.lead_in_days
    period = _Period(jan1 - cal.lead_in_days, span, span - cal.lead_in_days, dec31, jan1)
    frailty = _frailty(rng, pop, cal)
    table, stats = _claims(reg, pop, enr, rng=rng, period=period, first_claim=first_claim, outside_ids=outside_ids,
                           outside_levels=outside_levels, cal=cal, frailty=frailty, ages=pop.age, born=None,
                           cost_scale=1.0, prefix=f"C{reg.county.code}-")
    return table, stats, frailty


def _claims(reg: CountyRegistry, pop: Population, enr: Enrollment, *, rng: np.random.Generator, period: _Period,
            first_claim: int, outside_ids: NDArray[np.str_], outside_levels: NDArray[np.int64], cal: Calibration,
            frailty: NDArray[np.float64], ages: NDArray[np.int64], born: NDArray[np.datetime64] | None,
            cost_scale: float, prefix: str) -> tuple[pa.Table, ClaimStats]:
    places = _places(reg, outside_ids, outside_levels)
    vocab = _vocabulary(cal)
    drawn = _draw(reg, pop, enr, places, rng, period, vocab, cal, frailty, ages)
    if born is not None:
        drawn = drawn.only(drawn.admit >= born[drawn.person])
    d = _with_referrals(drawn, reg, enr, places, rng, period.last, cal)
    _fit_diagnoses(d, pop, ages, vocab)
    n = len(d.person)
    emergency = np.where(d.inpatient, rng.random(n) < cal.emergency_inpatient,
                         (d.tier >= COUNTY) & (rng.random(n) < cal.emergency_outpatient)) & (d.referral < 0)
    costs = (cal.inpatient_cost, cal.outpatient_cost)
    median = np.where(d.inpatient, _lookup(costs[0], d.keys, 1), _lookup(costs[1], d.keys, 1))
    if cost_scale != 1.0:
        median = median * cost_scale
    sigma = np.where(d.inpatient, _lookup(costs[0], d.keys, 2), _lookup(costs[1], d.keys, 2))
    total = np.maximum(np.rint(median * np.exp(sigma * rng.standard_normal(n)) * 100.0), 500).astype(np.int64)
    lo, hi = cal.covered_share
    covered = np.rint(total * rng.uniform(lo, hi, size=n)).astype(np.int64)
    unreasonable = (rng.random(n) < cal.unreasonable_rate) | (
        d.inpatient & (d.tier == OUTSIDE) & (rng.random(n) < cal.unreasonable_outside_inpatient))

    # claims of a person in date order, numbered; referral_from names the referring claim's new number
    o = np.lexsort((np.arange(n), d.admit, d.person))
    position = np.empty(n, dtype=np.int64)
    position[o] = np.arange(n)
    claim_ids = sequential_ids(prefix, first_claim + 1 + np.arange(n, dtype=np.int64), width=9)
    ref_sorted = d.referral[o]
    has_ref = ref_sorted >= 0
    referral_from = claim_ids.take(pa.array(np.where(has_ref, position[np.maximum(ref_sorted, 0)], 0)))
    table = pa.table({
        "claim_id": claim_ids,
        "person_id": pop.person_id.take(pa.array(d.person[o])),
        "inst_id": pa.array(places.ids, pa.string()).take(pa.array(d.inst[o])),
        "setting": pa.array(["outpatient", "inpatient"]).take(pa.array(d.inpatient[o].astype(np.int64))),
        "emergency": pa.array(emergency[o]),
        "admit_date": pa.array(d.admit[o], pa.date32()),
        "discharge_date": pa.array(d.discharge[o], pa.date32(), mask=~d.inpatient[o]),
        "total_cost": pa.array(total[o], pa.int64()),
        "covered_cost": pa.array(covered[o], pa.int64()),
        "diagnosis": pa.array(vocab, pa.string()).take(pa.array(d.diagnosis[o])),
        "referral_from": pa.array(referral_from.to_numpy(zero_copy_only=False), pa.string(), mask=~has_ref),
        "unreasonable": pa.array(unreasonable[o]),
    })
    return table, _stats(d, covered, period.counted_from)


def _stats(d: _Draft, covered: NDArray[np.int64], jan1: np.datetime64) -> ClaimStats:
    in_year = d.admit >= jan1
    visits = in_year & ~d.inpatient
    admissions = in_year & d.inpatient
    return ClaimStats(
        claims=len(d.person), visits=int(visits.sum()), primary_visits=int((visits & (d.tier <= TOWNSHIP)).sum()),
        admissions=int(admissions.sum()), county_admissions=int((admissions & (d.tier != OUTSIDE)).sum()),
        covered=int(covered[in_year].sum()), outside_covered=int(covered[in_year & (d.tier == OUTSIDE)].sum()))
