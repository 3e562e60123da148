"""The app's data directory (SQLite file, loaded.toml, policy.toml) with a data folder already loaded, prepared once per
test run and copied for each app a test builds: ``create_app`` on the copy finds the database filled and migrated, as
on a second start, instead of loading the county again (about a CPU second each). The loading itself still runs once
per run (the first app of each folder and "today"), and the tests of loading and of a first start build their own.

A copy gets no ``secret.key`` (each app makes its own) and no demo accounts: for ``demo_accounts=False`` apps on SQLite.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from yigongti.app.factory import create_app
from yigongti.platform.settings import Settings

__all__ = ["prepared_data_dir"]

KEPT = ("yigongti.sqlite", "loaded.toml", "policy.toml")
_PREPARED: dict[tuple[Path, date | None], Path] = {}


def prepared_data_dir(factory: pytest.TempPathFactory, target: Path, folder: Path, today: date | None) -> Path:
    """``target`` (made if missing) holding ``folder`` loaded as ``create_app`` loads it with ``today`` pinned; pass
    it as ``Settings(data_dir=...)`` with the same ``data_folder`` and ``today``."""
    key = (folder.resolve(), today)
    if key not in _PREPARED:
        template = factory.mktemp("prepared")
        app = create_app(Settings(data_dir=template, data_folder=folder, today=today, demo_accounts=False))
        app.state.ctx.engine.dispose()
        conn = sqlite3.connect(template / "yigongti.sqlite")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the file itself, ready to copy
        conn.close()
        _PREPARED[key] = template
    target.mkdir(parents=True, exist_ok=True)
    for kept in KEPT:
        shutil.copy2(_PREPARED[key] / kept, target / kept)
    return target
