"""The Python face of assay: one object over the services, used by the API, the CLI and
notebooks alike. Every method opens its own unit of work and returns plain JSON-able values.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assay.algorithms.label_models import DEFAULT_MODEL
from assay.config import Settings
from assay.errors import AssayError, Conflict, ImportFileError, NotFound, ValidationError
from assay.runtime import try_runs
from assay.runtime.debounce import Debouncer
from assay.runtime.sandbox import (
    Limits,
    Sandbox,
    SandboxError,
    UserCodeError,
    default_sandbox,
    make_data_dir,
    module_name,
    protect,
)
from assay.services import (
    annotating,
    archives,
    calculated,
    embedders,
    embeddings,
    exporting,
    files,
    heuristic_runs,
    heuristics,
    importing,
    jobs,
    lookup_lists,
    model_heuristics,
    previews,
    projects,
    queries,
    record_ide,
    records,
    samples,
    search,
    slices,
    statistics,
    tasks,
    tokens,
    weak_supervision,
)
from assay.storage.db import Database
from assay.storage.models import (
    Attribute,
    Heuristic,
    LabelingTask,
    LookupList,
    Project,
    Record,
)

Listener = Callable[[float, str], None]


class Workbench:
    """``Workbench()`` opens the database named by the settings (ASSAY_* variables)."""

    def __init__(self, settings: Settings | None = None, *, migrate: bool = True) -> None:
        self.settings = settings or Settings()
        make_data_dir(self.settings.data_dir)  # private from the start, whatever the umask
        self.db = Database(self.settings.resolved_database_url())
        if migrate:
            self.db.migrate()
            importing.recover(self.db)
        self._executor: Any = None
        self._sandbox: Sandbox | None = None
        self._opening = threading.Lock()  # one executor and one sandbox, however many threads
        # Heuristic statistics follow manual labels off the request path (per task id).
        self.statistics_refresher = Debouncer(self._refresh_statistics)

    def close(self) -> None:
        self.statistics_refresher.close()
        if self._executor is not None:
            self._executor.shutdown()
        if self._sandbox is not None:
            self._sandbox.close()
        self.db.dispose()

    @property
    def executor(self) -> Any:
        """Runs jobs, and their ``map`` work where the ``executor`` setting says."""
        with self._opening:
            if self._executor is None:
                from assay.runtime.executor import open_executor

                self._executor = open_executor(self.db, self.settings.executor)
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
            found = projects.get(s, name)
            embedding_ids = [e.id for e in embeddings.list_all(s, found)]
            projects.delete_project(s, name)
        for embedding_id in embedding_ids:  # vectors live in the data dir, not the database
            embeddings.remove_files(self.settings.data_dir, embedding_id)

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
        into: importing.Into = "any",
        listener: Listener | None = None,
    ) -> dict[str, Any]:
        """Import a file now (recorded as a job); returns what was created and updated.

        ``into``: ``"new"`` refuses a project that exists, ``"existing"`` one that does not.
        """
        self._check_into(path, project, fmt, into)
        job_id = self._new_job("import", project, f"import {Path(path).name}")
        work = self._import_work(
            Path(path), project, primary_key, types, fmt, annotator, language, into
        )
        return jobs.run(self.db, job_id, work, listener)

    def preview_file(
        self,
        path: str | Path,
        *,
        fmt: str | None = None,
        project: str | None = None,
        annotator: str = "import",
    ) -> dict[str, Any]:
        """The first rows of a file and the type inferred for each column, before an import;
        with ``project``, also what adding it to that project would change."""
        table = files.read_table(Path(path), fmt, self._file_limits)
        if project is None:
            return previews.preview(table)
        with self.db.session() as s:
            found = projects.get(s, project)
            change = previews.addition(s, found, table, annotator, self.settings.max_cell_bytes)
        return previews.preview(table, addition=change)

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
        An ``into`` that the project contradicts (:meth:`import_file`) is refused before any
        job starts.
        """
        into = options.get("into", "any")
        try:
            self._check_into(path, project, options.get("fmt"), into)
        except AssayError:
            if remove_file:
                shutil.rmtree(Path(path).parent, ignore_errors=True)
            raise
        job_id = self._new_job("import", project, f"import {Path(path).name}")
        work = self._import_work(
            Path(path),
            project,
            options.get("primary_key"),
            options.get("types"),
            options.get("fmt"),
            options.get("annotator", "import"),
            options.get("language", "en"),
            into,
        )

        def run_and_clean(progress: jobs.JobProgress) -> dict[str, Any]:
            try:
                return work(progress)
            finally:
                if remove_file:
                    shutil.rmtree(Path(path).parent, ignore_errors=True)

        return self._start(job_id, run_and_clean, wait)

    def _start(
        self, job_id: int, work: jobs.JobFunction, wait: bool, *, user_code: bool = False
    ) -> dict[str, Any]:
        """Run a job in this thread (``wait``) or on the executor (``user_code``: on the
        slots of jobs that run user code, which never hold up the others); returns the job."""
        if wait:
            with contextlib.suppress(AssayError):  # recorded on the job, which the caller reads
                jobs.run(self.db, job_id, work)
        else:
            self.executor.submit(job_id, work, user_code=user_code)
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
        into: importing.Into,
    ) -> jobs.JobFunction:
        def work(progress: jobs.JobProgress) -> dict[str, Any]:
            progress(0.0, f"reading {path.name}")
            if _is_archive(path, fmt):
                document = archives.read_archive(path)
                with self.db.session() as s:
                    restored = archives.restore(s, document, project, self.settings.max_cell_bytes)
                    name = restored.name
                self._labels_changed(name)
                return {"project": name, "created": len(document["records"])}
            table = files.read_table(path, fmt, self._file_limits)
            options = self._import_options(primary_key, types, annotator, language, into)
            result = importing.import_staged(
                self.db,
                project,
                table,
                options,
                job_id=progress.job_id,
                chunk_size=self.settings.import_chunk_size,
                progress=progress,
            )
            self._labels_changed(project)
            self._records_changed(project, wait=False)
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
        into: importing.Into = "any",
    ) -> dict[str, Any]:
        """Import a pandas DataFrame, like a file."""
        table = files.table_from_dataframe("DataFrame", frame)
        options = self._import_options(primary_key, types, annotator, language, into)
        with self.db.session() as s:
            summary = importing.import_table(s, project, table, options).summary()
        self._labels_changed(project)
        self._records_changed(project, wait=False)
        return summary

    def _import_options(
        self,
        primary_key: list[str] | None,
        types: dict[str, str] | None,
        annotator: str,
        language: str,
        into: importing.Into = "any",
    ) -> importing.ImportOptions:
        return importing.ImportOptions(
            primary_key, types, annotator, language, self.settings.max_cell_bytes, into
        )

    def _check_into(
        self, path: str | Path, project: str, fmt: str | None, into: importing.Into
    ) -> None:
        """Refuse an import whose target contradicts ``into``, before any job starts."""
        if into == "existing" and _is_archive(Path(path), fmt):
            raise ValidationError(
                f"{Path(path).name} is a project archive: it is restored as a new project, "
                "not added to an existing one",
                project=project,
            )
        with self.db.session() as s:
            importing.check_into(s, project, into)

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
        raw: bool = False,
        listener: Listener | None = None,
    ) -> dict[str, Any]:
        """Write an export; a CSV escapes formula-like text cells unless ``raw``."""
        job_id = self._new_job("export", project, f"export {fmt}")

        def work(progress: jobs.JobProgress) -> dict[str, Any]:
            with self.db.session() as s:
                found = projects.get(s, project)
                count = exporting.export_records(
                    s, found, fmt, Path(out), slice_name=slice_name, raw=raw, progress=progress
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
        """Rename, recolor or re-key a label. A rename also rewrites the string literals that
        name the label in the task's heuristics (each changed one gets a new code version)."""
        with self.db.session() as s:
            found = tasks.get(s, projects.get(s, project), task)
            updated = tasks.update_label(s, found, label, new_name, color, hotkey)
            if updated.name != label:
                heuristics.rename_label(s, found, label, updated.name)
            renamed = updated.name != label
            doc = _label(updated)
        if renamed:  # the statistics name their labels
            self.statistics_refresher.mark(found.id)
        return doc

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
            labels = annotating.task_labels(s, row, target)
        self.statistics_refresher.mark(target.id)
        return labels

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
            labels = annotating.task_labels(s, row, target)
        self.statistics_refresher.mark(target.id)
        return labels

    def annotate_file(self, project: str, path: str | Path) -> dict[str, Any]:
        """Apply manual labels from a CSV or JSONL file, all or nothing.

        Columns: ``key`` (the primary-key value, or ``col=value,...``) or ``id``, ``task``,
        ``label``, optional ``start_token``/``end_token``, ``annotator`` and ``gold``.
        """
        path = Path(path)
        table = files.read_table(path, limits=self._file_limits)
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
        self._labels_changed(project)
        return {"applied": applied}

    def _labels_changed(self, project: str) -> None:
        """Manual labels of the project changed: its heuristics' statistics follow, later."""
        with self.db.session() as s:
            found = projects.find(s, project)
            task_ids = [t.id for t in tasks.list_tasks(s, found)] if found else []
        for task_id in task_ids:
            self.statistics_refresher.mark(task_id)

    def _refresh_statistics(self, task_id: Any) -> None:
        with self.db.session() as s:
            task = s.get(LabelingTask, task_id)
            if task is not None:
                heuristics.refresh_statistics(s, task)

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
                blob = records.token_offsets(s, row.id, attribute.id)
                text = row.data.get(attribute.name)
                if blob is not None and isinstance(text, str):
                    token_docs[attribute.name] = [
                        {"text": text[a:b], "start": a, "end": b}
                        for a, b in tokens.offsets(blob).tolist()
                    ]
            return {
                "id": row.id,
                "key": row.key,
                "position": records.positions(s, found, [row.id])[row.id],
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

    # --- lookup lists ----------------------------------------------------------------------

    def list_lookup_lists(self, project: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            found = lookup_lists.list_all(s, projects.get(s, project))
            sizes = lookup_lists.counts(s, found)
            return [_lookup_list(lst, sizes[lst.id]) for lst in found]

    def create_lookup_list(self, project: str, name: str, description: str = "") -> dict[str, Any]:
        with self.db.session() as s:
            return _lookup_list(lookup_lists.create(s, projects.get(s, project), name, description))

    def get_lookup_list(self, project: str, name: str) -> dict[str, Any]:
        """A list with its terms (``entries``: each term and whether it is blacklisted)."""
        with self.db.session() as s:
            lst = lookup_lists.get(s, projects.get(s, project), name)
            found = lookup_lists.terms(s, lst)
            doc = _lookup_list(lst, (len(found), sum(t.blacklisted for t in found)))
            entries = [{"term": t.term, "blacklisted": t.blacklisted} for t in found]
            return {**doc, "entries": entries}

    def delete_lookup_list(self, project: str, name: str) -> None:
        with self.db.session() as s:
            lookup_lists.delete_list(s, projects.get(s, project), name)

    def add_terms(
        self, project: str, name: str, terms: list[str], *, blacklisted: bool = False
    ) -> dict[str, Any]:
        """Add terms to a list (created when missing); ``blacklisted`` adds or marks them as
        blacklisted. Returns the list with ``added`` and ``blacklisted_now`` counts."""
        with self.db.session() as s:
            lst = lookup_lists.get_or_create(s, projects.get(s, project), name)
            changed = lookup_lists.add_terms(s, lst, terms, blacklisted=blacklisted)
            return self._lookup_summary(s, lst, changed)

    def remove_terms(
        self, project: str, name: str, terms: list[str], *, blacklist_only: bool = False
    ) -> dict[str, Any]:
        """Remove terms from a list; ``blacklist_only`` takes them off the blacklist instead."""
        with self.db.session() as s:
            lst = lookup_lists.get(s, projects.get(s, project), name)
            if blacklist_only:
                changed = {"unblacklisted": lookup_lists.unblacklist(s, lst, terms)}
            else:
                changed = {"removed": lookup_lists.remove_terms(s, lst, terms)}
            return self._lookup_summary(s, lst, changed)

    def import_terms(self, project: str, name: str, path: str | Path) -> dict[str, Any]:
        """Add the terms of a text file (one a line) or CSV (``term``, ``blacklisted``)."""
        plain, black = lookup_lists.read_terms(Path(path))
        with self.db.session() as s:
            lst = lookup_lists.get_or_create(s, projects.get(s, project), name)
            changed = lookup_lists.add_terms(s, lst, plain)
            marked = lookup_lists.add_terms(s, lst, black, blacklisted=True)
            changed["added"] += marked["added"]
            changed["blacklisted"] = marked["blacklisted"]
            return self._lookup_summary(s, lst, changed)

    def export_terms(self, project: str, name: str, fmt: str = "txt", *, raw: bool = False) -> str:
        """A lookup list's terms; a CSV escapes formula-like terms unless ``raw``."""
        with self.db.session() as s:
            lst = lookup_lists.get(s, projects.get(s, project), name)
            return lookup_lists.export_terms(s, lst, fmt, raw=raw)

    @staticmethod
    def _lookup_summary(s: Any, lst: LookupList, changed: dict[str, int]) -> dict[str, Any]:
        return {**_lookup_list(lst, lookup_lists.counts(s, [lst])[lst.id]), "changed": changed}

    # --- heuristics --------------------------------------------------------------------------

    @property
    def sandbox(self) -> Sandbox:
        """The sandbox that runs user code; on first use the data dir becomes private to this
        process's user, so no sandbox uid can read the database below it."""
        with self._opening:
            if self._sandbox is None:
                protect(self.settings.data_dir)
                # The process's own: the one the executor's partitions run in, here.
                self._sandbox = default_sandbox()
            return self._sandbox

    def add_heuristic(
        self, project: str, task: str, name: str, code: str, description: str = ""
    ) -> dict[str, Any]:
        """Add a labeling function (Python code defining one function) for a task."""
        with self.db.session() as s:
            found = heuristics.create(s, projects.get(s, project), task, name, code, description)
            return _heuristic(s, found)

    def add_active_learner(
        self,
        project: str,
        task: str,
        *,
        embedding: str,
        name: str | None = None,
        classifier: str = model_heuristics.DEFAULT_CLASSIFIER,
        min_confidence: float = 0.8,
        code: str | None = None,
    ) -> dict[str, Any]:
        """Add an active learner: code (from a template of ``classifier``:
        logistic-regression, random-forest, k-neighbors; or ``code``) defining a class with
        ``fit(embeddings, labels)`` and ``predict_proba(embeddings)``, fitted on the task's
        manual labels over ``embedding`` (attribute level; token level for extraction)."""
        with self.db.session() as s:
            found = model_heuristics.create(
                s,
                projects.get(s, project),
                task,
                model_heuristics.ACTIVE_LEARNER,
                embedding,
                name=name,
                code=code,
                classifier=classifier,
                min_confidence=min_confidence,
            )
            return _heuristic(s, found)

    def add_zero_shot(
        self,
        project: str,
        task: str,
        *,
        embedding: str,
        name: str | None = None,
        descriptions: dict[str, str] | None = None,
        min_confidence: float | None = None,
    ) -> dict[str, Any]:
        """Add a zero-shot heuristic: each record votes the label whose name (and
        description) is most similar to it in a semantic ``embedding``'s space, where its
        probability reaches ``min_confidence`` (default: 40% of the way from chance to
        certainty, 0.7 for two labels)."""
        with self.db.session() as s:
            found = model_heuristics.create(
                s,
                projects.get(s, project),
                task,
                model_heuristics.ZERO_SHOT,
                embedding,
                name=name,
                descriptions=descriptions,
                min_confidence=min_confidence,
            )
            return _heuristic(s, found)

    def list_heuristics(self, project: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            return [_heuristic(s, h) for h in heuristics.list_all(s, projects.get(s, project))]

    def get_heuristic(self, project: str, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            return _heuristic(s, heuristics.get(s, projects.get(s, project), name))

    def update_heuristic(
        self,
        project: str,
        name: str,
        *,
        code: str | None = None,
        new_name: str | None = None,
        description: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Change a heuristic: name, code, description, or a zero-shot heuristic's settings
        (``config``: min_confidence, temperature, descriptions)."""
        with self.db.session() as s:
            found = heuristics.update(
                s,
                projects.get(s, project),
                name,
                code=code,
                new_name=new_name,
                description=description,
                config=config,
            )
            return _heuristic(s, found)

    def delete_heuristic(self, project: str, name: str) -> None:
        with self.db.session() as s:
            found = projects.get(s, project)
            task = heuristics.get(s, found, name).task
            heuristics.delete_heuristic(s, found, name)
            heuristics.refresh_statistics(s, task)

    def try_heuristic(
        self,
        project: str,
        name: str,
        *,
        n: int = 10,
        record_ids: list[int] | None = None,
        seed: int | None = None,
        limits: Limits | None = None,
        cancel_key: str | None = None,
    ) -> dict[str, Any]:
        """Run a heuristic on ``n`` random records (or these ones) and return each record's
        result and printed output; nothing is stored. A run that fails reports why (and, for
        exceptions, the records and tracebacks) in ``error`` and ``failures``.
        :meth:`cancel_try_run` with ``cancel_key`` stops it."""
        with self.db.session() as s:
            found = projects.get(s, project)
            heuristic = heuristics.get(s, found, name)
            ids = record_ids or heuristics.sample_ids(s, found, n, seed)
            chosen = list(heuristics.sandbox_records(s, found, ids))
            position = records.positions(s, found, [r.id for r in chosen])
            missing = sorted(set(ids) - {r.id for r in chosen})
            if missing:
                raise NotFound(f"project {project!r} has no records with ids {missing}")
            try:
                with try_runs.scope(cancel_key):
                    if heuristic.kind in model_heuristics.KINDS:
                        results = model_heuristics.preview(
                            s,
                            heuristic,
                            ids,
                            self.settings.data_dir,
                            self.sandbox,
                            limits or Limits(),
                        )
                    else:
                        results = heuristics.run_code(
                            s, found, heuristic, chosen, self.sandbox, limits or Limits()
                        )
            except model_heuristics.ModelHeuristicError as exc:
                return {"results": [], "failures": [], "error": exc.message}
            except UserCodeError as exc:
                failures = [dataclasses.asdict(f) for f in exc.failures]
                return {"results": [], "failures": failures, "error": exc.message}
            except SandboxError as exc:
                return {"results": [], "failures": [], "error": exc.message}
        data = {r.id: r.data for r in chosen}
        return {
            "results": [
                {
                    "record_id": r.record_id,
                    "position": position[r.record_id],
                    "data": data[r.record_id],
                    "value": r.value,
                    "output": r.output,
                }
                for r in results
            ],
            "failures": [],
            "error": None,
            # Its coverage on these records: an abstention is null, or no span (extraction).
            "votes": sum(1 for r in results if r.value is not None and r.value != []),
        }

    def run_heuristics(
        self,
        project: str,
        names: list[str] | None = None,
        *,
        wait: bool = False,
        limits: Limits | None = None,
    ) -> dict[str, Any]:
        """Run heuristics (``names``; all when None) on every record as a job, together and a
        partition of records at a time on the executor; results are cached by record content
        and everything else they depend on (``services/heuristic_runs.py``). Each one that
        succeeds has its previous votes replaced at once; one that fails keeps them, and the
        job fails naming it. ``limits`` apply to each sandbox run (a slice of a partition)."""
        with self.db.session() as s:
            found = projects.get(s, project)
            chosen = [heuristics.get(s, found, n) for n in names] if names else None
            todo = [h.name for h in chosen or heuristics.list_all(s, found)]
        if not todo:
            raise ValidationError(f"project {project!r} has no heuristic to run")
        job_id = self._new_job("heuristics", project, f"run {', '.join(todo)}")
        _ = self.sandbox  # before any partition runs here: it protects the data dir

        def work(progress: jobs.JobProgress) -> dict[str, Any]:
            with self.db.session() as s:
                found = projects.get(s, project)
                run = heuristic_runs.prepare(s, found, todo, self.settings.data_dir)
                records = heuristic_runs.records(s, found, run)
                heuristic_runs.execute(
                    run, records, self.executor.map, limits or Limits(), progress
                )
            with self.db.session() as s:  # the swap: one short transaction
                runs = heuristic_runs.store(s, projects.get(s, project), run)
            with self.db.session() as s:
                heuristic_runs.refresh(s, run)
            heuristic_runs.check(run)
            progress(1.0, "done")
            return {"heuristics": runs}

        return self._start(job_id, work, wait, user_code=True)

    def weak_supervise(
        self,
        project: str,
        task: str,
        *,
        model: str = DEFAULT_MODEL,
        heuristics: list[str] | None = None,
        params: dict[str, Any] | None = None,
        wait: bool = False,
    ) -> dict[str, Any]:
        """Combine the task's heuristics' votes with a label model, as a job; the labels
        become the source ``weak_supervision`` (replacing the previous run's)."""
        job_id = self._new_job(weak_supervision.JOB_KIND, project, f"weak supervision of {task}")

        def work(progress: jobs.JobProgress) -> dict[str, Any]:
            progress(0.1, f"fitting {model}")
            with self.db.session() as s:
                found = tasks.get(s, projects.get(s, project), task)
                return weak_supervision.run(
                    s, found, model=model, names=heuristics, params=params, job_id=job_id
                )

        return self._start(job_id, work, wait)

    def weak_supervision_info(self, project: str, task: str) -> dict[str, Any] | None:
        """The task's last weak-supervision run (model, params, heuristics and their code
        versions, counts, ``finished_at``) and whether it is ``stale``; None before the first."""
        with self.db.session() as s:
            return weak_supervision.last_run(s, tasks.get(s, projects.get(s, project), task))

    # --- calculated attributes and the record IDE --------------------------------------------

    def add_calculated_attribute(
        self, project: str, name: str, data_type: str, code: str
    ) -> dict[str, Any]:
        """Add an attribute computed by Python code (one function of the record); its values
        are null until :meth:`run_calculated_attribute`."""
        with self.db.session() as s:
            found = projects.get(s, project)
            return _calculated(s, found, calculated.create(s, found, name, data_type, code))

    def list_calculated_attributes(self, project: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            found = projects.get(s, project)
            return [_calculated(s, found, a) for a in calculated.list_all(s, found)]

    def get_calculated_attribute(self, project: str, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            found = projects.get(s, project)
            return _calculated(s, found, calculated.get(s, found, name))

    def update_calculated_attribute(self, project: str, name: str, code: str) -> dict[str, Any]:
        """New code (a new version); the values stay, ``stale``, until the next run."""
        with self.db.session() as s:
            found = projects.get(s, project)
            return _calculated(s, found, calculated.update_code(s, found, name, code))

    def delete_calculated_attribute(self, project: str, name: str) -> None:
        with self.db.session() as s:
            calculated.delete_attribute(s, projects.get(s, project), name)

    def try_calculated_attribute(
        self,
        project: str,
        name: str,
        *,
        n: int = 10,
        record_ids: list[int] | None = None,
        seed: int | None = None,
        code: str | None = None,
        limits: Limits | None = None,
        cancel_key: str | None = None,
    ) -> dict[str, Any]:
        """Run the attribute's code (or ``code``, unsaved) on ``n`` random records (or these
        ones): each record's value, printed output and type mismatch (``error``); nothing is
        stored. A run that fails says why in ``error`` (exceptions: ``failures``).
        :meth:`cancel_try_run` with ``cancel_key`` stops it."""
        with self.db.session() as s:
            found = projects.get(s, project)
            attribute = calculated.get(s, found, name)
            code = (attribute.code or "") if code is None else code
            ids = record_ids or heuristics.sample_ids(s, found, n, seed)
            chosen = list(heuristics.sandbox_records(s, found, ids))
            position = records.positions(s, found, [r.id for r in chosen])
            missing = sorted(set(ids) - {r.id for r in chosen})
            if missing:
                raise NotFound(f"project {project!r} has no records with ids {missing}")
            try:
                with try_runs.scope(cancel_key):
                    results = calculated.run_code(
                        s, found, code, chosen, self.sandbox, limits or Limits()
                    )
            except UserCodeError as exc:
                failures = [dataclasses.asdict(f) for f in exc.failures]
                return {"results": [], "failures": failures, "error": exc.message}
            except SandboxError as exc:
                return {"results": [], "failures": [], "error": exc.message}
        data = {r.id: r.data for r in chosen}
        rows = []
        for r in results:
            try:
                value, error = (
                    calculated.check_value(r.value, attribute.data_type, self._cell),
                    None,
                )
            except ValueError as exc:
                value, error = r.value, str(exc)
            rows.append(
                {
                    "record_id": r.record_id,
                    "position": position[r.record_id],
                    "data": data[r.record_id],
                    "value": value,
                    "output": r.output,
                    "error": error,
                }
            )
        mismatched = sum(row["error"] is not None for row in rows)
        message = f"{mismatched} value(s) not of type {attribute.data_type}" if mismatched else None
        return {"results": rows, "failures": [], "error": message}

    @property
    def _cell(self) -> int:
        return self.settings.max_cell_bytes

    @property
    def _file_limits(self) -> files.Limits:
        return files.Limits(self.settings.max_cell_bytes, self.settings.max_upload_bytes)

    def run_calculated_attribute(
        self, project: str, name: str, *, wait: bool = False, limits: Limits | None = None
    ) -> dict[str, Any]:
        """Compute the attribute on every record as a job; all or nothing: an exception or a
        type mismatch on any record stores nothing and names the records."""
        with self.db.session() as s:
            calculated.get(s, projects.get(s, project), name)
        job_id = self._new_job("calculated_attribute", project, f"calculate {name}")
        _ = self.sandbox  # protects the data dir before any code runs

        def work(progress: jobs.JobProgress) -> dict[str, Any]:
            with self.db.session() as s:
                found = projects.get(s, project)
                attribute = calculated.get(s, found, name)
                results = calculated.compute(
                    s,
                    found,
                    attribute.code or "",
                    self.executor.map,
                    limits or calculated.limits_for(heuristic_runs.PARTITION),
                    progress,
                )
                version, data_type = attribute.code_version, attribute.data_type
            values, mismatches = calculated.checked(results, data_type, self._cell)
            if mismatches:
                raise calculated.mismatch_error(name, data_type, mismatches)
            progress(0.9, "storing values")
            with self.db.session() as s:
                run = calculated.store(s, projects.get(s, project), name, version, values)
            self._records_changed(project, wait=False)  # an embedding may embed the attribute
            progress(1.0, "done")
            return {"attribute": name, **run}

        return self._start(job_id, work, wait, user_code=True)

    def run_snippet(
        self,
        project: str,
        record: str | int,
        code: str,
        *,
        limits: Limits | None = None,
        cancel_key: str | None = None,
    ) -> dict[str, Any]:
        """The record IDE: run ``code`` against one record (id or key) in the sandbox; its
        printed output, value, error and traceback, and the ids of the records around it.
        :meth:`cancel_try_run` with ``cancel_key`` stops it."""
        with self.db.session() as s:
            found = projects.get(s, project)
            row = records.resolve(s, found, record)
            with try_runs.scope(cancel_key) as run:
                ran = record_ide.run(s, found, row, code, self.sandbox, limits or Limits())
        if run.cancelled and ran["error"] is not None:  # the worker's end, as the user's cancel
            ran.update(error=try_runs.MESSAGE, traceback=None, value=None)
        return ran

    def cancel_try_run(self, cancel_key: str) -> dict[str, Any]:
        """Stop the try-run ("Run on 10", a record-IDE snippet) started with ``cancel_key``:
        it returns at once, saying it was cancelled. ``running``: whether it was running (a
        cancel that comes first stops it as it starts)."""
        return {"cancel_key": cancel_key, "running": try_runs.cancel(cancel_key)}

    # --- embeddings ------------------------------------------------------------------------

    def add_embedding(
        self,
        project: str,
        attribute: str,
        *,
        embedder: str = "tfidf-svd",
        level: str = "attribute",
        reducer: str | None = None,
        name: str | None = None,
        wait: bool = False,
    ) -> dict[str, Any]:
        """Add an embedding of a text attribute (``embedder``: ``tfidf-svd``,
        ``st:PACKAGE-OR-PATH`` or ``model2vec:PATH``; ``level`` attribute or token;
        ``reducer`` e.g. ``pca-64``) and compute it as a job; returns the job, whose result
        holds the embedding."""
        with self.db.session() as s:
            created = embeddings.create(
                s,
                projects.get(s, project),
                attribute,
                embedder=embedder,
                level=level,
                reducer=reducer,
                name=name,
            )
            embedding_name = created.name
        return self.run_embedding(project, embedding_name, wait=wait)

    def list_embedders(self) -> list[dict[str, Any]]:
        """The embedders on offer: the built-in one and the sentence-transformers models
        installed as packages (``{"embedder", "title", "semantic"}``)."""
        return embedders.available()

    def list_embeddings(self, project: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            found = projects.get(s, project)
            return [embeddings.describe(e) for e in embeddings.list_all(s, found)]

    def get_embedding(self, project: str, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            return embeddings.describe(embeddings.get(s, projects.get(s, project), name))

    def delete_embedding(self, project: str, name: str) -> None:
        with self.db.session() as s:
            embeddings.delete_embedding(s, projects.get(s, project), name, self.settings.data_dir)

    def run_embedding(self, project: str, name: str, *, wait: bool = False) -> dict[str, Any]:
        """Compute an embedding as a job: only the texts its live vectors lack (new and
        changed records) are embedded; the rest are reused. Returns the job."""
        data_dir = self.settings.data_dir
        with self.db.session() as s:
            found = projects.get(s, project)
            embedding = embeddings.get(s, found, name)
            if embedding.job_id is not None:
                running = jobs.get(s, embedding.job_id)
                if running.status in ("queued", "running"):
                    raise Conflict(
                        f"embedding {name!r} is being computed by job {running.id}",
                        embedding=name,
                        job=running.id,
                    )
            job_id = jobs.create(s, embeddings.JOB_KIND, found.id, f"embed {name}").id
            embeddings.queue(s, embedding, job_id)

        def work(progress: jobs.JobProgress) -> dict[str, Any]:
            with self.db.session() as s:
                run = embeddings.start_run(s, projects.get(s, project), name, job_id)
            try:
                summary = embeddings.execute(data_dir, run, self.executor.map, progress)
            except BaseException as exc:
                message = exc.message if isinstance(exc, AssayError) else repr(exc)
                with self.db.session() as s:
                    embeddings.fail_run(s, run.embedding_id, message, data_dir)
                raise
            with self.db.session() as s:
                doc = embeddings.finish_run(s, run.embedding_id, summary)
                done = embeddings.get(s, projects.get(s, project), name)
            # A large embedding gets its search index now, not on its first search (which
            # would build it otherwise, e.g. after a failure here).
            with contextlib.suppress(OSError, MemoryError):
                search.build_index(data_dir, done, exact_below=self.settings.exact_search_below)
            return {"embedding": doc}

        return self._start(job_id, work, wait)

    def _records_changed(self, project: str, *, wait: bool) -> None:
        """Records of the project were added or changed: its embeddings that have vectors
        follow (a job each; embedded incrementally)."""
        with self.db.session() as s:
            found = projects.find(s, project)
            known = embeddings.list_all(s, found) if found else []
            ready = [e.name for e in known if e.state == "ready"]
        for name in ready:
            # Already running: that run may have read the records before this change; the
            # next run (by hand, or after the next import) embeds what it missed.
            with contextlib.suppress(Conflict):
                self.run_embedding(project, name, wait=wait)

    # --- neural search and outliers ---------------------------------------------------------

    def similar(
        self,
        project: str,
        *,
        embedding: str | None = None,
        record: int | str | None = None,
        text: str | None = None,
        where: Any = None,
        limit: int = 10,
        threshold: float | None = None,
    ) -> dict[str, Any]:
        """The records most similar to a record (id or ``col=value`` key) or to a text, among
        those ``where`` matches (the full ``limit`` whenever that many reach the threshold),
        best first: ``{"embedding", "threshold", "records": [{"id", "key", "score",
        "data"}]}``. ``embedding``: default the first ready attribute-level one;
        ``threshold``: default the embedder's."""
        with self.db.session() as s:
            found = projects.get(s, project)
            chosen = search.choose(s, found, embedding)
            used = search.default_threshold(chosen.embedder) if threshold is None else threshold
            hits = search.similar(
                s,
                found,
                chosen,
                self.settings.data_dir,
                record=record,
                text=text,
                where=where,
                limit=limit,
                threshold=used,
                exact_below=self.settings.exact_search_below,
            )
            return {"embedding": chosen.name, "threshold": used, "records": hits}

    def outliers(self, project: str, embedding: str, *, limit: int = 50) -> dict[str, Any]:
        """The records furthest from the manually labeled ones (``method`` labeled; labeled
        records left out), or, before any manual label, from their nearest neighbours
        (``method`` density); highest score first: ``{"embedding", "method", "records"}``."""
        with self.db.session() as s:
            found = projects.get(s, project)
            return search.outliers(
                s,
                found,
                embeddings.get(s, found, embedding),
                self.settings.data_dir,
                limit=limit,
                exact_below=self.settings.exact_search_below,
            )

    def create_outlier_slice(
        self, project: str, embedding: str, *, size: int = 100
    ) -> dict[str, Any]:
        """Create or refresh the static slice ``outliers-<embedding>`` with the ``size``
        records of highest outlier score now."""
        with self.db.session() as s:
            found = projects.get(s, project)
            made = search.outlier_slice(
                s,
                found,
                embeddings.get(s, found, embedding),
                self.settings.data_dir,
                size=size,
                exact_below=self.settings.exact_search_below,
            )
            return slices.describe(s, found, made)

    # --- samples and jobs ------------------------------------------------------------------

    def create_sample(
        self,
        sample: str = "clickbait",
        variant: str = "initial",
        name: str | None = None,
    ) -> dict[str, Any]:
        with self.db.session() as s:
            project = samples.create(s, sample, variant, name)
            doc = self._project_doc(s, project)
        if variant == "finished":
            self._finish_sample(doc["name"])
        return doc

    def _finish_sample(self, project: str) -> None:
        """The story's heuristics (with step 11's active learner, on step 5's embedding) and
        weak supervision, through the product's own paths; a failure removes the half-made
        project."""
        try:
            for task, name, code in samples.STORY_HEURISTICS:
                self.add_heuristic(project, task, name, code)
            attribute, embedder = samples.STORY_EMBEDDING
            embedded = self.add_embedding(project, attribute, embedder=embedder, wait=True)
            if embedded["status"] != "done":
                raise AssayError(f"sample project {project!r}: {embedded['error']}")
            task, name = samples.STORY_ACTIVE_LEARNER
            embedding = embedded["result"]["embedding"]["name"]
            self.add_active_learner(project, task, embedding=embedding, name=name)
            for job in (
                self.run_heuristics(project, wait=True),
                self.weak_supervise(project, "clickbait", wait=True),
            ):
                if job["status"] != "done":
                    raise AssayError(f"sample project {project!r}: {job['error']}")
        except BaseException:
            self.delete_project(project)
            raise

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


def _is_archive(path: Path, fmt: str | None) -> bool:
    return fmt == "project" or (fmt is None and path.name.endswith(".assay.json"))


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
        "calculated": a.code is not None,
    }


def _calculated(s: Any, project: Project, a: Attribute) -> dict[str, Any]:
    return {
        "name": a.name,
        "data_type": a.data_type,
        "position": a.position,
        "code": a.code,
        "code_version": a.code_version,
        "last_run": a.last_run,
        # new (never run), stale (code changed or records added since the run), ready
        "state": calculated.state(s, project, a),
    }


def _label(lb: Any) -> dict[str, Any]:
    return {"id": lb.id, "name": lb.name, "color": lb.color, "hotkey": lb.hotkey}


def _lookup_list(lst: LookupList, sizes: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    return {
        "id": lst.id,
        "name": lst.name,
        "module": module_name(lst.name),
        "description": lst.description,
        "version": lst.version,
        "terms": sizes[0],
        "blacklisted": sizes[1],
        "updated_at": lst.updated_at.isoformat(),
    }


def _heuristic(s: Any, h: Heuristic) -> dict[str, Any]:
    return {
        "id": h.id,
        "name": h.name,
        "task": h.task.name,
        "kind": h.kind,
        "description": h.description,
        "code": h.code,
        "code_version": h.code_version,
        "last_run": h.last_run,
        # The votes come from older code than the current one.
        "stale": h.last_run is not None and h.last_run["code_version"] != h.code_version,
        "statistics": h.statistics,
        **model_heuristics.describe(s, h),
        "created_at": h.created_at.isoformat(),
        "updated_at": h.updated_at.isoformat(),
    }


def _task(s: Any, t: LabelingTask) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "type": t.task_type,
        "attribute": tasks.attribute_name(s, t),
        "labels": [_label(lb) for lb in tasks.labels(s, t)],
    }
