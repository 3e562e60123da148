"""Accounts (账户) of the web platform: users with one role each, and API bearer tokens.

A user's role decides what they may see (the scope, ``yigongti.platform.scope``); the columns ``person_id``,
``inst_id``, ``consortium_id`` and ``county_code`` anchor that scope. Passwords are stored only as argon2 hashes;
API tokens only as their SHA-256 digest.

``session_epoch`` (会话版本) ends every page session and API token of a user at once: each carries the epoch it was
issued at and is valid only while the user's epoch is still the same; sign-out, a password change and disabling
the user add one to it (``platform.accounts.end_sessions``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from yigongti.core.db import Base

__all__ = ["ROLES", "ApiTokenRow", "UserRow"]

ROLES = ("resident", "clinician", "institution_admin", "consortium_admin", "insurance_bureau",
         "health_commission", "system_admin")
_ID = 64


class UserRow(Base):
    """用户 / a user of the platform."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role"),
    )

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    person_id: Mapped[str | None] = mapped_column(String(_ID))
    inst_id: Mapped[str | None] = mapped_column(String(_ID))
    consortium_id: Mapped[str | None] = mapped_column(String(_ID))
    county_code: Mapped[str | None] = mapped_column(String(6))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"UserRow(username={self.username!r}, role={self.role!r})"


class ApiTokenRow(Base):
    """API 令牌 / a bearer token for the API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    token_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.user_id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
