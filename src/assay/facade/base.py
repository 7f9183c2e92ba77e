"""What every part of the Workbench shares: its settings and database, a unit of work on a
project found by name, the limits of files it reads; and, declared here for the type checker
and defined by :class:`assay.workbench.Workbench`, the sandbox, the executor, starting jobs
and the reactions to writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from assay import documents
from assay.config import Settings
from assay.runtime.debounce import Debouncer
from assay.runtime.job_runner import JobFunction, Progress
from assay.runtime.sandbox import Sandbox
from assay.services import files, projects
from assay.services.database import Database

T = TypeVar("T")


class Facade:
    settings: Settings
    db: Database
    statistics_refresher: Debouncer

    def _in(self, project: str, work: Callable[[Any, Any], T]) -> T:
        """``work(session, project)`` in one unit of work, the project found by name."""
        with self.db.session() as s:
            return work(s, projects.get(s, project))

    @property
    def _file_limits(self) -> files.Limits:
        return files.Limits(self.settings.max_cell_bytes, self.settings.max_upload_bytes)

    if TYPE_CHECKING:  # the Workbench's own

        @property
        def sandbox(self) -> Sandbox: ...

        @property
        def executor(self) -> Any: ...

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
        ) -> documents.JobPublic: ...

        def _run_now(
            self,
            kind: str,
            project: str,
            message: str,
            work: JobFunction,
            listener: Progress | None,
        ) -> dict[str, Any]: ...

        def after_labels_changed(self, project: str, task_ids: list[int] | None = None) -> None: ...

        def after_records_changed(self, project: str) -> None: ...
