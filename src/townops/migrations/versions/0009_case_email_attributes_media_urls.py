"""cases: the requester's e-mail, category attributes, every picture link; categories:
their attributes

- ``cases.requester_email``: contact data like the phone (Open311 clients such as
  FixMyStreet send an e-mail and often no phone).
- ``cases.attributes``: the category's attributes a case was filed with (a street light's
  pole number), checked against ``categories.attributes``.
- ``cases.media_urls``: every picture link a client sent (``media_url`` stays the first).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("requester_email", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("attributes", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("media_urls", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attributes", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_column("attributes")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("media_urls")
        batch_op.drop_column("attributes")
        batch_op.drop_column("requester_email")
