"""case photos: the photos table (image bytes kept in the database)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import townops.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=10), nullable=True),
        sa.Column("uploader_user_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", townops.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("thumb", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_photos_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["uploader_user_id"], ["users.id"], name=op.f("fk_photos_uploader_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
    )
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_photos_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_photos_uploader_user_id_created_at",
            ["uploader_user_id", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_index("ix_photos_uploader_user_id_created_at")
        batch_op.drop_index(batch_op.f("ix_photos_case_id"))

    op.drop_table("photos")
