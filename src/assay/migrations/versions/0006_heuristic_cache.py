"""The result cache of heuristics: each one's last run key and bucket digests.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Migrations do not import the models (they change); the same JSON type as 0001 uses.
JsonType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Null: nothing cached, the next run runs every record.
    with op.batch_alter_table("heuristic") as batch:
        batch.add_column(sa.Column("cache", JsonType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("heuristic") as batch:
        batch.drop_column("cache")
