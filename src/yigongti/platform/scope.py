"""Scope (权限范围): which persons a principal may see, as ONE SQL condition used by every list and every lookup.

- resident 参保人: their own household;
- clinician 医生: persons designated to their institution (a county-tier unit: to its consortium) in this or next
  year, and persons referred to it (a claim there that names a referring admission);
- institution admin 机构管理员: persons designated to their institution;
- consortium admin 医共体管理中心: persons designated to their consortium;
- insurance bureau 医保局 and health commission 卫健局: persons insured in their county;
- system admin 系统管理员: accounts and the registry only, no personal data.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from yigongti.enrollment.store import DesignationRow, PersonRow
from yigongti.platform.accounts import Principal, Role
from yigongti.registry.domain import Tier
from yigongti.registry.store import ConsortiumRow, InstitutionRow

__all__ = [
    "ROLES_READING_THE_REGISTRY",
    "can_see_person",
    "consortia_in_scope",
    "person_condition",
    "visible",
]

ROLES_READING_THE_REGISTRY = frozenset({Role.CLINICIAN, Role.INSTITUTION_ADMIN})
"""Roles whose :func:`person_condition` reads the database (their institution's tier); the others' does not."""


def _designated_to_institution(db: Session, inst_id: str, years: tuple[int, ...]) -> ColumnElement[bool]:
    inst = db.get(InstitutionRow, inst_id)
    if inst is None:
        return false()
    if inst.tier == Tier.COUNTY and inst.consortium_id:
        at = DesignationRow.consortium_id == inst.consortium_id
    elif inst.tier == Tier.TOWNSHIP:
        at = DesignationRow.township_id == inst_id
    elif inst.tier == Tier.VILLAGE:
        at = DesignationRow.village_id == inst_id
    else:
        return false()
    return PersonRow.person_id.in_(select(DesignationRow.person_id).where(at, DesignationRow.year.in_(years)))


def person_condition(db: Session, principal: Principal, *, year: int,
                     referred: Collection[str] = ()) -> ColumnElement[bool]:
    """The WHERE condition on ``persons`` that selects exactly what ``principal`` may see in ``year``;
    ``referred``: the persons referred to the principal's institution (a clinician sees them too)."""
    years = (year, year + 1)
    role = principal.role
    if role is Role.RESIDENT:
        return PersonRow.household_id == principal.household_id if principal.household_id else false()
    if role in (Role.CLINICIAN, Role.INSTITUTION_ADMIN):
        if not principal.inst_id:
            return false()
        cond = _designated_to_institution(db, principal.inst_id, years)
        if role is Role.CLINICIAN and referred:
            return or_(cond, PersonRow.person_id.in_(sorted(referred)))
        return cond
    if role is Role.CONSORTIUM_ADMIN:
        if not principal.consortium_id:
            return false()
        return PersonRow.person_id.in_(select(DesignationRow.person_id).where(
            DesignationRow.consortium_id == principal.consortium_id, DesignationRow.year.in_(years)))
    if role in (Role.INSURANCE_BUREAU, Role.HEALTH_COMMISSION):
        return PersonRow.county_code == principal.county_code if principal.county_code else false()
    return false()


def visible(db: Session, person_id: str, condition: ColumnElement[bool]) -> PersonRow | None:
    """The person when they exist and ``condition`` selects them, else None (one query)."""
    return db.scalar(select(PersonRow).where(PersonRow.person_id == person_id, condition))


def can_see_person(db: Session, person_id: str, condition: ColumnElement[bool]) -> bool:
    return visible(db, person_id, condition) is not None


def consortia_in_scope(db: Session, principal: Principal) -> set[str]:
    """Consortia whose money and indicators an official may see: their own (consortium and institution roles), the
    county's (bureau, commission), all (system admin); none for a resident."""
    if principal.role is Role.RESIDENT:
        return set()
    if principal.role is Role.CONSORTIUM_ADMIN:
        return {principal.consortium_id} if principal.consortium_id else set()
    if principal.role in (Role.CLINICIAN, Role.INSTITUTION_ADMIN):
        inst = db.get(InstitutionRow, principal.inst_id or "")
        return {inst.consortium_id} if inst is not None and inst.consortium_id else set()
    stmt = select(ConsortiumRow.consortium_id)
    if principal.role in (Role.INSURANCE_BUREAU, Role.HEALTH_COMMISSION):
        stmt = stmt.where(ConsortiumRow.county_code == principal.county_code)
    return set(db.scalars(stmt))
