"""Fixtures: a Workbench over a fresh database, on SQLite and on PostgreSQL.

Every test that takes ``wb`` runs once per database. PostgreSQL is reached at
``ASSAY_TEST_POSTGRES`` (default: postgres@127.0.0.1:5432); a database is created for the
run and dropped at its end. Where no server answers, the PostgreSQL cases skip with the
reason; set ASSAY_TEST_REQUIRE_POSTGRES=1 (CI does) to make that an error instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from assay.config import Settings
from assay.runtime.sandbox import protect
from assay.storage.models import Base
from assay.workbench import Workbench

PG_SERVER = os.environ.get("ASSAY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _postgres_available() -> str | None:
    try:
        engine = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 -- any failure means: no server here
        return f"PostgreSQL not reachable at {PG_SERVER}: {type(exc).__name__}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    reason = _postgres_available()
    if reason:
        if os.environ.get("ASSAY_TEST_REQUIRE_POSTGRES"):
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"assay_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG_SERVER}/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_workbench(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workbench]:
    data_dir = tmp_path_factory.mktemp("pg-data")
    workbench = Workbench(Settings(data_dir=data_dir, database_url=postgres_url))
    yield workbench
    workbench.close()  # its background work ends before the database is dropped


def _truncate(wb: Workbench) -> None:
    # The last test's background work first: it must not hold locks TRUNCATE waits for.
    wb.statistics_refresher.flush()
    wb.retrain_watcher.flush()
    # Ids restart below: the previous test's live models must not answer this one's.
    wb.serving.forget()
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with wb.db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def wb(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workbench]:
    """A Workbench over an empty database: SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        workbench = Workbench(Settings(data_dir=tmp_path / "data"))
        try:
            yield workbench
        finally:
            workbench.close()
    else:
        yield request.getfixturevalue("pg_wb")


@pytest.fixture
def pg_wb(postgres_workbench: Workbench, tmp_path: Path) -> Workbench:
    """The run's PostgreSQL Workbench, emptied for this test."""
    _truncate(postgres_workbench)
    postgres_workbench.settings.data_dir = tmp_path / "data"
    postgres_workbench.settings.data_dir.mkdir(parents=True, exist_ok=True)
    protect(postgres_workbench.settings.data_dir)  # as the Workbench did with its first one
    return postgres_workbench


@pytest.fixture
def sqlite_wb(tmp_path: Path) -> Iterator[Workbench]:
    workbench = Workbench(Settings(data_dir=tmp_path / "data"))
    try:
        yield workbench
    finally:
        workbench.close()


@pytest.fixture
def shared_data() -> Callable[[str], Path]:
    """A dataset folder under ../shared/data, or a skip saying it is absent."""

    def find(name: str) -> Path:
        path = SHARED_DATA / name
        if not path.exists():
            pytest.skip(
                f"{path} is absent (the shared datasets exist only in this workplace and CI)"
            )
        return path

    return find
