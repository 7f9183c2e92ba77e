"""The model loop: trained versions per task, the live model's history, the fixed test
split, and the predictions kept for review.

- ``model_version``: a trained model (algorithm, parameters, fingerprints, metrics, artifact).
- ``model_task``: a task's settings, test-split salt and live version (one row per task).
- ``split_record``: each record's side of its task's test split, fixed once assigned.
- ``model_event``: promotions and rollbacks, with their reasons.
- ``prediction``: served predictions, pending until reviewed.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JsonType = sa.JSON().with_variant(JSONB(), "postgresql")


def _project() -> sa.Column[int]:
    return sa.Column(
        "project_id", sa.Integer(), sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False
    )


def _task(primary_key: bool = False) -> sa.Column[int]:
    return sa.Column(
        "task_id",
        sa.Integer(),
        sa.ForeignKey("labeling_task.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "model_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        _project(),
        _task(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(40), nullable=False),
        sa.Column("requested", sa.String(40), nullable=False),
        sa.Column("parameters", JsonType, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("training", JsonType, nullable=False),
        sa.Column("test", JsonType, nullable=False),
        sa.Column("metrics", JsonType, nullable=False),
        sa.Column("decision", JsonType, nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("task_id", "version"),
    )
    op.create_table(
        "model_task",
        _task(primary_key=True),
        _project(),
        sa.Column("split_salt", sa.String(64), nullable=False),
        sa.Column("test_fraction", sa.Float(), nullable=False),
        sa.Column("split_drawn", sa.Boolean(), nullable=False),
        sa.Column("retrain_after", sa.Integer(), nullable=False),
        sa.Column("audit_share", sa.Float(), nullable=False),
        sa.Column("metric", sa.String(20), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("recall_margin", sa.Float(), nullable=False),
        sa.Column("labels_at_training", sa.Integer(), nullable=False),
        sa.Column(
            "live_version_id",
            sa.Integer(),
            sa.ForeignKey("model_version.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "split_record",
        _task(primary_key=True),
        sa.Column(
            "record_id",
            sa.Integer(),
            sa.ForeignKey("record.id", ondelete="CASCADE"),
            primary_key=True,
            nullable=False,
        ),
        sa.Column("in_test", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_split_record_task_test", "split_record", ["task_id", "in_test"])
    op.create_table(
        "model_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        _task(),
        sa.Column(
            "version_id",
            sa.Integer(),
            sa.ForeignKey("model_version.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_model_event_task_id", "model_event", ["task_id", "id"])
    op.create_table(
        "prediction",
        sa.Column("id", sa.String(32), primary_key=True),
        _project(),
        _task(),
        sa.Column(
            "version_id",
            sa.Integer(),
            sa.ForeignKey("model_version.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "record_id",
            sa.Integer(),
            sa.ForeignKey("record.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("output", JsonType, nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("scores", JsonType, nullable=False),
        sa.Column("audit", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("given", JsonType, nullable=True),
        sa.Column("reviewer", sa.String(200), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_prediction_task_status", "prediction", ["task_id", "status", "created_at"])


def downgrade() -> None:
    for table in ("prediction", "model_event", "split_record", "model_task", "model_version"):
        op.drop_table(table)
