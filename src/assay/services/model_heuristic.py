"""A heuristic of kind ``model``: the task's live model votes in weak supervision.

A model heuristic has no code and no settings: a run predicts every record of the project
with the version of the task's model that is live when the run starts
(``model_registry.live``, loaded sha256-checked by ``model_registry.load``) and votes, with
the model's probability as confidence, the most probable label (classification) or each
label whose probability reaches one half (multi-label); labels the task no longer has get no
vote. It runs as a whole, after the labeling functions (:class:`ModelRun`).

Its run key is the live version (its id and artifact hash), the task's labels and the
project's text attributes: a run after another version went live votes anew, an unchanged
one over unchanged records keeps its votes. Its ``last_run.model`` names the version it
voted with, and its document's ``config`` says that version and the live one.

Its statistics are measured on the manual labels of the task's test split only
(:meth:`ModelKind.statistics_records`): no version ever trained on them, while agreeing
with a label it learned proves nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from assay.algorithms.model_evaluation import predictions
from assay.algorithms.text_models import TextClassifier
from assay.errors import ValidationError
from assay.runtime.executor import MapFunction
from assay.runtime.sandbox import Limits, Record, RecordResult
from assay.services import model_inputs, model_registry, projects, test_splits
from assay.services import tasks as task_service
from assay.services.heuristic_kinds import (
    Draft,
    HeuristicNotRunnable,
    Kind,
    KindFacts,
    Tools,
    Vote,
    check_settings,
)
from assay.storage.models import Heuristic, LabelingTask, ModelVersion, Project

MODEL = "model"
TASK_TYPES = ("classification", "multi-label")  # the task types a model is trained for
CHUNK = 10_000  # records read and predicted at a time: their texts and probabilities only
KEY_FORMAT = 1  # part of every key: a change of how votes are made drops the caches


class ModelKind(Kind):
    """The task's live model as a heuristic (see the module docstring)."""

    name = MODEL
    noun = "a model heuristic"

    def create(self, session: Session, project: Project, task: LabelingTask, draft: Draft) -> Draft:
        """No code, no settings; a classification or multi-label task; named
        ``model-<task>`` unless named."""
        check_settings(self, draft.settings)
        if draft.code:
            raise ValidationError(
                "a model heuristic has no code: it votes with the task's live model"
            )
        if task.task_type not in TASK_TYPES:
            raise ValidationError(
                f"the task {task.name!r} is {task.task_type}: models are trained for "
                f"{' and '.join(TASK_TYPES)} tasks",
                task=task.name,
            )
        draft.name = draft.name or f"{MODEL}-{task.name}"
        draft.code = ""
        return draft

    def check_code(self, heuristic: Heuristic, code: str) -> None:
        raise ValidationError(
            f"the model heuristic {heuristic.name!r} has no code: it votes with the task's "
            "live model (train or promote another version)"
        )

    def update_config(
        self, session: Session, heuristic: Heuristic, changes: Mapping[str, Any]
    ) -> bool:
        raise ValidationError(
            f"the model heuristic {heuristic.name!r} has no settings: it votes with the "
            "task's live model (train or promote another version)",
            heuristic=heuristic.name,
        )

    def rename_label(self, heuristic: Heuristic, old: str, new: str) -> bool:
        """Nothing of its own to rename: the model votes the labels it was trained with, so
        a renamed label gets none of its votes until a version trained with the new name
        goes live (the run key holds the task's labels: the next run drops the old ones)."""
        return False

    def describe(self, session: Session, heuristic: Heuristic) -> KindFacts:
        """``config``: the version it last voted with (``version``; None before its first
        run) and the task's live one (``live_version``)."""
        voted = ((heuristic.last_run or {}).get("model") or {}).get("version")
        live = model_registry.live(session, heuristic.task)
        config = {"version": voted, "live_version": live.version if live is not None else None}
        return KindFacts(embedding=None, config=config)

    def preview(
        self,
        session: Session,
        project: Project,
        heuristic: Heuristic,
        records: list[Record],
        tools: Tools,
    ) -> list[RecordResult]:
        """What the live model votes on these records, and each label's probability as
        output."""
        live = ModelRun(session, heuristic.task, _live(session, heuristic), tools.data_dir)
        ids = np.asarray(sorted({record.id for record in records}), dtype=np.int64)
        proba = live.probabilities(
            model_inputs.texts_of(session, heuristic.task, ids.tolist()), ids
        )
        voted: dict[int, list[str]] = {}
        for record, label, *_ in live.votes_of(ids, proba):
            voted.setdefault(record, []).append(label)
        labels = live.classifier.labels
        results = []
        for record, row in zip(ids.tolist(), proba, strict=True):
            found = voted.get(record, [])
            value: Any = found if live.multi_label else (found[0] if found else None)
            output = " ".join(f"{label}={p:.3f}" for label, p in zip(labels, row, strict=True))
            results.append(RecordResult(record, value, f"version {live.row.version}: {output}"))
        return results

    def plan(self, session: Session, heuristic: Heuristic, data_dir: Path) -> ModelRun:
        """Its run with the version live now; ``HeuristicNotRunnable`` when none is."""
        return ModelRun(session, heuristic.task, _live(session, heuristic), data_dir)

    def statistics_records(self, session: Session, heuristic: Heuristic) -> np.ndarray:
        """The task's test split: never trained on by any version."""
        return np.asarray(test_splits.test_ids(session, heuristic.task_id), dtype=np.int64)


