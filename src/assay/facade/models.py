"""Models of a task: training (a job), the registry of versions with their metrics,
promotion and rollback, the settings of the loop, and exporting an artifact."""

from __future__ import annotations

from typing import Any

from assay import documents
from assay.facade.base import Facade


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
        raise NotImplementedError

    def list_models(self, project: str, task: str) -> list[documents.ModelVersionPublic]:
        """The task's versions, newest first."""
        raise NotImplementedError

    def models_overview(self, project: str, task: str) -> documents.ModelsOverview:
        """Versions, the live one, the promotion history and the loop's settings."""
        raise NotImplementedError

    def get_model(self, project: str, task: str, version: int) -> documents.ModelVersionPublic:
        raise NotImplementedError

    def promote_model(self, project: str, task: str, version: int) -> documents.ModelVersionPublic:
        """Make ``version`` live, whatever its figures (the manual override)."""
        raise NotImplementedError

    def rollback_model(self, project: str, task: str) -> documents.ModelVersionPublic:
        """Make the version live before the current one live again; returns it."""
        raise NotImplementedError

    def model_settings(self, project: str, task: str) -> documents.ModelSettings:
        raise NotImplementedError

    def update_model_settings(
        self, project: str, task: str, **changes: Any
    ) -> documents.ModelSettings:
        """Change some of retrain_after, audit_share, metric, alpha, recall_margin,
        test_fraction (the fraction only before the split's first draw)."""
        raise NotImplementedError

    def export_model(self, project: str, task: str, version: int) -> bytes:
        """The version's artifact, checked against its sha256 (load it with
        :func:`assay.algorithms.text_models.load`)."""
        raise NotImplementedError
