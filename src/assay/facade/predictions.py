"""Serving a task's live model (hot-swapped when another version goes live), and the review
of its predictions."""

from __future__ import annotations

from typing import Any

from assay import documents
from assay.facade.base import Facade


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
    ) -> documents.PredictResult:
        """Predict with the task's live model (one version answers the whole call); ``store``:
        the inputs become records with a pending model prediction."""
        raise NotImplementedError

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
        raise NotImplementedError

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
        raise NotImplementedError

    def live_accuracy(self, project: str, task: str) -> documents.LiveAccuracy:
        """The live version's accuracy on the reviewed audit predictions, with its interval."""
        raise NotImplementedError
