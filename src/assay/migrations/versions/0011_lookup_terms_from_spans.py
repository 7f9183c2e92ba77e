"""Lookup terms remember whether a labeled span put them there (not a hand), so that they
leave with the last span of their label and text.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The terms of before are taken as added by hand: they stay when spans go.
    with op.batch_alter_table("lookup_term") as batch:
        batch.add_column(
            sa.Column("from_spans", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("lookup_term") as batch:
        batch.drop_column("from_spans")
