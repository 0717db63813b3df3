"""device states: drop the index on last_seen (ingestion rewrites last_seen on every batch)

Every batch rewrites each of its devices' ``last_seen``. With an index on it, PostgreSQL
cannot update the row in place (no HOT update) and both databases rewrite an index entry per
device and batch; the UPDATE of the states took a quarter less time without it
(bench/pipeline.py). The queries on ``last_seen`` (the offline sweep, online rates) read
one row per device, which a scan of this small table does as well.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 23:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("device_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_states_last_seen"))


def downgrade() -> None:
    with op.batch_alter_table("device_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_states_last_seen"), ["last_seen"], unique=False)
