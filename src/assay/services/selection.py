"""What to label next (``select``): a strategy picks ``size`` records from a pool (a filter
or slice), the picks become a static slice in their order, with a labeling session on it.
The run is stored (strategy, parameters, inputs), resumable and reused on unchanged inputs
(:mod:`assay.services.stored_runs`).

Where the work is long it is resumable: ``coreset`` stores its k-center state every
:data:`CHECKPOINT_EVERY` picks and an interrupted run goes on from the newest one; a model's
probabilities are computed and stored :data:`PROBABILITY_CHUNK` records at a time. The
probabilities of a live model are computed in the job's thread (``executor=None``): the model
may read an embedding's vectors through the database, which a worker cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay import documents
from assay.algorithms import selection as selectors
from assay.errors import Conflict, ValidationError
from assay.runtime.job_runner import Progress, no_progress
from assay.services import (
    embeddings,
    heuristics,
    model_inputs,
    model_registry,
    names,
    projects,
    queries,
    search,
    slices,
    stored_runs,
)
from assay.services import tasks as task_service
from assay.services.database import Database
from assay.storage.models import (
    AnalysisRun,
    Annotation,
    Embedding,
    Finding,
    LabelingTask,
    ManualState,
    ModelVersion,
    Project,
)

JOB_KIND = "selection"
FINDINGS = "selection"  # the kind of the run's ranked list (finding rows)
STRATEGIES = documents.values(documents.SelectionStrategy)
MEASURES = documents.values(documents.UncertaintyMeasure)
SOURCES = documents.values(documents.UncertaintySource)
NEEDS_EMBEDDING = ("coreset", "typical", "cluster", "hybrid", "auto")
NEEDS_PROBABILITIES = ("uncertainty", "hybrid")
TASK_TYPES = ("classification", "multi-label")  # tasks whose labels have probabilities
SHOWN = 100  # picked records named in the result document
# Records whose probabilities a live model computes (and the run stores) at a time.
PROBABILITY_CHUNK = 10_000
# k-center picks between two stored checkpoints of its state (the state holds one float per
# pool record: 4 MB at a million records).
CHECKPOINT_EVERY = 100
# Positions of the k-center checkpoints among the run's chunks (the probabilities' chunks
# take 0, 1, ...): the checkpoint after n picks is at CHECKPOINT_BASE + n.
CHECKPOINT_BASE = 1_000_000_000


@dataclass
class _Source:
    """Where the probabilities of an uncertainty come from, and what fingerprints them."""

    kind: str  # model | weak_supervision | heuristic
    key: dict[str, Any]
    version_id: int | None = None
    heuristic_id: int | None = None


@dataclass
class _Plan:
    """A selection resolved against the project (everything ``check`` verified)."""

    strategy: str
    used: str
    reason: str
    size: int
    where: Any
    task: LabelingTask | None
    embedding: Embedding | None
    vectors: embeddings.Vectors | None
    pool: np.ndarray  # record ids (ascending) the picks come from
    labeled: np.ndarray  # record ids (ascending) with a manual label: centres, typicality
    source: _Source | None
    classes: int
    name: str | None = None


# --- before the job ---------------------------------------------------------------------------


def check(
    session: Session,
    project: Project,
    *,
    strategy: str,
    size: int,
    where: Any = None,
    slice: str | None = None,
    embedding: str | None = None,
    task: str | None = None,
    measure: str = "margin",
    source: str | None = None,
    heuristic: str | None = None,
    name: str | None = None,
    data_dir: Path | None = None,
) -> None:
    """Refuse, before any job, what cannot be selected (422/404/409, nothing stored): an
    unknown strategy, measure or source, a size below 1 or above the pool, an unknown slice,
    a bad filter, an embedding that does not exist or is not ready, a strategy that needs a
    task or probabilities without them, a slice name taken by a slice no selection made.
    ``data_dir``: where the vectors are, to count the pool's records that have one (without
    it, the embedding's state is checked and the pool counted in records)."""
    _plan(
        session,
        project,
        strategy=strategy,
        size=size,
        where=where,
        slice=slice,
        embedding=embedding,
        task=task,
        measure=measure,
        source=source,
        heuristic=heuristic,
        name=name,
        data_dir=data_dir,
        ids=False,
    )


