"""API schemas (接口数据结构): what the API returns, separate from the database tables."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from yigongti.core.idnumber import mask_id_number
from yigongti.enrollment.store import DesignationRow, PersonRow
from yigongti.platform.accounts import Principal

__all__ = [
    "ConsortiumOut",
    "DesignationOut",
    "HeadCountOut",
    "InstitutionOut",
    "MeOut",
    "PasswordChangeIn",
    "PersonOut",
    "TokenOut",
    "designation_out",
    "person_out",
]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class PasswordChangeIn(BaseModel):
    """修改密码 / a change of one's own password."""

    current_password: str = Field(max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


class MeOut(BaseModel):
    username: str
    role: str
    display_name: str
    person_id: str | None = None
    household_id: str | None = None
    inst_id: str | None = None
    consortium_id: str | None = None
    county_code: str | None = None


class PersonOut(BaseModel):
    person_id: str
    id_number: str = Field(description="masked (脱敏) unless the caller's role needs the full number")
    sex: str
    birth_date: date
    household_id: str
    insurance: str
    county_code: str
    lives_away: bool = Field(False, description="常年外出: lives and works away all year (no default designation)")


class DesignationOut(BaseModel):
    person_id: str
    year: int
    consortium_id: str
    township_id: str
    village_id: str
    source: str


class InstitutionOut(BaseModel):
    inst_id: str
    name: str
    tier: str
    level: int
    kind: str
    consortium_id: str | None
    parent_id: str | None
    county_code: str
    lon: float
    lat: float


class ConsortiumOut(BaseModel):
    consortium_id: str
    name: str
    county_code: str
    lead_inst_id: str


class HeadCountOut(BaseModel):
    unit_id: str = Field(description="consortium or institution id")
    year: int
    head_count: int


def person_out(row: PersonRow, principal: Principal) -> PersonOut:
    shown = (row.id_number or "") if principal.sees_id_numbers else mask_id_number(row.id_number)
    return PersonOut(person_id=row.person_id, id_number=shown, sex=row.sex, birth_date=row.birth_date,
                     household_id=row.household_id, insurance=row.insurance, county_code=row.county_code,
                     lives_away=bool(row.lives_away))


def designation_out(row: DesignationRow) -> DesignationOut:
    return DesignationOut(person_id=row.person_id, year=row.year, consortium_id=row.consortium_id,
                          township_id=row.township_id, village_id=row.village_id, source=row.source)
