"""Accounts (账户) use cases: create users, check passwords (argon2), issue and check API tokens, end sessions.

Sessions (会话): a page session and an API token are valid only while the user's ``session_epoch`` is the one they
were issued at; :func:`end_sessions` (sign-out, :func:`change_password`, :func:`set_password`, disabling a user
with :func:`set_active`) adds one to it, which ends every session and token of the user at once, in every process
(a worker's token cache checks the epoch on each request, :func:`session_current`).

Roles (角色): resident 参保人, clinician 医生, institution_admin 机构管理员, consortium_admin 医共体管理中心,
insurance_bureau 医保局, health_commission 卫健局, system_admin 系统管理员.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session

from yigongti.core.db import DriverStatement
from yigongti.enrollment.store import PersonRow
from yigongti.platform.accounts_store import ApiTokenRow, UserRow

__all__ = [
    "ROLES_SEEING_ID_NUMBERS",
    "ROLE_LABELS",
    "AccountError",
    "Principal",
    "Role",
    "authenticate",
    "change_password",
    "create_user",
    "end_sessions",
    "hash_password",
    "issue_token",
    "principal_for_token",
    "principal_of",
    "revoke_token",
    "session_current",
    "set_active",
    "set_password",
    "token_grant",
    "user_for_id",
]

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so that a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class Role(StrEnum):
    RESIDENT = "resident"
    CLINICIAN = "clinician"
    INSTITUTION_ADMIN = "institution_admin"
    CONSORTIUM_ADMIN = "consortium_admin"
    INSURANCE_BUREAU = "insurance_bureau"
    HEALTH_COMMISSION = "health_commission"
    SYSTEM_ADMIN = "system_admin"


ROLE_LABELS: dict[Role, str] = {
    Role.RESIDENT: "参保人 / resident",
    Role.CLINICIAN: "家庭医生 / clinician",
    Role.INSTITUTION_ADMIN: "机构管理员 / institution admin",
    Role.CONSORTIUM_ADMIN: "医共体管理中心 / consortium admin",
    Role.INSURANCE_BUREAU: "医保局 / insurance bureau",
    Role.HEALTH_COMMISSION: "卫健局 / health commission",
    Role.SYSTEM_ADMIN: "系统管理员 / system admin",
}

ROLES_SEEING_ID_NUMBERS: frozenset[Role] = frozenset({Role.CLINICIAN, Role.INSURANCE_BUREAU})
"""Roles whose work needs full ID numbers (identifying a patient; paying claims); everyone else sees them masked."""


class AccountError(ValueError):
    """An account that cannot be created as asked (unknown role, missing scope anchor, duplicate username)."""


@dataclass(frozen=True)
class Principal:
    """Who is asking (当前用户) and what anchors their scope."""

    user_id: int
    username: str
    role: Role
    display_name: str = ""
    person_id: str | None = None
    household_id: str | None = None
    inst_id: str | None = None
    consortium_id: str | None = None
    county_code: str | None = None
    session_epoch: int = 0  # the user's session epoch when this principal was read (会话版本)

    @property
    def sees_id_numbers(self) -> bool:
        return self.role in ROLES_SEEING_ID_NUMBERS

    @property
    def is_official(self) -> bool:
        return self.role is not Role.RESIDENT


_ANCHOR: dict[Role, str | None] = {
    Role.RESIDENT: "person_id",
    Role.CLINICIAN: "inst_id",
    Role.INSTITUTION_ADMIN: "inst_id",
    Role.CONSORTIUM_ADMIN: "consortium_id",
    Role.INSURANCE_BUREAU: "county_code",
    Role.HEALTH_COMMISSION: "county_code",
    Role.SYSTEM_ADMIN: None,
}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(session: Session, *, username: str, password: str, role: Role | str, now: datetime,
                display_name: str = "", person_id: str | None = None, inst_id: str | None = None,
                consortium_id: str | None = None, county_code: str | None = None) -> UserRow:
    """Add a user; the role's scope anchor (person, institution, consortium or county) must be given."""
    try:
        role = Role(role)
    except ValueError as exc:
        raise AccountError(f"unknown role {role!r} / 未知角色") from exc
    _check_password_rules(password)
    anchors = {"person_id": person_id, "inst_id": inst_id, "consortium_id": consortium_id,
               "county_code": county_code}
    need = _ANCHOR[role]
    if need is not None and not anchors[need]:
        raise AccountError(f"role {role.value} needs {need} / 该角色须指定 {need}")
    if session.scalar(select(UserRow.user_id).where(UserRow.username == username)) is not None:
        raise AccountError(f"username {username!r} is taken / 用户名已存在")
    row = UserRow(username=username, password_hash=hash_password(password), role=role.value,
                  display_name=display_name or username, person_id=person_id, inst_id=inst_id,
                  consortium_id=consortium_id, county_code=county_code, active=True, created_at=now)
    session.add(row)
    session.flush()
    return row