def _plan(
    session: Session,
    project: Project,
    *,
    strategy: str,
    size: int,
    where: Any,
    slice: str | None,
    embedding: str | None,
    task: str | None,
    measure: str,
    source: str | None,
    heuristic: str | None,
    name: str | None,
    data_dir: Path | None,
    ids: bool = True,
) -> _Plan:
    """Resolve a selection's options against the project, refusing what cannot be done
    (``ids``: read the pool's record ids; without, a plan that only checks may count them)."""
    if strategy not in STRATEGIES:
        raise ValidationError(
            f"unknown selection strategy {strategy!r}: use {', '.join(STRATEGIES)}",
            strategy=strategy,
        )
    if measure not in MEASURES:
        raise ValidationError(
            f"unknown uncertainty measure {measure!r}: use {', '.join(MEASURES)}", measure=measure
        )
    if source is not None and source not in SOURCES:
        raise ValidationError(
            f"unknown uncertainty source {source!r}: use {', '.join(SOURCES)}", source=source
        )
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValidationError(f"a selection picks at least 1 record, not {size!r}", size=size)
    if name is not None:
        name = _free_slice_name(session, project, name)
    if slice is not None:
        slices.get(session, project, slice)  # 404 when there is none
    pool_where = _pool_filter(where, slice)
    queries.compile_filter(session, project, pool_where)  # 422 on a bad filter, naming where
    found_task = _task(session, project, task, strategy)
    # The labeled records count for auto and are the centres of coreset and typical only.
    reads_labels = strategy in ("auto", "coreset", "typical")
    labeled = _labeled(session, project, found_task) if reads_labels else np.empty(0, np.int64)
    classes = len(task_service.labels(session, found_task)) if found_task is not None else 0
    found_source = None
    if strategy in NEEDS_PROBABILITIES:
        assert found_task is not None  # _task refuses a strategy that needs one without it
        found_source = _source(session, project, found_task, source, heuristic)
    used, reason = strategy, ""
    if strategy == "auto":
        if found_task is not None and found_task.task_type in TASK_TYPES:
            try:
                found_source = _source(session, project, found_task, source, heuristic)
            except ValidationError:
                if source is not None or heuristic is not None:
                    raise  # asked for and not there: say so rather than pass over it
        used, reason = selectors.auto_strategy(len(labeled), classes, found_source is not None)
        if used not in NEEDS_PROBABILITIES:
            found_source = None
    found_embedding, vectors = None, None
    if used in NEEDS_EMBEDDING:
        found_embedding = search.choose(session, project, embedding)
        if data_dir is not None:
            vectors = embeddings.load(data_dir, found_embedding)  # 422: no vectors yet
        elif found_embedding.state != "ready":
            raise ValidationError(
                f"the embedding {found_embedding.name!r} is not ready (state "
                f"{found_embedding.state}): run it first, or let it finish",
                embedding=found_embedding.name,
            )
    centres = used in ("coreset", "typical")  # labeled records are centres, never picked
    if ids or vectors is not None or centres:
        pool = np.asarray(queries.record_ids(session, project, pool_where), dtype=np.int64)
        if vectors is not None:
            pool = vectors.ids[search.rows_of(vectors, pool)]
        available = len(pool)
    else:  # a check that only counts: the ids of a million records take seconds to read
        pool, available = np.empty(0, np.int64), queries.count(session, project, pool_where)
    if centres:
        available -= len(np.intersect1d(pool, labeled, assume_unique=True))
    if size > available:
        raise ValidationError(_too_many(size, available, used, found_embedding), size=size)
    return _Plan(
        strategy=strategy,
        used=used,
        reason=reason,
        size=size,
        where=pool_where,
        task=found_task,
        embedding=found_embedding,
        vectors=vectors,
        pool=pool,
        labeled=labeled,
        source=found_source,
        classes=classes,
        name=name,
    )


