"""The simulator's generator (模拟生成): designations switched in Q4 and a year of claims drawn, vectorised.

Claims of a simulated year are drawn from the observed year's claims (样本年), each claim a template: a template
is kept ``k ~ Poisson(m)`` times, where ``m`` is its cell's utilisation multiplier (setting x network status x level,
``domain.utilisation_multipliers``) times, for a chronic-disease admission, the prevention multiplier of the
person's consortium. Persons keep their own pattern of care (age, frailty, diagnoses, costs); a person who moved to
another consortium has the care at the old designated village and township, and at the old consortium's county
hospitals, moved to the new consortium's. Under the global budget a share of the non-emergency admissions outside
the county may be brought back to the consortium's lead hospital (``repatriate``: ``domain.repatriation_share``).
All years are drawn on the observed year's calendar (the data tables of
the appraisal stay dated as observed); ``shift_back`` moves a year's claims one year back to serve as "last year".

NumPy and Arrow only; the adjudication, appraisal and settlement of the drawn claims are the real ones (service).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from yigongti.core.geo import great_circle_km, nearest
from yigongti.demo.identifiers import sequential_ids
from yigongti.simulator.domain import CHRONIC_ICD, Behaviour, CellKey, icd_in, utility

__all__ = ["Designations", "Geography", "Templates", "YearCounts", "designation_arrays", "designations_table",
           "draw_claims", "geography", "merge_consortia", "satisfaction", "shift_back", "shift_back_all", "switch",
           "templates",
           "template_multipliers", "year_counts"]

_LEVEL = {"village": "primary", "township": "primary", "county": "county"}


@dataclass(frozen=True)
class Geography:
    """A county's persons and institutions as arrays, with each person's nearest township (and a village under it)
    of every consortium: computed once per county and reused by every scenario, replicate and year."""

    person_ids: pa.Array
    inst_ids: NDArray[np.str_]
    inst_tier: NDArray[np.str_]
    inst_county: NDArray[np.str_]
    inst_consortium: NDArray[np.int64]  # index into consortia, -1 outside every consortium
    consortia: tuple[str, ...]
    lead: NDArray[np.int64]  # lead institution of each consortium
    km: NDArray[np.float64]  # (persons, consortia): km to the nearest township centre
    township: NDArray[np.int64]  # (persons, consortia): that township's institution index
    village: NDArray[np.int64]  # (persons, consortia): the nearest village under it (the township when none)
    county_code: str

    @property
    def n_persons(self) -> int:
        return len(self.person_ids)

    @cached_property
    def inst_in_county(self) -> NDArray[np.bool_]:
        """Per institution: in the county (its county code, not an outside hospital): the one definition of an
        in-county admission, for the figures (:func:`year_counts`) and the providers' response alike."""
        return np.asarray((self.inst_county == self.county_code) & (self.inst_tier != "outside"), dtype=bool)


def _col(t: pa.Table, name: str) -> NDArray[np.str_]:
    return np.asarray(t.column(name).to_numpy(zero_copy_only=False).astype(str))