def _live(session: Session, heuristic: Heuristic) -> ModelVersion:
    found = model_registry.live(session, heuristic.task)
    if found is None:
        raise HeuristicNotRunnable(
            f"the task {heuristic.task.name!r} has no live model for the model heuristic "
            f"{heuristic.name!r} to vote with: train one (or promote a version), then run "
            "it again",
            heuristic=heuristic.name,
            task=heuristic.task.name,
        )
    return found


@dataclass
class ModelRun:
    """A model heuristic's part of a run (a :class:`~assay.services.heuristic_kinds.WholeRun`)
    with one version: planned and run inside the run's one reading session, which it
    reads the records' texts through; the artifact is loaded only when it votes."""

    session: Session
    task: LabelingTask
    row: ModelVersion
    data_dir: Path
    _classifier: TextClassifier | None = None

    @property
    def key(self) -> str:
        project = self.session.get(Project, self.task.project_id)
        assert project is not None  # the task cascades with its project
        text = sorted(
            a.name for a in projects.attributes(self.session, project) if a.data_type == "text"
        )
        doc = {
            "format": KEY_FORMAT,
            "kind": MODEL,
            "version": [self.row.id, self.row.sha256],
            "labels": [label.name for label in task_service.labels(self.session, self.task)],
            "task_type": self.task.task_type,
            "text_attributes": text,
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    @property
    def classifier(self) -> TextClassifier:
        if self._classifier is None:  # ArtifactInvalid: the run fails, naming it
            self._classifier = model_registry.load(self.session, self.row)
        return self._classifier

    @property
    def multi_label(self) -> bool:
        return self.task.task_type == "multi-label"

    def probabilities(self, texts: list[str], record_ids: np.ndarray) -> np.ndarray:
        """The model's probabilities of the texts (of these records: an embedding model
        reads their stored vectors), a column per label of the model."""
        return model_inputs.probabilities(
            self.session,
            self.classifier,
            texts,
            data_dir=self.data_dir,
            record_ids=record_ids.tolist(),
        )

    def votes_of(self, record_ids: np.ndarray, proba: np.ndarray) -> list[Vote]:
        """The votes of these probabilities (a row per record): the best label, or each
        label at one half or more; none for labels the task no longer has."""
        if not len(record_ids):
            return []
        labels = self.classifier.labels
        known = {label.name for label in task_service.labels(self.session, self.task)}
        chosen = predictions(proba, multi_label=self.multi_label, threshold=0.5)
        if self.multi_label:
            rows, columns = np.nonzero(chosen)
        else:
            rows, columns = np.arange(len(record_ids)), np.asarray(chosen)
        return [
            (int(record_ids[r]), labels[c], None, None, float(proba[r, c]))
            for r, c in zip(rows.tolist(), columns.tolist(), strict=True)
            if labels[c] in known
        ]

    def votes(
        self, code: str, record_ids: np.ndarray, mapper: MapFunction, limits: Limits
    ) -> tuple[list[Vote], dict[str, Any]]:
        """Its votes on these records, predicted here a chunk at a time (the model is the
        server's own, not user code: no sandbox), and the version it voted with."""
        found: list[Vote] = []
        for start in range(0, len(record_ids), CHUNK):
            ids = np.asarray(record_ids[start : start + CHUNK], dtype=np.int64)
            texts = model_inputs.texts_of(self.session, self.task, ids.tolist())
            found.extend(self.votes_of(ids, self.probabilities(texts, ids)))
        facts = {
            "version": self.row.version,
            "version_id": self.row.id,
            "algorithm": self.row.algorithm,
        }
        return found, facts