def _pool_filter(where: Any, slice_name: str | None) -> Any:
    parts = [part for part in (where, {"slice": slice_name} if slice_name else None) if part]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"and": parts}


def _too_many(size: int, available: int, used: str, embedding: Embedding | None) -> str:
    what = f"the pool holds {available} record{'' if available == 1 else 's'}"
    if embedding is not None:
        what += f" with a vector in embedding {embedding.name!r}"
    if used in ("coreset", "typical"):
        what += " and no manual label (labeled records are centres, not picked)"
    return f"cannot select {size} records: {what}"


def _free_slice_name(session: Session, project: Project, name: str) -> str:
    """The slice name cleaned; refused (409) when a slice of that name exists that no
    selection made (a selection's own slice is refilled)."""
    name = names.clean(name, "slice")
    if slices.find(session, project, name) is not None and name not in _selection_slices(
        session, project
    ):
        raise Conflict(
            f"project {project.name!r} already has a slice {name!r} that no selection made: "
            "choose another name, or delete that slice",
            slice=name,
        )
    return name


def _selection_slices(session: Session, project: Project) -> set[str]:
    """The names of the slices the project's selections made (named, or ``selection-<id>``)."""
    rows = session.execute(
        select(AnalysisRun.id, AnalysisRun.params).where(
            AnalysisRun.project_id == project.id,
            AnalysisRun.kind == JOB_KIND,
            AnalysisRun.status == "done",
        )
    )
    return {str((params or {}).get("name") or f"selection-{run_id}") for run_id, params in rows}


def _task(
    session: Session, project: Project, name: str | None, strategy: str
) -> LabelingTask | None:
    """The named task; unnamed, for a strategy that reads probabilities, the project's only
    classification or multi-label task (auto: none when there is not exactly one)."""
    if name is not None:
        found = task_service.get(session, project, name)
        if strategy in NEEDS_PROBABILITIES and found.task_type not in TASK_TYPES:
            raise ValidationError(
                f"strategy {strategy!r} reads probabilities of labels, and task {name!r} is an "
                f"{found.task_type} task: name a classification or multi-label task",
                task=name,
            )
        return found
    if strategy not in (*NEEDS_PROBABILITIES, "auto"):
        return None
    fitting = [t for t in task_service.list_all(session, project) if t.task_type in TASK_TYPES]
    if len(fitting) == 1:
        return fitting[0]
    if strategy == "auto":
        return None
    raise ValidationError(
        f"strategy {strategy!r} reads a task's probabilities: name the task"
        + (f" (one of {', '.join(repr(t.name) for t in fitting)})" if fitting else "")
        + ("" if fitting else f"; project {project.name!r} has no classification task"),
        strategy=strategy,
    )


def _labeled(session: Session, project: Project, task: LabelingTask | None) -> np.ndarray:
    """Ids (ascending) of the records with a manual label in the task, or in any task."""
    if task is None:
        return search.labeled_ids(session, project)
    found = session.scalars(select(ManualState.record_id).where(ManualState.task_id == task.id))
    return np.unique(np.fromiter(found, dtype=np.int64))