def geography(persons: pa.Table, institutions: pa.Table, consortia: pa.Table) -> Geography:
    """The arrays of a county (one county per folder)."""
    cons_ids = tuple(sorted(consortia.column("consortium_id").to_pylist()))
    inst_ids = _col(institutions, "inst_id")
    order = np.argsort(inst_ids, kind="stable")  # ties go to the lowest id (rules.md A4)
    inst = institutions.take(pa.array(order))
    inst_ids = _col(inst, "inst_id")
    tier = _col(inst, "tier")
    c_of = {c: i for i, c in enumerate(cons_ids)}
    icons = np.array([c_of.get(c, -1) if c is not None else -1 for c in inst.column("consortium_id").to_pylist()],
                     dtype=np.int64)
    index = {v: i for i, v in enumerate(inst_ids)}
    lead_of = dict(zip(consortia.column("consortium_id").to_pylist(), consortia.column("lead_inst_id").to_pylist(),
                       strict=True))
    lead = np.array([index.get(lead_of[c], -1) for c in cons_ids], dtype=np.int64)
    lon = np.asarray(inst.column("lon").to_numpy(zero_copy_only=False), dtype=np.float64)
    lat = np.asarray(inst.column("lat").to_numpy(zero_copy_only=False), dtype=np.float64)
    plon = np.asarray(persons.column("lon").to_numpy(zero_copy_only=False), dtype=np.float64)
    plat = np.asarray(persons.column("lat").to_numpy(zero_copy_only=False), dtype=np.float64)
    n, m = persons.num_rows, len(cons_ids)
    km = np.full((n, m), np.inf)
    town = np.full((n, m), -1, dtype=np.int64)
    vill = np.full((n, m), -1, dtype=np.int64)
    parent = _col(inst, "parent_id") if "parent_id" in inst.column_names else np.full(len(inst_ids), "None")
    for c in range(m):
        towns = np.flatnonzero((icons == c) & (tier == "township"))
        if not len(towns):
            continue
        at = towns[nearest(plon, plat, lon[towns], lat[towns])]
        town[:, c] = at
        km[:, c] = great_circle_km(plon, plat, lon[at], lat[at])
        vill[:, c] = at
        villages = np.flatnonzero((icons == c) & (tier == "village"))
        for t in towns:
            mine = villages[parent[villages] == inst_ids[t]]
            who = np.flatnonzero(at == t)
            if len(mine) and len(who):
                vill[who, c] = mine[nearest(plon[who], plat[who], lon[mine], lat[mine])]
    code = consortia.column("county_code")[0].as_py() if consortia.num_rows else ""
    return Geography(persons.column("person_id").combine_chunks(), inst_ids, tier, _col(inst, "county_code"),
                     icons, cons_ids, lead, km, town, vill, str(code))


def merge_consortia(institutions: pa.Table, consortia: pa.Table) -> tuple[pa.Table, pa.Table, dict[str, str]]:
    """One consortium per county (合并为一个医共体): every member joins the first consortium (by id), which keeps its
    lead hospital. Returns the institutions, the consortia and the old -> new id map."""
    ids = sorted(consortia.column("consortium_id").to_pylist())
    first = ids[0]
    mapping = {c: first for c in ids}
    col = institutions.column("consortium_id")
    merged = pc.if_else(pc.is_null(col), col, pa.scalar(first))
    at = institutions.column_names.index("consortium_id")
    keep = consortia.filter(pc.equal(consortia.column("consortium_id"), first))
    return institutions.set_column(at, "consortium_id", merged), keep, mapping


@dataclass
class Designations:
    """Each person's consortium, township and village as indices (-1: not designated)."""

    consortium: NDArray[np.int64]
    township: NDArray[np.int64]
    village: NDArray[np.int64]

    def copy(self) -> Designations:
        return Designations(self.consortium.copy(), self.township.copy(), self.village.copy())


def designation_arrays(geo: Geography, designations: pa.Table, year: int) -> Designations:
    """The ``year`` rows of a designations table as arrays over the geography's persons."""
    d = designations.filter(pc.equal(designations.column("year"), year))
    at = _index(d.column("person_id"), geo.person_ids)
    ok = at >= 0
    rows = at[ok]
    out = Designations(*(np.full(geo.n_persons, -1, dtype=np.int64) for _ in range(3)))
    c_of = {c: i for i, c in enumerate(geo.consortia)}
    i_of = {v: i for i, v in enumerate(geo.inst_ids)}
    for name, target, lookup in (("consortium_id", out.consortium, c_of), ("township_id", out.township, i_of),
                                 ("village_id", out.village, i_of)):
        values = d.column(name).to_pylist()
        target[rows] = np.array([lookup.get(v, -1) for v, k in zip(values, ok, strict=True) if k], dtype=np.int64)
    return out


