"""The GET routes of an app, walked through the routers it includes (FastAPI keeps an included router as one entry of
``app.routes``), for the tests that must cover every page or every download without listing them by hand."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi import FastAPI
from fastapi.routing import APIRoute

__all__ = ["get_paths"]


def _walk(routes: Iterable[object], prefix: str) -> Iterator[tuple[str, APIRoute]]:
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(inner.routes, prefix + str(getattr(context, "prefix", "") or ""))
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def get_paths(app: FastAPI) -> list[str]:
    """The path of every GET route of ``app`` (with its ``{parameters}``), in the order the app matches them."""
    return [path for path, route in _walk(app.routes, "") if "GET" in route.methods]