def _source(
    session: Session,
    project: Project,
    task: LabelingTask,
    source: str | None,
    heuristic: str | None,
) -> _Source:
    """Where the task's probabilities come from: the live model (the default when there is
    one), weak supervision, or a heuristic's votes (an active learner's confidences)."""
    if heuristic is not None and source in (None, "heuristic"):
        found = heuristics.get(session, project, heuristic)  # 404
        if found.task_id != task.id:
            raise ValidationError(
                f"heuristic {heuristic!r} votes in task {found.task.name!r}, not {task.name!r}",
                heuristic=heuristic,
            )
        votes = _vote_key(session, task, "heuristic", str(found.id))
        if not votes["confident"]:
            raise ValidationError(
                f"heuristic {heuristic!r} has no votes with a confidence in task {task.name!r}: "
                "run it (an active learner votes with its probability)",
                heuristic=heuristic,
            )
        return _Source("heuristic", {"heuristic": found.id, **votes}, heuristic_id=found.id)
    if source == "heuristic":
        raise ValidationError("source 'heuristic' reads one heuristic's votes: name it")
    if heuristic is not None:
        raise ValidationError(
            f"a heuristic ({heuristic!r}) is the source 'heuristic', not {source!r}",
            heuristic=heuristic,
        )
    live = model_registry.live(session, task)
    if source == "model" or (source is None and live is not None):
        if live is None:
            raise ValidationError(
                f"task {task.name!r} has no live model to read probabilities from: train one "
                "(assay models train) or use source 'weak_supervision'",
                task=task.name,
            )
        return _Source("model", {"model": [live.id, live.sha256]}, version_id=live.id)
    votes = _vote_key(session, task, "weak_supervision", None)
    if not votes["confident"]:
        raise ValidationError(
            f"task {task.name!r} has neither a live model nor weak-supervision labels to read "
            "probabilities from: train a model, or run weak supervision",
            task=task.name,
        )
    return _Source("weak_supervision", votes)


def _vote_query(task: LabelingTask, source: str, source_id: str | None) -> Any:
    condition = [Annotation.task_id == task.id, Annotation.source == source]
    if source_id is not None:
        condition.append(Annotation.source_id == source_id)
    return condition


def _vote_key(
    session: Session, task: LabelingTask, source: str, source_id: str | None
) -> dict[str, Any]:
    """What names a source's votes now (a rerun that replaced them changes it): their count,
    newest id and newest time, and how many carry a confidence."""
    row = session.execute(
        select(
            func.count(),
            func.max(Annotation.id),
            func.max(Annotation.created_at),
            func.count(Annotation.confidence),
        ).where(*_vote_query(task, source, source_id))
    ).one()
    return {
        "source": source,
        "votes": int(row[0]),
        "newest": row[1],
        "at": str(row[2]),
        "confident": int(row[3]),
    }


# --- the job ----------------------------------------------------------------------------------


def run(
    db: Database,
    project: str,
    *,
    strategy: str,
    size: int,
    where: Any = None,
    slice: str | None = None,
    embedding: str | None = None,
    task: str | None = None,
    measure: str = "margin",
    source: str | None = None,
    heuristic: str | None = None,
    seed: int = 0,
    name: str | None = None,
    data_dir: Path,
    executor: Any = None,
    progress: Progress = no_progress,
) -> documents.SelectionResult:
    """The selection job's work: pick, store the slice, return the result document. A run
    over unchanged inputs returns the stored result (its slice made again if deleted)."""
    progress(0.01, "reading the pool")
    with db.session() as s:
        found = projects.get(s, project)
        plan = _plan(
            s,
            found,
            strategy=strategy,
            size=size,
            where=where,
            slice=slice,
            embedding=embedding,
            task=task,
            measure=measure,
            source=source,
            heuristic=heuristic,
            name=name,
            data_dir=data_dir,
        )
        project_id = found.id
    params = {
        "strategy": strategy,
        "size": size,
        "where": where,
        "slice": slice,
        "embedding": plan.embedding.name if plan.embedding is not None else None,
        "task": plan.task.name if plan.task is not None else None,
        "measure": measure,
        "source": plan.source.kind if plan.source is not None else None,
        "heuristic": heuristic,
        "seed": seed,
        "name": plan.name,
    }
    this = stored_runs.begin(db, project_id, JOB_KIND, params, _inputs(plan))
    if this.done:
        stored = stored_runs.summary(db, this)
        with db.session() as s:
            _restore_slice(s, projects.get(s, project), this, str(stored["slice"]))
            return cast(documents.SelectionResult, stored_runs.with_run(s, this, stored))
    try:
        ids, scores = _pick(db, this, plan, measure, seed, data_dir, progress)
        progress(0.95, "storing the slice")
        with db.session() as s:
            found = projects.get(s, project)
            slice_name = plan.name or f"selection-{this.id}"
            stored_runs.write_findings(
                s,
                this.id,
                FINDINGS,
                [
                    {"record_id": i, "score": score}
                    for i, score in zip(ids.tolist(), scores.tolist(), strict=True)
                ],
            )
            _store_slice(s, found, slice_name, ids.tolist())
            shown = [
                (int(i), float(score)) for i, score in zip(ids[:SHOWN], scores[:SHOWN], strict=True)
            ]
            named = search.records_by_id(s, found, [i for i, _ in shown])
            doc: dict[str, Any] = {
                "strategy": strategy,
                "used": plan.used,
                "reason": plan.reason,
                "task": params["task"],
                "embedding": params["embedding"],
                "size": len(ids),
                "pool": len(plan.pool),
                "slice": slice_name,
                "session": slices.labeling_session(found, slice_name),
                "records": search.scored_records(
                    s,
                    found,
                    [{"id": i, "score": round(score, 6), **named[i]} for i, score in shown],
                ),
            }
        stored_runs.finish(db, this, doc)
    except BaseException as exc:
        stored_runs.fail(db, this, str(exc) or type(exc).__name__)
        raise
    with db.session() as s:
        return cast(documents.SelectionResult, stored_runs.with_run(s, this, doc))


