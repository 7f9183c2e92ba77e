"""A file import, as a job's body: the file is read, then restored when it is a project
archive (:mod:`assay.services.archives`) or imported in stages (:func:`staged.import_staged`).

Not re-exported by the package: :mod:`assay.services.archives` imports the package (it
restores an archive's records through :func:`one_transaction.import_table`), so the package
cannot import archives back.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from assay.errors import AssayError, ValidationError
from assay.runtime.job_runner import Progress, no_progress
from assay.services import archives, files
from assay.services.importing.planning import ImportOptions, Into, check_into
from assay.services.importing.staged import import_staged
from assay.storage.db import Database


def is_archive(path: Path, fmt: str | None) -> bool:
    """Whether the file is a project archive (``fmt`` ``project``, or named ``*.assay.json``)."""
    return fmt == "project" or (fmt is None and path.name.endswith(".assay.json"))


def check_file_into(
    session: Session,
    path: Path,
    project_name: str,
    fmt: str | None,
    into: Into,
    *,
    remove_folder: bool = False,
) -> None:
    """Refuse an import of this file whose target contradicts ``into`` (:func:`check_into`),
    before any job starts: an archive is restored as a new project, never added to one.
    ``remove_folder``: a refused file's folder (an upload's own) is deleted."""
    try:
        if into == "existing" and is_archive(path, fmt):
            raise ValidationError(
                f"{path.name} is a project archive: it is restored as a new project, "
                "not added to an existing one",
                project=project_name,
            )
        check_into(session, project_name, into)
    except AssayError:
        if remove_folder:
            shutil.rmtree(path.parent, ignore_errors=True)
        raise


def import_file(
    db: Database,
    path: Path,
    project_name: str,
    options: ImportOptions,
    *,
    fmt: str | None,
    limits: files.Limits,
    job_id: int,
    chunk_size: int = 5_000,
    progress: Progress = no_progress,
    remove_folder: bool = False,
) -> dict[str, Any]:
    """Import a file into a project (a project archive: restore it as the project named
    ``project_name``), in the transactions it needs; returns what was created and updated.
    ``remove_folder``: the file's folder (an upload's own) is deleted when it ends.

    Reactions to the new records and labels (statistics, embeddings) are the caller's.
    """
    try:
        progress(0.0, f"reading {path.name}")
        if is_archive(path, fmt):
            document = archives.read_archive(path)
            with db.session() as session:
                restored = archives.restore(session, document, project_name, options.max_cell_bytes)
                return {"project": restored.name, "created": len(document["records"])}
        table = files.read_table(path, fmt, limits)
        result = import_staged(
            db,
            project_name,
            table,
            options,
            job_id=job_id,
            chunk_size=chunk_size,
            progress=progress,
        )
        return result.summary()
    finally:
        if remove_folder:
            shutil.rmtree(path.parent, ignore_errors=True)
