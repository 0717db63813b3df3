"""Alembic environment: the URL comes from the caller (townops db upgrade) or settings."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from townops.cases.search import PG_COLUMN, PG_INDEX, SEARCH_INDEX_TABLES
from townops.db import make_engine
from townops.models import Base
from townops.settings import get_settings

config = context.config
target_metadata = Base.metadata


def _include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Autogenerate leaves the text search's index alone: database-specific DDL of
    migration 0011 (an FTS5 table and its shadow tables; a generated vector column and its
    GIN index)."""
    if type_ == "table":
        return name not in SEARCH_INDEX_TABLES
    if type_ == "column":
        return name != PG_COLUMN
    return not (type_ == "index" and name == PG_INDEX)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or get_settings().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
