"""Loaded by ``bench_web.py``'s server process and its workers (this folder first on their ``PYTHONPATH``): every
answer of the app gets a header ``x-bench-app-us``, the microseconds from when the request entered the app (the
outermost ASGI layer, before the in-flight bound) to when its answer started. The client subtracts it from the
time it waited for the answer: the rest is the kernel, the worker's event loop before the app saw the request
(uvicorn's parsing, other requests' turns) and the client's own wake-up. Benchmark only, not the product.

Nothing is imported at start-up (a uvicorn worker must answer its supervisor's ping within seconds): an import hook
wraps ``yigongti.app.factory.create_app`` when that module is first imported."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import time
from types import ModuleType
from typing import Any

TARGET = "yigongti.app.factory"


def _timed(app: Any) -> Any:
    async def timed_app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        t0 = time.perf_counter()

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                us = int((time.perf_counter() - t0) * 1e6)
                message = {**message, "headers": [*message.get("headers", []), (b"x-bench-app-us", str(us).encode())]}
            await send(message)

        await app(scope, receive, timed_send)

    timed_app.state = app.state  # type: ignore[attr-defined]  # serve reads application.state.ctx
    return timed_app


def _patch(module: ModuleType) -> None:
    create_app = module.create_app

    def timed_create_app(*args: Any, **kwargs: Any) -> Any:
        return _timed(create_app(*args, **kwargs))

    module.create_app = timed_create_app  # type: ignore[attr-defined]


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def create_module(self, spec: Any) -> Any:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        _patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


sys.meta_path.insert(0, _Finder())
