"""Accounts: argon2 passwords, scope anchors per role, API tokens that expire and can be revoked (SQLite and PG)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from store_fixtures import TestDb, db  # noqa: F401

from yigongti.core.db import make_session_factory
from yigongti.platform.accounts import (
    AccountError,
    Role,
    authenticate,
    create_user,
    issue_token,
    principal_for_token,
    revoke_token,
)
from yigongti.platform.accounts_store import ApiTokenRow, UserRow

NOW = datetime(2025, 11, 1, 9, 0)


def test_password_is_stored_as_argon2_and_checked(db: TestDb) -> None:  # noqa: F811
    engine = db.engine()
    sessions = make_session_factory(engine)
    try:
        with sessions.begin() as s:
            create_user(s, username="bureau", password="correct horse", role="insurance_bureau",
                        county_code="513433", now=NOW)
        with sessions.begin() as s:
            row = s.scalar(select(UserRow).where(UserRow.username == "bureau"))
            assert row is not None and row.password_hash.startswith("$argon2")
            assert "correct horse" not in row.password_hash
            ok = authenticate(s, username="bureau", password="correct horse")
            assert ok is not None and ok.role is Role.INSURANCE_BUREAU and ok.county_code == "513433"
            assert authenticate(s, username="bureau", password="wrong horse!") is None
            assert authenticate(s, username="nobody", password="correct horse") is None
    finally:
        engine.dispose()


def test_role_needs_its_scope_anchor(db: TestDb) -> None:  # noqa: F811
    engine = db.engine()
    try:
        with make_session_factory(engine).begin() as s:
            with pytest.raises(AccountError, match="consortium_id"):
                create_user(s, username="c", password="12345678", role="consortium_admin", now=NOW)
            with pytest.raises(AccountError, match="unknown role"):
                create_user(s, username="c", password="12345678", role="king", now=NOW)
    finally:
        engine.dispose()


def test_token_digest_only_expiry_and_revocation(db: TestDb) -> None:  # noqa: F811
    engine = db.engine()
    sessions = make_session_factory(engine)
    try:
        with sessions.begin() as s:
            create_user(s, username="admin", password="12345678", role="system_admin", now=NOW)
            p = authenticate(s, username="admin", password="12345678")
            assert p is not None
            token, expires = issue_token(s, p, now=NOW, hours=2)
        with sessions.begin() as s:
            assert token not in {r.token_sha256 for r in s.scalars(select(ApiTokenRow))}
            assert principal_for_token(s, token, now=NOW + timedelta(hours=1)) is not None
            assert principal_for_token(s, token, now=expires) is None
            assert principal_for_token(s, token + "x", now=NOW) is None
            assert revoke_token(s, token)
        with sessions.begin() as s:
            assert principal_for_token(s, token, now=NOW) is None
    finally:
        engine.dispose()
