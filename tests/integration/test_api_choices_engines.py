"""The choice (``POST /api/persons/{id}/choices``, the web benchmark's request) the same on SQLite and PostgreSQL:
accepted, then changed (the designation follows the last one, each audited), refused and kept, 401 / 403 / 404, and
a cached token dead at once after a sign-out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, login, make_user
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from store_fixtures import scratch_url

from yigongti.app.factory import create_app
from yigongti.core.audit import AuditRow
from yigongti.enrollment.store import ChoiceRow, DesignationRow
from yigongti.platform.settings import Settings

FIRST = {"consortium_id": "G1", "township_id": "G1-T1", "village_id": "G1-T1-V2"}
SECOND = {"consortium_id": "G1", "township_id": "G1-T1", "village_id": "G1-T1-V1"}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        example_input: Path) -> Iterator[FastAPI]:
    with scratch_url(request.param) as url:
        built = create_app(Settings(data_dir=tmp_path_factory.mktemp("serve"), db_url=url, data_folder=example_input,
                                    today=INSIDE_WINDOW, demo_accounts=False, token_cache_seconds=300))
        try:
            yield built
        finally:
            built.state.ctx.engine.dispose()


def test_choices_are_kept_designated_and_audited(app: FastAPI) -> None:
    make_user(app, "r8", "resident", person_id="R0008")
    with TestClient(app) as c:
        headers = login(c, "r8")
        ids = []
        for body in (FIRST, SECOND, FIRST):
            r = c.post("/api/persons/R0008/choices", json=body, headers=headers)
            assert r.status_code == 201, r.text
            assert r.json()["accepted"] is True and r.json()["applied_to"] == ["R0008"]
            ids.append(r.json()["choice_id"])
        r = c.post("/api/persons/R0008/choices", json={**FIRST, "village_id": "G2-T1-V1"}, headers=headers)
        assert r.status_code == 409 and r.json()["detail"]["refusal"]["code"] == "village_not_under_township"
    with app.state.ctx.sessions() as s:
        kept = s.execute(select(ChoiceRow.choice_id, ChoiceRow.status, ChoiceRow.village_id)
                         .where(ChoiceRow.person_id == "R0008", ChoiceRow.channel == "api")
                         .order_by(ChoiceRow.choice_id)).all()
        assert [(k.choice_id, k.status, k.village_id) for k in kept][:3] == [
            (ids[0], "valid", "G1-T1-V2"), (ids[1], "valid", "G1-T1-V1"), (ids[2], "valid", "G1-T1-V2")]
        assert [(k.status, k.village_id) for k in kept][3:] == [("refused", "G2-T1-V1")]
        d = s.scalars(select(DesignationRow).where(DesignationRow.person_id == "R0008",
                                                   DesignationRow.year == 2026)).one()
        assert (d.choice_id, d.village_id, d.source) == (ids[2], "G1-T1-V2", "choice")
        actions = s.scalars(select(AuditRow.action).where(AuditRow.actor == "r8 (resident)",
                                                          AuditRow.action.like("choice.%"))).all()
        assert sorted(actions) == ["choice.accepted"] * 3 + ["choice.refused"]


def test_who_may_choose(app: FastAPI) -> None:
    make_user(app, "r10", "resident", person_id="R0010")
    make_user(app, "bureau-c", "insurance_bureau", county_code="513433")
    with TestClient(app) as c:
        assert c.post("/api/persons/R0100/choices", json=FIRST, headers=login(c, "r10")).status_code == 404
        assert c.post("/api/persons/R0011/choices", json=FIRST, headers=login(c, "bureau-c")).status_code == 403
        r = c.post("/api/persons/R0010/choices", json=FIRST, headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401
        headers = login(c, "r10")
        assert c.post("/api/persons/R0010/choices", json=FIRST, headers=headers).status_code == 201  # now cached
        assert c.post("/api/logout", headers=headers).status_code == 204
        assert c.post("/api/persons/R0010/choices", json=FIRST, headers=headers).status_code == 401
