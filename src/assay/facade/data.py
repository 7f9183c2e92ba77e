"""Getting data in and out: file and DataFrame imports (as jobs), previews, exports,
archives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay import documents
from assay.facade.base import Facade
from assay.runtime.job_runner import JobFunction, Progress
from assay.services import (
    archives,
    exporting,
    files,
    importing,
    previews,
)
from assay.services.importing import file_import


class Data(Facade):
    """Imports, previews, exports."""

    # --- import and export -----------------------------------------------------------------

    def import_file(
        self,
        path: str | Path,
        project: str,
        *,
        primary_key: list[str] | None = None,
        types: dict[str, str] | None = None,
        fmt: str | None = None,
        annotator: str = "import",
        language: str = "en",
        into: importing.Into = "any",
        listener: Progress | None = None,
    ) -> dict[str, Any]:
        """Import a file now (recorded as a job); returns what was created and updated.

        ``into``: ``"new"`` refuses a project that exists, ``"existing"`` one that does not.
        """
        options = self._import_options(primary_key, types, annotator, language, into)
        work = self._file_import(Path(path), project, fmt, options)
        return self._run_now("import", project, f"import {Path(path).name}", work, listener)

    def start_import(
        self,
        path: str | Path,
        project: str,
        *,
        wait: bool = False,
        remove_file: bool = False,
        fmt: str | None = None,
        **options: Any,
    ) -> documents.JobPublic:
        """Import a file as a background job (``wait``: in this thread); returns the job.
        ``options`` are :meth:`import_file`'s. ``remove_file`` deletes the file's folder
        when the job ends (an upload's own folder). An ``into`` that the project
        contradicts is refused before any job starts."""
        target = Path(path)
        work = self._file_import(target, project, fmt, self._import_options(**options), remove_file)
        return self._start("import", project, f"import {target.name}", work, wait=wait)

    def _file_import(
        self,
        path: Path,
        project: str,
        fmt: str | None,
        options: importing.ImportOptions,
        remove_file: bool = False,
    ) -> JobFunction:
        """The job that imports the file, once its target is checked against ``into``."""
        with self.db.session() as s:
            file_import.check_file_into(
                s, path, project, fmt, options.into, remove_folder=remove_file
            )
        return lambda progress: file_import.import_file(
            self.db,
            path,
            project,
            options,
            fmt=fmt,
            limits=self._file_limits,
            job_id=progress.job_id,
            chunk_size=self.settings.import_chunk_size,
            progress=progress,
            remove_folder=remove_file,
        )

    def import_dataframe(self, frame: Any, project: str, **options: Any) -> dict[str, Any]:
        """Import a pandas DataFrame, like a file (``options``: :meth:`import_file`'s)."""
        table = files.table_from_dataframe("DataFrame", frame)
        with self.db.session() as s:
            result = importing.import_table(s, project, table, self._import_options(**options))
        self.after_labels_changed(project)
        self.after_records_changed(project)
        return result.summary()

    def _import_options(
        self,
        primary_key: list[str] | None = None,
        types: dict[str, str] | None = None,
        annotator: str = "import",
        language: str = "en",
        into: importing.Into = "any",
    ) -> importing.ImportOptions:
        cell = self.settings.max_cell_bytes
        return importing.ImportOptions(primary_key, types, annotator, language, cell, into)

    def preview_file(
        self,
        path: str | Path,
        *,
        fmt: str | None = None,
        project: str | None = None,
        annotator: str = "import",
    ) -> documents.FilePreview:
        """The first rows of a file and the type inferred for each column, before an import;
        with ``project``, also what adding it to that project would change."""
        table = files.read_table(Path(path), fmt, self._file_limits)
        if project is None:
            return previews.preview(table)
        cell = self.settings.max_cell_bytes
        change = self._in(project, lambda s, p: previews.addition(s, p, table, annotator, cell))
        return previews.preview(table, addition=change)

    def export(
        self,
        project: str,
        fmt: str,
        out: str | Path,
        *,
        slice_name: str | None = None,
        raw: bool = False,
        listener: Progress | None = None,
    ) -> dict[str, Any]:
        """Write an export; a CSV escapes formula-like text cells unless ``raw``."""
        return self._run_now(
            "export",
            project,
            f"export {fmt}",
            lambda progress: exporting.export_file(
                self.db, project, fmt, Path(out), slice_name=slice_name, raw=raw, progress=progress
            ),
            listener,
        )

    def archive(self, project: str) -> dict[str, Any]:
        return self._in(project, archives.archive)