def _inputs(plan: _Plan) -> str:
    """The fingerprint of what the selection reads: the pool, the vectors (embedding and
    version), the labeled records where the strategy reads them, the probabilities' source."""
    vectors = (
        [plan.embedding.id, plan.vectors.version]
        if plan.embedding is not None and plan.vectors is not None
        else None
    )
    reads_labels = plan.strategy == "auto" or plan.used in ("coreset", "typical")
    source = plan.source.key if plan.source is not None else None
    if plan.source is not None and plan.source.kind == "model":  # a chunk holds its rows
        source = {**plan.source.key, "chunk": PROBABILITY_CHUNK}
    return stored_runs.fingerprint(
        plan.pool, vectors, plan.labeled if reads_labels else None, source
    )


def _store_slice(session: Session, project: Project, name: str, ids: list[int]) -> None:
    """Make the static slice ``name`` hold the picks in order: new, or a selection's own."""
    existing = slices.find(session, project, name)
    if existing is None:
        slices.create(session, project, name, kind="static", record_ids=ids)
    elif existing.kind == "static" and name in _selection_slices(session, project):
        slices.store_records(session, existing, ids)
    else:
        raise Conflict(
            f"project {project.name!r} already has a slice {name!r} that no selection made: "
            "choose another name, or delete that slice",
            slice=name,
        )


def _restore_slice(session: Session, project: Project, this: stored_runs.Run, name: str) -> None:
    """A reused run's slice holds its picks again (made anew if it was deleted, refilled if
    another selection of the same name changed it)."""
    ids = list(
        session.scalars(
            select(Finding.record_id)
            .where(Finding.run_id == this.id, Finding.kind == FINDINGS)
            .order_by(Finding.position)
        )
    )
    existing = slices.find(session, project, name)
    if existing is None or existing.kind == "static":  # a dynamic one is the user's: kept
        slices.put_static(session, project, name, ids, where="where the selection's picks go")


# --- picking ------------------------------------------------------------------------------------


