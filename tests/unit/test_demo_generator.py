"""The demo generator's parts in memory: registry, ID numbers, households, designations (no files)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.core.idnumber import id_number_problems
from yigongti.datafolder.crosschecks import registry_from_tables
from yigongti.demo.calibration import DEFAULT_CALIBRATION as CAL
from yigongti.demo.choices import make_enrollment
from yigongti.demo.geography import build_county, consortia_table, institutions_table
from yigongti.demo.identifiers import IdNumberSerials, sequential_ids
from yigongti.demo.places import counties
from yigongti.demo.population import make_population
from yigongti.registry.domain import Tier, registry_issues

PINGWU = counties(1)[0]


def _registry(n_consortia: int = 2, k: int = 1):
    return [build_county(c, n_consortia=n_consortia, rng=np.random.default_rng([7, i, 0]),
                         urban_share=CAL.urban_share) for i, c in enumerate(counties(k))]


def _chunk(n: int = 4000, seed: int = 3, n_consortia: int = 2):
    reg = _registry(n_consortia)[0]
    rng = np.random.default_rng(seed)
    pop = make_population(reg, rng=rng, n_persons=n, first_person=0, first_household=0, year=2026,
                          serials=IdNumberSerials(PINGWU.code), cal=CAL)
    return reg, pop, make_enrollment(reg, pop, rng=rng, year=2026, cal=CAL)


def test_pingwu_registry_has_the_counts_of_domain_section_10_and_keeps_the_registry_rules() -> None:
    regs = _registry(2)
    insts, cons = registry_from_tables(institutions_table(regs), consortia_table(regs))
    assert registry_issues(insts, cons) == []
    tiers = [i.tier for i in insts]
    assert tiers.count(Tier.TOWNSHIP) == 20
    assert tiers.count(Tier.VILLAGE) == 216
    assert tiers.count(Tier.COUNTY) == 6
    assert sorted(i.level for i in insts if i.tier is Tier.OUTSIDE) == [2, 3, 3]
    kinds = [i.kind for i in insts]
    assert kinds.count("community_centre") == 2 and kinds.count("community_station") == 16
    assert {i.kind for i in insts if i.tier is Tier.COUNTY} == {"general", "tcm", "mch", "cdc", "infectious"}
    assert sum("中心卫生院" in i.name for i in insts) == 4  # the regional sub-centres
    assert {i.county_code for i in insts if i.tier is not Tier.OUTSIDE} == {"510727"}
    leads = {c.consortium_id: next(i for i in insts if i.inst_id == c.lead_inst_id) for c in cons}
    assert sorted(lead.kind for lead in leads.values()) == ["general", "tcm"]
    assert all(lead.level >= 2 for lead in leads.values())


def test_two_consortia_split_the_townships_west_and_east_with_one_urban_centre_each() -> None:
    reg = _registry(2)[0]
    towns = np.flatnonzero(reg.tier == "township")
    assert np.bincount(reg.consortium[towns]).tolist() == [10, 10]
    rural = towns[reg.kind[towns] == "township_centre"]
    west = reg.lon[rural][reg.consortium[rural] == 0]
    east = reg.lon[rural][reg.consortium[rural] == 1]
    assert west.max() <= east.min()
    urban = towns[reg.kind[towns] == "community_centre"]
    assert sorted(reg.consortium[urban].tolist()) == [0, 1]


def test_one_consortium_holds_every_member_and_is_led_by_the_peoples_hospital() -> None:
    reg = _registry(1)[0]
    assert reg.consortium_ids == ("510727-G1",)
    assert set(reg.consortium.tolist()) == {0}
    assert reg.inst_id[reg.lead[0]] == "510727-C01"


def test_k_counties_have_distinct_codes_and_places() -> None:
    places = counties(20)
    assert len({c.code for c in places}) == 20
    assert len({(c.lon, c.lat) for c in places}) == 20
    regs = _registry(2, k=3)
    insts, cons = registry_from_tables(institutions_table(regs), consortia_table(regs))
    assert registry_issues(insts, cons) == []
    assert len(cons) == 6
    with pytest.raises(ValueError):
        counties(0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.dates(date(1900, 1, 1), date(2100, 12, 31)), st.booleans()), min_size=1, max_size=40))
def test_id_numbers_are_valid_agree_with_birth_date_and_sex_and_are_unique(people: list[tuple[date, bool]]) -> None:
    serials = IdNumberSerials("510727")
    birth = np.array([d for d, _ in people], dtype="datetime64[D]")
    male = np.array([m for _, m in people])
    # two chunks: uniqueness must hold across them
    half = len(people) // 2
    ids = serials.make(birth[:half], male[:half]).to_pylist() + serials.make(birth[half:], male[half:]).to_pylist()
    assert len(set(ids)) == len(ids)
    for idn, (d, m) in zip(ids, people, strict=True):
        assert id_number_problems(idn, birth_date=d, sex="M" if m else "F") == []
        assert idn.startswith("510727")


def test_id_numbers_beyond_the_serials_of_a_day_are_left_empty_not_duplicated() -> None:
    serials = IdNumberSerials("510727")
    birth = np.full(500, np.datetime64("1970-05-05"))
    ids = serials.make(birth, np.ones(500, bool))
    assert ids.null_count == 50
    assert len(set(ids.drop_null().to_pylist())) == 450


def test_sequential_ids_are_zero_padded() -> None:
    assert sequential_ids("P-", np.array([1, 123]), width=4).to_pylist() == ["P-0001", "P-0123"]


def test_households_ages_and_insurance_are_near_a_rural_western_county() -> None:
    _, pop, _ = _chunk(20_000)
    assert pop.n_persons == 20_000
    assert pop.hh_size.sum() == 20_000
    assert 2.6 <= pop.n_persons / pop.n_households <= 3.0
    assert 0.22 <= float(np.mean(pop.age >= 60)) <= 0.30
    ins = pop.table.column("insurance")
    assert 0.17 <= pc.mean(pc.equal(ins, "employee").cast("int8")).as_py() <= 0.23
    # every household has an adult
    oldest = np.maximum.reduceat(pop.age, pop.hh_start)
    assert (oldest >= 18).all()
    # members of a household share their home
    lon = pop.table.column("lon").to_numpy()
    assert (lon == lon[pop.hh_start][pop.household]).all()


def test_designation_follows_the_precedence_and_stays_nested() -> None:
    reg, pop, enr = _chunk(6000)
    # village under township under consortium
    assert (reg.parent[enr.village] == enr.township).all()
    assert (reg.consortium[enr.township] == enr.consortium).all()
    assert set(reg.tier[enr.village].tolist()) == {"village"}
    # people who made no choice and carry nothing are at their household's nearest village, or follow a member
    chosen = set(enr.choices.column("person_id").to_pylist())
    carried = set(enr.previous.column("person_id").to_pylist())
    ids = pop.person_id.to_pylist()
    nearest = reg.villages[pop.hh_nearest][pop.household]
    free = np.array([i not in chosen and i not in carried for i in ids])
    hh_chose = np.zeros(pop.n_households, bool)
    hh_chose[pop.household[np.array([i in chosen for i in ids])]] = True
    alone = free & ~hh_chose[pop.household]
    assert alone.sum() > 100
    assert (enr.village[alone] == nearest[alone]).all()


def test_choices_are_mostly_in_the_window_with_a_few_to_refuse() -> None:
    _, pop, enr = _chunk(20_000)
    at = enr.choices.column("chosen_at").to_numpy()
    inside = (at >= np.datetime64("2025-10-01")) & (at < np.datetime64("2026-01-01"))
    assert 0.95 < inside.mean() < 1.0
    hh_of = dict(zip(pop.person_id.to_pylist(), pop.household.tolist(), strict=True))
    households = {hh_of[p] for p, ok in zip(enr.choices.column("person_id").to_pylist(), inside, strict=True) if ok}
    assert 0.65 <= len(households) / pop.n_households <= 0.75
    t = enr.choices
    village_parent = pc.utf8_slice_codeunits(t.column("village_id"), 0, 10)
    assert pc.sum(pc.not_equal(village_parent, t.column("township_id")).cast("int8")).as_py() > 0


def test_format_rule_is_csv_below_a_million_persons_and_parquet_from_there() -> None:
    from yigongti.demo import resolve_format

    assert resolve_format("auto", 999_999) == "csv"
    assert resolve_format("auto", 1_000_000) == "parquet"
    assert resolve_format("parquet", 10) == "parquet"
    with pytest.raises(ValueError):
        resolve_format("xlsx", 10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), n_consortia=st.sampled_from([1, 2]))
def test_any_chunk_keeps_the_invariants_of_the_contract(seed: int, n: int, n_consortia: int) -> None:
    from yigongti.demo.claims import make_claims
    from yigongti.demo.geography import outside_table

    reg = _registry(n_consortia)[0]
    rng = np.random.default_rng(seed)
    pop = make_population(reg, rng=rng, n_persons=n, first_person=0, first_household=0, year=2026,
                          serials=IdNumberSerials(PINGWU.code), cal=CAL)
    enr = make_enrollment(reg, pop, rng=rng, year=2026, cal=CAL)
    ids, levels = outside_table()
    claims, stats = make_claims(reg, pop, enr, rng=rng, year=2026, first_claim=0, outside_ids=ids,
                                outside_levels=levels, cal=CAL)
    assert pop.n_persons == n and pop.hh_size.min() >= 1
    assert len(set(pop.person_id.to_pylist())) == n
    assert (reg.parent[enr.village] == enr.township).all()
    rows = claims.to_pylist()
    assert stats.claims == len(rows) == len({r["claim_id"] for r in rows})
    by_id = {r["claim_id"]: r for r in rows}
    known = set(reg.inst_id.tolist()) | set(ids.tolist())
    for r in rows:
        assert 0 <= r["covered_cost"] <= r["total_cost"]
        assert r["inst_id"] in known
        assert date(2025, 12, 11) <= r["admit_date"] <= date(2026, 12, 31)
        if r["setting"] == "inpatient":
            assert r["discharge_date"] >= r["admit_date"]
        else:
            assert r["discharge_date"] is None and r["referral_from"] is None
        if r["referral_from"]:
            src = by_id[r["referral_from"]]
            assert src["person_id"] == r["person_id"]
            assert 0 <= (r["admit_date"] - src["discharge_date"]).days <= 15


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300))
def test_last_years_claims_keep_the_invariants_and_the_years_draw(seed: int, n: int) -> None:
    """Last year's claims (make_previous_claims, after the year's from the same generator): in the year before,
    up to the year's lead-in weeks (referred admissions to its December 31), nobody before birth, an id series of
    their own; and drawing them does not change the year's claims."""
    from yigongti.demo.choices import Enrollment
    from yigongti.demo.claims import draw_year_claims, make_claims, make_previous_claims
    from yigongti.demo.geography import outside_table
    from yigongti.demo.population import Population

    reg = _registry(1)[0]
    ids, levels = outside_table()

    def chunk() -> tuple[np.random.Generator, Population, Enrollment]:
        rng = np.random.default_rng(seed)
        pop = make_population(reg, rng=rng, n_persons=n, first_person=0, first_household=0, year=2026,
                              serials=IdNumberSerials(PINGWU.code), cal=CAL)
        return rng, pop, make_enrollment(reg, pop, rng=rng, year=2026, cal=CAL)

    rng, pop, enr = chunk()
    alone, _ = make_claims(reg, pop, enr, rng=rng, year=2026, first_claim=0, outside_ids=ids,
                           outside_levels=levels, cal=CAL)
    rng, pop, enr = chunk()
    year, _, frailty = draw_year_claims(reg, pop, enr, rng=rng, year=2026, first_claim=0,
                                        outside_ids=ids, outside_levels=levels, cal=CAL)
    before, stats = make_previous_claims(reg, pop, enr, rng=rng, year=2026, outside_ids=ids,
                                         outside_levels=levels, cal=CAL, frailty=frailty)
    assert year.equals(alone)
    rows = before.to_pylist()
    assert stats.claims == len(rows) == len({r["claim_id"] for r in rows})
    assert all(r["claim_id"].startswith(f"C{PINGWU.code}-2025-") for r in rows)
    born = dict(zip(pop.table.column("person_id").to_pylist(),
                    pop.table.column("birth_date").to_pylist(), strict=True))
    by_id = {r["claim_id"]: r for r in rows}
    for r in rows:
        assert date(2025, 1, 1) <= r["admit_date"] <= date(2025, 12, 31) and r["admit_date"] >= born[r["person_id"]]
        if r["referral_from"]:
            assert by_id[r["referral_from"]]["person_id"] == r["person_id"]
        else:
            assert r["admit_date"] < date(2025, 12, 11)
