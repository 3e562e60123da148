"""``/api/consortia``, ``/api/institutions``, ``/api/head-counts``: the registry (机构登记) and head counts (人头数).
Not personal data: any signed-in user may read them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from yigongti.enrollment.portal import head_counts
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession
from yigongti.platform.schemas import ConsortiumOut, HeadCountOut, InstitutionOut
from yigongti.registry import service as registry_service

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["registry 机构"])


@router.get("/consortia", response_model=list[ConsortiumOut])
def list_consortia(db: DbSession, _p: CurrentPrincipal) -> list[ConsortiumOut]:
    return [ConsortiumOut.model_validate(r, from_attributes=True) for r in registry_service.consortia(db)]


@router.get("/institutions", response_model=list[InstitutionOut])
def list_institutions(db: DbSession, _p: CurrentPrincipal,
                      consortium_id: Annotated[str | None, Query(max_length=64)] = None,
                      tier: Annotated[str | None, Query(pattern="^(county|township|village|outside)$")] = None,
                      ) -> list[InstitutionOut]:
    return [InstitutionOut.model_validate(r, from_attributes=True)
            for r in registry_service.institutions(db, consortium_id=consortium_id, tier=tier)]


@router.get("/head-counts", response_model=list[HeadCountOut])
def list_head_counts(ctx: ContextDep, db: DbSession, _p: CurrentPrincipal,
                     year: Annotated[int | None, Query(ge=1900, le=2200)] = None) -> list[HeadCountOut]:
    """Persons designated to each consortium and institution for ``year`` (default: this year)."""
    y = year if year is not None else ctx.clock.today().year
    return [HeadCountOut(unit_id=k, year=y, head_count=v) for k, v in sorted(head_counts(db, year=y).items())]
