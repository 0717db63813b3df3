"""cases.search_terms: the bigram index of the case text search (工单检索)

- ``cases.search_terms``: the bigrams of content and address (townops.cases.bigrams),
  backfilled here in batches of ids;
- PostgreSQL: their tsvector as the stored generated column ``cases.search_vector``, and
  the GIN index ``ix_cases_search_terms`` on it;
- SQLite: the FTS5 table ``cases_search`` (external content) and the triggers that keep
  it in step with ``cases``.

The DDL is townops.cases.search's (one text for the migration, the tests and a later
migration that must re-create the SQLite triggers after rebuilding ``cases``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from townops.cases import search
from townops.cases.bigrams import document_terms

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def _backfill(conn: sa.Connection) -> None:
    """Every existing case's terms, a batch of ids at a time (memory stays flat on a
    million cases)."""
    cases = sa.table(
        "cases",
        sa.column("id", sa.Integer),
        sa.column("content", sa.Text),
        sa.column("address", sa.String),
        sa.column("search_terms", sa.Text),
    )
    update = (
        sa.update(cases)
        .where(cases.c.id == sa.bindparam("case_id"))
        .values(search_terms=sa.bindparam("terms"))
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(cases.c.id, cases.c.content, cases.c.address)
            .where(cases.c.id > last)
            .order_by(cases.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        conn.execute(
            update,
            [{"case_id": r.id, "terms": document_terms(r.content, r.address)} for r in rows],
        )
        last = rows[-1].id


def upgrade() -> None:
    op.add_column("cases", sa.Column("search_terms", sa.Text(), nullable=False, server_default=""))
    conn = op.get_bind()
    # Filled before the index exists: one index build, not a million index updates.
    _backfill(conn)
    if conn.dialect.name == "postgresql":
        # A GIN build sorts its entries in this memory (64 MB by default): a million
        # cases' bigrams build several times faster with more. For this transaction only.
        op.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for statement in search.POSTGRES_CREATE:
            op.execute(statement)
    else:
        op.execute(search.SQLITE_TABLE)
        op.execute(search.SQLITE_REBUILD)
        for trigger in search.SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in search.POSTGRES_DROP:
            op.execute(statement)
    else:
        for statement in search.SQLITE_DROP:
            op.execute(statement)
    # Both databases drop a plain column in place (SQLite since 3.35): Alembic's batch mode
    # would copy ``cases`` and drop the old table, which the rows referring to it forbid.
    op.execute("ALTER TABLE cases DROP COLUMN search_terms")
