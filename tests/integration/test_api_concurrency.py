"""Many clients at once: every request is answered (no database pool exhaustion, no deadlock between the thread
pool and the connection pool), against uvicorn on a free loopback port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from api_fixtures import api_app, login, make_user  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def base_url(api_app: FastAPI) -> Iterator[str]:  # noqa: F811
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(api_app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_two_hundred_concurrent_clients_are_all_answered(api_app: FastAPI, base_url: str) -> None:  # noqa: F811
    make_user(api_app, "many", "insurance_bureau", county_code="513433")
    with TestClient(api_app) as c:
        headers = login(c, "many")

    async def run() -> list[int]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=120) as http:
            answers = await asyncio.gather(*(http.get(f"/api/persons/R{(i % 225) + 1:04d}") for i in range(200)))
        return [r.status_code for r in answers]

    started = time.perf_counter()
    codes = asyncio.run(run())
    assert codes == [200] * 200
    assert time.perf_counter() - started < 60
