"""Splitting a task's labeled records into named sets (``train``, ``validation``, ``test``...),
stored on the records (``record_set``), with a report of how well each set represents the
whole. Model training reads it: with a split, a task trains outside ``test`` and is scored
on ``test`` (``services/test_splits.py``).

- **Records**: those with a reference manual label of the task (a conflict has none).
- **Strata**: the labels (multi-label: the indicator matrix) and, where the records have an
  embedding, k-means clusters of their vectors, so each set spreads over the whole space.
- **Groups**: near-duplicates (``near_duplicates.group_ids``) go to one set together, so no
  test record has a twin in train.
- **Stored**: one ``record_set`` row per split record; a new split replaces the project's
  old one. The run is keyed by the fingerprint of its inputs (the labeled records, their
  labels, the embedding's version, the groups) and parameters: a rerun with unchanged inputs
  returns the stored report at once, and the assignment is a stored chunk, so a run that died
  goes on from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from assay import documents
from assay.algorithms import clustering, splitting
from assay.errors import NotFound, ValidationError
from assay.runtime.job_runner import Progress, no_progress
from assay.services import (
    annotating,
    embeddings,
    model_inputs,
    near_duplicates,
    projects,
    search,
    stored_runs,
)
from assay.services import tasks as task_service
from assay.services.database import Database
from assay.storage.models import (
    AnalysisRun,
    Embedding,
    LabelingTask,
    ManualState,
    Project,
    RecordSet,
)

JOB_KIND = "split"
TASK_TYPES = ("classification", "multi-label")
TEST_SET = "test"  # the set model training scores on and never trains on
MAX_CLUSTERS = 50
RECORDS_PER_CLUSTER = 20  # k-means strata of about this many records, at most MAX_CLUSTERS
RANDOM_SPLITS = 20  # random splits of the same sizes each set's distance is set against
MAX_SET_NAME = 100  # record_set.name
CHUNK = 5000  # rows per INSERT of record_set
READ_CHUNK = 900  # ids per IN (...) when reading it (SQLite's bound parameters)


# --- shared by the curation services ---------------------------------------------------------


def labeled_ids(session: Session, task_id: int) -> list[int]:
    """Records of the task with a reference manual label (a conflict has none), ascending."""
    return list(
        session.scalars(
            select(ManualState.record_id)
            .where(ManualState.task_id == task_id, ManualState.state != "conflict")
            .order_by(ManualState.record_id)
        )
    )


def ready_embedding(
    session: Session, project: Project, name: str | None, task: LabelingTask | None = None
) -> Embedding | None:
    """The embedding ``name`` (404 when the project has none of that name, 422 when it has no
    vectors yet), else the project's first ready attribute-level embedding, preferring one of
    the task's text attribute; None when there is none."""
    if name is not None:
        found = embeddings.get(session, project, name)
        if found.state != "ready":
            raise ValidationError(
                f"embedding {name!r} has no vectors yet (state {found.state}): run it and "
                "let it finish (assay embed), then try again; nothing stored",
                embedding=name,
            )
        return found
    ready = [
        e
        for e in embeddings.list_all(session, project)
        if e.state == "ready" and e.level == "attribute"
    ]
    attribute = model_inputs.embedded_attribute(session, task) if task is not None else None
    preferred = [e for e in ready if attribute is not None and e.attribute_id == attribute.id]
    candidates = preferred or ready
    return candidates[0] if candidates else None


# --- before the job ------------------------------------------------------------------------


def check(
    session: Session,
    project: Project,
    *,
    sets: str | Mapping[str, float],
    task: str | None = None,
    embedding: str | None = None,
    seed: int = 0,
) -> None:
    """Refuse, before any job (422/404, nothing stored): sets that do not add up, an unknown
    task or one without labels, an embedding that does not exist or is not ready."""
    found = _task(session, project, task)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValidationError(f"seed must be a whole number >= 0, not {seed!r}", seed=seed)
    labeled = len(labeled_ids(session, found.id))
    if not labeled:
        raise ValidationError(
            f"task {found.name!r} has no records with a manual label to split: label some "
            "first; nothing stored",
            task=found.name,
        )
    sizes(sets, labeled)
    ready_embedding(session, project, embedding, found)


