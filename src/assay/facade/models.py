"""Models of a task: training (a job), the registry of versions with their metrics,
promotion and rollback, the settings of the loop, and exporting an artifact."""

from __future__ import annotations

import contextlib
from collections.abc import Hashable
from typing import Any

from assay import documents
from assay.errors import Conflict
from assay.facade.base import Facade
from assay.services import model_registry, training
from assay.services import tasks as task_service


class Models(Facade):
    """Train, evaluate on the task's fixed test split, promote, roll back, export."""

    def train_model(
        self,
        project: str,
        task: str,
        *,
        algorithm: str = "auto",
        with_weak: float | None = None,
        embedding: str | None = None,
        wait: bool = False,
    ) -> documents.JobPublic:
        """Train a model of a classification or multi-label task on its reference manual
        labels (plus weakly supervised ones at or above ``with_weak`` confidence), outside the
        task's test split, as a job (one per task at a time); the new version is scored on the
        test split and made live when it beats the live one by a paired test. The job's result
        names the version and the decision."""
        options: dict[str, Any] = {
            "algorithm": algorithm,
            "with_weak": with_weak,
            "embedding": embedding,
        }
        job_id = self._in(project, lambda s, p: training.queue(s, p, task, **options))
        return self._start(
            training.JOB_KIND,
            project,
            f"training {task}",
            lambda progress: training.run(
                self.db,
                project,
                task,
                **options,
                data_dir=self.settings.data_dir,
                progress=progress,
                job_id=progress.job_id,
            ),
            wait=wait,
            job_id=job_id,
        )

    def list_models(self, project: str, task: str) -> list[documents.ModelVersionPublic]:
        """The task's versions, newest first."""
        return self._in(
            project,
            lambda s, p: [
                model_registry.describe(row, task)
                for row in model_registry.versions(s, task_service.get(s, p, task))
            ],
        )

    def models_overview(self, project: str, task: str) -> documents.ModelsOverview:
        """Versions, the live one, the promotion history and the loop's settings."""
        return self._in(
            project, lambda s, p: model_registry.overview(s, task_service.get(s, p, task))
        )

    def get_model(self, project: str, task: str, version: int) -> documents.ModelVersionPublic:
        return self._in(
            project,
            lambda s, p: model_registry.describe(
                model_registry.get(s, task_service.get(s, p, task), version), task
            ),
        )

    def promote_model(self, project: str, task: str, version: int) -> documents.ModelVersionPublic:
        """Make ``version`` live, whatever its figures (the manual override)."""

        def promote(s: Any, p: Any) -> documents.ModelVersionPublic:
            found = task_service.get(s, p, task)
            row = model_registry.get(s, found, version)
            promoted = model_registry.promote(
                s, found, row, action="promote", reason="promoted by hand"
            )
            return model_registry.describe(promoted, found.name)

        promoted = self._in(project, promote)
        self.after_live_moved()
        return promoted

    def rollback_model(self, project: str, task: str) -> documents.ModelVersionPublic:
        """Make the version live before the current one live again; returns it."""

        def rollback(s: Any, p: Any) -> documents.ModelVersionPublic:
            found = task_service.get(s, p, task)
            return model_registry.describe(model_registry.rollback(s, found), found.name)

        live = self._in(project, rollback)
        self.after_live_moved()
        return live

    def model_settings(self, project: str, task: str) -> documents.ModelSettings:
        return self._in(
            project,
            lambda s, p: model_registry.current_settings(s, task_service.get(s, p, task)),
        )

    def update_model_settings(
        self, project: str, task: str, **changes: Any
    ) -> documents.ModelSettings:
        """Change some of retrain_after, audit_share, metric, alpha, recall_margin,
        test_fraction (the fraction only before the split's first draw)."""
        return self._in(
            project,
            lambda s, p: model_registry.update_settings(s, task_service.get(s, p, task), changes),
        )

    def export_model(self, project: str, task: str, version: int) -> bytes:
        """The version's artifact, checked against its sha256 (load it with
        :func:`assay.algorithms.text_models.load`)."""
        return self._in(
            project,
            lambda s, p: model_registry.artifact(
                s, model_registry.get(s, task_service.get(s, p, task), version)
            ),
        )

    def _retrain_if_due(self, task_id: Hashable) -> None:
        """Queue a training of the task when it has gained ``retrain_after`` manual labels
        since its last training (the retrain watcher calls this off the labeling path); one
        already queued or running is enough."""
        assert isinstance(task_id, int)
        with self.db.session() as s:
            options = training.retrain_options(s, task_id) if training.due(s, task_id) else None
        if options is None:
            return
        with contextlib.suppress(Conflict):  # a training is under way: it serves
            self.train_model(options.pop("project"), options.pop("task"), **options)
