"""SQLite write pacing between the transactions of a staged import."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from assay.storage.db import Database


class Pacer:
    """Between the chunks of a staged import on SQLite: checkpoints the WAL, and leaves the
    write lock free for a while when other connections write too (labels during an import).

    SQLite hands a free write lock to whoever asks first, and a writer that waits polls with
    growing sleeps (25 ms apart once it has waited 53 ms, then 50 and 100 ms apart), so
    behind back-to-back chunks it can miss every short gap between them: labels waited up
    to 2 s (measured). Once another connection has committed in a gap, the gaps last
    ``GAP`` for the next ``WINDOW`` seconds, long enough for such a poll to land in one
    (labels then waited at most about 160 ms). An import that writes alone never waits.
    Without a connection (PostgreSQL, which locks rows, not the database) it does nothing.
    """

    GAP = 0.025
    WINDOW = 1.0

    def __init__(self, connection: sqlite3.Connection | None) -> None:
        self._connection = connection
        self._mine = self._version()
        self._others_until = 0.0

    def _version(self) -> int:
        """SQLite's data_version: it changes when another connection commits."""
        if self._connection is None:
            return 0
        return int(self._connection.execute("PRAGMA data_version").fetchone()[0])

    def before_chunk(self) -> None:
        if self._version() != self._mine:
            self._others_until = time.monotonic() + self.WINDOW

    def after_chunk(self) -> None:
        if self._connection is None:
            return
        self._mine = self._version()
        # Copy the chunk's pages from the WAL into the database now, in the importer:
        # otherwise the next small commit (a label) may find a large WAL and do it.
        self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        if time.monotonic() < self._others_until:
            time.sleep(self.GAP)


@contextmanager
def open_pacer(db: Database) -> Iterator[Pacer]:
    """A pacer on a connection of its own, held for the import (none on PostgreSQL)."""
    if db.dialect != "sqlite":
        yield Pacer(None)
        return
    raw = db.engine.raw_connection()
    try:
        yield Pacer(raw.driver_connection)
    finally:
        raw.close()
