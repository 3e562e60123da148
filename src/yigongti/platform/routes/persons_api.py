"""``/api/persons``: insured persons (参保人) in the caller's scope, and their designations (定点). Every person
returned is written to the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from yigongti.enrollment.readmodel import designations_of, persons_in_scope
from yigongti.platform import audit
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession, ScopeDep, ScopedPerson
from yigongti.platform.schemas import DesignationOut, PersonOut, designation_out, person_out

__all__ = ["router"]

router = APIRouter(prefix="/api/persons", tags=["persons 参保人"])


@router.get("", response_model=list[PersonOut])
def list_persons(ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100,
                 offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[PersonOut]:
    """Persons the caller may see (a resident: their household), in person_id order."""
    principal = person_scope.principal
    rows = persons_in_scope(db, person_scope.condition, limit=limit, offset=offset)
    audit.record(db, principal, action="GET /api/persons", person_ids=[r.person_id for r in rows],
                 at=ctx.clock.now())
    return [person_out(r, principal) for r in rows]


@router.get("/{person_id}", response_model=PersonOut, responses={404: {"description": "not in your scope"}})
def get_person(person: ScopedPerson, principal: CurrentPrincipal) -> PersonOut:
    return person_out(person, principal)


@router.get("/{person_id}/designations", response_model=list[DesignationOut],
            responses={404: {"description": "not in your scope"}})
def person_designations(person: ScopedPerson, db: DbSession) -> list[DesignationOut]:
    """Every year's designation of the person, with its source (choice, carried, household, nearest)."""
    return [designation_out(r) for r in designations_of(db, person.person_id)]
