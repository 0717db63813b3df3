"""A database of a test's own, where requests really commit (for races between requests).

The shared test database runs every test inside one rolled-back transaction, so two
requests there never race. These tests get a SQLite file or a PostgreSQL database of
their own, with the Gaohang town and its demo users, and an app serving it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from townops.app import create_app
from townops.db import make_engine
from townops.settings import Settings
from townops.townfiles.loader import default_town_dir, load_town
from townops.townfiles.sync import install_town


@contextmanager
def own_engine(
    shared: Engine, tmp_path: Path, name: str, *, with_demo_users: bool = True
) -> Iterator[Engine]:
    """``name``: this file's own PostgreSQL database (dropped afterwards)."""
    admin: Engine | None = None
    if shared.dialect.name == "postgresql":
        admin = create_engine(shared.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        own = make_engine(shared.url.set(database=name).render_as_string(hide_password=False))
    else:
        own = make_engine(f"sqlite:///{tmp_path / (name + '.db')}")
    try:
        install_town(own, load_town(default_town_dir()), with_demo_users=with_demo_users)
        yield own
    finally:
        own.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@contextmanager
def own_app(shared: Engine, tmp_path: Path, name: str) -> Iterator[tuple[Any, Engine]]:
    """An app serving a database of its own (see ``own_engine``), and that database."""
    with own_engine(shared, tmp_path, name) as own:
        yield app_on(own), own


def app_on(engine: Engine, **settings: Any) -> Any:
    return create_app(
        Settings(
            database_url=engine.url.render_as_string(hide_password=False),
            secret_key="test-secret-key-that-is-32-bytes-long!",
            **settings,
        ),
        engine=engine,
    )