def _check_password_rules(password: str) -> None:
    if len(password) < 8:
        raise AccountError("password needs at least 8 characters / 密码至少8位")


def principal_of(session: Session, user: UserRow) -> Principal:
    household = None
    if user.person_id:
        household = session.scalar(select(PersonRow.household_id).where(PersonRow.person_id == user.person_id))
    return Principal(user_id=user.user_id, username=user.username, role=Role(user.role),
                     display_name=user.display_name, person_id=user.person_id, household_id=household,
                     inst_id=user.inst_id, consortium_id=user.consortium_id, county_code=user.county_code,
                     session_epoch=user.session_epoch)


def authenticate(session: Session, *, username: str, password: str) -> Principal | None:
    """The principal for a correct username and password of an active user, else None (same cost either way)."""
    user = session.scalar(select(UserRow).where(UserRow.username == username))
    try:
        if user is None or not user.active:
            _hasher.verify(_DUMMY_HASH, password)
            return None
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return principal_of(session, user)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, principal: Principal, *, now: datetime, hours: int) -> tuple[str, datetime]:
    """A new bearer token for ``principal`` (shown once; only its digest is kept) and its expiry."""
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=hours)
    session.add(ApiTokenRow(token_sha256=_digest(token), user_id=principal.user_id, created_at=now,
                            expires_at=expires, revoked=False, session_epoch=principal.session_epoch))
    session.flush()
    return token, expires


# who a user is, with their household, in one statement (the token check runs on every API request)
_PRINCIPAL_COLUMNS = (UserRow.user_id, UserRow.username, UserRow.role, UserRow.display_name, UserRow.person_id,
                      PersonRow.household_id, UserRow.inst_id, UserRow.consortium_id, UserRow.county_code,
                      UserRow.session_epoch)


def _principal_select(*extra: Any) -> Select[*tuple[Any, ...]]:
    return (select(*_PRINCIPAL_COLUMNS, UserRow.active, *extra)
            .outerjoin(PersonRow, PersonRow.person_id == UserRow.person_id))


def _principal_from(row: Sequence[Any]) -> Principal:
    uid, username, role, display_name, person_id, household, inst_id, consortium_id, county_code, epoch = row[:10]
    return Principal(user_id=uid, username=username, role=Role(role), display_name=display_name,
                     person_id=person_id, household_id=household, inst_id=inst_id, consortium_id=consortium_id,
                     county_code=county_code, session_epoch=epoch)


# built once: every API request runs them
_BY_TOKEN = (_principal_select(ApiTokenRow.revoked, ApiTokenRow.expires_at, ApiTokenRow.session_epoch)
             .join(ApiTokenRow, ApiTokenRow.user_id == UserRow.user_id)
             .where(ApiTokenRow.token_sha256 == bindparam("digest")))
