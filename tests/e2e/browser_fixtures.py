"""Browser fixtures shared by the page tests in a real browser (tests/e2e): Debian's chromium driven by Playwright
against uvicorn on a free loopback port, the example county loaded, a resident (R0026) and a bureau official.
The fixtures (``server``, ``browser``, ``page``) are in this folder's conftest.py; the helpers here."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "INSIDE_WINDOW", "OUTSIDE_WINDOW", "PASSWORD", "Running", "free_port",
           "needs_chromium", "playwright_api", "sign_in"]

CHROMIUM = Path("/usr/bin/chromium")
playwright_api = pytest.importorskip("playwright.sync_api")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")

INSIDE_WINDOW = date(2025, 11, 15)
OUTSIDE_WINDOW = date(2026, 3, 1)
PASSWORD = "browser-pass-1"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@dataclass
class Running:
    app: FastAPI
    url: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sign_in(page: object, server: Running, username: str) -> None:
    page.goto(server.url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
