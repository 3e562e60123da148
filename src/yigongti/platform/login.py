"""Signing in (登录): rate-limited per user name and client address, per user name and per address (the policy:
``platform.ratelimit``), shared by the API token and the page form.

The client address is the connection's peer, unless the peer is one of ``Settings.trusted_proxies`` (a reverse
proxy): then it is the nearest address in ``X-Forwarded-For`` that is not a trusted proxy. A header from anyone
else is ignored, so a client cannot choose its own address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from fastapi import Request
from sqlalchemy.orm import Session

from yigongti.platform.accounts import Principal, authenticate
from yigongti.platform.context import AppContext

__all__ = ["LoginRefused", "attempt_login", "client_address"]

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class LoginRefused(Exception):
    """Wrong credentials (``retry_after`` 0) or too many failed attempts (``retry_after`` seconds)."""

    def __init__(self, *, retry_after: int = 0) -> None:
        self.retry_after = retry_after
        if retry_after:
            msg = f"登录尝试过多，请 {retry_after} 秒后再试 / too many attempts, retry in {retry_after} s"
        else:
            msg = "用户名或密码错误 / wrong username or password"
        super().__init__(msg)


@lru_cache(maxsize=16)
def _networks(trusted: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(request: Request, trusted_proxies: tuple[str, ...] = ()) -> str:
    """The address the request came from, for the sign-in limiter (see the module docstring)."""
    peer = request.client.host if request.client else "?"
    networks = _networks(trusted_proxies)
    if not networks:
        return peer

    def trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return ip is not None and any(ip in net for net in networks)

    if not trusted(_ip(peer)):
        return peer
    nearest = peer
    for hop in reversed(request.headers.get("x-forwarded-for", "").split(",")):
        ip = _ip(hop)
        if ip is None:  # malformed or missing: the nearest trusted proxy is what is known
            return nearest
        if not trusted(ip):
            return str(ip)
        nearest = str(ip)
    return nearest


def attempt_login(ctx: AppContext, db: Session, *, username: str, password: str, client: str) -> Principal:
    """The principal, or :class:`LoginRefused`. The attempt is counted before the password is checked."""
    wait = ctx.limiter.acquire(username, client)
    if wait:
        raise LoginRefused(retry_after=wait)
    principal = authenticate(db, username=username.strip(), password=password)
    if principal is None:
        raise LoginRefused()
    ctx.limiter.succeeded(username, client)
    return principal
