"""Job ids are never reused: the job table gets AUTOINCREMENT on SQLite.

Without it SQLite gives the highest id again once that row is gone (the jobs of a deleted
project), and a client polling the old id sees another job. PostgreSQL's sequences never
go back; nothing changes there.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # The copy keeps every row's id; sqlite_sequence starts at the highest of them.
    with op.batch_alter_table(
        "job", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "job", recreate="always", table_kwargs={"sqlite_autoincrement": False}
    ):
        pass
