"""The registry of a task's models: its versions, the live one, promotion and rollback, the
settings of the loop.

``model_task.live_version_id`` is the one pointer serving processes watch: a promotion or
rollback changes it, the versions' statuses (one ``live`` per task, the one it replaced
``retired``) and writes a ``model_event``, in the caller's transaction. Neither loads an
artifact: they move a pointer, so they take a few queries whatever the model's size;
serving loads the new version (:func:`load`) before it swaps.

A rollback goes back along the events as along a stack: a promotion pushes its version, a
rollback pops the current one, so rolling back twice goes two versions back, and never past
the first live version.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from assay import documents
from assay.algorithms import text_models
from assay.errors import ArtifactInvalid, Conflict, NotFound, ValidationError
from assay.storage.models import LabelingTask, ModelEvent, ModelTask, ModelVersion, utcnow

MAX_ARTIFACT_BYTES = 512 * 2**20
"""The largest artifact :func:`load` reads: a TF-IDF model of 100,000 headlines takes a few
MB; anything near this is not one of ours."""

SETTINGS = ("retrain_after", "audit_share", "metric", "alpha", "recall_margin", "test_fraction")


# --- the task's row ---------------------------------------------------------------------------


def state(session: Session, task: LabelingTask, *, lock: bool = False) -> ModelTask:
    """The task's loop row, made on first use with a fresh split salt. ``lock``: hold the
    row's write lock until the transaction ends (on SQLite, the database's), so that two
    writers that decide from it (start a training, promote) go one after the other."""
    if lock:  # an UPDATE first: it waits for the lock before anything is read
        session.execute(
            update(ModelTask).where(ModelTask.task_id == task.id).values(updated_at=utcnow())
        )
    found = session.get(ModelTask, task.id, populate_existing=lock)
    if found is not None:
        return found
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(ModelTask)
        .values(
            task_id=task.id,
            project_id=task.project_id,
            split_salt=secrets.token_hex(16),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing()  # a concurrent first use made it: that one counts
    )
    made = session.get(ModelTask, task.id)
    assert made is not None
    return made


def live(session: Session, task: LabelingTask) -> ModelVersion | None:
    """The task's live version, or None."""
    version_id = session.scalar(
        select(ModelTask.live_version_id).where(ModelTask.task_id == task.id)
    )
    return session.get(ModelVersion, version_id) if version_id is not None else None


def versions(session: Session, task: LabelingTask) -> list[ModelVersion]:
    """The task's versions, newest first."""
    return list(
        session.scalars(
            select(ModelVersion)
            .where(ModelVersion.task_id == task.id)
            .order_by(ModelVersion.version.desc())
        )
    )


def get(session: Session, task: LabelingTask, version: int) -> ModelVersion:
    found = session.scalar(
        select(ModelVersion).where(ModelVersion.task_id == task.id, ModelVersion.version == version)
    )
    if found is None:
        known = ", ".join(str(v.version) for v in reversed(versions(session, task))) or "none"
        raise NotFound(
            f"task {task.name!r} has no model version {version} (versions: {known})",
            version=version,
        )
    return found


def next_version(session: Session, task: LabelingTask) -> int:
    top = session.scalar(
        select(func.max(ModelVersion.version)).where(ModelVersion.task_id == task.id)
    )
    return int(top or 0) + 1


# --- artifacts --------------------------------------------------------------------------------


def artifact(session: Session, row: ModelVersion, *, max_bytes: int = MAX_ARTIFACT_BYTES) -> bytes:
    """The version's artifact, as stored when it was made: refused (ArtifactInvalid) over
    ``max_bytes`` (before it is read) or when its sha256 is not the row's."""
    size = session.scalar(
        select(func.length(ModelVersion.artifact)).where(ModelVersion.id == row.id)
    )
    if size is None or size > max_bytes:
        raise ArtifactInvalid(
            f"the artifact of version {row.version} is too large to load ({size} bytes; "
            f"the cap is {max_bytes})",
            version=row.version,
            limit=max_bytes,
        )
    data = session.scalar(select(ModelVersion.artifact).where(ModelVersion.id == row.id))
    if data is None or hashlib.sha256(data).hexdigest() != row.sha256:
        raise ArtifactInvalid(
            f"the artifact of version {row.version} is not the one stored (sha256 differs)",
            version=row.version,
        )
    return bytes(data)


def load(
    session: Session, row: ModelVersion, *, max_bytes: int = MAX_ARTIFACT_BYTES
) -> text_models.TextClassifier:
    """The version's model, from its checked artifact (:func:`artifact`); a corrupt one
    raises ArtifactInvalid."""
    return text_models.load(artifact(session, row, max_bytes=max_bytes), max_bytes=max_bytes)


# --- documents --------------------------------------------------------------------------------


def describe(row: ModelVersion, task_name: str) -> documents.ModelVersionPublic:
    return {
        "task": task_name,
        "version": row.version,
        "status": cast(documents.ModelStatus, row.status),
        "algorithm": row.algorithm,
        "requested": row.requested,
        "parameters": row.parameters,
        "training": cast(documents.ModelTraining, row.training),
        "test": cast(documents.ModelTest, row.test),
        "metrics": cast(documents.ModelMetrics, row.metrics),
        "decision": cast(documents.ModelDecision | None, row.decision),
        "size_bytes": row.size_bytes,
        "sha256": row.sha256,
        "job_id": row.job_id,
        "created_at": row.created_at.isoformat(),
        "promoted_at": row.promoted_at.isoformat() if row.promoted_at else None,
    }


