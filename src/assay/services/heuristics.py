"""Heuristics: labeling functions written in Python for a labeling task, run in the sandbox,
and the other kinds of heuristic (active learners, zero-shot heuristics:
``services/embedding_heuristics.py``; the task's live model: ``services/model_heuristic.py``).

A heuristic's votes are annotations with source ``heuristic`` and ``source_id`` its id; a run
replaces them in one transaction and remembers the code version it came from. Statistics
(``algorithms.heuristic_stats``) compare every heuristic of a task with the reference manual
labels and with each other; they are stored on each heuristic after a run and recomputed when
manual labels changed since (``statistics_for``).

What differs between kinds is each kind's (``services/heuristic_kinds.py``): :data:`KINDS` is
their registry, and :func:`kind_of` the one place where a heuristic's kind is looked up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from assay import documents
from assay.algorithms.heuristic_stats import as_units, heuristic_stats
from assay.errors import Conflict, ValidationError
from assay.runtime import sandbox
from assay.services import lookup_lists, named, names, projects, user_code
from assay.services import tasks as task_service
from assay.services.embedding_heuristics import ActiveLearnerKind, ZeroShotKind
from assay.services.heuristic_kinds import Draft, Kind, Tools, check_settings
from assay.services.model_heuristic import ModelKind
from assay.storage.db import Database
from assay.storage.models import Annotation, Heuristic, LabelingTask, Project, Record, utcnow

SOURCE = "heuristic"


class LabelingFunctionKind(Kind):
    """A labeling function: Python code defining one function of the record, run over the
    records' partitions (``services/heuristic_runs.py``)."""

    name = "labeling_function"
    noun = "a labeling function"

    def create(self, session: Session, project: Project, task: LabelingTask, draft: Draft) -> Draft:
        check_settings(self, draft.settings)  # it takes none: no embedding
        if draft.name is None or draft.code is None:
            raise ValidationError("a labeling function takes a name and code (no embedding)")
        return draft

    def preview(
        self,
        session: Session,
        project: Project,
        heuristic: Heuristic,
        records: list[sandbox.Record],
        tools: Tools,
    ) -> list[sandbox.RecordResult]:
        return tools.box.run(
            heuristic.code,
            records,
            language=project.language,
            knowledge=lookup_lists.knowledge(session, project)["modules"],
            output=output_spec(session, heuristic.task),
            limits=tools.limits,
        )


# The kinds of heuristic, by the name stored in ``heuristic.kind``.
KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (LabelingFunctionKind(), ActiveLearnerKind(), ZeroShotKind(), ModelKind())
}


def kind_of(name: str) -> Kind:
    """The kind of this name (``active-learner`` spells ``active_learner`` too)."""
    found = KINDS.get(name.replace("-", "_"))
    if found is None:
        raise ValidationError(f"unknown kind {name!r}: use {', '.join(KINDS)}", kind=name)
    return found


def create(
    session: Session,
    project: Project,
    task_name: str,
    name: str | None,
    code: str | None = None,
    description: str = "",
    *,
    kind: str = "labeling_function",
    settings: Mapping[str, Any] | None = None,
) -> Heuristic:
    """A new heuristic of ``kind`` for the task, with the kind's ``settings`` (an active
    learner's or zero-shot heuristic's embedding, classifier, ...; the kind's defaults fill
    the rest). A labeling function takes a name and code; the other kinds make their code
    and name when not given."""
    chosen = kind_of(kind)
    if name is not None:
        name = names.clean(name, "heuristic", heuristic=name)
    for text, field in ((code, "a heuristic's code"), (description, "a heuristic's description")):
        if text is not None:
            names.check_text(text, field, heuristic=name)
    task = task_service.get(session, project, task_name)
    draft = Draft(name, code, description, dict(settings or {}))
    draft = chosen.create(session, project, task, draft)
    assert draft.name is not None  # each kind names a new heuristic
    name = names.clean(draft.name, "heuristic", heuristic=draft.name)
    if named.find(session, Heuristic, project, name) is not None:
        raise Conflict(f"project {project.name!r} already has a heuristic {name!r}", heuristic=name)
    found = Heuristic(
        project_id=project.id,
        task_id=task.id,
        name=name,
        kind=chosen.name,
        code=draft.code or "",
        description=description,
        embedding_id=draft.embedding_id,
        config=draft.config,
    )
    session.add(found)
    session.flush()
    return found


