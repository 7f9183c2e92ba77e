"""The Python face of assay: one object over the services, used by the API, the CLI and
notebooks alike. Each method opens a unit of work, calls one service entry point and returns
its document (:mod:`assay.documents`). The Workbench owns only what lives as long as the
process (executor, sandbox, the statistics debouncer), starting jobs, and the reactions to
writes, in one place.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from assay import documents
from assay.config import Settings
from assay.errors import AssayError
from assay.facade.curation import Curation
from assay.facade.data import Data
from assay.facade.embeddings import Embeddings
from assay.facade.labeling import Labeling
from assay.facade.models import Models
from assay.facade.predictions import Predictions
from assay.facade.user_code import UserCode
from assay.runtime.debounce import Debouncer
from assay.runtime.sandbox import Sandbox, default_sandbox, make_data_dir, protect
from assay.services import (
    database,
    embeddings,
    heuristics,
    projects,
    samples,
    tasks,
)

if TYPE_CHECKING:
    from assay.services.serving import Serving


class Workbench(Data, Labeling, UserCode, Embeddings, Models, Predictions, Curation):
    """``Workbench()`` opens the database named by the settings (ASSAY_* variables).

    Its methods come one module per capability (:mod:`assay.facade`); this class holds what
    they share: the process-lifetime objects, starting jobs, the reactions to writes, and
    projects."""

    def __init__(self, settings: Settings | None = None, *, migrate: bool = True) -> None:
        self.settings = settings or Settings()
        make_data_dir(self.settings.data_dir)  # private from the start, whatever the umask
        self.db = database.open_database(self.settings.resolved_database_url(), migrate=migrate)
        self._executor: Any = None
        self._sandbox: Sandbox | None = None
        self._serving: Serving | None = None
        self._opening = threading.Lock()  # one executor and one sandbox, however many threads
        # Heuristic statistics follow manual labels off the request path (per task id).
        self.statistics_refresher = Debouncer(
            lambda task_id: heuristics.refresh_task(self.db, task_id)
        )
        # Tasks with a model train again after enough new manual labels (facade/models.py).
        self.retrain_watcher = Debouncer(lambda task_id: self._retrain_if_due(task_id))

    def close(self) -> None:
        self.statistics_refresher.close()
        self.retrain_watcher.close()
        if self._executor is not None:
            self._executor.shutdown()
        if self._sandbox is not None:
            self._sandbox.close()
        if self._serving is not None:
            self._serving.forget()
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

    @property
    def serving(self) -> Serving:
        """The live model of each task, in memory, swapped when the database's live
        pointer moves (:mod:`assay.services.serving`)."""
        with self._opening:
            if self._serving is None:
                from assay.services.serving import Serving  # the models' libraries: on use

                self._serving = Serving(self.db)
            return self._serving

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


def _project_doc(s: Any, project: Any) -> documents.ProjectPublic:
    return projects.describe(s, project, tasks.describe_all(s, project))
