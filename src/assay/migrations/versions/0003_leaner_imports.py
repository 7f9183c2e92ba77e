"""Fewer rows and index entries per imported record (measured on the import benchmark).

- ``record_text.offsets`` holds the token offsets of a text value (NULL for a category value),
  so a text is one row and one B-tree entry instead of two (``record_tokens`` is dropped).
- ``record.import_job_id`` loses its index: each imported record paid an entry (about a
  microsecond); removing a failed import's records walks the project's ``(project_id, id)``
  index instead.
- SQLite: ``record_text_fts`` is rebuilt with ``columnsize=0``: nothing ranks by document
  length, so the per-text row of its ``docsize`` table was pure cost. Its bounded 'merge'
  steps (``importing.merge_text_index``) now merge 16 segments of a level at a time instead
  of 4, which rewrites each entry about half as often; a query reads a few more segments,
  which costs it milliseconds (measured at 1,000,000 records). ``crisismerge`` (a merge
  inside the inserting transaction) is raised above that, so it stays a safety net.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FTS_OPTIONS = "content='', tokenize='trigram case_sensitive 1', detail='none'"


def _create_fts(options: str, config: dict[str, int]) -> None:
    op.execute("DROP TABLE IF EXISTS record_text_fts")
    op.execute(f"CREATE VIRTUAL TABLE record_text_fts USING fts5(folded, {options})")
    for key, value in config.items():
        op.execute(f"INSERT INTO record_text_fts(record_text_fts, rank) VALUES ('{key}', {value})")
    op.execute("INSERT INTO record_text_fts(rowid, folded) SELECT id, folded FROM record_text")
    op.execute("INSERT INTO record_text_fts(record_text_fts) VALUES ('optimize')")


def upgrade() -> None:
    op.add_column("record_text", sa.Column("offsets", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE record_text SET offsets = (SELECT t.offsets FROM record_tokens t "
        "WHERE t.record_id = record_text.record_id AND t.attribute_id = record_text.attribute_id)"
    )
    op.drop_table("record_tokens")
    op.drop_index("ix_record_import_job_id", table_name="record")
    if op.get_bind().dialect.name == "sqlite":
        _create_fts(
            f"{FTS_OPTIONS}, columnsize=0",
            {"automerge": 0, "usermerge": 16, "crisismerge": 32},
        )


def downgrade() -> None:
    op.create_index("ix_record_import_job_id", "record", ["import_job_id"])
    op.create_table(
        "record_tokens",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("attribute_id", sa.Integer(), nullable=False),
        sa.Column("offsets", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["attribute_id"], ["attribute.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["record_id"], ["record.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("record_id", "attribute_id"),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO record_tokens (record_id, attribute_id, offsets) "
        "SELECT record_id, attribute_id, offsets FROM record_text WHERE offsets IS NOT NULL"
    )
    op.drop_column("record_text", "offsets")  # in place: a batch copy would lose AUTOINCREMENT
    if op.get_bind().dialect.name == "sqlite":
        _create_fts(FTS_OPTIONS, {"automerge": 0})