def _pick(
    db: Database,
    this: stored_runs.Run,
    plan: _Plan,
    measure: str,
    seed: int,
    data_dir: Path,
    progress: Progress,
) -> tuple[np.ndarray, np.ndarray]:
    """The picked record ids in order and their scores, by the strategy ``plan.used``."""
    size, pool, used = plan.size, plan.pool, plan.used
    if used == "random":
        rows, scores = selectors.random_rows(len(pool), size, seed=seed)
        return pool[rows], scores
    if used == "uncertainty":
        uncertain = _uncertainty(db, this, plan, measure, data_dir, progress)
        progress(0.9, "ranking by uncertainty")
        rows, scores = selectors.most_uncertain(uncertain, size)
        return pool[rows], scores
    vectors = plan.vectors
    assert vectors is not None  # the strategies below read an embedding
    pool_rows = search.rows_of(vectors, pool)
    if used in ("coreset", "typical"):
        centre_rows = search.rows_of(vectors, plan.labeled)
        every = np.union1d(pool_rows, centre_rows)
        matrix = _matrix(vectors, every)
        centres = np.searchsorted(every, centre_rows)
        progress(0.05, f"{used}: {len(every)} records, {len(centres)} labeled")
        if used == "coreset":
            rows, scores = _k_center(db, this, matrix, size, centres, seed, progress)
        else:
            rows, scores = selectors.typical(matrix, size, labeled=centres, seed=seed)
        return vectors.ids[every[rows]], scores
    matrix = _matrix(vectors, pool_rows)
    if used == "cluster":
        progress(0.05, f"clustering {len(pool_rows)} records")
        rows, scores = selectors.cluster_stratified(matrix, size, seed=seed)
        return pool[rows], scores
    assert used == "hybrid", used
    uncertain = _uncertainty(db, this, plan, measure, data_dir, progress)
    progress(0.6, "clustering the most uncertain records")
    rows, scores = selectors.hybrid(matrix, uncertain, size, seed=seed)
    return pool[rows], scores


def _matrix(vectors: embeddings.Vectors, rows: np.ndarray) -> np.ndarray:
    """The vectors of these rows (ascending): the stored matrix itself (memory-mapped, not
    copied) when they are all of its rows."""
    if len(rows) == len(vectors.ids):
        return vectors.matrix
    return np.asarray(vectors.matrix[rows], dtype=np.float32)


