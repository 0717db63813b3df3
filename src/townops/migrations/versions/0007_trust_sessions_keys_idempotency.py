"""trust: revocable sessions, scoped API keys, idempotent case creation

- ``users.token_generation``: every bearer token carries the generation it was issued in;
  logout, deactivation and a change of role, scope or department bump it, so older tokens
  are refused on their next request.
- ``api_keys.purpose`` (``open311`` | ``ingest``) and ``api_keys.bound_to``: an Open311 key
  files requests and nothing else; an ingestion key posts readings only for the devices it
  is bound to.
- ``idempotency_keys``: a client that retries ``POST /cases`` (or Open311's POST) with the
  same ``Idempotency-Key`` gets the case it created the first time, not a second one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import townops.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_generation", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=20), server_default="open311", nullable=False)
        )
        batch_op.add_column(sa.Column("bound_to", sa.JSON(), nullable=True))
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("created_at", townops.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_idempotency_keys_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("owner", "key", name=op.f("uq_idempotency_keys_owner_key")),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("bound_to")
        batch_op.drop_column("purpose")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("token_generation")
