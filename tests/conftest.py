"""Shared test fixtures: the worked example county of ../shared/examples, PostgreSQL availability."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _find_examples() -> Path:
    env = os.environ.get("YIGONGTI_EXAMPLES")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "examples", ROOT / "tests" / "data" / "examples"]
    for c in candidates:
        if (c / "county-2026" / "input").is_dir():
            return c
    raise RuntimeError("../shared/examples not found; set YIGONGTI_EXAMPLES")


EXAMPLES = _find_examples()
EXAMPLE_INPUT = EXAMPLES / "county-2026" / "input"
EXAMPLE_EXPECTED = EXAMPLES / "county-2026" / "expected"


@pytest.fixture(scope="session")
def example_input() -> Path:
    return EXAMPLE_INPUT


@pytest.fixture(scope="session")
def example_expected() -> Path:
    return EXAMPLE_EXPECTED
