"""Opening a workbench's database: migrated to the newest schema, with what a crash left
half-done put right (the records of imports that were still staging)."""

from __future__ import annotations

from assay.services import importing
from assay.storage.db import Database

__all__ = ["Database", "open_database"]


def open_database(url: str, *, migrate: bool = True) -> Database:
    db = Database(url)
    if migrate:
        db.migrate()
        importing.recover(db)
    return db