def _task(session: Session, project: Project, name: str | None) -> LabelingTask:
    """The task named (404 when unknown; 422 for an extraction task), else the project's
    only classification or multi-label task (422 when it has none or several)."""
    if name is not None:
        found = task_service.get(session, project, name)
        if found.task_type not in TASK_TYPES:
            raise ValidationError(
                f"task {found.name!r} is an {found.task_type} task: splits stratify on the "
                "labels of classification and multi-label tasks; extraction comes later",
                task=found.name,
            )
        return found
    candidates = [t for t in task_service.list_all(session, project) if t.task_type in TASK_TYPES]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ValidationError(
            f"project {project.name!r} has no classification or multi-label task to split "
            "on: add one and label records first",
            project=project.name,
        )
    raise ValidationError(
        f"project {project.name!r} has several tasks to split on "
        f"({', '.join(t.name for t in candidates)}): name one (--task)",
        tasks=[t.name for t in candidates],
    )


def sizes(sets: str | Mapping[str, float], total: int) -> dict[str, int]:
    """Records per set for ``total`` labeled records; what does not add up is a 422."""
    if not isinstance(sets, str | Mapping):
        raise ValidationError(
            "sets are a text like train=0.8,validation=0.1,test=0.1 or a mapping of name to "
            f"fraction or count, not {type(sets).__name__}; nothing stored"
        )
    try:
        found = splitting.set_sizes(sets, total)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"sets {_spelled(sets)}: {exc}; nothing stored") from exc
    long = [name for name in found if len(name) > MAX_SET_NAME]
    if long:
        raise ValidationError(
            f"a set's name has at most {MAX_SET_NAME} characters: {long[0][:40]!r}...",
            sets=_spelled(sets),
        )
    return found


def _spelled(sets: str | Mapping[str, float]) -> str:
    if isinstance(sets, str):
        return repr(sets)
    return ",".join(f"{name}={value}" for name, value in sets.items())


# --- the job -----------------------------------------------------------------------------


@dataclass
class _Inputs:
    """What a split reads from the database and the vectors before it computes."""

    project_id: int
    task: str
    ids: np.ndarray  # labeled record ids, ascending
    labels: list[str]  # the task's label names: the columns of ``matrix``
    matrix: np.ndarray  # (n, labels) bool indicator matrix of the reference labels
    groups: np.ndarray  # (n,) near-duplicate group (-1: alone)
    sizes: dict[str, int]
    embedding: Embedding | None
    version: int | None
    has_vector: np.ndarray  # (n,) bool: the record has a row in the embedding
    features: np.ndarray | None  # vectors of the records that have one, in id order


def run(
    db: Database,
    project: str,
    *,
    sets: str | Mapping[str, float],
    task: str | None = None,
    embedding: str | None = None,
    seed: int = 0,
    data_dir: Path,
    executor: Any = None,
    progress: Progress = no_progress,
) -> documents.SplitReport:
    """The split job's work: assign, store on the records, report."""
    progress(0.02, "reading the labeled records")
    inputs = _read(db, project, sets, task, embedding, data_dir)
    params = {
        "task": inputs.task,
        "sets": inputs.sizes,
        "seed": seed,
        "embedding": inputs.embedding.name if inputs.embedding is not None else None,
    }
    key = stored_runs.fingerprint(
        inputs.ids,
        inputs.labels,
        inputs.matrix,
        inputs.groups,
        [inputs.embedding.id, inputs.version] if inputs.embedding is not None else None,
    )
    run = stored_runs.begin(db, inputs.project_id, JOB_KIND, params, key)
    try:
        if run.done:
            if _current_run(db, inputs.project_id) != run.id:  # another split replaced it
                stored = stored_runs.load_chunk(db, run, 0)
                assert stored is not None
                _store_sets(db, inputs, run.id, stored["assignment"])
            return _described(db, run, stored_runs.summary(db, run))
        progress(0.1, "assigning the records to sets")
        item = (
            inputs.matrix,
            list(inputs.sizes.values()),
            inputs.features,
            inputs.has_vector,
            inputs.groups,
            seed,
        )
        [assigned] = stored_runs.chunked(
            db,
            run,
            [item],
            assign,
            executor=executor,
            progress=lambda done, message: progress(0.1 + 0.4 * done, message),
            message="assignment",
        )
        assignment = assigned["assignment"]
        distances: list[documents.SplitDistance] = []
        if inputs.features is not None and len(inputs.features):
            progress(0.5, "measuring each set against the pool")
            [found] = stored_runs.chunked(
                db,
                run,
                [(inputs.features, assignment[inputs.has_vector], len(inputs.sizes), seed)],
                measure,
                executor=executor,
                progress=lambda done, message: progress(0.5 + 0.3 * done, message),
                message="distances",
                offset=1,
            )
            distances = [
                {
                    "name": name,
                    "mmd": float(found["mmd"][n]),
                    "random_median": float(found["random_median"][n]),
                    "random_p95": float(found["random_p95"][n]),
                    "percentile": float(found["percentile"][n]),
                }
                for n, name in enumerate(inputs.sizes)
            ]
        progress(0.8, "storing the sets on the records")
        _store_sets(db, inputs, run.id, assignment)
        summary = _summary(inputs, assignment, distances, seed)
        stored_runs.finish(db, run, summary)
    except BaseException as exc:
        stored_runs.fail(db, run, str(exc) or type(exc).__name__)
        raise
    progress(1.0, "done")
    return _described(db, run, dict(summary))