def designations_table(geo: Geography, d: Designations, year: int, moved: NDArray[np.bool_]) -> pa.Table:
    """A designations table of ``year`` (the contract's columns): ``choice`` for persons who moved, else
    ``carried``."""
    has = np.flatnonzero(d.consortium >= 0)
    cons = np.asarray(geo.consortia, dtype=object)
    return pa.table({
        "person_id": geo.person_ids.take(pa.array(has)),
        "year": pa.array(np.full(len(has), year, dtype=np.int64)),
        "consortium_id": pa.array(cons[d.consortium[has]], pa.string()),
        "township_id": _ids_at(geo.inst_ids, d.township[has]),
        "village_id": _ids_at(geo.inst_ids, d.village[has]),
        "source": pa.array(np.where(moved[has], "choice", "carried"), pa.string()),
    })


def switch(rng: np.random.Generator, geo: Geography, d: Designations, b: Behaviour, *,
           scores: NDArray[np.float64], satisfied: NDArray[np.float64]) -> tuple[Designations, NDArray[np.bool_]]:
    """Q4 switching (年末改签): ``review_share`` of designated persons choose again by the logit over consortia;
    a person who changes consortium is designated to its nearest township and a village under it. Returns the new
    designations and who moved. Draws the same random numbers whatever the parameters (common random numbers)."""
    n, m = geo.n_persons, len(geo.consortia)
    u_review = rng.random(n)
    u_pick = rng.random(n)
    out = d.copy()
    if m < 2:
        return out, np.zeros(n, bool)
    who = np.flatnonzero((d.consortium >= 0) & (u_review < b.review_share))
    current = (d.consortium[who, None] == np.arange(m)[None, :]).astype(np.float64)
    v = utility(b, km=geo.km[who], score=scores[None, :], satisfaction=satisfied[None, :], current=current)
    v = np.where(np.isfinite(geo.km[who]), v, -np.inf)
    v = v - v.max(axis=1, keepdims=True)
    p = np.exp(v)
    cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    pick = np.minimum((u_pick[who, None] >= cum).sum(axis=1), m - 1)
    change = who[pick != d.consortium[who]]
    new = pick[pick != d.consortium[who]]
    out.consortium[change] = new
    out.township[change] = geo.township[change, new]
    out.village[change] = geo.village[change, new]
    moved = np.zeros(n, bool)
    moved[change] = True
    return out, moved


@dataclass(frozen=True)
class Templates:
    """The observed year's claims (admitted in the year) as templates for the years drawn."""

    claims: pa.Table
    person: NDArray[np.int64]
    inst: NDArray[np.int64]
    cell: NDArray[np.int64]  # index into ``cells``
    cells: tuple[CellKey, ...]
    chronic_admission: NDArray[np.bool_]
    referral: NDArray[np.int64]  # template index of the referring claim, -1 none
    elective_admission: NDArray[np.bool_]  # inpatient and not an emergency (the ones a consortium may bring back)

    def counts(self) -> dict[CellKey, int]:
        n = np.bincount(self.cell, minlength=len(self.cells))
        return {c: int(n[i]) for i, c in enumerate(self.cells)}


def _cell_names(adjudicated: pa.Table, geo: Geography, inst: NDArray[np.int64]) -> NDArray[np.str_]:
    setting = _col(adjudicated, "setting")
    status = _col(adjudicated, "network_status")
    level = np.array([_LEVEL.get(t, "outside") for t in geo.inst_tier])[inst]
    return np.asarray(np.char.add(np.char.add(np.char.add(np.char.add(setting, "|"), status), "|"), level))


def _is(t: pa.Table, name: str, *values: str) -> NDArray[np.bool_]:
    """Whether each value of a string column is one of ``values`` (null: no), without making Python strings."""
    hit = pc.is_in(t.column(name), value_set=pa.array(values, pa.string()))
    return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)


def _index(values: pa.ChunkedArray | pa.Array, within: pa.Array) -> NDArray[np.int64]:
    return np.asarray(pc.fill_null(pc.index_in(values, value_set=within), -1).to_numpy(zero_copy_only=False),
                      dtype=np.int64)