def get(session: Session, project: Project, name: str) -> Heuristic:
    return named.get(session, Heuristic, project, name, "heuristic")


def list_all(session: Session, project: Project) -> list[Heuristic]:
    return named.list_all(session, Heuristic, project)


def describe(session: Session, heuristic: Heuristic) -> documents.HeuristicPublic:
    """The heuristic's document: what it is, its last run and statistics, and what its kind
    adds (the embedding it reads, its settings)."""
    h = heuristic
    facts = kind_of(h.kind).describe(session, h)
    return documents.HeuristicPublic(
        id=h.id,
        name=h.name,
        task=h.task.name,
        kind=cast(documents.HeuristicKind, h.kind),
        description=h.description,
        code=h.code,
        code_version=h.code_version,
        last_run=h.last_run,
        # The votes come from older code than the current one.
        stale=h.last_run is not None and h.last_run["code_version"] != h.code_version,
        statistics=h.statistics,
        embedding=facts["embedding"],
        config=facts["config"],
        created_at=h.created_at.isoformat(),
        updated_at=h.updated_at.isoformat(),
    )


def try_heuristic(
    session: Session,
    project: Project,
    name: str,
    box: sandbox.Sandbox,
    limits: sandbox.Limits,
    data_dir: Path,
    choice: user_code.Choice,
) -> documents.HeuristicTryResult:
    """Try the heuristic on a few records (``choice``): what it votes on each, and its
    printed output (or why it failed); nothing is stored."""
    heuristic = get(session, project, name)
    kind = kind_of(heuristic.kind)
    tools = Tools(box, limits, data_dir)
    result = user_code.try_on(
        session,
        project,
        lambda chosen: kind.preview(session, project, heuristic, chosen, tools),
        choice,
    )
    if result.error is not None:
        return documents.HeuristicTryResult(
            results=[], failures=result.failures(), error=result.error.message, votes=0
        )
    return documents.HeuristicTryResult(
        results=result.rows(),
        failures=[],
        error=None,
        # Its coverage on these records: an abstention is null, or no span (extraction).
        votes=sum(1 for r in result.results if r.value is not None and r.value != []),
    )


def update(
    session: Session,
    project: Project,
    name: str,
    *,
    code: str | None = None,
    new_name: str | None = None,
    description: str | None = None,
    config: dict[str, Any] | None = None,
) -> Heuristic:
    """Change a heuristic; new code (or new settings of a zero-shot heuristic) gets a new
    version (its votes stay, marked as coming from the version before, until the next run)."""
    found = get(session, project, name)
    for text, field in ((code, "a heuristic's code"), (description, "a heuristic's description")):
        if text is not None:
            names.check_text(text, field, heuristic=name)
    if new_name is not None and new_name.strip() != found.name:
        cleaned = names.clean(new_name, "heuristic", heuristic=new_name)
        if named.find(session, Heuristic, project, cleaned) is not None:
            raise Conflict(
                f"project {project.name!r} already has a heuristic {cleaned!r}", heuristic=cleaned
            )
        found.name = cleaned
    kind = kind_of(found.kind)
    if code is not None and code != found.code:
        kind.check_code(found, code)
        found.code = code
        found.code_version += 1
    if config is not None and kind.update_config(session, found, config):
        found.code_version += 1
    if description is not None:
        found.description = description
    found.updated_at = utcnow()
    session.flush()
    return found


