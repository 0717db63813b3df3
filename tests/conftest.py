"""Test harness: the same tests on SQLite (default) and PostgreSQL.

``TOWNOPS_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/townops_test``
runs the storage tests on PostgreSQL; the database is created if missing. The schema is
built by the real Alembic migrations once per run, the Gaohang town is loaded, and every
test runs inside a transaction that is rolled back (routes' commits become savepoints).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from tests.factories import category_code, persona_headers
from townops import domains
from townops.access.actor import Actor
from townops.app import create_app
from townops.auth.models import User
from townops.auth.service import actor_for
from townops.db import make_engine
from townops.models import Base
from townops.settings import Settings
from townops.townfiles.loader import default_town_dir, load_town
from townops.townfiles.sync import install_town

# The case engine's subscribers (dispatch learning, photos), as the app and the CLI do.
domains.install()


def _ensure_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        )
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def _drop_everything(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TOWNOPS_TEST_DATABASE_URL")
    if url:
        if url.startswith("postgresql"):
            _ensure_postgres_database(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url, sqlite_savepoints=True)
    _drop_everything(eng)
    install_town(eng, load_town(default_town_dir()), with_demo_users=True)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


def _session_on(conn: Connection) -> Session:
    return Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    s = _session_on(connection)
    yield s
    s.close()


@pytest.fixture
def actor(session: Session) -> Callable[[str], Actor]:
    """``actor("housing")``: the demo persona as an Actor."""

    def make(username: str) -> Actor:
        user = session.scalars(select(User).where(User.username == username)).one()
        return actor_for(session, user)

    return make


@pytest.fixture
def app(engine: Engine, connection: Connection) -> Any:
    settings = Settings(
        database_url=str(engine.url), secret_key="test-secret-key-that-is-32-bytes-long!"
    )
    application = create_app(settings, engine=engine)
    application.state.session_factory = lambda: _session_on(connection)
    return application


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def login(client: TestClient) -> Callable[[str], dict[str, str]]:
    """``login("duty")`` → Authorization headers for that demo persona."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = persona_headers(client, username)
        return cache[username]

    return headers


@pytest.fixture
def housing_category(client: TestClient, login: Callable[[str], dict[str, str]]) -> str:
    """The housing office's first category whose deadline counts working days."""
    return category_code(client, login("duty"), "housing_office", working_days=True)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
