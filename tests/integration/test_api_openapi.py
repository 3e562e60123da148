"""The API against its own OpenAPI spec (schemathesis): no answer is a server error, whatever the input, signed in
as a resident and as the insurance bureau. Few examples per operation, so that it stays quick."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from api_fixtures import api_app, login, make_user  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from yigongti.app.factory import OPENAPI_URL


@pytest.fixture(scope="module")
def tokens(api_app: FastAPI) -> dict[str, dict[str, str]]:  # noqa: F811
    make_user(api_app, "fuzz-resident", "resident", person_id="R0001")
    make_user(api_app, "fuzz-bureau", "insurance_bureau", county_code="513433")
    with TestClient(api_app) as c:
        return {"resident": login(c, "fuzz-resident"), "bureau": login(c, "fuzz-bureau"), "anonymous": {}}


def _fuzz(op: Any, headers: dict[str, str], examples: int) -> None:
    @given(case=op.as_strategy())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        case.call_and_validate(headers=dict(headers), checks=[not_a_server_error])

    run()


@pytest.mark.parametrize("who", ["resident", "bureau", "anonymous"])
def test_no_server_errors(api_app: FastAPI, tokens: dict[str, dict[str, str]], who: str) -> None:  # noqa: F811
    schema = schemathesis.openapi.from_asgi(OPENAPI_URL, api_app)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 10
    for op in operations:
        if op.path == "/api/token" and op.method.upper() == "DELETE" and who != "anonymous":
            continue  # would revoke the shared token for the next operations
        _fuzz(op, tokens[who], 4 if who == "anonymous" else 6)


def test_every_api_operation_on_persons_declares_the_bearer_scheme(api_app: FastAPI) -> None:  # noqa: F811
    spec = TestClient(api_app).get(OPENAPI_URL).json()
    person_ops = [(path, method, op) for path, ops in spec["paths"].items() if path.startswith("/api/persons")
                  for method, op in ops.items()]
    assert ("/api/persons/{person_id}/choices", "post") in {(p, m) for p, m, _ in person_ops}
    for path, method, op in person_ops:
        assert {"HTTPBearer": []} in op.get("security", []), f"{method.upper()} {path}"
