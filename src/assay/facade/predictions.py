"""Serving a task's live model (hot-swapped when another version goes live), and the review
of its predictions."""

from __future__ import annotations

from typing import Any

from assay import documents
from assay.facade.base import Facade
from assay.services import importing, predictions


class Predictions(Facade):
    """Predict with the live model; review predictions; the live-accuracy estimate."""

    def predict(
        self,
        project: str,
        task: str,
        texts: list[str] | None = None,
        records: list[dict[str, Any]] | None = None,
        *,
        store: bool = False,
        annotator: str = "predict",
    ) -> documents.PredictResult:
        """Predict with the task's live model (one version answers the whole call); ``store``:
        the inputs become records with a pending model prediction (imported as
        ``annotator`` would import them)."""
        options = None
        if store:
            cell = self.settings.max_cell_bytes
            options = importing.ImportOptions(
                annotator=annotator, max_cell_bytes=cell, into="existing"
            )
        result = self._in(
            project,
            lambda s, p: predictions.predict(
                s,
                self.serving,
                p,
                task,
                texts,
                records,
                data_dir=self.settings.data_dir,
                store=options,
            ),
        )
        if store:
            self.after_records_changed(project)
        return result

    def list_predictions(
        self,
        project: str,
        task: str,
        *,
        status: str | None = "pending",
        audit: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> documents.PredictionPage:
        """The review queue (``status`` pending by default), oldest first, a page at a time."""
        return self._in(
            project,
            lambda s, p: predictions.page(
                s, p, task, status=status, audit=audit, limit=limit, cursor=cursor
            ),
        )

    def review_prediction(
        self,
        project: str,
        task: str,
        prediction_id: str,
        action: str,
        reviewer: str,
        *,
        label: str | list[str] | None = None,
    ) -> documents.PredictionPublic:
        """``accept``, ``reject`` or ``correct`` (with ``label``) a prediction; an audit
        prediction is answered with ``label`` (blind). Accepted and corrected labels become
        the reviewer's manual labels where the prediction has a record."""
        reviewed, task_id = self._in(
            project,
            lambda s, p: predictions.review(s, p, task, prediction_id, action, reviewer, label),
        )
        if task_id is not None:
            self.after_labels_changed(project, [task_id])
        return reviewed

    def live_accuracy(self, project: str, task: str) -> documents.LiveAccuracy:
        """The live version's accuracy on the reviewed audit predictions, with its interval."""
        return self._in(project, lambda s, p: predictions.live_accuracy(s, p, task))
