"""The data dir is private from the start: the folder and every folder below it 0700, every
file 0600, whatever the process's umask, on SQLite and on PostgreSQL (where the data dir
still holds uploads, exports and embeddings)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from assay.config import Settings
from assay.workbench import Workbench


@pytest.fixture(params=[0o022, 0o000], ids=["umask-022", "umask-000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    before = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(before)


def modes(folder: Path) -> dict[str, str]:
    """Every path from ``folder`` down (``folder`` itself as "."), with its mode."""
    found = {".": oct(folder.stat().st_mode & 0o777)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = oct(path.stat().st_mode & 0o777)
    return found


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_data_dir_is_private_from_the_start(
    umask: int, database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data_dir = tmp_path / "data"
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    wb = Workbench(Settings(data_dir=data_dir, database_url=url))
    try:
        headlines = [f"{n} things you never knew about topic {n}" for n in range(40)]
        project = f"imported-{umask:o}"
        wb.import_dataframe(pd.DataFrame({"headline": headlines}), project)
        sample = wb.create_sample("clickbait", "initial", name=f"sample-{umask:o}")
        job = wb.add_embedding(project, "headline", wait=True)
        assert job["status"] == "done", job["error"]
        wb.export(sample["name"], "csv", data_dir / "exports" / "sample.csv")
    finally:
        wb.close()
    found = modes(data_dir)
    if database == "sqlite":
        assert {"assay.db", "assay.db-wal", "assay.db-shm"} & set(found)
    assert any(path.startswith("embeddings/") for path in found)
    assert "exports/sample.csv" in found
    wrong = {
        path: mode
        for path, mode in found.items()
        if mode != ("0o700" if (data_dir / path).is_dir() else "0o600")
    }
    assert wrong == {}
