"""The API against its own OpenAPI spec (schemathesis): no answer is a server error, whatever the input (NUL bytes
and lone surrogates included), signed in as a resident and as the insurance bureau, on SQLite and on PostgreSQL
(which refuses NUL in text). Few examples per operation, so that it stays quick."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from api_fixtures import api_app, login, make_user  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from security_fixtures import Live, live  # noqa: F401

from yigongti.app.factory import OPENAPI_URL


@pytest.fixture(scope="module")
def tokens(live: Live) -> dict[str, dict[str, str]]:  # noqa: F811
    return {"resident": live.login("fuzz-resident", "resident", person_id="R0001"),
            "bureau": live.login("fuzz-bureau", "insurance_bureau", county_code="513433"), "anonymous": {}}


def _with_nul(case: Any) -> bool:
    """Put a NUL byte into every string of the case's path, query and (JSON or form) body; False if it has none."""
    changed = False
    for part in (case.path_parameters, case.query, case.body):
        if isinstance(part, dict):
            for key, value in part.items():
                if isinstance(value, str):
                    part[key] = value + "\x00"
                    changed = True
    return changed


def _fuzz(op: Any, headers: dict[str, str], examples: int) -> None:
    @given(case=op.as_strategy())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        case.call_and_validate(headers=dict(headers), checks=[not_a_server_error])
        if _with_nul(case):  # and once more with a NUL in every string: random text finds one only by luck
            case.call_and_validate(headers=dict(headers), checks=[not_a_server_error])

    run()


@pytest.mark.parametrize("who", ["resident", "bureau", "anonymous"])
def test_no_server_errors(live: Live, tokens: dict[str, dict[str, str]], who: str) -> None:  # noqa: F811
    schema = schemathesis.openapi.from_asgi(OPENAPI_URL, live.app)
    schema.config.generation.update(allow_x00=True)  # NUL bytes in every generated string (the default, pinned)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 10
    for op in operations:
        if op.path == "/api/token" and op.method.upper() == "DELETE" and who != "anonymous":
            continue  # would revoke the shared token for the next operations
        _fuzz(op, tokens[who], 3 if who == "anonymous" else 4)


def test_every_api_operation_on_persons_declares_the_bearer_scheme(api_app: FastAPI) -> None:  # noqa: F811
    spec = TestClient(api_app).get(OPENAPI_URL).json()
    person_ops = [(path, method, op) for path, ops in spec["paths"].items() if path.startswith("/api/persons")
                  for method, op in ops.items()]
    assert ("/api/persons/{person_id}/choices", "post") in {(p, m) for p, m, _ in person_ops}
    for path, method, op in person_ops:
        assert {"HTTPBearer": []} in op.get("security", []), f"{method.upper()} {path}"
