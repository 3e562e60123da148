"""A year of demo claims (示例结算清单), drawn column-wise for one chunk of persons.

Volumes rise with age (gamma frailty per person for overdispersion); the tier of care is drawn by age group and
setting, the institution mostly from the person's designation, sometimes another member of the consortium, the
other consortium, or a city hospital outside every consortium; costs are lognormal by tier; inpatient stays have a
length by tier; some admissions are followed by a referred admission upward (referral_from, 0-15 days after the
discharge). Claims start a few weeks before the year (``lead_in_days``).
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

__all__ = ["ClaimStats", "make_claims"]

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


def _stay(rng: np.random.Generator, cal: Calibration, keys: NDArray[np.int64]) -> NDArray[np.int64]:
    return np.asarray(1 + rng.poisson(np.maximum(_lookup(cal.length_of_stay, keys, 1) - 1.0, 0.0)), dtype=np.int64)


def _draw(reg: CountyRegistry, pop: Population, enr: Enrollment, places: _Places, rng: np.random.Generator,
          jan1: np.datetime64, span: int, vocab: list[str], cal: Calibration) -> _Draft:
    """Visits and admissions per person by age and frailty, with tier, institution, date, diagnosis, stay."""
    frailty = rng.gamma(cal.frailty_shape, 1.0 / cal.frailty_shape, size=pop.n_persons)
    band = np.minimum(pop.age // BAND_YEARS, len(cal.age_shares) - 1)
    stretch = span / (span - cal.lead_in_days)
    n_out = rng.poisson(_rate(cal.visit_by_age, cal.visits_per_year, cal)[band] * frailty * stretch)
    n_in = rng.poisson(_rate(cal.admission_by_age, cal.admissions_per_year, cal)[band] * frailty * stretch)
    person = np.concatenate((np.repeat(np.arange(pop.n_persons), n_out), np.repeat(np.arange(pop.n_persons), n_in)))
    inpatient = np.concatenate((np.zeros(int(n_out.sum()), bool), np.ones(int(n_in.sum()), bool)))
    group = age_group(pop.age[person])
    tier = np.where(inpatient, _draw_tier(rng, group, cal.inpatient_tiers), _draw_tier(rng, group,
                                                                                       cal.outpatient_tiers))
    inst = _institutions(rng, reg, places, enr, person, inpatient, tier, cal)
    admit = jan1 - cal.lead_in_days + rng.integers(0, span, size=len(person)).astype("timedelta64[D]")
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


def _fit_diagnoses(d: _Draft, pop: Population, vocab: list[str]) -> None:
    """Replace diagnoses that do not fit the person (births of men or outside 16-45, prostate of women ...)."""
    age = pop.age[d.person]
    male = pop.male[d.person]
    code = {c: vocab.index(c) for c in ("O80", "K35.8", "N40", "N39.0", "P59.9", "J18.9")}
    d.diagnosis[(d.diagnosis == code["O80"]) & (male | (age < 16) | (age > 45))] = code["K35.8"]
    d.diagnosis[(d.diagnosis == code["N40"]) & ~male] = code["N39.0"]
    d.diagnosis[(d.diagnosis == code["P59.9"]) & (age > 0)] = code["J18.9"]


def make_claims(reg: CountyRegistry, pop: Population, enr: Enrollment, *, rng: np.random.Generator, year: int,
                first_claim: int, outside_ids: NDArray[np.str_], outside_levels: NDArray[np.int64],
                cal: Calibration) -> tuple[pa.Table, ClaimStats]:
    """The claims of one chunk of persons, numbered from ``first_claim``; and their calibration counts."""
    places = _places(reg, outside_ids, outside_levels)
    jan1 = np.datetime64(f"{year}-01-01", "D")
    dec31 = np.datetime64(f"{year}-12-31", "D")
    span = int((dec31 - jan1).astype(np.int64)) + 1 + cal.lead_in_days
    vocab = _vocabulary(cal)
    d = _with_referrals(_draw(reg, pop, enr, places, rng, jan1, span, vocab, cal), reg, enr, places, rng, dec31, cal)
    _fit_diagnoses(d, pop, vocab)
    n = len(d.person)
    emergency = np.where(d.inpatient, rng.random(n) < cal.emergency_inpatient,
                         (d.tier >= COUNTY) & (rng.random(n) < cal.emergency_outpatient)) & (d.referral < 0)
    costs = (cal.inpatient_cost, cal.outpatient_cost)
    median = np.where(d.inpatient, _lookup(costs[0], d.keys, 1), _lookup(costs[1], d.keys, 1))
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
    claim_ids = sequential_ids(f"C{reg.county.code}-", first_claim + 1 + np.arange(n, dtype=np.int64), width=9)
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
    return table, _stats(d, covered, jan1)


def _stats(d: _Draft, covered: NDArray[np.int64], jan1: np.datetime64) -> ClaimStats:
    in_year = d.admit >= jan1
    visits = in_year & ~d.inpatient
    admissions = in_year & d.inpatient
    return ClaimStats(
        claims=len(d.person), visits=int(visits.sum()), primary_visits=int((visits & (d.tier <= TOWNSHIP)).sum()),
        admissions=int(admissions.sum()), county_admissions=int((admissions & (d.tier != OUTSIDE)).sum()),
        covered=int(covered[in_year].sum()), outside_covered=int(covered[in_year & (d.tier == OUTSIDE)].sum()))