def delete_heuristic(session: Session, project: Project, name: str) -> None:
    """Delete the heuristic and its votes; the statistics of its task's other heuristics
    (their overlaps and conflicts with it) follow."""
    found = get(session, project, name)
    task = found.task
    session.execute(delete(Annotation).where(*votes_of(found)))
    session.delete(found)
    session.flush()
    refresh_statistics(session, task)


def votes_of(heuristic: Heuristic) -> tuple[Any, ...]:
    return (
        Annotation.task_id == heuristic.task_id,
        Annotation.source == SOURCE,
        Annotation.source_id == str(heuristic.id),
    )


def rename_label(session: Session, task: LabelingTask, old: str, new: str) -> list[str]:
    """The task's heuristics follow a renamed label, each as its kind says (a labeling
    function's string literals equal to ``old``, a zero-shot heuristic's description of
    it); returns the names of the heuristics that changed (each gets a new version)."""
    changed = []
    for heuristic in session.scalars(select(Heuristic).where(Heuristic.task_id == task.id)):
        if kind_of(heuristic.kind).rename_label(heuristic, old, new):
            heuristic.code_version += 1
            heuristic.updated_at = utcnow()
            changed.append(heuristic.name)
    session.flush()
    return changed


# --- running ----------------------------------------------------------------------------------


def output_spec(session: Session, task: LabelingTask) -> sandbox.OutputSpec:
    return sandbox.OutputSpec(
        task_type=task.task_type,
        labels=frozenset(label.name for label in task_service.labels(session, task)),
        attribute=task_service.attribute_name(session, task),
    )


def units(task_type: str, value: Any) -> list[tuple[str, int | None, int | None]]:
    """A checked result as (label, start, end) units (no span: None, None)."""
    if value is None:
        return []
    if task_type == "classification":
        return [(value, None, None)]
    if task_type == "multi-label":
        return [(label, None, None) for label in value]
    return [(label, start, end) for label, start, end in value]


# --- statistics -------------------------------------------------------------------------------


def refresh_task(db: Database, task_id: Any) -> None:
    """:func:`refresh_statistics` of the task with this id (gone: nothing), in a unit of
    work of its own: what the statistics debouncer runs."""
    with db.session() as s:
        task = task_service.by_id(s, task_id)
        if task is not None:
            refresh_statistics(s, task)


def refresh_statistics(session: Session, task: LabelingTask) -> None:
    """Recompute and store the statistics of every heuristic of a task."""
    found = list(session.scalars(select(Heuristic).where(Heuristic.task_id == task.id)))
    if not found:
        return
    project = session.get(Project, task.project_id)
    assert project is not None
    n_records = session.scalar(
        select(func.count()).select_from(Record).where(projects.visible_records(session, project))
    )
    label_names = {label.id: label.name for label in task_service.labels(session, task)}

    def stored_units(*conditions: Any) -> np.ndarray:
        rows = session.execute(
            select(
                Annotation.record_id,
                Annotation.label_id,
                func.coalesce(Annotation.span_start, -1),
                func.coalesce(Annotation.span_end, -1),
            ).where(Annotation.task_id == task.id, *conditions)
        ).all()
        return as_units([tuple(row) for row in rows])

    reference = stored_units(Annotation.source == "manual", Annotation.is_reference.is_(True))
    votes = [stored_units(*votes_of(h)) for h in found]
    extraction = task.task_type == "extraction"
    # A kind may measure its heuristics on some records' labels only (a model: its test split).
    scopes = [kind_of(h.kind).statistics_records(session, h) for h in found]
    computed = heuristic_stats(
        votes, reference, int(n_records or 0), extraction=extraction, scopes=scopes
    )
    referenced = np.unique(reference[:, 0])
    for heuristic, stats, scope in zip(found, computed, scopes, strict=True):
        doc = asdict(stats)
        doc["labels"] = {
            label_names.get(label_id, str(label_id)): per_label
            for label_id, per_label in doc["labels"].items()
        }
        in_scope = referenced if scope is None else np.intersect1d(referenced, scope)
        doc["reference_records"] = len(in_scope)
        heuristic.statistics = doc
    session.flush()
