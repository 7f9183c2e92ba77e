"""A trigram index on folded text (PostgreSQL), for substring search.

PostgreSQL: a pg_trgm GIN index, used by contains and full-text search; where the extension
cannot be created, queries stay correct and scan instead. SQLite scans record_text: an FTS5
trigram index kept by triggers tripled import time (measured), so it is not created.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        savepoint = bind.begin_nested()
        try:
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            op.execute(
                "CREATE INDEX ix_record_text_folded_trgm ON record_text "
                "USING gin (folded gin_trgm_ops)"
            )
            savepoint.commit()
        except Exception:  # noqa: BLE001 -- no pg_trgm here: substring search scans instead
            savepoint.rollback()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_record_text_folded_trgm")