def _read(
    db: Database,
    project: str,
    sets: str | Mapping[str, float],
    task: str | None,
    embedding: str | None,
    data_dir: Path,
) -> _Inputs:
    with db.session() as s:
        found_project = projects.get(s, project)
        found = _task(s, found_project, task)
        ids = labeled_ids(s, found.id)
        if not ids:
            raise ValidationError(
                f"task {found.name!r} has no records with a manual label to split",
                task=found.name,
            )
        wanted = sizes(sets, len(ids))
        values = annotating.reference_values(s, found, ids)
        ids = [r for r in ids if r in values]  # a label removed since the check
        labels = [label.name for label in task_service.labels(s, found)]
        column = {name: j for j, name in enumerate(labels)}
        matrix = np.zeros((len(ids), len(labels)), dtype=bool)
        for row, record_id in enumerate(ids):
            value = values[record_id]
            for name in [value] if isinstance(value, str) else value:
                matrix[row, column[name]] = True
        groups = np.asarray(near_duplicates.group_ids(s, found_project, ids), dtype=np.int64)
        chosen = ready_embedding(s, found_project, embedding, found)
        inputs = _Inputs(
            project_id=found_project.id,
            task=found.name,
            ids=np.asarray(ids, dtype=np.int64),
            labels=labels,
            matrix=matrix,
            groups=groups,
            sizes=wanted,
            embedding=chosen,
            version=None,
            has_vector=np.zeros(len(ids), dtype=bool),
            features=None,
        )
    if chosen is not None:
        vectors = embeddings.load(data_dir, chosen)
        inputs.version = vectors.version
        inputs.has_vector = np.isin(inputs.ids, vectors.ids)
        rows = search.rows_of(vectors, inputs.ids)  # ascending, as the ids are
        inputs.features = np.asarray(vectors.matrix[rows], dtype=np.float32)
    return inputs


