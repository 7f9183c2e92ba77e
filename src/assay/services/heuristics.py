"""Heuristics: labeling functions written in Python for a labeling task, run in the sandbox.

A heuristic's votes are annotations with source ``heuristic`` and ``source_id`` its id; a run
replaces them in one transaction and remembers the code version it came from. Statistics
(``algorithms.heuristic_stats``) compare every heuristic of a task with the reference manual
labels and with each other; they are stored on each heuristic after a run and recomputed when
manual labels changed since (``statistics_for``).
"""

from __future__ import annotations

import ast
import io
import json
import random
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
from sqlalchemy import Row, delete, func, select
from sqlalchemy.orm import Session

from assay.algorithms.heuristic_stats import as_units, heuristic_stats
from assay.errors import Conflict, NotFound, ValidationError
from assay.runtime import sandbox
from assay.services import lookup_lists, model_heuristics, names, projects
from assay.services import tasks as task_service
from assay.storage.models import (
    Annotation,
    Heuristic,
    LabelingTask,
    Project,
    Record,
    RecordText,
    can_be_id,
    utcnow,
)

SOURCE = "heuristic"
PAGE = 1000  # records read from the database at a time


def create(
    session: Session, project: Project, task_name: str, name: str, code: str, description: str = ""
) -> Heuristic:
    name = names.clean(name, "heuristic", heuristic=name)
    names.check_text(code, "a heuristic's code", heuristic=name)
    names.check_text(description, "a heuristic's description", heuristic=name)
    if find(session, project, name) is not None:
        raise Conflict(f"project {project.name!r} already has a heuristic {name!r}", heuristic=name)
    task = task_service.get(session, project, task_name)
    found = Heuristic(
        project_id=project.id, task_id=task.id, name=name, code=code, description=description
    )
    session.add(found)
    session.flush()
    return found


def find(session: Session, project: Project, name: str) -> Heuristic | None:
    return session.scalar(
        select(Heuristic).where(Heuristic.project_id == project.id, Heuristic.name == name)
    )


def get(session: Session, project: Project, name: str) -> Heuristic:
    found = find(session, project, name)
    if found is None:
        raise NotFound(f"project {project.name!r} has no heuristic {name!r}", heuristic=name)
    return found


