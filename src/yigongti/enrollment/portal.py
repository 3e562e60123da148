"""Read models of the portal (门户查询): a household's designations, the options of a choice with distances and head
counts, head counts per institution. Reads only; writes go through the use cases (``enrollment.choices``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yigongti.core.geo import great_circle_km
from yigongti.core.policy import EnrollmentPolicy
from yigongti.enrollment.headcount import movement_summary
from yigongti.enrollment.household import covered_members
from yigongti.enrollment.store import DesignationRow, PersonRepository, PersonRow
from yigongti.registry.domain import Tier
from yigongti.registry.store import ConsortiumRow, InstitutionRow

__all__ = [
    "ConsortiumOption",
    "MemberDesignation",
    "Option",
    "SwitchWindow",
    "age_on",
    "choice_options",
    "head_counts",
    "household_designations",
    "may_choose_for",
    "switch_window",
]


@dataclass(frozen=True)
class MemberDesignation:
    """A household member (家庭成员) and their designation for a year (None when not designated yet)."""

    person_id: str
    sex: str
    birth_date: date
    id_number: str | None
    year: int
    consortium: str | None
    township: str | None
    village: str | None
    source: str | None
    lives_away: bool = False  # 常年外出: no default designation unless they choose


@dataclass(frozen=True)
class Option:
    """An institution one may choose: its distance from home (km) and its head count (人头数)."""

    inst_id: str
    name: str
    kind: str
    distance_km: float
    head_count: int
    parent_id: str | None


@dataclass(frozen=True)
class ConsortiumOption:
    consortium_id: str
    name: str
    lead_name: str
    distance_km: float
    head_count: int
    townships: tuple[Option, ...]
    villages: tuple[Option, ...]


@dataclass(frozen=True)
class SwitchWindow:
    """The switch window (选择窗口) for ``year``: open from ``start`` to ``end`` (both included)."""

    year: int
    start: date
    end: date
    open_now: bool


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def switch_window(policy: EnrollmentPolicy, today: date) -> SwitchWindow:
    """The window a choice made today is for: the open one (next year, or a first year), else next year's."""
    for year in (today.year + 1, today.year):
        start, end = policy.window(year)
        if start <= today <= end:
            return SwitchWindow(year, start, end, True)
    start, end = policy.window(today.year + 1)
    return SwitchWindow(today.year + 1, start, end, False)


def _names(db: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = db.execute(select(InstitutionRow.inst_id, InstitutionRow.name).where(InstitutionRow.inst_id.in_(ids)))
    out = {r[0]: r[1] for r in rows}
    cons = db.execute(select(ConsortiumRow.consortium_id, ConsortiumRow.name)
                      .where(ConsortiumRow.consortium_id.in_(ids)))
    out.update({r[0]: r[1] for r in cons})
    return out


def household_designations(db: Session, household_id: str, *, year: int) -> list[MemberDesignation]:
    """Every member of the household with the designation for ``year`` (names, not ids, for the page)."""
    rows = db.execute(
        select(PersonRow, DesignationRow)
        .outerjoin(DesignationRow, (DesignationRow.person_id == PersonRow.person_id) & (DesignationRow.year == year))
        .where(PersonRow.household_id == household_id).order_by(PersonRow.birth_date, PersonRow.person_id)).all()
    ids = {x for _, d in rows if d is not None for x in (d.consortium_id, d.township_id, d.village_id)}
    names = _names(db, ids)

    def label(x: str | None) -> str | None:
        return None if x is None else f"{names.get(x, x)}"

    return [MemberDesignation(p.person_id, p.sex, p.birth_date, p.id_number, year,
                              label(d.consortium_id if d else None), label(d.township_id if d else None),
                              label(d.village_id if d else None), d.source if d else None, bool(p.lives_away))
            for p, d in rows]


def may_choose_for(db: Session, chooser_id: str, *, policy: EnrollmentPolicy, on: date) -> frozenset[str]:
    """The members of ``chooser_id``'s household whose designated institutions they may choose on ``on``
    (themself included; the household rule, ``policy.household_mode``); empty for an unknown person."""
    rows = PersonRepository(db).household_of(chooser_id)
    if not any(r.person_id == chooser_id for r in rows):
        return frozenset()
    return frozenset(covered_members(chooser_id, PersonRepository.members(rows), mode=policy.household_mode,
                                     adult_age=policy.adult_age, on=on))


def head_counts(db: Session, *, year: int) -> dict[str, int]:
    """Persons designated for ``year`` per consortium, township-tier and village-tier institution."""
    out: dict[str, int] = {}
    for column in (DesignationRow.consortium_id, DesignationRow.township_id, DesignationRow.village_id):
        for key, n in db.execute(select(column, func.count()).where(DesignationRow.year == year).group_by(column)):
            out[key] = out.get(key, 0) + int(n)
    return out


def choice_options(db: Session, person: PersonRow, *, year: int) -> list[ConsortiumOption]:
    """The consortia of the person's insured county, each with its township and village institutions, nearest
    first, with distances from home and this year's head counts."""
    consortia = list(db.scalars(select(ConsortiumRow).where(ConsortiumRow.county_code == person.county_code)
                                .order_by(ConsortiumRow.consortium_id)))
    if not consortia:
        return []
    members = list(db.scalars(select(InstitutionRow).where(
        InstitutionRow.consortium_id.in_([c.consortium_id for c in consortia]),
        InstitutionRow.tier.in_((Tier.COUNTY, Tier.TOWNSHIP, Tier.VILLAGE))).order_by(InstitutionRow.inst_id)))
    km = great_circle_km(person.lon, person.lat, [m.lon for m in members], [m.lat for m in members])
    dist = {m.inst_id: round(float(d), 1) for m, d in zip(members, km, strict=True)}
    counts = head_counts(db, year=year)
    by_id = {m.inst_id: m for m in members}
    out = []
    for c in consortia:
        mine = [m for m in members if m.consortium_id == c.consortium_id]

        def opts(tier: str, mine: list[InstitutionRow] = mine) -> tuple[Option, ...]:
            chosen = [Option(m.inst_id, m.name, m.kind, dist[m.inst_id], counts.get(m.inst_id, 0), m.parent_id)
                      for m in mine if m.tier == tier]
            return tuple(sorted(chosen, key=lambda o: (o.distance_km, o.inst_id)))

        townships = opts(Tier.TOWNSHIP)
        lead = by_id.get(c.lead_inst_id)
        out.append(ConsortiumOption(
            c.consortium_id, c.name, lead.name if lead else c.lead_inst_id,
            min((t.distance_km for t in townships), default=dist.get(c.lead_inst_id, 0.0)),
            counts.get(c.consortium_id, 0), townships, opts(Tier.VILLAGE)))
    return sorted(out, key=lambda c: (c.distance_km, c.consortium_id))


def _designations_arrow(db: Session, year: int) -> pa.Table:
    cols = ["person_id", "consortium_id", "township_id", "village_id"]
    rows = db.execute(select(DesignationRow.person_id, DesignationRow.consortium_id, DesignationRow.township_id,
                             DesignationRow.village_id).where(DesignationRow.year == year)).all()
    return pa.table({c: pa.array([r[i] for r in rows], pa.string()) for i, c in enumerate(cols)})


def movements(db: Session, *, year: int) -> pa.Table:
    """Per consortium, township and village institution: enrollees in ``year - 1`` and ``year``, persons gained and
    lost, net (the residents' "vote with feet"), by the engine's ``movement_summary``."""
    previous = _designations_arrow(db, year - 1)
    return movement_summary(previous if previous.num_rows else None, _designations_arrow(db, year))
