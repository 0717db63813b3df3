"""The Alembic migrations build exactly the schema the models describe, on both back-ends,
and the newest ones step down and up again with the data they hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from tests.own_database import own_engine
from townops.access.actor import SYSTEM
from townops.cases import search
from townops.cases.models import Case
from townops.cases.schemas import CaseCreate
from townops.cases.service import CaseFilters, create_case, list_cases_for
from townops.migrate import alembic_config, upgrade
from townops.models import Base


def _not_search_index(name: str | None, type_: str, _parents: Any) -> bool:
    # The text search's index objects are database-specific DDL of migration 0011 (an FTS5
    # table and its shadow tables; a generated vector column and its GIN index), not ORM
    # metadata.
    if type_ == "table":
        return name not in search.SEARCH_INDEX_TABLES
    if type_ == "column":
        return name != search.PG_COLUMN
    return not (type_ == "index" and name == search.PG_INDEX)


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": _not_search_index}
        )
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def _downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def _found(engine: Engine, q: str) -> list[int]:
    with Session(engine) as s:
        rows, _more, _total = list_cases_for(s, actor=SYSTEM, filters=CaseFilters(q=q))
        return [c.id for c in rows]


def test_the_search_index_steps_down_and_up_and_is_backfilled(
    engine: Engine, tmp_path: Path
) -> None:
    """0011 down to 0010 and up again: the terms of the cases already there are
    backfilled and the index finds them."""
    # PostgreSQL: a database named after the shared test database, so parallel runs on
    # other test databases never meet.
    name = f"{engine.url.database}_0011" if engine.dialect.name == "postgresql" else "migrated"
    with own_engine(engine, tmp_path, name) as own:
        with Session(own) as s:
            body = CaseCreate(category="street_light", content="路灯不亮了", address="东靖路")
            case_id = create_case(s, actor=SYSTEM, data=body).id
            s.commit()
        _downgrade(own, "0010")
        with own.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("cases")}
        assert "search_terms" not in columns
        upgrade(own)
        with Session(own) as s:
            assert s.scalar(select(Case.search_terms).where(Case.id == case_id)) == (
                "路灯 灯不 不亮 亮了 东靖 靖路"
            )
        assert _found(own, "路灯") == [case_id]
        assert _found(own, "靖路") == [case_id]
        assert _found(own, "路灯亮") == []


def test_the_sqlite_index_is_kept_in_step_by_its_triggers(engine: Engine) -> None:
    """A later migration that rebuilds ``cases`` on SQLite drops these triggers with the
    old table: it must create them again (townops.cases.search.SQLITE_TRIGGERS)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        names = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
    assert set(search.SQLITE_TRIGGER_NAMES) <= names
