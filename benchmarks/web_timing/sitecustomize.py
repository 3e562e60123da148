"""Loaded by ``bench_web.py``'s server process and its workers (this folder first on their ``PYTHONPATH``): every
answer of the app gets a header ``x-bench-app-us``, the microseconds from when the request entered the app (the
outermost ASGI layer, before the in-flight bound) to when its answer started. The client subtracts it from the
time it waited for the answer: the rest is the kernel, the worker's event loop before the app saw the request
(uvicorn's parsing, other requests' turns) and the client's own wake-up. Benchmark only, not the product."""

from __future__ import annotations

import time
from typing import Any

try:
    from yigongti.app import factory as _factory
except ImportError:  # not the server
    _factory = None  # type: ignore[assignment]

if _factory is not None:
    _create_app = _factory.create_app

    def _timed(app: Any) -> Any:
        async def timed_app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            t0 = time.perf_counter()

            async def timed_send(message: Any) -> None:
                if message["type"] == "http.response.start":
                    us = int((time.perf_counter() - t0) * 1e6)
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (b"x-bench-app-us", str(us).encode())]}
                await send(message)

            await app(scope, receive, timed_send)

        return timed_app

    def create_app(*args: Any, **kwargs: Any) -> Any:
        app = _create_app(*args, **kwargs)
        state_holder = _timed(app)
        state_holder.state = app.state  # serve reads application.state.ctx
        return state_holder

    _factory.create_app = create_app  # type: ignore[assignment]
