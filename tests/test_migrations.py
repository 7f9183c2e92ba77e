"""Migrations keep the data: 0003 moves token offsets from record_tokens into record_text."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from assay.storage.db import MIGRATIONS_DIR, Database

PERU = b"".join(n.to_bytes(4, "little") for n in (0, 5, 6, 10))  # "Visit Peru"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of its own (migrations change the schema)."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'migrated.db'}")
        yield db
        db.dispose()
        return
    server = request.getfixturevalue("postgres_url").rsplit("/", 1)[0]
    name = f"assay_migration_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(f"{server}/{name}")
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _to(db: Database, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_0003_moves_token_offsets_into_record_text(database: Database) -> None:
    db = database
    _to(db, "0002")
    now = datetime.now(UTC)
    with db.engine.begin() as conn:  # what an import of revision 0002 wrote
        conn.execute(
            text(
                "INSERT INTO project (id, name, description, language, created_at, updated_at) "
                "VALUES (1, 'p', '', 'en', :now, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO attribute (id, project_id, name, data_type, is_primary_key, position) "
                "VALUES (1, 1, 'headline', 'text', false, 0), (2, 1, 'topic', 'category', false, 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO record (id, project_id, data, content_hash) "
                """VALUES (1, 1, '{"headline": "Visit Peru", "topic": "travel"}', 'h')"""
            )
        )
        conn.execute(
            text(
                "INSERT INTO record_text (id, record_id, attribute_id, folded) "
                "VALUES (1, 1, 1, 'visit peru'), (2, 1, 2, 'travel')"
            )
        )
        conn.execute(
            text("INSERT INTO record_tokens (record_id, attribute_id, offsets) VALUES (1, 1, :b)"),
            {"b": PERU},
        )
        if db.dialect == "sqlite":
            conn.execute(
                text(
                    "INSERT INTO record_text_fts (rowid, folded) SELECT id, folded FROM record_text"
                )
            )
    _to(db, "head")
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, offsets FROM record_text ORDER BY id")).all()
        assert [(i, None if b is None else bytes(b)) for i, b in rows] == [(1, PERU), (2, None)]
        if db.dialect == "sqlite":  # the rebuilt substring index still finds the text
            found = "SELECT rowid FROM record_text_fts WHERE record_text_fts MATCH 'per'"
            assert conn.execute(text(found)).scalars().all() == [1]
    tables = inspect(db.engine).get_table_names()
    assert "record_tokens" not in tables
    assert "ix_record_import_job_id" not in {
        i["name"] for i in inspect(db.engine).get_indexes("record")
    }

    _to(db, "0002", down=True)
    with db.engine.connect() as conn:
        back = conn.execute(
            text("SELECT record_id, attribute_id, offsets FROM record_tokens")
        ).all()
    assert [(r, a, bytes(b)) for r, a, b in back] == [(1, 1, PERU)]
    _to(db, "head")


def test_0009_a_deleted_embedding_leaves_its_heuristics_without_one(database: Database) -> None:
    db = database
    _to(db, "0009")
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        for statement in (
            "INSERT INTO project (id, name, description, language, created_at, updated_at) "
            "VALUES (1, 'p', '', 'en', :now, :now)",
            "INSERT INTO attribute (id, project_id, name, data_type, is_primary_key, position) "
            "VALUES (1, 1, 'headline', 'text', false, 0)",
            "INSERT INTO labeling_task (id, project_id, name, task_type) "
            "VALUES (1, 1, 't', 'classification')",
            "INSERT INTO embedding (id, project_id, attribute_id, name, embedder, level, state, "
            "created_at, updated_at) VALUES (1, 1, 1, 'e', 'tfidf-svd', 'attribute', 'ready', "
            ":now, :now)",
            "INSERT INTO heuristic (id, project_id, task_id, name, kind, description, code, "
            "code_version, created_at, updated_at, embedding_id, config) VALUES (1, 1, 1, 'al', "
            "'active_learner', '', 'class A: pass', 1, :now, :now, 1, '{\"folds\": 5}')",
        ):
            conn.execute(text(statement), {"now": now})
        conn.execute(text("DELETE FROM embedding WHERE id = 1"))
        assert conn.execute(text("SELECT embedding_id FROM heuristic")).scalar() is None
    _to(db, "0008", down=True)
    columns = {c["name"] for c in inspect(db.engine).get_columns("heuristic")}
    assert "embedding_id" not in columns and "config" not in columns
    with db.engine.begin() as conn:
        assert conn.execute(text("SELECT name FROM heuristic")).scalar() == "al"
    _to(db, "0009")


def test_0012_job_ids_are_never_reused(database: Database) -> None:
    db = database
    _to(db, "0011")
    job = (
        "INSERT INTO job (kind, status, progress, message, cancel_requested, staging, "
        "created_at) VALUES ('import', 'done', 1, '', false, false, :now)"
    )
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        conn.execute(text(job), {"now": now})
    _to(db, "head")
    with db.engine.begin() as conn:
        conn.execute(text(job), {"now": now})
        last = conn.execute(text("SELECT max(id) FROM job")).scalar()
        conn.execute(text("DELETE FROM job WHERE id = :id"), {"id": last})
        conn.execute(text(job), {"now": now})
        ids = conn.execute(text("SELECT id FROM job ORDER BY id")).scalars().all()
    assert ids[0] == 1 and ids[-1] > last  # the old job kept; the deleted one's id not given
