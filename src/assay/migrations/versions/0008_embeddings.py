"""Embeddings: one set of vectors per (attribute, embedder, level, reducer) of a project.

The vectors live in the data dir (``<data_dir>/embeddings/<id>/``), not in the database;
this table names them and remembers their state and last run.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JsonType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "embedding",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("project.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "attribute_id",
            sa.Integer(),
            sa.ForeignKey("attribute.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("embedder", sa.String(500), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("reducer", sa.String(40), nullable=True),
        sa.Column("dimensions", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("last_run", JsonType, nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "name"),
        sa.UniqueConstraint("project_id", "attribute_id", "embedder", "level", "reducer"),
    )


def downgrade() -> None:
    op.drop_table("embedding")
