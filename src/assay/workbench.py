"""The Python face of assay: one object over the services, used by the API, the CLI and
notebooks alike. Every method opens its own unit of work and returns plain JSON-able values.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assay.config import Settings
from assay.errors import AssayError, ImportFileError, ValidationError
from assay.services import (
    annotating,
    archives,
    exporting,
    files,
    importing,
    jobs,
    previews,
    projects,
    queries,
    records,
    samples,
    slices,
    statistics,
    tasks,
    tokens,
)
from assay.storage.db import Database
from assay.storage.models import Attribute, LabelingTask, Project, Record, RecordTokens

Listener = Callable[[float, str], None]


class Workbench:
    """``Workbench()`` opens the database named by the settings (ASSAY_* variables)."""

    def __init__(self, settings: Settings | None = None, *, migrate: bool = True) -> None:
        self.settings = settings or Settings()
        self.db = Database(self.settings.resolved_database_url())
        if migrate:
            self.db.migrate()
            importing.recover(self.db)
        self._executor: Any = None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
        self.db.dispose()

    @property
    def executor(self) -> Any:
        if self._executor is None:
            from assay.runtime.executor import LocalExecutor

            self._executor = LocalExecutor(self.db)
        return self._executor

    # --- projects --------------------------------------------------------------------------

    def list_projects(self) -> list[dict[str, Any]]:
        with self.db.session() as s:
            return [_summary(p) for p in projects.list_all(s)]

    def create_project(
        self, name: str, description: str = "", language: str = "en"
    ) -> dict[str, Any]:
        with self.db.session() as s:
            project = projects.create(s, name, description, language)
            return self._project_doc(s, project)

    def get_project(self, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            return self._project_doc(s, projects.get(s, name))

    def delete_project(self, name: str) -> None:
        with self.db.session() as s:
            projects.delete_project(s, name)

    def _project_doc(self, s: Any, project: Project) -> dict[str, Any]:
        doc = _summary(projects.summarize(s, project))
        doc["attributes"] = [_attribute(a) for a in projects.attributes(s, project)]
        doc["tasks"] = [_task(s, t) for t in tasks.list_tasks(s, project)]
        return doc

    # --- import ----------------------------------------------------------------------------

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
        listener: Listener | None = None,
    ) -> dict[str, Any]:
        """Import a file now (recorded as a job); returns what was created and updated."""
        job_id = self._new_job("import", project, f"import {Path(path).name}")
        work = self._import_work(Path(path), project, primary_key, types, fmt, annotator, language)
        return jobs.run(self.db, job_id, work, listener)

    def preview_file(self, path: str | Path, *, fmt: str | None = None) -> dict[str, Any]:
        """The first rows of a file and the type inferred for each column, before an import."""
        return previews.preview(files.read_table(Path(path), fmt))

    def start_import(
        self,
        path: str | Path,
        project: str,
        *,
        wait: bool = False,
        remove_file: bool = False,
        **options: Any,
    ) -> dict[str, Any]:
        """Import a file as a background job (``wait``: in this thread); returns the job.

        ``remove_file`` deletes the file's folder when the job ends (an upload's own folder).
        """
        job_id = self._new_job("import", project, f"import {Path(path).name}")
        work = self._import_work(
            Path(path),
            project,
            options.get("primary_key"),
            options.get("types"),
            options.get("fmt"),
            options.get("annotator", "import"),
            options.get("language", "en"),
        )

        def run_and_clean(progress: jobs.Progress) -> dict[str, Any]:
            try:
                return work(progress)
            finally:
                if remove_file:
                    shutil.rmtree(Path(path).parent, ignore_errors=True)

        if wait:
            with contextlib.suppress(AssayError):  # recorded on the job, which the caller reads
                jobs.run(self.db, job_id, run_and_clean)
        else:
            self.executor.submit(job_id, run_and_clean)
        return self.get_job(job_id)

    def _import_work(
        self,
        path: Path,
        project: str,
        primary_key: list[str] | None,
        types: dict[str, str] | None,
        fmt: str | None,
        annotator: str,
        language: str,
    ) -> jobs.JobFunction:
        def work(progress: jobs.Progress) -> dict[str, Any]:
            progress(0.0, f"reading {path.name}")
            if fmt == "project" or (fmt is None and path.name.endswith(".assay.json")):
                document = archives.read_archive(path)
                with self.db.session() as s:
                    restored = archives.restore(s, document, project, self.settings.max_cell_bytes)
                    return {
                        "project": restored.name,
                        "created": len(document["records"]),
                    }
            table = files.read_table(path, fmt)
            options = self._import_options(primary_key, types, annotator, language)
            result = importing.import_staged(
                self.db,
                project,
                table,
                options,
                job_id=progress.job_id,
                chunk_size=self.settings.import_chunk_size,
                progress=progress,
            )
            return result.summary()

        return work

    def import_dataframe(
        self,
        frame: Any,
        project: str,
        *,
        primary_key: list[str] | None = None,
        types: dict[str, str] | None = None,
        annotator: str = "import",
        language: str = "en",
    ) -> dict[str, Any]:
        """Import a pandas DataFrame, like a file."""
        table = files.table_from_dataframe("DataFrame", frame)
        options = self._import_options(primary_key, types, annotator, language)
        with self.db.session() as s:
            return importing.import_table(s, project, table, options).summary()

    def _import_options(
        self,
        primary_key: list[str] | None,
        types: dict[str, str] | None,
        annotator: str,
        language: str,
    ) -> importing.ImportOptions:
        return importing.ImportOptions(
            primary_key, types, annotator, language, self.settings.max_cell_bytes
        )

    def _new_job(self, kind: str, project: str | None, message: str) -> int:
        with self.db.session() as s:
            found = projects.find(s, project) if project else None
            return jobs.create(s, kind, found.id if found else None, message).id

    # --- export ----------------------------------------------------------------------------

    def export(
        self,
        project: str,
        fmt: str,
        out: str | Path,
        *,
        slice_name: str | None = None,
        listener: Listener | None = None,
    ) -> dict[str, Any]:
        job_id = self._new_job("export", project, f"export {fmt}")

        def work(progress: jobs.Progress) -> dict[str, Any]:
            with self.db.session() as s:
                found = projects.get(s, project)
                count = exporting.export_records(
                    s, found, fmt, Path(out), slice_name=slice_name, progress=progress
                )
            return {"records": count, "path": str(out), "format": fmt}

        return jobs.run(self.db, job_id, work, listener)

    def archive(self, project: str) -> dict[str, Any]:
        with self.db.session() as s:
            return archives.archive(s, projects.get(s, project))

    # --- tasks and labels ------------------------------------------------------------------

    def add_task(
        self,
        project: str,
        name: str,
        task_type: str,
        attribute: str | None = None,
        labels: list[str] | None = None,
    ) -> dict[str, Any]:
        with self.db.session() as s:
            found = projects.get(s, project)
            task = tasks.create(s, found, name, task_type, attribute, labels)
            projects.touch(s, found)
            return _task(s, task)

    def list_tasks(self, project: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            return [_task(s, t) for t in tasks.list_tasks(s, projects.get(s, project))]

    def rename_task(self, project: str, name: str, new_name: str) -> dict[str, Any]:
        with self.db.session() as s:
            found = projects.get(s, project)
            task = tasks.rename(s, found, name, new_name)
            projects.touch(s, found)
            return _task(s, task)

    def delete_task(self, project: str, name: str) -> None:
        with self.db.session() as s:
            tasks.delete_task(s, projects.get(s, project), name)

    def add_label(
        self,
        project: str,
        task: str,
        name: str,
        color: str | None = None,
        hotkey: str | None = None,
    ) -> dict[str, Any]:
        with self.db.session() as s:
            found = tasks.get(s, projects.get(s, project), task)
            return _label(tasks.add_label(s, found, name, color, hotkey))

    def update_label(
        self,
        project: str,
        task: str,
        label: str,
        *,
        new_name: str | None = None,
        color: str | None = None,
        hotkey: str | None = None,
    ) -> dict[str, Any]:
        with self.db.session() as s:
            found = tasks.get(s, projects.get(s, project), task)
            return _label(tasks.update_label(s, found, label, new_name, color, hotkey))

    def delete_label(self, project: str, task: str, label: str) -> None:
        with self.db.session() as s:
            tasks.delete_label(s, tasks.get(s, projects.get(s, project), task), label)

    # --- annotations -----------------------------------------------------------------------

    def annotate(
        self,
        project: str,
        record: str | int,
        task: str,
        label: str,
        annotator: str,
        *,
        gold: bool = False,
        span: tuple[int, int] | None = None,
    ) -> dict[str, Any]:
        """Give a record a manual label; returns the record's labels for that task."""
        with self.db.session() as s:
            row, target = _record_and_task(s, project, record, task)
            annotating.add(s, row, target, label, annotator, gold=gold, span=_span(span))
            return annotating.task_labels(s, row, target)

    def remove_annotation(
        self,
        project: str,
        record: str | int,
        task: str,
        annotator: str,
        *,
        label: str | None = None,
        gold: bool = False,
        span: tuple[int, int] | None = None,
    ) -> dict[str, Any]:
        with self.db.session() as s:
            row, target = _record_and_task(s, project, record, task)
            annotating.remove(
                s, row, target, annotator, label_name=label, gold=gold, span=_span(span)
            )
            return annotating.task_labels(s, row, target)

    def annotate_file(self, project: str, path: str | Path) -> dict[str, Any]:
        """Apply manual labels from a CSV or JSONL file, all or nothing.

        Columns: ``key`` (the primary-key value, or ``col=value,...``) or ``id``, ``task``,
        ``label``, optional ``start_token``/``end_token``, ``annotator`` and ``gold``.
        """
        path = Path(path)
        table = files.read_table(path)
        rows = [
            dict(zip(table.columns, values, strict=True))
            for values in zip(*table.columns.values(), strict=True)
        ]
        applied = 0
        with self.db.session() as s:
            found = projects.get(s, project)
            key_attributes = projects.primary_key(s, found)
            for number, row in enumerate(rows, start=1):
                try:
                    ref = _record_ref(row, key_attributes)
                    record = records.resolve(s, found, ref)
                    task = tasks.get(s, found, str(row.get("task") or ""))
                    span = None
                    if row.get("start_token") not in (None, "") or row.get("end_token") not in (
                        None,
                        "",
                    ):
                        span = annotating.Span(int(row["start_token"]), int(row["end_token"]))
                    annotating.add(
                        s,
                        record,
                        task,
                        str(row.get("label") or ""),
                        str(row.get("annotator") or ""),
                        gold=_truthy(row.get("gold")),
                        span=span,
                    )
                    applied += 1
                except (AssayError, ValueError, TypeError, KeyError) as exc:
                    message = exc.message if isinstance(exc, AssayError) else str(exc)
                    raise ImportFileError(
                        f"{path.name}: row {number}: {message}",
                        file=str(path),
                        row=number,
                    ) from exc
            projects.touch(s, found)
        return {"applied": applied}

    # --- records ---------------------------------------------------------------------------

    def query(
        self,
        project: str,
        where: Any = None,
        *,
        order_by: str = "id",
        descending: bool = False,
        seed: int = 0,
        limit: int = 50,
        cursor: str | None = None,
        offset: int | None = None,
        with_labels: bool = False,
    ) -> dict[str, Any]:
        """One page of records: ``{"records", "total", "next_cursor"}``."""
        with self.db.session() as s:
            page = queries.run(
                s,
                projects.get(s, project),
                where,
                order_by=order_by,
                descending=descending,
                seed=seed,
                limit=limit,
                cursor=cursor,
                offset=offset,
                with_labels=with_labels,
            )
            return {
                "records": page.records,
                "total": page.total,
                "next_cursor": page.next_cursor,
            }

    def get_record(self, project: str, record: str | int) -> dict[str, Any]:
        """A record with its tokens (per text attribute) and every label."""
        with self.db.session() as s:
            found = projects.get(s, project)
            row = records.resolve(s, found, record)
            text_attributes = [a for a in projects.attributes(s, found) if a.data_type == "text"]
            token_docs = {}
            for attribute in text_attributes:
                blob = s.get(RecordTokens, (row.id, attribute.id))
                text = row.data.get(attribute.name)
                if blob is not None and isinstance(text, str):
                    token_docs[attribute.name] = [
                        {"text": text[a:b], "start": a, "end": b}
                        for a, b in tokens.offsets(blob.offsets).tolist()
                    ]
            return {
                "id": row.id,
                "key": row.key,
                "data": row.data,
                "tokens": token_docs,
                "labels": annotating.record_labels(s, row),
            }

    # --- slices ----------------------------------------------------------------------------

    def create_slice(
        self,
        project: str,
        name: str,
        where: Any = None,
        *,
        kind: str = "dynamic",
        record_ids: list[int] | None = None,
    ) -> dict[str, Any]:
        with self.db.session() as s:
            found = projects.get(s, project)
            created = slices.create(s, found, name, where=where, kind=kind, record_ids=record_ids)
            return slices.describe(s, found, created)

    def list_slices(self, project: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            found = projects.get(s, project)
            return [slices.describe(s, found, x) for x in slices.list_slices(s, found)]

    def get_slice(self, project: str, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            found = projects.get(s, project)
            return slices.describe(s, found, slices.get(s, found, name))

    def rename_slice(self, project: str, name: str, new_name: str) -> dict[str, Any]:
        with self.db.session() as s:
            found = projects.get(s, project)
            return slices.describe(s, found, slices.rename(s, found, name, new_name))

    def delete_slice(self, project: str, name: str) -> None:
        with self.db.session() as s:
            slices.delete_slice(s, projects.get(s, project), name)

    # --- statistics ------------------------------------------------------------------------

    def statistics(self, project: str, task: str, slice_name: str | None = None) -> dict[str, Any]:
        """One task's overview: progress, label and confidence distributions, confusion
        matrix (manual vs weak supervision), annotators and their agreement, conflicts;
        over the project's records or one slice's."""
        with self.db.session() as s:
            return statistics.task_statistics(s, projects.get(s, project), task, slice_name)

    # --- samples and jobs ------------------------------------------------------------------

    def create_sample(
        self,
        sample: str = "clickbait",
        variant: str = "initial",
        name: str | None = None,
    ) -> dict[str, Any]:
        with self.db.session() as s:
            project = samples.create(s, sample, variant, name)
            return self._project_doc(s, project)

    def get_job(self, job_id: int) -> dict[str, Any]:
        with self.db.session() as s:
            return jobs.describe(jobs.get(s, job_id))

    def list_jobs(self, project: str | None = None) -> list[dict[str, Any]]:
        with self.db.session() as s:
            project_id = projects.get(s, project).id if project else None
            return [jobs.describe(j) for j in jobs.list_jobs(s, project_id)]

    def cancel_job(self, job_id: int) -> dict[str, Any]:
        with self.db.session() as s:
            return jobs.describe(jobs.cancel(s, job_id))


def _record_and_task(
    s: Any, project: str, record: str | int, task: str
) -> tuple[Record, LabelingTask]:
    found = projects.get(s, project)
    return records.resolve(s, found, record), tasks.get(s, found, task)


def _span(span: tuple[int, int] | None) -> annotating.Span | None:
    return annotating.Span(*span) if span else None


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "gold")


def _record_ref(row: dict[str, Any], key_attributes: list[Attribute]) -> str | int:
    if row.get("id") not in (None, ""):
        return int(row["id"])
    key = row.get("key")
    if key in (None, ""):
        raise ValidationError("the row names no record (a key or id column)")
    text = str(key)
    if "=" in text:
        return text
    if len(key_attributes) != 1:
        raise ValidationError("a composite primary key is written col=value,col=value")
    return f"{key_attributes[0].name}={text}"


def _summary(p: projects.ProjectSummary) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "language": p.language,
        "records": p.records,
        "tasks": p.tasks,
        "created_at": p.created_at.isoformat(),
        "updated_at": p.updated_at.isoformat(),
    }


def _attribute(a: Attribute) -> dict[str, Any]:
    return {
        "name": a.name,
        "data_type": a.data_type,
        "primary_key": a.is_primary_key,
        "position": a.position,
    }


def _label(lb: Any) -> dict[str, Any]:
    return {"id": lb.id, "name": lb.name, "color": lb.color, "hotkey": lb.hotkey}


def _task(s: Any, t: LabelingTask) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "type": t.task_type,
        "attribute": tasks.attribute_name(s, t),
        "labels": [_label(lb) for lb in tasks.labels(s, t)],
    }
