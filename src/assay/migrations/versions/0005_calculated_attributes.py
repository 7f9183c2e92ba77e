"""Calculated attributes: an attribute may carry Python code that computes its values.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Migrations do not import the models (they change); the same JSON type as 0001 uses.
JsonType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # code null: an uploaded attribute. code_version: bumped by every change of the code;
    # last_run: the last finished run (code version, records, time), null: never run.
    # In place, not a batch copy: on SQLite that drops the table, and the drop cascades to
    # record_text.
    op.add_column("attribute", sa.Column("code", sa.Text(), nullable=True))
    op.add_column(
        "attribute", sa.Column("code_version", sa.Integer(), nullable=False, server_default="1")
    )
    op.add_column("attribute", sa.Column("last_run", JsonType, nullable=True))


def downgrade() -> None:
    for column in ("last_run", "code_version", "code"):
        op.drop_column("attribute", column)