def list_all(session: Session, project: Project) -> list[Heuristic]:
    return list(
        session.scalars(
            select(Heuristic).where(Heuristic.project_id == project.id).order_by(Heuristic.name)
        )
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
        if find(session, project, cleaned) is not None:
            raise Conflict(
                f"project {project.name!r} already has a heuristic {cleaned!r}", heuristic=cleaned
            )
        found.name = cleaned
    if code is not None and code != found.code:
        if found.kind == model_heuristics.ZERO_SHOT:
            raise ValidationError(
                f"the zero-shot heuristic {found.name!r} has no code: change its settings"
            )
        found.code = code
        found.code_version += 1
    if config is not None and model_heuristics.update_config(session, found, config):
        found.code_version += 1
    if description is not None:
        found.description = description
    found.updated_at = utcnow()
    session.flush()
    return found


def delete_heuristic(session: Session, project: Project, name: str) -> None:
    found = get(session, project, name)
    session.execute(delete(Annotation).where(*votes_of(found)))
    session.delete(found)


def votes_of(heuristic: Heuristic) -> tuple[Any, ...]:
    return (
        Annotation.task_id == heuristic.task_id,
        Annotation.source == SOURCE,
        Annotation.source_id == str(heuristic.id),
    )


def rename_label(session: Session, task: LabelingTask, old: str, new: str) -> list[str]:
    """Rewrite the string literals equal to ``old`` in the code of the task's heuristics to
    ``new`` (other text, comments and strings that merely contain it stay); returns the names
    of the heuristics that changed. Code that does not tokenize is left as it is; a zero-shot
    heuristic's description of the label follows it."""
    changed = []
    for heuristic in session.scalars(select(Heuristic).where(Heuristic.task_id == task.id)):
        code = _replace_literal(heuristic.code, old, new)
        if model_heuristics.rename_label(heuristic, old, new):
            heuristic.code_version += 1
            heuristic.updated_at = utcnow()
            changed.append(heuristic.name)
        elif code != heuristic.code:
            heuristic.code = code
            heuristic.code_version += 1
            heuristic.updated_at = utcnow()
            changed.append(heuristic.name)
    session.flush()
    return changed


def _replace_literal(code: str, old: str, new: str) -> str:
    try:
        found = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return code
    lines = code.splitlines(keepends=True)
    # Replace from the end, so earlier positions stay valid.
    for token in reversed(found):
        if token.type != tokenize.STRING or token.start[0] != token.end[0]:
            continue
        try:
            value = ast.literal_eval(token.string)
        except (ValueError, SyntaxError):
            continue
        if value != old:
            continue
        row, (start, end) = token.start[0] - 1, (token.start[1], token.end[1])
        # In the literal's own quotes: JSON's escapes are Python's too.
        literal = json.dumps(new, ensure_ascii=False) if token.string[-1] == '"' else repr(new)
        lines[row] = lines[row][:start] + literal + lines[row][end:]
    return "".join(lines)


# --- running ----------------------------------------------------------------------------------


def output_spec(session: Session, task: LabelingTask) -> sandbox.OutputSpec:
    return sandbox.OutputSpec(
        task_type=task.task_type,
        labels=frozenset(label.name for label in task_service.labels(session, task)),
        attribute=task_service.attribute_name(session, task),
    )


def sandbox_records(
    session: Session, project: Project, record_ids: list[int] | None = None
) -> Iterable[sandbox.Record]:
    """The project's records (or these ones) as the sandbox takes them, a page at a time:
    data, and the token offsets of every text attribute."""
    text_attributes = {
        a.id: a.name for a in projects.attributes(session, project) if a.data_type == "text"
    }
    visible = (
        select(Record.id, Record.data)
        .where(projects.visible_records(session, project))
        .order_by(Record.id)
    )

    def pages() -> Iterator[Sequence[Row[tuple[int, Any]]]]:
        if record_ids is not None:
            ids = sorted({i for i in record_ids if can_be_id(i)})  # the others: not found
            for start in range(0, len(ids), PAGE):
                yield session.execute(visible.where(Record.id.in_(ids[start : start + PAGE]))).all()
            return
        last = 0
        while rows := session.execute(visible.where(Record.id > last).limit(PAGE)).all():
            yield rows
            last = rows[-1].id

    for rows in pages():
        ids = [row.id for row in rows]
        offsets: dict[int, dict[str, bytes]] = {}
        for record_id, attribute_id, blob in session.execute(
            select(RecordText.record_id, RecordText.attribute_id, RecordText.offsets).where(
                RecordText.record_id.in_(ids),
                RecordText.attribute_id.in_(text_attributes),
                RecordText.offsets.is_not(None),
            )
        ):
            offsets.setdefault(record_id, {})[text_attributes[attribute_id]] = blob or b""
        for row in rows:
            yield sandbox.Record(row.id, row.data, offsets.get(row.id, {}))


def sample_ids(session: Session, project: Project, n: int, seed: int | None = None) -> list[int]:
    """``n`` records chosen at random (by ``seed`` when given)."""
    ids = list(
        session.scalars(
            select(Record.id).where(projects.visible_records(session, project)).order_by(Record.id)
        )
    )
    return sorted(random.Random(seed).sample(ids, min(n, len(ids))))


def run_code(
    session: Session,
    project: Project,
    heuristic: Heuristic,
    records: Iterable[sandbox.Record],
    box: sandbox.Sandbox,
    limits: sandbox.Limits,
) -> list[sandbox.RecordResult]:
    task = session.get(LabelingTask, heuristic.task_id)
    assert task is not None  # the heuristic cascades with its task
    return box.run(
        heuristic.code,
        records,
        language=project.language,
        knowledge=lookup_lists.knowledge(session, project)["modules"],
        output=output_spec(session, task),
        limits=limits,
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
    computed = heuristic_stats(votes, reference, int(n_records or 0), extraction=extraction)
    for heuristic, stats in zip(found, computed, strict=True):
        doc = asdict(stats)
        doc["labels"] = {
            label_names.get(label_id, str(label_id)): per_label
            for label_id, per_label in doc["labels"].items()
        }
        doc["reference_records"] = len(np.unique(reference[:, 0]))
        heuristic.statistics = doc
    session.flush()
