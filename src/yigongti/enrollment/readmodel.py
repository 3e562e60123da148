"""Read models of persons and designations (参保人与定点查询) for the pages and the API: persons in a scope, a person's
choices and designations, head counts and the officials' overview. Reads only, on the request's session.

The persons a caller may see are selected by ONE condition on ``persons`` (built by ``platform.scope``); every function
here that returns persons takes it as ``condition`` and selects through it. Writing the audit rows for what is shown
is the caller's (the platform's) part.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from yigongti.enrollment.portal import head_counts
from yigongti.enrollment.store import (
    ChoiceRepository,
    ChoiceRow,
    DesignationRepository,
    DesignationRow,
    PersonRow,
)
from yigongti.registry import service as registry
from yigongti.registry.domain import Tier
from yigongti.registry.store import ConsortiumRow, InstitutionRow

__all__ = [
    "CountyMap",
    "HeadCountRow",
    "HomeDensity",
    "PERSON_SORTS",
    "Overview",
    "choices_of",
    "count_in_scope",
    "county_map",
    "designation_of",
    "designations_of",
    "head_count_rows",
    "home_density",
    "overview",
    "persons_in_scope",
    "persons_page",
]

HeadCountRow = tuple[str, str, str, str, int]
"""(unit id, name, tier or ``consortium``, consortium id or "", head count)."""


@dataclass(frozen=True)
class Overview:
    """The officials' overview (概览): per consortium this year's and the window year's head counts, the window
    year's choices per status, persons in scope, institutions."""

    consortia: list[tuple[ConsortiumRow, int, int]]
    choices: dict[str, int]
    in_scope: int
    institutions: int


@dataclass(frozen=True)
class HomeDensity:
    """Persons' homes counted in square grid cells (no single home): (west, south, persons) per non-empty cell, and
    the cell's side in degrees."""

    cells: list[tuple[float, float, int]]
    cell_deg: float


@dataclass(frozen=True)
class CountyMap:
    """What the map draws: the consortia (by id), their institutions, head counts per unit, the homes' density."""

    consortium_ids: list[str]
    institutions: list[InstitutionRow]
    head_counts: dict[str, int]
    density: HomeDensity


def persons_in_scope(db: Session, condition: ColumnElement[bool], *, limit: int, offset: int) -> list[PersonRow]:
    """Persons ``condition`` selects, in person_id order, ``limit`` from ``offset``."""
    return list(db.scalars(select(PersonRow).where(condition).order_by(PersonRow.person_id)
                           .limit(limit).offset(offset)))


def count_in_scope(db: Session, condition: ColumnElement[bool]) -> int:
    return db.scalar(select(func.count()).select_from(PersonRow).where(condition)) or 0


PERSON_SORTS = {"person_id": PersonRow.person_id, "sex": PersonRow.sex, "birth_date": PersonRow.birth_date,
                "household_id": PersonRow.household_id, "insurance": PersonRow.insurance}
"""The columns the persons list may be sorted by (a page's ``?sort=``)."""


def persons_page(db: Session, condition: ColumnElement[bool], *, page: int, size: int, find: str = "",
                 sort: str = "", descending: bool = False) -> tuple[list[PersonRow], int]:
    """Page ``page`` (from 1) of ``size`` persons ``condition`` selects whose id or household id holds every word
    of ``find``, sorted by ``sort`` (one of :data:`PERSON_SORTS`, then person id), and how many match in all."""
    where = condition
    for word in find.split()[:5]:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = and_(where, or_(PersonRow.person_id.ilike(pattern, escape="\\"),
                                PersonRow.household_id.ilike(pattern, escape="\\")))
    column = PERSON_SORTS.get(sort, PersonRow.person_id)
    order = [column.desc() if descending else column.asc(), PersonRow.person_id]
    rows = list(db.scalars(select(PersonRow).where(where).order_by(*order).limit(size).offset((page - 1) * size)))
    return rows, count_in_scope(db, where)


def choices_of(db: Session, person_id: str) -> list[ChoiceRow]:
    """Every choice recorded for the person (valid and refused), in the order they were made."""
    return ChoiceRepository(db).for_person(person_id)


def designations_of(db: Session, person_id: str) -> list[DesignationRow]:
    """Every year's designation of the person, by year."""
    return list(db.scalars(select(DesignationRow).where(DesignationRow.person_id == person_id)
                           .order_by(DesignationRow.year)))


def designation_of(db: Session, person_id: str, year: int) -> DesignationRow | None:
    return DesignationRepository(db).get(person_id, year)


def overview(db: Session, condition: ColumnElement[bool], *, year: int, window_year: int) -> Overview:
    """The overview for ``year`` with the switch window's year ``window_year`` (its head counts and choices)."""
    now_counts = head_counts(db, year=year)
    next_counts = head_counts(db, year=window_year) if window_year != year else now_counts
    choices = {status: int(n) for status, n in db.execute(
        select(ChoiceRow.status, func.count()).where(ChoiceRow.year == window_year).group_by(ChoiceRow.status))}
    return Overview(
        consortia=[(c, now_counts.get(c.consortium_id, 0), next_counts.get(c.consortium_id, 0))
                   for c in registry.consortia(db)],
        choices=choices, in_scope=count_in_scope(db, condition), institutions=registry.count_institutions(db))


def head_count_rows(db: Session, *, year: int) -> list[HeadCountRow]:
    """Head counts for ``year``: every consortium, then every township and village institution (by id)."""
    counts = head_counts(db, year=year)
    out: list[HeadCountRow] = [(c.consortium_id, c.name, "consortium", "", counts.get(c.consortium_id, 0))
                               for c in registry.consortia(db)]
    out += [(i.inst_id, i.name, i.tier, i.consortium_id or "", counts.get(i.inst_id, 0))
            for i in registry.institutions(db) if i.tier in (Tier.TOWNSHIP, Tier.VILLAGE)]
    return out


def home_density(db: Session, condition: ColumnElement[bool], *, grid: int) -> HomeDensity:
    """The homes of the persons ``condition`` selects, counted in cells of ``grid`` across their bounding box."""
    box = db.execute(select(func.min(PersonRow.lon), func.max(PersonRow.lon), func.min(PersonRow.lat),
                            func.max(PersonRow.lat)).where(condition)).one()
    cells: list[tuple[float, float, int]] = []
    cell = 0.01
    if box[0] is not None:
        cell = max((box[1] - box[0]) / grid, (box[3] - box[2]) / grid, 1e-4)
        gx = func.floor((PersonRow.lon - box[0]) / cell)
        gy = func.floor((PersonRow.lat - box[2]) / cell)
        for x, y, n in db.execute(select(gx, gy, func.count()).where(condition).group_by(gx, gy)):
            cells.append((box[0] + float(x) * cell, box[2] + float(y) * cell, int(n)))
    return HomeDensity(cells, cell)


def county_map(db: Session, condition: ColumnElement[bool], *, year: int, grid: int) -> CountyMap:
    """The map's figures: head counts of ``year`` (before the data year: of the latest designations there are,
    ``year + 1``), the homes of the persons ``condition`` selects in ``grid`` cells across."""
    counts = head_counts(db, year=year)
    if not counts:
        counts = head_counts(db, year=year + 1)
    return CountyMap([c.consortium_id for c in registry.consortia(db)], registry.mapped_institutions(db), counts,
                     home_density(db, condition, grid=grid))
