"""A bound on requests in flight (并发上限), so that the database pool can never run dry.

Sync dependencies and handlers run in a thread pool, one call at a time; a request holds its database connection
from its first query to the end, across those calls. Unbounded, many requests can each hold a connection while
waiting for a thread, and the threads wait for a connection: a deadlock that ends in pool timeouts. With at most
``limit`` requests in flight and ``2 x limit`` connections available (the request's session and a use case's unit of
work), every request admitted can always get its connections; the others wait here, in the event loop, for nothing
but their turn.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ConcurrencyLimit"]


class ConcurrencyLimit:
    """Pure ASGI middleware: at most ``limit`` HTTP requests inside ``app`` at a time."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:  # created on the server's own event loop
            self._semaphore = asyncio.Semaphore(self.limit)
        async with self._semaphore:
            await self.app(scope, receive, send)
