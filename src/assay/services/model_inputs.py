"""What a model of a task reads of a record, in one place for training, scoring and serving.

A model of a task reads one text per record: the task's attribute, or, for a task on the
whole record, its text attributes joined by a new line (in the project's attribute order).
An ``embedding-logreg`` model reads that text's vector in an embedding of the attribute it
reads (:func:`embedded_attribute`): the stored vectors where a record has them, the
embedding's own embedder for anything else (free texts, records added since its last run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.algorithms.text_models import TextClassifier
from assay.errors import ValidationError
from assay.services import embeddings, projects
from assay.storage.models import Attribute, Embedding, LabelingTask, Project, Record

EMBEDDING_ALGORITHM = "embedding-logreg"
READ_CHUNK = 900  # record ids per query (SQLite's bound-parameter limit stays far away)


def read_attributes(session: Session, task: LabelingTask) -> list[str]:
    """The attributes whose text a model of the task reads: the task's own, or every text
    attribute of the project for a task on the whole record."""
    if task.attribute_id is not None:
        attribute = session.get(Attribute, task.attribute_id)
        return [attribute.name] if attribute is not None else []
    project = session.get(Project, task.project_id)
    assert project is not None
    return [a.name for a in projects.attributes(session, project) if a.data_type == "text"]


def _joined(data: Mapping[str, Any], names: Sequence[str]) -> str:
    parts = [data.get(name) for name in names]
    return "\n".join(str(part) for part in parts if part is not None and part != "")


def texts_of(session: Session, task: LabelingTask, record_ids: Sequence[int]) -> list[str]:
    """The text a model of the task reads of each record (by id, in that order; a record
    without one reads as the empty text)."""
    names = read_attributes(session, task)
    found: dict[int, str] = {}
    for start in range(0, len(record_ids), READ_CHUNK):
        chunk = list(record_ids[start : start + READ_CHUNK])
        rows = session.execute(select(Record.id, Record.data).where(Record.id.in_(chunk)))
        found.update((record_id, _joined(data, names)) for record_id, data in rows)
    return [found.get(int(record_id), "") for record_id in record_ids]


def text_of_data(session: Session, task: LabelingTask, data: Mapping[str, Any]) -> str:
    """The same text from a record-like dict (a record sent to predict)."""
    return _joined(data, read_attributes(session, task))


def embedded_attribute(session: Session, task: LabelingTask) -> Attribute | None:
    """The attribute whose embedding an ``embedding-logreg`` model of the task can read: the
    task's, or for a whole-record task the project's one text attribute (with several, the
    joined text is in no embedding's space, and none can)."""
    if task.attribute_id is not None:
        return session.get(Attribute, task.attribute_id)
    project = session.get(Project, task.project_id)
    assert project is not None
    text = [a for a in projects.attributes(session, project) if a.data_type == "text"]
    return text[0] if len(text) == 1 else None


def embedding_for(
    session: Session, task: LabelingTask, name: str | None, *, required: bool
) -> Embedding | None:
    """The ready attribute-level embedding a model of the task reads: the one ``name``d
    (refused when it does not fit), else the first ready one of the attribute; None (or,
    ``required``, a ValidationError saying what to do) when there is none."""
    project = session.get(Project, task.project_id)
    assert project is not None
    attribute = embedded_attribute(session, task)
    if name is not None:
        found = embeddings.get(session, project, name)
        problem = _unfit(found, attribute)
        if problem:
            raise ValidationError(
                f"embedding {name!r} cannot feed a model of task {task.name!r}: {problem}",
                embedding=name,
            )
        return found
    for candidate in embeddings.list_all(session, project):
        if not _unfit(candidate, attribute):
            return candidate
    if not required:
        return None
    where = f"attribute {attribute.name!r}" if attribute else "the task's text"
    raise ValidationError(
        f"the algorithm {EMBEDDING_ALGORITHM!r} needs a ready attribute-level embedding of "
        f"{where}, and task {task.name!r} has none: add one (assay embed)",
        task=task.name,
    )


def _unfit(embedding: Embedding, attribute: Attribute | None) -> str | None:
    if attribute is None:
        return "the task reads several text attributes joined, which no embedding holds"
    if embedding.attribute_id != attribute.id:
        return f"it embeds {embedding.attribute.name!r}, the task reads {attribute.name!r}"
    if embedding.level != "attribute":
        return "it is token-level; a model reads one vector per record"
    if embedding.state != "ready":
        return f"it has no vectors yet (state {embedding.state}): run it"
    return None


def vectors_of(
    data_dir: Path, embedding: Embedding, record_ids: Sequence[int], texts: Sequence[str]
) -> np.ndarray:
    """Each record's vector in the embedding (float32 rows): the stored one where the
    embedding holds the record, the embedder's for its text otherwise."""
    stored = embeddings.load(data_dir, embedding)
    rows = [stored.row_of(int(record_id)) for record_id in record_ids]
    held = {i: row for i, row in enumerate(rows) if row is not None}
    missing = [i for i, row in enumerate(rows) if row is None]
    out = np.empty((len(rows), stored.matrix.shape[1]), dtype=np.float32)
    if held:
        out[list(held)] = stored.matrix[list(held.values())]
    if missing:
        out[missing] = embeddings.encoder(data_dir, embedding)([texts[i] for i in missing])
    return out


def _classifier_embedding(session: Session, classifier: TextClassifier) -> Embedding:
    embedding_id = classifier.parameters.get("embedding_id")
    found = session.get(Embedding, embedding_id) if isinstance(embedding_id, int) else None
    if found is None or found.state != "ready":
        name = classifier.parameters.get("embedding", embedding_id)
        raise ValidationError(
            f"the model reads the embedding {name!r}, which is gone or has no vectors: train "
            "a new model",
            embedding=name,
        )
    return found


def probabilities(
    session: Session,
    classifier: TextClassifier,
    texts: Sequence[str],
    *,
    data_dir: Path,
    record_ids: Sequence[int] | None = None,
) -> np.ndarray:
    """The classifier's probabilities (n x labels) for these texts; an embedding model's
    texts are embedded first (``record_ids``: the records they are the texts of, whose stored
    vectors are read instead)."""
    if classifier.algorithm != EMBEDDING_ALGORITHM:
        return classifier.predict_proba(texts=list(texts))
    embedding = _classifier_embedding(session, classifier)
    if record_ids is None:
        vectors = embeddings.encoder(data_dir, embedding)(list(texts))
    else:
        vectors = vectors_of(data_dir, embedding, record_ids, texts)
    return classifier.predict_proba(vectors=vectors)