def _k_center(
    db: Database,
    this: stored_runs.Run,
    matrix: np.ndarray,
    size: int,
    centres: np.ndarray,
    seed: int,
    progress: Progress,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-center, its state stored every :data:`CHECKPOINT_EVERY` picks; an
    interrupted run goes on from the newest stored state (one chunk read back)."""
    stored = [p for p in stored_runs.stored_positions(db, this) if p >= CHECKPOINT_BASE]
    state = None
    if stored:
        arrays = stored_runs.load_chunk(db, this, max(stored))
        assert arrays is not None
        state = selectors.KCenterState(
            chosen=arrays["chosen"], scores=arrays["scores"], nearest=arrays["nearest"]
        )
        this.resumed_chunks += 1
    last = [len(state.chosen) if state is not None else 0]

    def checkpoint(now: selectors.KCenterState) -> None:
        done = len(now.chosen)
        progress(0.05 + 0.85 * done / size, f"coreset: picked {done}/{size}")
        if done - last[0] >= CHECKPOINT_EVERY or (done >= size and done > last[0]):
            arrays = {"chosen": now.chosen, "scores": now.scores, "nearest": now.nearest}
            stored_runs.store_chunk(db, this, CHECKPOINT_BASE + done, arrays)
            last[0] = done

    return selectors.k_center(
        matrix, size, centres=centres, state=state, checkpoint=checkpoint, seed=seed
    )


def _uncertainty(
    db: Database,
    this: stored_runs.Run,
    plan: _Plan,
    measure: str,
    data_dir: Path,
    progress: Progress,
) -> np.ndarray:
    """Each pool record's uncertainty (higher: more uncertain) under ``measure``."""
    source, task = plan.source, plan.task
    assert source is not None and task is not None  # _plan resolved them
    multi_label = task.task_type == "multi-label"
    if source.kind == "model":
        probabilities = _model_probabilities(db, this, plan, data_dir, progress)
    else:
        probabilities = _vote_probabilities(db, plan, source, max(plan.classes, 2))
        multi_label = False  # one confidence per record: of its (best) vote
    if multi_label:  # each label a yes/no question: the most uncertain of them counts
        n, labels = probabilities.shape
        pairs = np.stack([probabilities, 1.0 - probabilities], axis=-1).reshape(n * labels, 2)
        scores = selectors.uncertainty(pairs, measure).reshape(n, labels)
        return np.asarray(scores.max(axis=1) if labels else np.zeros(n), dtype=np.float32)
    return selectors.uncertainty(probabilities, measure)


def _model_probabilities(
    db: Database, this: stored_runs.Run, plan: _Plan, data_dir: Path, progress: Progress
) -> np.ndarray:
    """The live model's probabilities of the pool, :data:`PROBABILITY_CHUNK` records at a
    time, each chunk stored as it is done (computed in this thread: see the module doc)."""
    assert plan.source is not None and plan.task is not None
    version_id, task_id = plan.source.version_id, plan.task.id
    loaded: list[Any] = []

    def compute(ids: np.ndarray) -> dict[str, np.ndarray]:
        with db.session() as s:
            found = s.get(LabelingTask, task_id)
            assert found is not None
            if not loaded:  # only when a chunk is not stored already
                row = s.get(ModelVersion, version_id)
                if row is None:
                    raise ValidationError(
                        f"the live model of task {found.name!r} was deleted during the "
                        "selection: run it again",
                        task=found.name,
                    )
                loaded.append(model_registry.load(s, row))
            texts = model_inputs.texts_of(s, found, ids.tolist())
            proba = model_inputs.probabilities(
                s, loaded[0], texts, data_dir=data_dir, record_ids=ids.tolist()
            )
        return {"probabilities": np.asarray(proba, dtype=np.float32)}

    items = [
        plan.pool[at : at + PROBABILITY_CHUNK] for at in range(0, len(plan.pool), PROBABILITY_CHUNK)
    ]
    parts = stored_runs.chunked(
        db,
        this,
        items,
        compute,
        executor=None,
        progress=lambda done, message: progress(0.05 + 0.5 * done, message),
        message="probabilities",
    )
    return np.concatenate([part["probabilities"] for part in parts]) if parts else np.zeros((0, 2))


def _vote_probabilities(db: Database, plan: _Plan, source: _Source, classes: int) -> np.ndarray:
    """Probabilities from votes with a confidence (weak supervision's, a heuristic's): the
    vote's confidence for its label, the rest spread evenly over the other labels; a record
    without a vote is as uncertain as can be (every label alike)."""
    assert plan.task is not None
    confidence = np.full(len(plan.pool), np.nan, dtype=np.float64)
    source_id = str(source.heuristic_id) if source.heuristic_id is not None else None
    with db.session() as s:
        rows = s.execute(
            select(Annotation.record_id, Annotation.confidence).where(
                *_vote_query(plan.task, source.kind, source_id),
                Annotation.confidence.is_not(None),
            )
        ).all()
    if rows:
        voted = np.asarray([r[0] for r in rows], dtype=np.int64)
        values = np.asarray([r[1] for r in rows], dtype=np.float64)
        at = np.minimum(np.searchsorted(plan.pool, voted), max(len(plan.pool) - 1, 0))
        inside = (plan.pool[at] == voted) if len(plan.pool) else np.zeros(len(voted), bool)
        best = np.full(len(plan.pool), -np.inf)
        np.maximum.at(best, at[inside], values[inside])  # a record's most confident vote
        confidence = np.where(np.isfinite(best), best, np.nan)
    top = np.clip(np.where(np.isnan(confidence), 1.0 / classes, confidence), 0.0, 1.0)
    probabilities = np.empty((len(plan.pool), classes), dtype=np.float32)
    probabilities[:, 0] = top
    probabilities[:, 1:] = ((1.0 - top) / (classes - 1))[:, None]
    return probabilities
