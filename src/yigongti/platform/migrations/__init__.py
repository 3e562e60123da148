"""Database migrations (数据库迁移) with Alembic, shipped inside the package: no alembic.ini is needed at run time.

``upgrade(url)`` brings a database (SQLite file or PostgreSQL) to the newest schema; ``current(url)`` tells the
revision it is at. A developer writes a new revision with ``alembic_config(url)`` and ``alembic.command.revision``
(``autogenerate=True`` compares the models with the database), as ``versions/NNNN_<what>.py`` whose
``down_revision`` is the previous head.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import URL

from yigongti.core.db import make_engine, resolve_url

__all__ = ["MODEL_MODULES", "alembic_config", "current", "head", "target_metadata", "upgrade"]

HERE = Path(__file__).resolve().parent

# Modules whose tables live in the shared metadata (a module that does not exist yet is skipped).
MODEL_MODULES = (
    "yigongti.core.audit",
    "yigongti.core.stamps",
    "yigongti.platform.shared_state",
    "yigongti.registry.store",
    "yigongti.enrollment.store",
    "yigongti.platform.accounts_store",
    "yigongti.referral.store",
    "yigongti.budget.agreement_store",
    "yigongti.care.store",
    "yigongti.public_health.store",
    "yigongti.pharmacy.store",
    "yigongti.workforce.store",
    "yigongti.centres.store",
    "yigongti.simulator.store",
)


def target_metadata() -> MetaData:
    """The metadata of every yigongti table (the models of every module in :data:`MODEL_MODULES`)."""
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    from yigongti.core.db import Base

    return Base.metadata


def alembic_config(url: str | URL | None = None, *, schema: str | None = None) -> Config:
    """An Alembic configuration for ``url`` without any ini file."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("version_locations", str(HERE / "versions"))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["url"] = resolve_url(url)
    cfg.attributes["schema"] = schema
    return cfg


def upgrade(url: str | URL | None = None, *, revision: str = "head", schema: str | None = None) -> None:
    """Apply every migration up to ``revision`` (default the newest) to the database at ``url``."""
    command.upgrade(alembic_config(url, schema=schema), revision)


def current(url: str | URL | None = None, *, schema: str | None = None) -> str | None:
    """The revision the database is at (None for an empty database)."""
    engine = make_engine(url, schema=schema)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision shipped with this version of yigongti."""
    rev = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert rev is not None
    return rev