def templates(adjudicated: pa.Table, geo: Geography) -> Templates:
    """Templates from the observed year's adjudicated claims (their cells are the real adjudication's)."""
    t = adjudicated.sort_by([("person_id", "ascending"), ("admit_date", "ascending"), ("claim_id", "ascending")])
    person = _index(t.column("person_id"), geo.person_ids)
    inst = _index(t.column("inst_id"), pa.array(geo.inst_ids, pa.string()))
    keep = np.flatnonzero((person >= 0) & (inst >= 0))
    t, person, inst = t.take(pa.array(keep)), person[keep], inst[keep]
    names = _cell_names(t, geo, inst)
    cells, cell = np.unique(names, return_inverse=True)
    inpatient = _col(t, "setting") == "inpatient"
    chronic = _chronic(t.column("diagnosis")) & inpatient
    emergency = np.asarray(pc.fill_null(t.column("emergency"), False).to_numpy(zero_copy_only=False), dtype=bool)
    ref = _index(t.column("referral_from"), t.column("claim_id").combine_chunks())
    keys = tuple(tuple(str(c).split("|")) for c in cells)
    claim_cols = ["claim_id", "person_id", "inst_id", "setting", "emergency", "admit_date", "discharge_date",
                  "total_cost", "covered_cost", "diagnosis", "referral_from", "unreasonable"]
    return Templates(t.select(claim_cols), person, inst, np.asarray(cell, dtype=np.int64),
                     keys,  # type: ignore[arg-type]
                     chronic, ref, inpatient & ~emergency)


def _chronic(diagnoses: pa.ChunkedArray | pa.Array) -> NDArray[np.bool_]:
    """Which diagnoses are chronic conditions (``domain.CHRONIC_ICD``): once per distinct code, looked up by its
    code in the column's dictionary (no Python string per claim; a null is not chronic)."""
    coded = pc.dictionary_encode(diagnoses)
    coded = coded.combine_chunks() if isinstance(coded, pa.ChunkedArray) else coded
    known = np.array([icd_in(x, CHRONIC_ICD) for x in coded.dictionary.to_pylist()] + [icd_in(None, CHRONIC_ICD)],
                     dtype=bool)
    at = pc.fill_null(coded.indices, len(coded.dictionary)).to_numpy(zero_copy_only=False)
    return np.asarray(known[np.asarray(at, dtype=np.int64)], dtype=bool)


def template_multipliers(t: Templates, cell_mult: dict[CellKey, float], prevention: NDArray[np.float64],
                         d: Designations) -> NDArray[np.float64]:
    """Each template's expected copies: its cell's multiplier x the prevention multiplier of the person's
    consortium for a chronic-disease admission (``prevention`` by consortium index)."""
    m = np.array([cell_mult.get(c, 1.0) for c in t.cells], dtype=np.float64)[t.cell]
    cons = d.consortium[t.person]
    prev = np.where(cons >= 0, prevention[np.maximum(cons, 0)], 1.0)
    return np.asarray(np.where(t.chronic_admission, m * prev, m), dtype=np.float64)


def _remap(t: Templates, geo: Geography, observed: Designations, now: Designations) -> NDArray[np.int64]:
    """Institutions of the templates after switching: the old designated village / township -> the new ones, the
    old consortium's county hospitals -> the new consortium's lead hospital."""
    p = t.person
    moved = (now.consortium[p] != observed.consortium[p]) & (now.consortium[p] >= 0) & (observed.consortium[p] >= 0)
    inst = t.inst.copy()
    vill = moved & (inst == observed.village[p])
    town = moved & (inst == observed.township[p])
    county = moved & (geo.inst_tier[inst] == "county") & (geo.inst_consortium[inst] == observed.consortium[p])
    inst[vill] = now.village[p[vill]]
    inst[town] = now.township[p[town]]
    inst[county] = geo.lead[now.consortium[p[county]]]
    return inst


