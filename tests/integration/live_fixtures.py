"""A running app on the worked example county on SQLite AND PostgreSQL (a schema per module), with users of every
role signed in by bearer token: the shared record's and the tele-consultations' tests.

Import into a test module: ``from live_fixtures import V1, Live, live  # noqa: F401``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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

__all__ = ["USERS", "V1", "Live", "live", "running"]

V1 = "G1-T1-V1"
USERS = {"gp": ("clinician", {"inst_id": V1}), "h1-doc": ("clinician", {"inst_id": "G1-H"}),
         "h2-doc": ("clinician", {"inst_id": "G2-H"}), "t2-doc": ("clinician", {"inst_id": "G1-T2"}),
         "v1-admin": ("institution_admin", {"inst_id": V1}),
         "h1-admin": ("institution_admin", {"inst_id": "G1-H"}), "t1-doc": ("clinician", {"inst_id": "G1-T1"}),
         "g1-admin": ("consortium_admin", {"consortium_id": "G1"}),
         "g2-admin": ("consortium_admin", {"consortium_id": "G2"}),
         "bureau": ("insurance_bureau", {"county_code": "513433"}),
         "resident": ("resident", {"person_id": "R0008"}), "sysadmin": ("system_admin", {})}


@dataclass
class Live:
    kind: str
    app: FastAPI
    client: TestClient
    h: dict[str, dict[str, str]]

    def audit(self, person_id: str, action: str) -> list[tuple[str, dict]]:
        with self.app.state.ctx.sessions() as s:
            rows = s.execute(text("SELECT actor, detail FROM audit_log WHERE person_id = :p AND action = :a "
                                  "ORDER BY audit_id"), {"p": person_id, "a": action}).all()
        return [(r[0], json.loads(r[1]) if r[1] else {}) for r in rows]

    def audit_count(self, person_id: str, action: str) -> int:
        return len(self.audit(person_id, action))

    def record(self, user: str, person_id: str, **params: object) -> int:
        return self.client.get(f"/api/persons/{person_id}/record", params=params, headers=self.h[user]).status_code


@contextmanager
def running(kind: str, base: Path, example_input: Path,
            users: Mapping[str, tuple[str, Mapping[str, str]]]) -> Iterator[Live]:
    """The app on ``kind`` (``sqlite``, or ``postgresql`` in a schema of its own, dropped after) with ``users``
    (name -> (role, anchor)) created and holding bearer tokens; PostgreSQL unreachable: the test is skipped."""
    db_url, schema = "", None
    if kind == "postgresql":
        reason = pg_unreachable()
        if reason:
            pytest.skip(reason)
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with make_engine(PG_URL).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        db_url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    app = create_app(Settings(data_dir=base / "serve", db_url=db_url, data_folder=example_input, today=INSIDE_WINDOW,
                              demo_accounts=False, login_burst=50, login_refill_seconds=3600))
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            ctx = app.state.ctx
            h = {}
            for name, (role, anchor) in users.items():
                with ctx.sessions.begin() as s:
                    create_user(s, username=name, password=PASSWORD, role=role, now=ctx.clock.now(), **anchor)
                r = c.post("/api/token", data={"username": name, "password": PASSWORD})
                assert r.status_code == 200, r.text
                h[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            yield Live(kind, app, c, h)
    finally:
        app.state.ctx.engine.dispose()
        if schema:
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         example_input: Path) -> Iterator[Live]:
    with running(request.param, tmp_path_factory.mktemp(f"record-{request.param}"), example_input, USERS) as found:
        yield found
