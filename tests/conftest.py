"""Shared test fixtures: the worked example county (示例县) in tests/data/county-2026.

``tests/data/county-2026/input`` is a small county in the format of the data contract (docs/en/data-contract.md);
``expected`` holds what the rules (docs/en/rules.md) give for 2026 with the default policy, from an independent
implementation. ``YIGONGTI_EXAMPLES`` may name another folder holding a ``county-2026`` of the same shape.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
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


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """argon2 at its lowest cost while the tests run (the apps in a test process create and sign in hundreds of
    users: 0.2 CPU s per hash and per check at the production cost). The hashes are still argon2 (``$argon2id$``),
    checked for real, and a hash of the production cost still verifies (argon2 reads the cost from the hash); only
    the cost of hashes made in the test process differs. Apps in other processes (uvicorn workers) keep the
    production cost and rehash such a password at its first sign-in, as after raising the cost."""
    from argon2 import PasswordHasher

    from yigongti.platform import accounts

    kept = accounts._hasher, accounts._DUMMY_HASH
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    accounts._DUMMY_HASH = accounts._hasher.hash("not a password of anyone")
    try:
        yield
    finally:
        accounts._hasher, accounts._DUMMY_HASH = kept
