"""Shared test fixtures: the worked example county (示例县) in tests/data/county-2026.

``tests/data/county-2026/input`` is a small county in the format of the data contract (docs/en/data-contract.md);
``expected`` holds what the rules (docs/en/rules.md) give for 2026 with the default policy, from an independent
implementation. ``YIGONGTI_EXAMPLES`` may name another folder holding a ``county-2026`` of the same shape.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def _find_examples() -> Path:
    env = os.environ.get("YIGONGTI_EXAMPLES")
    folder = Path(env) if env else DATA
    if not (folder / "county-2026" / "input").is_dir():
        source = "YIGONGTI_EXAMPLES" if env else "the repository"
        raise RuntimeError(f"{folder / 'county-2026' / 'input'} not found (from {source})")
    return folder


EXAMPLES = _find_examples()
EXAMPLE_INPUT = EXAMPLES / "county-2026" / "input"
EXAMPLE_EXPECTED = EXAMPLES / "county-2026" / "expected"


@pytest.fixture(scope="session")
def example_input() -> Path:
    return EXAMPLE_INPUT


@pytest.fixture(scope="session")
def example_expected() -> Path:
    return EXAMPLE_EXPECTED
