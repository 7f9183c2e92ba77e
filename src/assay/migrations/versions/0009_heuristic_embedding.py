"""Active learners and zero-shot heuristics: the embedding a heuristic reads, its settings.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Migrations do not import the models (they change); the same JSON type as 0001 uses.
JsonType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Null for labeling functions; an embedding's deletion leaves the heuristic without one
    # (its runs then fail saying so) rather than deleting it.
    with op.batch_alter_table("heuristic") as batch:
        batch.add_column(sa.Column("embedding_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("config", JsonType, nullable=True))
        batch.create_foreign_key(
            "fk_heuristic_embedding_id_embedding",
            "embedding",
            ["embedding_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("heuristic") as batch:
        batch.drop_constraint("fk_heuristic_embedding_id_embedding", type_="foreignkey")
        batch.drop_column("config")
        batch.drop_column("embedding_id")