def draw_claims(rng: np.random.Generator, t: Templates, geo: Geography, mult: NDArray[np.float64], *,
                observed: Designations, now: Designations, cost_factor: float, prefix: str,
                repatriate: float = 0.0, repatriated_cost: float = 1.0) -> pa.Table:
    """A year of claims (the contract's columns): template i kept Poisson(mult[i]) times; copy j of a referred
    claim refers to copy j of its referring claim when there is one. ``repatriate``: the chance that a drawn
    non-emergency admission outside the county, of a person designated to a consortium, is had at that
    consortium's lead hospital instead, at ``repatriated_cost`` times its cost (random numbers are drawn for it only
    when above 0: the other draws stay those of a run without it)."""
    k = rng.poisson(mult)
    n = int(k.sum())
    src = np.repeat(np.arange(len(k)), k)
    start = np.cumsum(k) - k
    copy = np.arange(n) - start[src]
    ref = t.referral[src]
    has_ref = (ref >= 0) & (copy < k[np.maximum(ref, 0)])
    ref_pos = np.where(has_ref, start[np.maximum(ref, 0)] + copy, 0)
    ids = _claim_ids(prefix, n)
    inst = _remap(t, geo, observed, now)[src]
    made = ("claim_id", "inst_id", "total_cost", "covered_cost", "referral_from")  # not copied from the templates
    base = t.claims.select([c for c in t.claims.column_names if c not in made]).take(pa.array(src))
    factor = np.full(n, cost_factor)
    if repatriate > 0 and n:
        inst, back = _repatriated(rng, t, geo, now, src, inst, repatriate)
        factor[back] *= repatriated_cost
    cols = {name: base.column(name) if name in base.column_names else None for name in t.claims.column_names}
    cols["claim_id"] = ids
    cols["inst_id"] = _ids_at(geo.inst_ids, inst)
    for money in ("total_cost", "covered_cost"):
        v = np.asarray(t.claims.column(money).to_numpy(), dtype=np.float64)[src]
        cols[money] = pa.array(np.rint(v * factor).astype(np.int64))
    # the referring copy's id where there is one, else null (taken in Arrow: no Python string per claim)
    cols["referral_from"] = pc.if_else(pa.array(has_ref), ids.take(pa.array(ref_pos)), pa.scalar(None, pa.string()))
    return pa.table(cols)


_CLAIM_IDS: dict[str, pa.Array] = {}