def overview(session: Session, task: LabelingTask) -> documents.ModelsOverview:
    rows = versions(session, task)
    number = {row.id: row.version for row in rows}
    found = session.get(ModelTask, task.id)
    events = session.scalars(
        select(ModelEvent).where(ModelEvent.task_id == task.id).order_by(ModelEvent.id.desc())
    )
    return {
        "task": task.name,
        "live_version": number.get(found.live_version_id)
        if found and found.live_version_id
        else None,
        "versions": [describe(row, task.name) for row in rows],
        "history": [
            {
                "version": number[event.version_id],
                "action": event.action,
                "reason": event.reason,
                "at": event.at.isoformat(),
            }
            for event in events
        ],
        "settings": current_settings(session, task),
    }


# --- promotion and rollback -------------------------------------------------------------------


def promote(
    session: Session, task: LabelingTask, row: ModelVersion, *, action: str, reason: str
) -> ModelVersion:
    """Make ``row`` the task's live version (``action``: ``auto``, ``promote`` or
    ``rollback``; ``reason`` is recorded); the live one before it is retired. The version
    already live stays so, and nothing is recorded."""
    found = state(session, task, lock=True)
    if found.live_version_id == row.id:
        return row
    now = utcnow()
    if found.live_version_id is not None:
        session.execute(
            update(ModelVersion)
            .where(ModelVersion.id == found.live_version_id)
            .values(status="retired")
        )
    row.status, row.promoted_at = "live", now
    found.live_version_id, found.updated_at = row.id, now
    session.add(
        ModelEvent(task_id=task.id, version_id=row.id, action=action, reason=reason, at=now)
    )
    session.flush()
    return row


def rollback(session: Session, task: LabelingTask) -> ModelVersion:
    """Make the version that was live before the current one live again; a Conflict when
    there is none."""
    found = state(session, task, lock=True)
    stack: list[int] = []
    for event in session.scalars(
        select(ModelEvent).where(ModelEvent.task_id == task.id).order_by(ModelEvent.id)
    ):
        if event.action == "rollback":
            if stack:
                stack.pop()
        else:
            stack.append(event.version_id)
    # The live one is on top (a version promoted twice in a row is pushed twice: skip it).
    while stack and stack[-1] == found.live_version_id:
        stack.pop()
    if found.live_version_id is None or not stack:
        raise Conflict(
            f"task {task.name!r} has no earlier live model to roll back to"
            + ("" if found.live_version_id else " (it has no live model)"),
            task=task.name,
        )
    current = session.get(ModelVersion, found.live_version_id)
    previous = session.get(ModelVersion, stack[-1])
    assert current is not None and previous is not None
    return promote(
        session,
        task,
        previous,
        action="rollback",
        reason=f"rolled back from version {current.version}",
    )


# --- settings ---------------------------------------------------------------------------------


def default_settings() -> documents.ModelSettings:
    """The settings of a task that never used the loop (the columns' defaults)."""
    columns = ModelTask.__table__.c
    return cast(documents.ModelSettings, {name: columns[name].default.arg for name in SETTINGS})


def current_settings(session: Session, task: LabelingTask) -> documents.ModelSettings:
    """The task's settings (a task that never used the loop: the defaults; nothing is
    written)."""
    found = session.get(ModelTask, task.id)
    return settings(found) if found is not None else default_settings()


def settings(row: ModelTask) -> documents.ModelSettings:
    return {
        "retrain_after": row.retrain_after,
        "audit_share": row.audit_share,
        "metric": cast(documents.ModelMetric, row.metric),
        "alpha": row.alpha,
        "recall_margin": row.recall_margin,
        "test_fraction": row.test_fraction,
    }


def update_settings(
    session: Session, task: LabelingTask, changes: Mapping[str, Any]
) -> documents.ModelSettings:
    """Change some settings (names: :data:`SETTINGS`); all are checked before any changes.
    ``test_fraction`` only before the test split's first draw: after it, the split is fixed."""
    unknown = sorted(set(changes) - set(SETTINGS))
    if unknown:
        raise ValidationError(
            f"unknown model setting(s) {', '.join(map(repr, unknown))}; settings: "
            + ", ".join(SETTINGS),
            settings=unknown,
        )
    row = state(session, task, lock=True)
    checked = {name: _checked(name, value) for name, value in changes.items()}
    if (
        "test_fraction" in checked
        and row.split_drawn
        and checked["test_fraction"] != row.test_fraction
    ):
        raise ValidationError(
            f"task {task.name!r} has drawn its test split already (fraction "
            f"{row.test_fraction}): it stays fixed, so versions stay comparable",
            setting="test_fraction",
        )
    for name, value in checked.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    return settings(row)


def _checked(name: str, value: Any) -> Any:
    if name == "metric":
        allowed = documents.values(documents.ModelMetric)
        if value not in allowed:
            raise ValidationError(
                f"unknown metric {value!r}; metrics: {', '.join(allowed)}", setting=name
            )
        return value
    if name == "retrain_after":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(
                f"retrain_after is a count of new labels (0: never), not {value!r}", setting=name
            )
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValidationError(f"{name} is a number, not {value!r}", setting=name)
    if name in ("audit_share", "recall_margin"):  # shares: 0 and 1 allowed
        if not 0 <= value <= 1:
            raise ValidationError(f"{name} is from 0 to 1, not {value!r}", setting=name)
    elif not 0 < value < 1:  # alpha, test_fraction: neither end makes sense
        raise ValidationError(f"{name} is between 0 and 1 (exclusive), not {value!r}", setting=name)
    return float(value)
