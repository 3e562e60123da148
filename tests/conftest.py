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


# Every JVM the tests start (the local Spark session of a test process, a standalone cluster's master, workers and
# executors, the driver of a `yigongti ... --engine spark` the tests run) lives a minute at most and computes a few
# thousand rows: the client compiler alone (C1, no C2) and the serial collector halve their CPU (the cluster's
# adjudicate: 19.7 CPU s instead of 40.8, benchmarks/RESULTS.md) and change no result (the same bytes). The JIT
# compiler is not what the tests check; a deployment keeps the JVM's defaults. Set JAVA_TOOL_OPTIONS to override.
JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
os.environ.setdefault("JAVA_TOOL_OPTIONS", JVM_OPTIONS)

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


# make test's scheduling (pytest-xdist, --dist loadfile): a module stays on one worker, so the run ends when the last
# module of the busier worker ends. xdist queues the modules by their number of tests (most first), which leaves
# modules of a few long tests (a Spark cluster, the simulator, a property test of adjudications) to the end; these go
# first instead, longest first (their cost on this 2-core machine, benchmarks/RESULTS.md), and the many short modules
# fill in after them. A module of few tests that grows long belongs in this list (test_fuzzed_folders, 6 tests, went
# from 6 to 57 s at load 12 with one test; test_engine_sql_shapes, 2 tests, 44 s, was queued among the last).
# The modules that use this process's local Spark session (engine.connect("spark"): getOrCreate, one JVM per process)
# run on one worker together, so that one JVM is started for all of them, not one on each worker.
SPARK_MODULES = ("test_adjudication_example.py", "test_appraisal_spark.py", "test_enroll_spark.py",
                 "test_settle_spark.py", "test_spark_cluster.py")
SPARK_GROUP = "tests/integration/[spark]"
LONGEST_FIRST = (SPARK_GROUP, "tests/integration/test_simulator.py", "tests/e2e/test_accessibility.py",
                 "tests/integration/test_year_run.py", "tests/integration/test_settle_folder.py",
                 "tests/integration/test_two_disease.py", "tests/e2e/test_screenshots.py",
                 "tests/integration/test_nhsa_import.py", "tests/integration/test_workforce_pages.py",
                 "tests/integration/test_claims_engine_check.py", "tests/integration/test_api_openapi.py",
                 "tests/integration/test_fuzzed_folders.py", "tests/integration/test_simulator_settle_worlds.py",
                 "tests/integration/test_engine_sql_shapes.py", "tests/integration/test_web_workers.py",
                 "tests/e2e/test_public_health_browser.py", "tests/integration/test_settle_one_path.py",
                 "tests/e2e/test_browser_flows.py", "tests/integration/test_enroll_cli.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LongestFirst(LoadFileScheduling):  # type: ignore[misc]
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            spark = path.startswith("tests/integration/") and path.rsplit("/", 1)[-1] in SPARK_MODULES
            return SPARK_GROUP if spark else path

        def _assign_work_unit(self, node: object) -> None:
            if not self.ordered:  # the first assignment: the queue is complete
                self.ordered = True
                for scope in reversed([s for s in LONGEST_FIRST if s in self.workqueue]):
                    self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return LongestFirst(config, log)
