"""Signing in (登录): rate-limited per username and client address, shared by the API token and the page form."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yigongti.platform.context import AppContext
from yigongti.platform.accounts import Principal, authenticate

__all__ = ["LoginRefused", "attempt_login"]


class LoginRefused(Exception):
    """Wrong credentials (``retry_after`` 0) or too many failed attempts (``retry_after`` seconds)."""

    def __init__(self, *, retry_after: int = 0) -> None:
        self.retry_after = retry_after
        if retry_after:
            msg = f"登录尝试过多，请 {retry_after} 秒后再试 / too many attempts, retry in {retry_after} s"
        else:
            msg = "用户名或密码错误 / wrong username or password"
        super().__init__(msg)


def attempt_login(ctx: AppContext, db: Session, *, username: str, password: str, client: str) -> Principal:
    key = (username.strip().lower(), client)
    if not ctx.limiter.allowed(key):
        raise LoginRefused(retry_after=max(1, ctx.limiter.retry_after(key)))
    principal = authenticate(db, username=username.strip(), password=password)
    if principal is None:
        ctx.limiter.take(key)
        raise LoginRefused()
    ctx.limiter.reset(key)
    return principal
