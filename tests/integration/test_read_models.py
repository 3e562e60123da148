"""The read models the pages and the API call (``registry.service``, ``enrollment.readmodel``), on SQLite and
PostgreSQL: what each returns, in which order, and that persons come only through the scope condition given."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.orm import Session
from store_fixtures import TestDb, db  # noqa: F401

from yigongti.core.db import make_session_factory
from yigongti.enrollment import readmodel
from yigongti.enrollment.store import ChoiceRow, DesignationRow, PersonRow
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.scope import person_condition
from yigongti.registry import service as registry
from yigongti.registry.store import ConsortiumRow, InstitutionRow

COUNTY = "510799"
T0 = datetime(2025, 10, 1, 9, 0)


def _inst(inst_id: str, tier: str, consortium_id: str | None, parent_id: str | None = None) -> InstitutionRow:
    return InstitutionRow(inst_id=inst_id, name=f"名称{inst_id}", tier=tier, level=1, kind="k",
                          consortium_id=consortium_id, parent_id=parent_id, county_code=COUNTY, lon=104.0, lat=31.0)


def _person(person_id: str, household_id: str, *, county: str = COUNTY, lon: float = 104.0,
            lat: float = 31.0) -> PersonRow:
    return PersonRow(person_id=person_id, id_number=None, sex="F", birth_date=date(1980, 1, 1),
                     household_id=household_id, household_head=False, insurance="resident", county_code=county,
                     lon=lon, lat=lat)


def _designation(person_id: str, year: int, consortium_id: str, township_id: str, village_id: str) -> DesignationRow:
    return DesignationRow(person_id=person_id, year=year, consortium_id=consortium_id, township_id=township_id,
                          village_id=village_id, source="nearest", updated_at=T0)


def _choice(key: str, person_id: str, at: datetime, status: str) -> ChoiceRow:
    return ChoiceRow(choice_key=key, person_id=person_id, chooser_id=person_id, year=2026, consortium_id="G2",
                     township_id="G2-T1", village_id="G2-T1-V1", chosen_at=at, status=status, recorded_at=at)


@pytest.fixture
def session(db: TestDb) -> Iterator[Session]:  # noqa: F811
    engine = db.engine()
    sessions = make_session_factory(engine)
    with sessions.begin() as s:
        # consortia and institutions added out of id order, an outside hospital, one institution id that is also
        # a consortium's id (the consortium's name wins in names_of)
        s.add_all([ConsortiumRow(consortium_id="G2", name="二号医共体", county_code=COUNTY, lead_inst_id="G2-H"),
                   ConsortiumRow(consortium_id="G1", name="一号医共体", county_code=COUNTY, lead_inst_id="G1-H")])
        s.flush()
        s.add_all([_inst("G2-T1", "township", "G2"), _inst("G2-T1-V1", "village", "G2", "G2-T1"),
                   _inst("X1", "outside", None), _inst("G1-H", "county", "G1"), _inst("G1-T1", "township", "G1"),
                   _inst("G1-T1-V1", "village", "G1", "G1-T1"), _inst("G2-H", "county", "G2"),
                   _inst("G1", "township", "G1")])
        s.add_all([_person("P3", "H2"), _person("P1", "H1"), _person("P2", "H1"), _person("P9", "H9", county="999999")])
        s.flush()
        s.add_all([_designation("P1", 2026, "G2", "G2-T1", "G2-T1-V1"), _designation("P1", 2025, "G1", "G1-T1",
                                                                                         "G1-T1-V1"),
                   _designation("P2", 2025, "G1", "G1-T1", "G1-T1-V1"), _designation("P3", 2025, "G2", "G2-T1",
                                                                                         "G2-T1-V1")])
        # recorded out of the order they were made; two at the same time: the one recorded first comes first
        s.add_all([_choice("c-late", "P1", datetime(2025, 11, 2), "valid")])
        s.flush()
        s.add_all([_choice("c-early", "P1", datetime(2025, 10, 20), "refused")])
        s.flush()
        s.add_all([_choice("c-late-2", "P1", datetime(2025, 11, 2), "refused")])
    try:
        with sessions() as s:
            yield s
    finally:
        engine.dispose()


def test_the_registry_read_models(session: Session) -> None:
    assert [c.consortium_id for c in registry.consortia(session)] == ["G1", "G2"]
    assert [i.inst_id for i in registry.institutions(session)] == sorted(
        ["G1", "G1-H", "G1-T1", "G1-T1-V1", "G2-H", "G2-T1", "G2-T1-V1", "X1"])
    assert [i.inst_id for i in registry.institutions(session, consortium_id="G2")] == ["G2-H", "G2-T1", "G2-T1-V1"]
    assert [i.inst_id for i in registry.institutions(session, consortium_id="G2", tier="village")] == ["G2-T1-V1"]
    assert [i.inst_id for i in registry.institutions(session, tier="outside")] == ["X1"]
    assert registry.institutions(session, consortium_id="nope") == []
    assert "X1" not in {i.inst_id for i in registry.mapped_institutions(session)}
    assert len(registry.mapped_institutions(session)) == 7
    assert registry.count_institutions(session) == 8
    assert registry.member_ids(session, ["G1"]) == {"G1", "G1-H", "G1-T1", "G1-T1-V1"}
    assert registry.member_ids(session, []) == set()
    inst = registry.institution(session, "G1-T1")
    assert inst is not None and inst.tier == "township"
    assert registry.institution(session, "G2") is None
    cons = registry.consortium(session, "G2")
    assert cons is not None and cons.lead_inst_id == "G2-H"
    assert registry.consortium(session, "G1-T1") is None
    assert registry.names_of(session, inst_ids=["G1-T1", "G1", "nope"], consortium_ids=["G1", "nope"]) == {
        "G1-T1": "名称G1-T1", "G1": "一号医共体"}
    names = registry.institution_names(session)
    assert len(names) == 8 and names["X1"] == "名称X1"


def test_persons_come_only_through_the_condition(session: Session) -> None:
    household = PersonRow.household_id == "H1"
    assert [p.person_id for p in readmodel.persons_in_scope(session, household, limit=10, offset=0)] == ["P1", "P2"]
    assert [p.person_id for p in readmodel.persons_in_scope(session, household, limit=1, offset=1)] == ["P2"]
    assert readmodel.count_in_scope(session, household) == 2
    rows, total = readmodel.persons_page(session, PersonRow.county_code == COUNTY, page=2, size=2)
    assert ([p.person_id for p in rows], total) == (["P3"], 3)
    # the platform's scope condition: a consortium's admin sees the persons designated to it this year or next
    admin = Principal(1, "g2", Role.CONSORTIUM_ADMIN, consortium_id="G2")
    g2 = person_condition(session, admin, year=2025)
    assert [p.person_id for p in readmodel.persons_in_scope(session, g2, limit=10, offset=0)] == ["P1", "P3"]
    assert readmodel.count_in_scope(session, person_condition(session, admin, year=2026)) == 1


def test_a_persons_choices_and_designations(session: Session) -> None:
    assert [c.choice_key for c in readmodel.choices_of(session, "P1")] == ["c-early", "c-late", "c-late-2"]
    assert readmodel.choices_of(session, "P2") == []
    assert [(d.year, d.consortium_id) for d in readmodel.designations_of(session, "P1")] == [(2025, "G1"),
                                                                                            (2026, "G2")]
    found = readmodel.designation_of(session, "P1", 2026)
    assert found is not None and found.village_id == "G2-T1-V1"
    assert readmodel.designation_of(session, "P1", 2027) is None


def test_overview_and_head_counts(session: Session) -> None:
    found = readmodel.overview(session, PersonRow.household_id == "H1", year=2025, window_year=2026)
    assert [(c.consortium_id, now, nxt) for c, now, nxt in found.consortia] == [("G1", 2, 0), ("G2", 1, 1)]
    assert (found.choices, found.in_scope, found.institutions) == ({"valid": 1, "refused": 2}, 2, 8)
    same = readmodel.overview(session, PersonRow.household_id == "H1", year=2025, window_year=2025)
    assert [(now, nxt) for _, now, nxt in same.consortia] == [(2, 2), (1, 1)] and same.choices == {}
    assert readmodel.head_count_rows(session, year=2025) == [
        ("G1", "一号医共体", "consortium", "", 2), ("G2", "二号医共体", "consortium", "", 1),
        ("G1", "名称G1", "township", "G1", 2), ("G1-T1", "名称G1-T1", "township", "G1", 2),
        ("G1-T1-V1", "名称G1-T1-V1", "village", "G1", 2), ("G2-T1", "名称G2-T1", "township", "G2", 1),
        ("G2-T1-V1", "名称G2-T1-V1", "village", "G2", 1)]


def test_the_county_map_falls_back_to_next_years_head_counts(session: Session) -> None:
    found = readmodel.county_map(session, PersonRow.county_code == COUNTY, year=2024, grid=40)
    assert found.consortium_ids == ["G1", "G2"]
    assert found.head_counts == {"G1": 2, "G1-T1": 2, "G1-T1-V1": 2, "G2": 1, "G2-T1": 1, "G2-T1-V1": 1}
    assert sum(n for _, _, n in found.density.cells) == 3
    nobody = readmodel.county_map(session, PersonRow.household_id == "none", year=2026, grid=40)
    assert nobody.head_counts == {"G2": 1, "G2-T1": 1, "G2-T1-V1": 1}
    assert (nobody.density.cells, nobody.density.cell_deg) == ([], 0.01)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(homes=st.lists(st.tuples(st.floats(103.0, 105.0), st.floats(30.0, 32.0), st.booleans()), min_size=0,
                      max_size=30), grid=st.integers(1, 60))
def test_home_density_counts_every_home_in_scope_once(session: Session, homes: list[tuple[float, float, bool]],
                                                      grid: int) -> None:
    session.execute(delete(PersonRow).where(PersonRow.household_id.like("R%")))
    session.add_all([_person(f"R{k}", "R-in" if inside else "R-out", lon=lon, lat=lat)
                     for k, (lon, lat, inside) in enumerate(homes)])
    session.flush()
    inside = [(lon, lat) for lon, lat, flag in homes if flag]
    found = readmodel.home_density(session, PersonRow.household_id == "R-in", grid=grid)
    assert sum(n for _, _, n in found.cells) == len(inside)
    assert all(n > 0 for _, _, n in found.cells)
    assert len({(x, y) for x, y, _ in found.cells}) == len(found.cells)  # a cell once
    for lon, lat in inside:  # every home lies in a cell (up to float rounding at the edges)
        assert any(x - 1e-9 <= lon <= x + found.cell_deg + 1e-9 and y - 1e-9 <= lat <= y + found.cell_deg + 1e-9
                   for x, y, _ in found.cells)
    session.rollback()
