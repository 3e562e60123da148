"""The app's data directory with a data folder already loaded, prepared once per test run and copied for each app a
test module builds on it: ``create_app`` on the copy finds the database migrated and filled, as on a second start,
instead of loading the county again (about a CPU second and a half each).

The template is made by start-up's own ``prepare`` (migrate, load the folder, keep policy.toml and loaded.toml): it
holds no session secret, no login buckets and no users, so each copy's app makes its own secret as on a first start.
For ``demo_accounts=False`` apps on SQLite with a given data folder; the tests of loading and of a first start build
their own directory.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from yigongti.app import startup
from yigongti.core.db import make_engine, make_session_factory
from yigongti.platform.settings import Settings

__all__ = ["prepared_data_dir"]

KEPT = ("yigongti.sqlite", startup.LOADED_FILE, startup.POLICY_FILE)
_PREPARED: dict[tuple[Path, date | None], Path] = {}


def _prepare(factory: pytest.TempPathFactory, folder: Path, today: date | None) -> Path:
    template = factory.mktemp("prepared")
    settings = Settings(data_dir=template, data_folder=folder, today=today, demo_accounts=False)
    engine = make_engine(settings.database_url)
    try:
        startup.prepare(settings, engine=engine, sessions=make_session_factory(engine), clock=settings.clock())
    finally:
        engine.dispose()
    conn = sqlite3.connect(template / "yigongti.sqlite")
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the file itself, ready to copy
    finally:
        conn.close()
    assert sorted(p.name for p in template.iterdir() if not p.name.endswith(("-wal", "-shm"))) == sorted(KEPT)
    return template


def prepared_data_dir(factory: pytest.TempPathFactory, target: Path, folder: Path, today: date | None) -> Path:
    """``target`` (made if missing) holding ``folder`` loaded as ``create_app`` loads it with ``today`` pinned; pass
    it as ``Settings(data_dir=target, data_folder=folder, today=today, demo_accounts=False)``."""
    key = (folder.resolve(), today)
    if key not in _PREPARED:
        _PREPARED[key] = _prepare(factory, folder, today)
    target.mkdir(parents=True, exist_ok=True)
    for kept in KEPT:
        shutil.copy2(_PREPARED[key] / kept, target / kept)  # with its mode (600 for the toml files)
    return target
