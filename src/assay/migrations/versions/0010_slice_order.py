"""Static slices keep an order: each record's position (an outlier slice is ranked).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("slice_record") as batch:
        batch.add_column(sa.Column("position", sa.Integer(), nullable=False, server_default="0"))
    # The slices made before kept their records in id order.
    op.execute("UPDATE slice_record SET position = record_id")


def downgrade() -> None:
    with op.batch_alter_table("slice_record") as batch:
        batch.drop_column("position")
