"""Alembic environment: the package's metadata, the URL (and PostgreSQL schema) from the configuration's attributes."""

from __future__ import annotations

from alembic import context

from yigongti.core.db import is_sqlite, make_engine
from yigongti.platform.migrations import target_metadata
from yigongti.platform.partitions import include_name

config = context.config
url = config.attributes.get("url")
schema = config.attributes.get("schema")
metadata = target_metadata()


def run_offline() -> None:
    context.configure(url=str(url), target_metadata=metadata, literal_binds=True,
                      render_as_batch=is_sqlite(url) if url is not None else False)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(url, schema=schema)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection: object) -> None:
    context.configure(connection=connection, target_metadata=metadata,  # type: ignore[arg-type]
                      render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
                      compare_type=True, include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
