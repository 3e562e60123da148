"""HTTP security (安全头、CSRF与恶意字节): response headers, the CSRF token of page forms, hostile bytes refused.

The CSP allows only the app's own origin: every script, style, font and image is served by the app.
:class:`RefuseHostileInput` answers 400 to a request whose path, query, headers or text body hold a NUL byte, bytes
that are not UTF-8 or (JSON) a lone surrogate, before any route, database or form parser sees them: PostgreSQL
refuses NUL in text and a surrogate cannot be encoded, so these would otherwise end in a server error.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HOSTILE_INPUT", "SECURITY_HEADERS", "RefuseHostileInput", "SecurityHeaders", "csrf_matches",
           "new_csrf_token", "server_error"]

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(), camera=(), microphone=()",
}


class SecurityHeaders:
    """Pure ASGI middleware that adds :data:`SECURITY_HEADERS` to every HTTP response (streaming-safe)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self._raw if k not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing token never matches."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


HOSTILE_INPUT = "请求含有空字符或无效的 UTF-8 字符 / the request holds a NUL byte or text that is not valid UTF-8"

# bodies read as text by the routes: JSON (also when no content type is given), forms, multipart, text/*
_TEXT_BODIES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data", "text/")


def _bad_text(raw: bytes, *, percent: bool) -> str | None:
    """Why ``raw`` (percent-decoded first when ``percent``) is hostile, or None."""
    data = unquote_to_bytes(raw.replace(b"+", b" ")) if percent else raw
    if b"\x00" in data:
        return "NUL"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    return None


def _bad_json(body: bytes) -> str | None:
    """NUL or a lone surrogate in any string (key or value) of a JSON body; None also for a body that is not JSON
    (the route answers that with 422)."""
    try:
        doc = json.loads(body)
    except RecursionError:
        return "nested too deeply"
    except ValueError:
        return None
    todo: list[Any] = [doc]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return "NUL"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "lone surrogate"
    return None


class RefuseHostileInput:
    """Pure ASGI middleware (拒绝恶意字节): 400 for a NUL byte or invalid UTF-8 in the path, the query string or a
    header, and in a JSON, form, multipart or text body (a JSON body also for an escaped NUL ``\\u0000`` or a lone
    surrogate ``\\ud800``). A body of those types is read whole here and handed on unchanged; the app has no file
    upload, so a multipart body must be UTF-8 too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        why = (_bad_text(raw_path, percent=True) or ("NUL" if "\x00" in scope["path"] else None)
               or _bad_text(scope.get("query_string", b""), percent=True)
               or next(("header" for _, v in scope.get("headers", []) if b"\x00" in v), None))
        if why is not None:
            await _refuse(scope, receive, send, why)
            return
        content_type = next((v for k, v in scope.get("headers", []) if k == b"content-type"), b"")
        ctype = content_type.decode("latin-1").split(";")[0].strip().lower()
        if scope.get("method") in ("GET", "HEAD", "OPTIONS") or not (
                ctype == "" or ctype.endswith("+json") or ctype.startswith(_TEXT_BODIES)):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        why = _bad_text(body, percent=ctype == "application/x-www-form-urlencoded")
        if why is None and body and (ctype == "" or ctype.endswith("json")):
            why = _bad_json(body)
        if why is not None:
            await _refuse(scope, receive, send, why)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, why: str) -> None:
    await JSONResponse({"detail": HOSTILE_INPUT, "reason": why}, status_code=400)(scope, receive, send)


async def server_error(request: Request, exc: Exception) -> Response:
    """The answer to an unhandled error (服务器内部错误): a plain bilingual message, no detail, with the security
    headers (it is sent outside :class:`SecurityHeaders`, by Starlette's outermost error middleware)."""
    return JSONResponse({"detail": "服务器内部错误 / internal server error"}, status_code=500,
                        headers=SECURITY_HEADERS)
