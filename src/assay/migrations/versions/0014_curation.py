"""Selection, splits, label quality and near-duplicates: resumable runs and what they found.

- ``analysis_run``: one run of a selection, split, quality check or duplicate search, keyed
  by the fingerprint of its inputs and parameters (a rerun on unchanged inputs finds it done).
- ``run_chunk``: the stored result of one chunk of a run (numpy arrays), written in its own
  transaction as it finishes, so that a killed run resumes without recomputing it.
- ``finding``: a run's ranked records (a selection's order, suspected label errors,
  duplicate groups), each list in its order.
- ``record_set``: the named set (``train``, ``validation``, ``test``...) of each record of
  the project's split.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JsonType = sa.JSON().with_variant(JSONB(), "postgresql")


def _run(primary_key: bool = False) -> sa.Column[int]:
    return sa.Column(
        "run_id",
        sa.Integer(),
        sa.ForeignKey("analysis_run.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def _record(primary_key: bool = False) -> sa.Column[int]:
    return sa.Column(
        "record_id",
        sa.Integer(),
        sa.ForeignKey("record.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "analysis_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("project.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("params", JsonType, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("summary", JsonType, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("project_id", "kind", "fingerprint"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "run_chunk",
        _run(primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "finding",
        _run(primary_key=True),
        sa.Column("kind", sa.String(40), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        _record(),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("group_no", sa.Integer(), nullable=True),
        sa.Column("given", JsonType, nullable=True),
        sa.Column("suggested", JsonType, nullable=True),
        sa.Column("mixed", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_finding_run_group", "finding", ["run_id", "kind", "group_no"])
    op.create_table(
        "record_set",
        _record(primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("project.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("analysis_run.id", ondelete="SET NULL"),
            nullable=True,
        ),
    )
    op.create_index("ix_record_set_project_name", "record_set", ["project_id", "name"])


def downgrade() -> None:
    op.drop_index("ix_record_set_project_name", "record_set")
    op.drop_index("ix_finding_run_group", "finding")
    for table in ("record_set", "finding", "run_chunk", "analysis_run"):
        op.drop_table(table)
