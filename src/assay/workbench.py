"""The Python face of assay: one object over the services, used by the API, the CLI and
notebooks alike. Each method opens a unit of work, calls one service entry point and returns
its document (:mod:`assay.documents`). The Workbench owns only what lives as long as the
process (executor, sandbox, the statistics debouncer), starting jobs, and the reactions to
writes, in one place.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from assay import documents
from assay.algorithms.label_models import DEFAULT_MODEL
from assay.config import Settings
from assay.errors import AssayError, Conflict
from assay.runtime import try_runs
from assay.runtime.debounce import Debouncer
from assay.runtime.job_runner import JobFunction, JobProgress, Progress
from assay.runtime.job_runner import run as run_job
from assay.runtime.sandbox import Limits, Sandbox, default_sandbox, make_data_dir, protect
from assay.services import (
    annotating,
    archives,
    calculated,
    database,
    embedders,
    embedding_runs,
    embeddings,
    exporting,
    files,
    heuristic_runs,
    heuristics,
    importing,
    jobs,
    lookup_lists,
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
    user_code,
    weak_supervision,
)
from assay.services.importing import file_import

T = TypeVar("T")


class Workbench:
    """``Workbench()`` opens the database named by the settings (ASSAY_* variables)."""

    def __init__(self, settings: Settings | None = None, *, migrate: bool = True) -> None:
        self.settings = settings or Settings()
        make_data_dir(self.settings.data_dir)  # private from the start, whatever the umask
        self.db = database.open_database(self.settings.resolved_database_url(), migrate=migrate)
        self._executor: Any = None
        self._sandbox: Sandbox | None = None
        self._opening = threading.Lock()  # one executor and one sandbox, however many threads
        # Heuristic statistics follow manual labels off the request path (per task id).
        self.statistics_refresher = Debouncer(
            lambda task_id: heuristics.refresh_task(self.db, task_id)
        )

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

    def _in(self, project: str, work: Callable[[Any, Any], T]) -> T:
        """``work(session, project)`` in one unit of work, the project found by name."""
        with self.db.session() as s:
            return work(s, projects.get(s, project))

    # --- jobs and the reactions to writes: in one place --------------------------------------

    # The changes a job kind's success makes: the reactions they call for follow the job,
    # so that no job body has to remember them.
    _CHANGES: ClassVar[dict[str, tuple[str, ...]]] = {
        "import": ("labels", "records"),  # an archive's restore too
        "calculated_attribute": ("records",),  # an embedding may embed the attribute
    }

    def _start(
        self,
        kind: str,
        project: str | None,
        message: str,
        work: JobFunction,
        *,
        wait: bool = False,
        user_code: bool = False,
        job_id: int | None = None,
    ) -> documents.JobPublic:
        """Start a job of ``kind`` (``job_id``: one already created) in this thread
        (``wait``) or on the executor (``user_code``: on the slots of jobs that run user
        code, which never hold up the others); returns the job."""
        job_id = job_id if job_id is not None else self._new_job(kind, project, message)
        reacting = self._reacting(kind, project, work)
        if wait:
            with contextlib.suppress(AssayError):  # recorded on the job, which the caller reads
                run_job(self.db, job_id, reacting)
        else:
            self.executor.submit(job_id, reacting, user_code=user_code)
        return self.get_job(job_id)

    def _run_now(
        self, kind: str, project: str, message: str, work: JobFunction, listener: Progress | None
    ) -> dict[str, Any]:
        """Run a job of ``kind`` in this thread; returns its result (raises its error)."""
        job_id = self._new_job(kind, project, message)
        return run_job(self.db, job_id, self._reacting(kind, project, work), listener)

    def _new_job(self, kind: str, project: str | None, message: str) -> int:
        with self.db.session() as s:
            return jobs.create_for(s, kind, project, message).id

    def _reacting(self, kind: str, project: str | None, work: JobFunction) -> JobFunction:
        changes = self._CHANGES.get(kind, ())
        if not changes or project is None:
            return work

        def run(progress: JobProgress) -> dict[str, Any]:
            result = work(progress)
            changed = str(result.get("project") or project)  # a restore names its project
            if "labels" in changes:
                self.after_labels_changed(changed)
            if "records" in changes:
                self.after_records_changed(changed)
            return result

        return run

    def after_labels_changed(self, project: str, task_ids: list[int] | None = None) -> None:
        """Labels of the project (of these tasks; default all) changed: its heuristics'
        statistics follow, later, off the request path."""
        if task_ids is None:
            with self.db.session() as s:
                task_ids = tasks.ids(s, projects.find(s, project))
        for task_id in task_ids:
            self.statistics_refresher.mark(task_id)

    def after_records_changed(self, project: str) -> None:
        """Records of the project were added or changed: its embeddings that have vectors
        follow (a job each; embedded incrementally)."""
        with self.db.session() as s:
            ready = embeddings.ready_names(s, projects.find(s, project))
        for name in ready:
            # Already running: that run may have read the records before this change; the
            # next run (by hand, or after the next import) embeds what it missed.
            with contextlib.suppress(Conflict):
                self.run_embedding(project, name)

    def get_job(self, job_id: int) -> documents.JobPublic:
        with self.db.session() as s:
            return jobs.describe(jobs.get(s, job_id))

    def list_jobs(self, project: str | None = None) -> list[documents.JobPublic]:
        with self.db.session() as s:
            return [jobs.describe(j) for j in jobs.list_for(s, project)]

    def cancel_job(self, job_id: int) -> documents.JobPublic:
        with self.db.session() as s:
            return jobs.describe(jobs.cancel(s, job_id))

    # --- projects --------------------------------------------------------------------------

    def list_projects(self) -> list[documents.ProjectSummary]:
        with self.db.session() as s:
            return projects.list_all(s)

    def create_project(
        self, name: str, description: str = "", language: str = "en"
    ) -> documents.ProjectPublic:
        with self.db.session() as s:
            return _project_doc(s, projects.create(s, name, description, language))

    def get_project(self, name: str) -> documents.ProjectPublic:
        return self._in(name, _project_doc)

    def delete_project(self, name: str) -> None:
        embedding_ids = self._in(name, embeddings.ids)
        with self.db.session() as s:
            projects.delete_project(s, name)
        for embedding_id in embedding_ids:  # vectors live in the data dir, not the database
            embeddings.remove_files(self.settings.data_dir, embedding_id)

    def create_sample(
        self, sample: str = "clickbait", variant: str = "initial", name: str | None = None
    ) -> documents.ProjectPublic:
        with self.db.session() as s:
            doc = _project_doc(s, samples.create(s, sample, variant, name))
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

    @property
    def _file_limits(self) -> files.Limits:
        return files.Limits(self.settings.max_cell_bytes, self.settings.max_upload_bytes)

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

    # --- tasks and labels ------------------------------------------------------------------

    def add_task(
        self,
        project: str,
        name: str,
        task_type: str,
        attribute: str | None = None,
        labels: list[str] | None = None,
    ) -> documents.TaskPublic:
        return self._in(project, lambda s, p: tasks.add(s, p, name, task_type, attribute, labels))

    def list_tasks(self, project: str) -> list[documents.TaskPublic]:
        return self._in(project, tasks.describe_all)

    def rename_task(self, project: str, name: str, new_name: str) -> documents.TaskPublic:
        return self._in(project, lambda s, p: tasks.describe(s, tasks.rename(s, p, name, new_name)))

    def delete_task(self, project: str, name: str) -> None:
        self._in(project, lambda s, p: tasks.delete_task(s, p, name))

    def add_label(
        self,
        project: str,
        task: str,
        name: str,
        color: str | None = None,
        hotkey: str | None = None,
    ) -> documents.LabelPublic:
        return self._in(
            project,
            lambda s, p: tasks.describe_label(
                tasks.add_label(s, tasks.get(s, p, task), name, color, hotkey)
            ),
        )

    def update_label(
        self,
        project: str,
        task: str,
        label: str,
        *,
        new_name: str | None = None,
        color: str | None = None,
        hotkey: str | None = None,
    ) -> documents.LabelPublic:
        """Rename, recolor or re-key a label. A rename also rewrites the string literals that
        name the label in the task's heuristics (each changed one gets a new code version)."""
        with self.db.session() as s:
            found = tasks.get(s, projects.get(s, project), task)
            updated = tasks.update_label(s, found, label, new_name, color, hotkey)
            renamed = updated.name != label
            if renamed:
                heuristics.rename_label(s, found, label, updated.name)
            doc = tasks.describe_label(updated)
        if renamed:  # the statistics name their labels
            self.after_labels_changed(project, [found.id])
        return doc

    def delete_label(self, project: str, task: str, label: str) -> None:
        """Delete a label and every vote for it; the task's statistics follow."""
        task_id = self._in(project, lambda s, p: annotating.delete_label(s, p, task, label))
        self.after_labels_changed(project, [task_id])

    # --- annotations and records -----------------------------------------------------------

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
    ) -> documents.TaskLabels:
        """Give a record a manual label; returns the record's labels for that task."""
        labels, task_id = self._in(
            project,
            lambda s, p: annotating.annotate(s, p, record, task, label, annotator, gold, span),
        )
        self.after_labels_changed(project, [task_id])
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
    ) -> documents.TaskLabels:
        """Take a manual label back (``label``: only that one; ``gold``: the gold one)."""
        labels, task_id = self._in(
            project,
            lambda s, p: annotating.unannotate(s, p, record, task, annotator, label, gold, span),
        )
        self.after_labels_changed(project, [task_id])
        return labels

    def annotate_file(self, project: str, path: str | Path) -> dict[str, Any]:
        """Apply manual labels from a CSV or JSONL file, all or nothing
        (:func:`assay.services.annotating.apply_file` names the columns)."""
        table = files.read_table(Path(path), limits=self._file_limits)
        applied = self._in(
            project, lambda s, p: annotating.apply_file(s, p, table.columns, str(path))
        )
        self.after_labels_changed(project)
        return {"applied": applied}

    def query(self, project: str, where: Any = None, **params: Any) -> documents.RecordPage:
        """One page of records: ``{"records", "total", "next_cursor"}``; ``params`` are those
        of :class:`assay.documents.RecordQuery` (order_by, descending, seed, limit, cursor,
        offset, with_labels), with its defaults."""
        query = queries.parameters(where, **params)
        return self._in(project, lambda s, p: queries.page(s, p, query))

    def get_record(self, project: str, record: str | int) -> documents.RecordDetail:
        """A record with its tokens (per text attribute) and every label."""
        return self._in(
            project, lambda s, p: annotating.detail(s, p, records.resolve(s, p, record))
        )

    # --- slices and statistics -------------------------------------------------------------

    def create_slice(
        self,
        project: str,
        name: str,
        where: Any = None,
        *,
        kind: str = "dynamic",
        record_ids: list[int] | None = None,
    ) -> documents.SlicePublic:
        return self._in(project, lambda s, p: slices.add(s, p, name, where, kind, record_ids))

    def list_slices(self, project: str) -> list[documents.SlicePublic]:
        return self._in(project, slices.describe_all)

    def get_slice(self, project: str, name: str) -> documents.SlicePublic:
        return self._in(project, lambda s, p: slices.describe(s, p, slices.get(s, p, name)))

    def rename_slice(self, project: str, name: str, new_name: str) -> documents.SlicePublic:
        return self._in(
            project, lambda s, p: slices.describe(s, p, slices.rename(s, p, name, new_name))
        )

    def delete_slice(self, project: str, name: str) -> None:
        self._in(project, lambda s, p: slices.delete_slice(s, p, name))

    def statistics(
        self, project: str, task: str, slice_name: str | None = None
    ) -> documents.TaskStatistics:
        """One task's overview: progress, label and confidence distributions, confusion
        matrix (manual vs weak supervision), annotators and their agreement, conflicts;
        over the project's records or one slice's."""
        return self._in(project, lambda s, p: statistics.task_statistics(s, p, task, slice_name))

    # --- lookup lists ----------------------------------------------------------------------

    def list_lookup_lists(self, project: str) -> list[documents.LookupListPublic]:
        return self._in(
            project, lambda s, p: lookup_lists.describe_all(s, lookup_lists.list_all(s, p))
        )

    def create_lookup_list(
        self, project: str, name: str, description: str = ""
    ) -> documents.LookupListPublic:
        return self._in(
            project,
            lambda s, p: lookup_lists.describe(s, lookup_lists.create(s, p, name, description)),
        )

    def get_lookup_list(self, project: str, name: str) -> documents.LookupListDetail:
        """A list with its terms (``entries``: each term and whether it is blacklisted)."""
        return self._in(project, lambda s, p: lookup_lists.detail(s, lookup_lists.get(s, p, name)))

    def delete_lookup_list(self, project: str, name: str) -> None:
        self._in(project, lambda s, p: lookup_lists.delete_list(s, p, name))

    def add_terms(
        self, project: str, name: str, terms: list[str], *, blacklisted: bool = False
    ) -> documents.LookupListPublic:
        """Add terms to a list (created when missing); ``blacklisted`` adds or marks them as
        blacklisted. Returns the list with the ``changed`` counts."""
        return self._in(
            project, lambda s, p: lookup_lists.add(s, p, name, terms, blacklisted=blacklisted)
        )

    def remove_terms(
        self, project: str, name: str, terms: list[str], *, blacklist_only: bool = False
    ) -> documents.LookupListPublic:
        """Remove terms from a list; ``blacklist_only`` takes them off the blacklist instead."""
        return self._in(
            project,
            lambda s, p: lookup_lists.remove(s, p, name, terms, blacklist_only=blacklist_only),
        )

    def import_terms(self, project: str, name: str, path: str | Path) -> documents.LookupListPublic:
        """Add the terms of a text file (one a line) or CSV (``term``, ``blacklisted``)."""
        return self._in(project, lambda s, p: lookup_lists.add_file(s, p, name, Path(path)))

    def export_terms(self, project: str, name: str, fmt: str = "txt", *, raw: bool = False) -> str:
        """A lookup list's terms; a CSV escapes formula-like terms unless ``raw``."""
        return self._in(
            project,
            lambda s, p: lookup_lists.export_terms(s, lookup_lists.get(s, p, name), fmt, raw=raw),
        )

    # --- heuristics and weak supervision ------------------------------------------------------

    def add_heuristic(
        self,
        project: str,
        task: str,
        name: str | None = None,
        code: str | None = None,
        description: str = "",
        *,
        kind: str = "labeling_function",
        **config: Any,
    ) -> documents.HeuristicPublic:
        """Add a heuristic of ``kind`` for a task: a labeling function (``name`` and
        ``code``: Python defining one function of the record), an active learner or a
        zero-shot heuristic (``embedding=...`` and their settings, see
        :meth:`add_active_learner` and :meth:`add_zero_shot`; defaults: ``heuristics.KINDS``)."""
        return self._in(
            project,
            lambda s, p: heuristics.describe(
                s,
                heuristics.create(s, p, task, name, code, description, kind=kind, settings=config),
            ),
        )

    def add_active_learner(
        self, project: str, task: str, *, embedding: str, **settings: Any
    ) -> documents.HeuristicPublic:
        """Add an active learner (``name``, ``classifier``, ``min_confidence``, ``code``):
        code (from a template of ``classifier``: logistic-regression (default),
        random-forest, k-neighbors; or ``code``) defining a class with ``fit(embeddings,
        labels)`` and ``predict_proba(embeddings)``, fitted on the task's manual labels over
        ``embedding`` (attribute level; token level for extraction); it abstains below
        ``min_confidence`` (default 0.8)."""
        return self.add_heuristic(
            project, task, kind="active_learner", embedding=embedding, **settings
        )

    def add_zero_shot(
        self, project: str, task: str, *, embedding: str, **settings: Any
    ) -> documents.HeuristicPublic:
        """Add a zero-shot heuristic (``name``, ``descriptions``, ``min_confidence``): each
        record votes the label whose name (and description) is most similar to it in a
        semantic ``embedding``'s space, where its probability reaches ``min_confidence``
        (default: 40% of the way from chance to certainty, 0.7 for two labels)."""
        return self.add_heuristic(project, task, kind="zero_shot", embedding=embedding, **settings)

    def list_heuristics(self, project: str) -> list[documents.HeuristicPublic]:
        return self._in(
            project, lambda s, p: [heuristics.describe(s, h) for h in heuristics.list_all(s, p)]
        )

    def get_heuristic(self, project: str, name: str) -> documents.HeuristicPublic:
        return self._in(project, lambda s, p: heuristics.describe(s, heuristics.get(s, p, name)))

    def update_heuristic(
        self,
        project: str,
        name: str,
        *,
        code: str | None = None,
        new_name: str | None = None,
        description: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> documents.HeuristicPublic:
        """Change a heuristic: name, code, description, or a zero-shot heuristic's settings
        (``config``: min_confidence, temperature, descriptions)."""
        return self._in(
            project,
            lambda s, p: heuristics.describe(
                s,
                heuristics.update(
                    s, p, name, code=code, new_name=new_name, description=description, config=config
                ),
            ),
        )

    def delete_heuristic(self, project: str, name: str) -> None:
        self._in(project, lambda s, p: heuristics.delete_heuristic(s, p, name))

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
    ) -> documents.HeuristicTryResult:
        """Run a heuristic on ``n`` random records (or these ones) and return each record's
        result and printed output; nothing is stored. A run that fails reports why (and, for
        exceptions, the records and tracebacks) in ``error`` and ``failures``.
        :meth:`cancel_try_run` with ``cancel_key`` stops it."""
        box, data_dir = self.sandbox, self.settings.data_dir
        choice = user_code.Choice(n, record_ids, seed, cancel_key)
        return self._in(
            project,
            lambda s, p: heuristics.try_heuristic(
                s, p, name, box, limits or Limits(), data_dir, choice
            ),
        )

    def run_heuristics(
        self,
        project: str,
        names: list[str] | None = None,
        *,
        wait: bool = False,
        limits: Limits | None = None,
    ) -> documents.JobPublic:
        """Run heuristics (``names``; all when None) on every record as a job, together and a
        partition of records at a time on the executor; results are cached by record content
        and everything else they depend on (``services/heuristic_runs.py``). Each one that
        succeeds has its previous votes replaced at once; one that fails keeps them, and the
        job fails naming it. ``limits`` apply to each sandbox run (a slice of a partition)."""
        todo = self._in(project, lambda s, p: heuristic_runs.chosen(s, p, names))
        _ = self.sandbox  # before any partition runs here: it protects the data dir
        return self._start(
            "heuristics",
            project,
            f"run {', '.join(todo)}",
            lambda progress: heuristic_runs.run(
                self.db,
                project,
                todo,
                data_dir=self.settings.data_dir,
                mapper=self.executor.map,
                limits=limits or Limits(),
                progress=progress,
            ),
            wait=wait,
            user_code=True,
        )

    def weak_supervise(
        self,
        project: str,
        task: str,
        *,
        model: str = DEFAULT_MODEL,
        heuristics: list[str] | None = None,
        params: dict[str, Any] | None = None,
        wait: bool = False,
    ) -> documents.JobPublic:
        """Combine the task's heuristics' votes with a label model, as a job; the labels
        become the source ``weak_supervision`` (replacing the previous run's)."""
        return self._start(
            weak_supervision.JOB_KIND,
            project,
            f"weak supervision of {task}",
            lambda progress: weak_supervision.run_job(
                self.db,
                project,
                task,
                model=model,
                names=heuristics,
                params=params,
                progress=progress,
            ),
            wait=wait,
        )

    def weak_supervision_info(
        self, project: str, task: str
    ) -> documents.WeakSupervisionInfo | None:
        """The task's last weak-supervision run (model, params, heuristics and their code
        versions, counts, ``finished_at``) and whether it is ``stale``; None before the first."""
        return self._in(project, lambda s, p: weak_supervision.last_run(s, tasks.get(s, p, task)))

    # --- calculated attributes and the record IDE --------------------------------------------

    def add_calculated_attribute(
        self, project: str, name: str, data_type: str, code: str
    ) -> documents.CalculatedPublic:
        """Add an attribute computed by Python code (one function of the record); its values
        are null until :meth:`run_calculated_attribute`."""
        return self._in(
            project,
            lambda s, p: calculated.describe(s, p, calculated.create(s, p, name, data_type, code)),
        )

    def list_calculated_attributes(self, project: str) -> list[documents.CalculatedPublic]:
        return self._in(
            project, lambda s, p: [calculated.describe(s, p, a) for a in calculated.list_all(s, p)]
        )

    def get_calculated_attribute(self, project: str, name: str) -> documents.CalculatedPublic:
        return self._in(project, lambda s, p: calculated.describe(s, p, calculated.get(s, p, name)))

    def update_calculated_attribute(
        self, project: str, name: str, code: str
    ) -> documents.CalculatedPublic:
        """New code (a new version); the values stay, ``stale``, until the next run."""
        return self._in(
            project,
            lambda s, p: calculated.describe(s, p, calculated.update_code(s, p, name, code)),
        )

    def delete_calculated_attribute(self, project: str, name: str) -> None:
        self._in(project, lambda s, p: calculated.delete_attribute(s, p, name))

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
    ) -> documents.CalculatedTryResult:
        """Run the attribute's code (or ``code``, unsaved) on ``n`` random records (or these
        ones): each record's value, printed output and type mismatch (``error``); nothing is
        stored. A run that fails says why in ``error`` (exceptions: ``failures``).
        :meth:`cancel_try_run` with ``cancel_key`` stops it."""
        box, cell = self.sandbox, self.settings.max_cell_bytes
        choice = user_code.Choice(n, record_ids, seed, cancel_key)
        return self._in(
            project,
            lambda s, p: calculated.try_code(
                s, p, name, box, limits or Limits(), cell, choice, code
            ),
        )

    def run_calculated_attribute(
        self, project: str, name: str, *, wait: bool = False, limits: Limits | None = None
    ) -> documents.JobPublic:
        """Compute the attribute on every record as a job; all or nothing: an exception or a
        type mismatch on any record stores nothing and names the records."""
        self._in(project, lambda s, p: calculated.get(s, p, name))
        _ = self.sandbox  # protects the data dir before any code runs
        return self._start(
            "calculated_attribute",
            project,
            f"calculate {name}",
            lambda progress: calculated.run(
                self.db,
                project,
                name,
                mapper=self.executor.map,
                max_bytes=self.settings.max_cell_bytes,
                progress=progress,
                limits=limits,
            ),
            wait=wait,
            user_code=True,
        )

    def run_snippet(
        self,
        project: str,
        record: str | int,
        code: str,
        *,
        limits: Limits | None = None,
        cancel_key: str | None = None,
    ) -> documents.SnippetResult:
        """The record IDE: run ``code`` against one record (id or key) in the sandbox; its
        printed output, value, error and traceback, and the ids of the records around it.
        :meth:`cancel_try_run` with ``cancel_key`` stops it."""
        box = self.sandbox
        return self._in(
            project,
            lambda s, p: record_ide.run(
                s, p, records.resolve(s, p, record), code, box, limits or Limits(), cancel_key
            ),
        )

    def cancel_try_run(self, cancel_key: str) -> documents.TryRunCancel:
        """Stop the try-run ("Run on 10", a record-IDE snippet) started with ``cancel_key``:
        it returns at once, saying it was cancelled. ``running``: whether it was running (a
        cancel that comes first stops it as it starts)."""
        return {"cancel_key": cancel_key, "running": try_runs.cancel(cancel_key)}

    # --- embeddings, neural search and outliers ----------------------------------------------

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
    ) -> documents.JobPublic:
        """Add an embedding of a text attribute (``embedder``: ``tfidf-svd``,
        ``st:PACKAGE-OR-PATH`` or ``model2vec:PATH``; ``level`` attribute or token;
        ``reducer`` e.g. ``pca-64``) and compute it as a job; returns the job, whose result
        holds the embedding."""
        created = self._in(
            project,
            lambda s, p: (
                embeddings.create(
                    s, p, attribute, embedder=embedder, level=level, reducer=reducer, name=name
                ).name
            ),
        )
        return self.run_embedding(project, created, wait=wait)

    def list_embedders(self) -> list[documents.EmbedderPublic]:
        """The embedders on offer: the built-in one and the sentence-transformers models
        installed as packages (``{"embedder", "title", "semantic"}``)."""
        return embedders.available()

    def list_embeddings(self, project: str) -> list[documents.EmbeddingPublic]:
        return self._in(
            project, lambda s, p: [embeddings.describe(e) for e in embeddings.list_all(s, p)]
        )

    def get_embedding(self, project: str, name: str) -> documents.EmbeddingPublic:
        return self._in(project, lambda s, p: embeddings.describe(embeddings.get(s, p, name)))

    def delete_embedding(self, project: str, name: str) -> None:
        data_dir = self.settings.data_dir
        self._in(project, lambda s, p: embeddings.delete_embedding(s, p, name, data_dir))

    def run_embedding(self, project: str, name: str, *, wait: bool = False) -> documents.JobPublic:
        """Compute an embedding as a job: only the texts its live vectors lack (new and
        changed records) are embedded; the rest are reused. Returns the job."""
        job_id = self._in(project, lambda s, p: embeddings.queue(s, p, name))
        return self._start(
            embeddings.JOB_KIND,
            project,
            "",
            lambda progress: embedding_runs.run(
                self.db,
                project,
                name,
                job_id,
                data_dir=self.settings.data_dir,
                map_function=self.executor.map,
                exact_below=self.settings.exact_search_below,
                progress=progress,
            ),
            wait=wait,
            job_id=job_id,
        )

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
    ) -> documents.SimilarResult:
        """The records most similar to a record (id or ``col=value`` key) or to a text, among
        those ``where`` matches (the full ``limit`` whenever that many reach the threshold),
        best first: ``{"embedding", "threshold", "records": [{"id", "key", "score",
        "data"}]}``. ``embedding``: default the first ready attribute-level one;
        ``threshold``: default the embedder's."""
        query = {"record": record, "text": text, "where": where, "limit": limit}
        return self._in(
            project,
            lambda s, p: search.similar(
                s, p, embedding, self.settings.data_dir, threshold=threshold, **query, **self._index
            ),
        )

    def outliers(self, project: str, embedding: str, *, limit: int = 50) -> documents.OutlierResult:
        """The records furthest from the manually labeled ones (``method`` labeled; labeled
        records left out), or, before any manual label, from their nearest neighbours
        (``method`` density); highest score first: ``{"embedding", "method", "records"}``."""
        return self._in(
            project,
            lambda s, p: search.outliers(
                s,
                p,
                embeddings.get(s, p, embedding),
                self.settings.data_dir,
                limit=limit,
                **self._index,
            ),
        )

    def create_outlier_slice(
        self, project: str, embedding: str, *, size: int = 100
    ) -> documents.SlicePublic:
        """Create or refresh the static slice ``outliers-<embedding>`` with the ``size``
        records of highest outlier score now."""

        def make(s: Any, p: Any) -> documents.SlicePublic:
            found = embeddings.get(s, p, embedding)
            made = search.outlier_slice(
                s, p, found, self.settings.data_dir, size=size, **self._index
            )
            return slices.describe(s, p, made)

        return self._in(project, make)

    @property
    def _index(self) -> dict[str, Any]:
        """How searches choose between an exact and an approximate index."""
        return {"exact_below": self.settings.exact_search_below}


def _project_doc(s: Any, project: Any) -> documents.ProjectPublic:
    return projects.describe(s, project, tasks.describe_all(s, project))