_BY_USER_ID = _principal_select().where(UserRow.user_id == bindparam("user_id"))
_CURRENT = DriverStatement(select(UserRow.session_epoch).where(UserRow.user_id == bindparam("user_id"),
                                                                UserRow.active))
_BY_TOKEN_ROWS = DriverStatement(_BY_TOKEN)


def token_grant(session: Session, token: str, *, now: datetime) -> tuple[Principal, datetime] | None:
    """The principal of a valid (not revoked, not expired, of the user's current session epoch) token of an active
    user and the token's expiry, else None; one query."""
    rows = _BY_TOKEN_ROWS.rows(session, {"digest": _digest(token)})
    if not rows:
        return None
    row = rows[0]
    user_epoch, active, revoked, expires_at, token_epoch = row[9:]
    if revoked or expires_at <= now or not active or token_epoch != user_epoch:
        return None
    return _principal_from(row), expires_at


def principal_for_token(session: Session, token: str, *, now: datetime) -> Principal | None:
    """The principal of a valid (not revoked, not expired) token of an active user, else None; one query."""
    grant = token_grant(session, token, now=now)
    return grant[0] if grant is not None else None


def revoke_token(session: Session, token: str) -> bool:
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_sha256 == _digest(token)))
    if row is None:
        return False
    row.revoked = True
    return True


def user_for_id(session: Session, user_id: int, *, epoch: int | None = None) -> Principal | None:
    """The principal of an active user (whose session epoch is ``epoch``, when given), else None; one query."""
    row = session.execute(_BY_USER_ID, {"user_id": user_id}).first()
    if row is None or not row[10] or (epoch is not None and row[9] != epoch):
        return None
    return _principal_from(row)


def session_current(session: Session, user_id: int, epoch: int) -> bool:
    """Whether a session or token of ``epoch`` still stands: the user is active and has not ended their sessions
    since (one primary-key lookup; what a worker asks for a token it has cached)."""
    rows = _CURRENT.rows(session, {"user_id": user_id})
    return bool(rows) and rows[0][0] == epoch


def end_sessions(session: Session, user_id: int) -> None:
    """End every page session and API token of the user at once (sign-out everywhere, 全部退出): the session epoch
    goes up by one, and the tokens are marked revoked."""
    session.execute(update(UserRow).where(UserRow.user_id == user_id)
                    .values(session_epoch=UserRow.session_epoch + 1))
    session.execute(update(ApiTokenRow).where(ApiTokenRow.user_id == user_id, ApiTokenRow.revoked.is_(False))
                    .values(revoked=True))


def _user_named(session: Session, username: str) -> UserRow:
    user = session.scalar(select(UserRow).where(UserRow.username == username))
    if user is None:
        raise AccountError(f"no user {username!r} / 无此用户")
    return user


def set_password(session: Session, username: str, password: str) -> None:
    """Give the user a new password (an administrator's reset, 重置密码); ends every session and token of theirs."""
    _check_password_rules(password)
    user = _user_named(session, username)
    user.password_hash = hash_password(password)
    session.flush()
    end_sessions(session, user.user_id)


def change_password(session: Session, user_id: int, *, current_password: str, new_password: str) -> bool:
    """The user's own change of password (修改密码): False when ``current_password`` is wrong; else the new one is
    kept and every session and token of the user ends (this one too: sign in again)."""
    _check_password_rules(new_password)
    user = session.get(UserRow, user_id)
    if user is None or not user.active:
        return False
    try:
        _hasher.verify(user.password_hash, current_password)
    except (VerificationError, InvalidHashError):
        return False
    user.password_hash = hash_password(new_password)
    session.flush()
    end_sessions(session, user.user_id)
    return True


def set_active(session: Session, username: str, active: bool) -> None:
    """Enable or disable (停用) a user; disabling ends every session and token of theirs at once."""
    user = _user_named(session, username)
    user.active = active
    session.flush()
    if not active:
        end_sessions(session, user.user_id)