def _claim_ids(prefix: str, n: int) -> pa.Array:
    """``prefix`` + 1 .. ``n`` zero-padded to 9 digits: a slice of the longest column made for ``prefix`` so far (a
    year's prefix is the same in every replicate: made once, not per replicate and year)."""
    made = _CLAIM_IDS.get(prefix)
    if made is None or len(made) < n:
        if len(_CLAIM_IDS) >= 64:  # a few prefixes (S01- .. S50-) of a few hundred thousand claims each
            _CLAIM_IDS.clear()
        made = _CLAIM_IDS[prefix] = sequential_ids(prefix, np.arange(1, n + n // 8 + 2, dtype=np.int64), width=9)
    return made.slice(0, n)


def _ids_at(ids: NDArray[np.str_], at: NDArray[np.int64]) -> pa.Array:
    """``ids[at]`` (numpy's indexing: -1 is the last) as an Arrow string column, taken in Arrow from the few ids
    rather than converted from a numpy string array per row."""
    return pa.array(ids, pa.string()).take(pa.array(np.mod(at, len(ids)) if len(ids) else at))


def _repatriated(rng: np.random.Generator, t: Templates, geo: Geography, now: Designations, src: NDArray[np.int64],
                 inst: NDArray[np.int64], share: float) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """The drawn claims' institutions with a ``share`` of the non-emergency admissions outside the county (of persons
    designated to a consortium) moved to the consortium's lead hospital; and which were moved."""
    cons = now.consortium[t.person[src]]
    lead = geo.lead[np.maximum(cons, 0)]
    eligible = t.elective_admission[src] & ~geo.inst_in_county[inst] & (cons >= 0) & (lead >= 0)
    back = eligible & (rng.random(len(src)) < share)
    out = inst.copy()
    out[back] = lead[back]
    return out, back


def shift_back(claims: pa.Table) -> pa.Table:
    """The claims one calendar year earlier (same day of the year; 29 Feb -> 28 Feb), stays kept. Each distinct
    admission date (a few hundred a year) is shifted once and looked up; a discharge moves with its admission."""
    return shift_back_all(claims)[0]


def shift_back_all(claims: pa.Table, *also: pa.Table) -> tuple[pa.Table, ...]:
    """:func:`shift_back` of ``claims`` and of ``also``, tables of the same rows and dates (the claims with their
    keys prefixed, ``worlds.prefix``), whose shifted dates are computed once: ``claims`` first."""
    admit = claims.column("admit_date").combine_chunks()
    dates = pc.unique(admit)
    day1 = np.asarray(dates.to_numpy(zero_copy_only=False), dtype="datetime64[D]")
    month = day1.astype("datetime64[M]")
    day = (day1 - month.astype("datetime64[D]")).astype(np.int64)
    earlier = month - 12
    length = ((earlier + 1).astype("datetime64[D]") - earlier.astype("datetime64[D]")).astype(np.int64)
    moved = pa.array(earlier.astype("datetime64[D]") + np.minimum(day, length - 1).astype("timedelta64[D]"),
                     pa.date32())
    new = moved.take(pc.index_in(admit, value_set=dates))
    # the discharge the same number of days after the new admission (null stays null)
    stay = pc.subtract(claims.column("discharge_date").combine_chunks().cast(pa.int32()), admit.cast(pa.int32()))
    shifted = pc.add(stay, new.cast(pa.int32())).cast(pa.date32())
    out = []
    for t in (claims, *also):
        t = t.set_column(t.column_names.index("admit_date"), "admit_date", new)
        out.append(t.set_column(t.column_names.index("discharge_date"), "discharge_date", shifted))
    return tuple(out)


@dataclass(frozen=True)
class YearCounts:
    """What a year's adjudicated claims count (the year's claims only)."""

    visits: int
    primary_visits: int
    admissions: int
    in_county_admissions: int
    total_cost: int
    fund_paid: int


def year_counts(adjudicated: pa.Table, geo: Geography) -> YearCounts:
    """Visits, primary-level visits, admissions, in-county admissions, cost and fund paid of adjudicated claims."""
    inst = _index(adjudicated.column("inst_id"), pa.array(geo.inst_ids, pa.string()))
    out = _is(adjudicated, "setting", "outpatient")
    known = inst >= 0  # each institution's flags, then looked up per claim (an unknown institution: outside)
    at = np.maximum(inst, 0)
    primary = known & ((geo.inst_tier == "village") | (geo.inst_tier == "township"))[at]
    in_county = known & geo.inst_in_county[at]
    return YearCounts(
        visits=int(out.sum()), primary_visits=int((out & primary).sum()), admissions=int((~out).sum()),
        in_county_admissions=int((~out & in_county).sum()),
        total_cost=int(pc.sum(adjudicated.column("total_cost")).as_py() or 0),
        fund_paid=int(pc.sum(adjudicated.column("fund_paid")).as_py() or 0))


def satisfaction(adjudicated: pa.Table, geo: Geography, d: Designations) -> NDArray[np.float64]:
    """Per consortium: the share of its enrollees' claims kept in it (designated or in-consortium), 用脚投票."""
    person = _index(adjudicated.column("person_id"), geo.person_ids)
    cons = np.where(person >= 0, d.consortium[np.maximum(person, 0)], -1)
    kept = _is(adjudicated, "network_status", "designated", "in_consortium")
    m = len(geo.consortia)
    ok = cons >= 0
    total = np.bincount(cons[ok], minlength=m).astype(np.float64)
    inside = np.bincount(cons[ok & kept], minlength=m).astype(np.float64)
    return np.asarray(np.where(total > 0, inside / np.maximum(total, 1), 0.0), dtype=np.float64)