def assign(
    item: tuple[np.ndarray, list[int], np.ndarray | None, np.ndarray, np.ndarray, int],
) -> dict[str, np.ndarray]:
    """One chunk: each record's set (``assignment``, an index into the sizes), stratified on
    the labels and on k-means clusters of the vectors (records without a vector form a
    stratum of their own), near-duplicate groups kept whole. Top-level: it may run on a
    Dask worker."""
    matrix, wanted, features, has_vector, groups, seed = item
    clusters: np.ndarray | None = None
    k = 0 if features is None else min(MAX_CLUSTERS, len(features) // RECORDS_PER_CLUSTER)
    if features is not None and k >= 2:
        _centres, found = clustering.kmeans(features, k, seed=seed)
        clusters = np.full(len(matrix), k, dtype=np.int32)
        clusters[has_vector] = found
    assignment = splitting.split(matrix, wanted, clusters=clusters, groups=groups, seed=seed)
    return {"assignment": np.asarray(assignment, dtype=np.int16)}


def measure(item: tuple[np.ndarray, np.ndarray, int, int]) -> dict[str, np.ndarray]:
    """One chunk: each set's squared MMD to the pool next to random splits of the same sizes
    (arrays over the sets). Top-level: it may run on a Dask worker."""
    features, assignment, count, seed = item
    found = splitting.distances(features, assignment, count, random_splits=RANDOM_SPLITS, seed=seed)
    return {
        name: np.array([d[name] for d in found], dtype=np.float64)
        for name in ("mmd", "random_median", "random_p95", "percentile")
    }


def _store_sets(db: Database, inputs: _Inputs, run_id: int, assignment: np.ndarray) -> None:
    """Make this assignment the project's split (replacing the one before), in one
    transaction, in chunks of rows."""
    names = list(inputs.sizes)
    rows = [
        {"record_id": r, "project_id": inputs.project_id, "name": names[a], "run_id": run_id}
        for r, a in zip(inputs.ids.tolist(), np.asarray(assignment).tolist(), strict=True)
    ]
    with db.session() as s:
        s.execute(delete(RecordSet).where(RecordSet.project_id == inputs.project_id))
        for start in range(0, len(rows), CHUNK):
            s.execute(insert(RecordSet), rows[start : start + CHUNK])


def _summary(
    inputs: _Inputs,
    assignment: np.ndarray,
    distances: list[documents.SplitDistance],
    seed: int,
) -> dict[str, Any]:
    """The report minus ``run`` (what the run stores)."""
    total = len(inputs.ids)
    out_sets: list[documents.SplitSet] = []
    for n, name in enumerate(inputs.sizes):
        mine = assignment == n
        count = int(mine.sum())
        per_label = inputs.matrix[mine].sum(axis=0).tolist()
        labels = {label: int(c) for label, c in zip(inputs.labels, per_label, strict=True)}
        out_sets.append(
            {
                "name": name,
                "records": count,
                "share": count / total if total else 0.0,
                "labels": labels,
                "label_shares": {
                    label: (c / count if count else 0.0) for label, c in labels.items()
                },
            }
        )
    grouped = inputs.groups >= 0
    _groups, members = np.unique(inputs.groups[grouped], return_counts=True)
    # (group, set) pairs: a group found in two sets or more crosses them.
    pairs = np.unique(np.stack([inputs.groups[grouped], assignment[grouped]]), axis=1)
    _groups, spread = np.unique(pairs[0], return_counts=True)
    return {
        "task": inputs.task,
        "seed": seed,
        "embedding": inputs.embedding.name if inputs.embedding is not None else None,
        "records": total,
        "sets": out_sets,
        "distances": distances,
        "random_splits": RANDOM_SPLITS if distances else 0,
        "duplicate_groups": int((members >= 2).sum()),
        "duplicates_across_sets": int((spread > 1).sum()),
    }


def _current_run(db: Database, project_id: int) -> int | None:
    with db.session() as s:
        return _current_run_id(s, project_id)


def _current_run_id(session: Session, project_id: int) -> int | None:
    """The run of the project's split now (None: no split)."""
    run_id: int | None = session.scalar(
        select(RecordSet.run_id).where(RecordSet.project_id == project_id).limit(1)
    )
    return run_id


def _described(
    db: Database, run: stored_runs.Run, summary: dict[str, Any]
) -> documents.SplitReport:
    with db.session() as s:
        return cast(documents.SplitReport, stored_runs.with_run(s, run, summary))


# --- reading the split ---------------------------------------------------------------------


def report(session: Session, project: Project) -> documents.SplitReport:
    """The report of the project's current split (404 when it has none)."""
    run_id = _current_run_id(session, project.id)
    row = session.get(AnalysisRun, run_id) if run_id is not None else None
    if row is None or row.summary is None:
        raise NotFound(
            f"project {project.name!r} has no split yet: run assay split", project=project.name
        )
    return cast(documents.SplitReport, {**row.summary, "run": stored_runs.describe(session, row)})


def sets_of(session: Session, project_id: int, record_ids: Sequence[int]) -> dict[int, str]:
    """The set of each of these records that has one."""
    found: dict[int, str] = {}
    ids = [int(r) for r in record_ids]
    for start in range(0, len(ids), READ_CHUNK):
        rows = session.execute(
            select(RecordSet.record_id, RecordSet.name).where(
                RecordSet.project_id == project_id,
                RecordSet.record_id.in_(ids[start : start + READ_CHUNK]),
            )
        )
        found.update((record_id, name) for record_id, name in rows)
    return found


def has_test_set(session: Session, project_id: int) -> bool:
    """Whether the project's split has a set named ``test`` (model training then scores on
    it)."""
    return (
        session.scalar(
            select(RecordSet.record_id)
            .where(RecordSet.project_id == project_id, RecordSet.name == TEST_SET)
            .limit(1)
        )
        is not None
    )
