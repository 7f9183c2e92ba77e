"""Statistics of one labeling task over a project or one of its slices: what the overview shows.

Everything except inter-annotator agreement is counted in SQL (GROUP BY over the annotations of
the records in scope), so the cost follows the annotations, not a Python loop per record.
Agreement needs each annotator's whole value of a record: only the records that two or more
annotators labeled are read, as (record, annotator, value) rows.

What counts (see ``docs/concepts.md``, "Statistics"):

- label distribution: classification and multi-label count records (a record counts once per
  label of its value), extraction counts spans; manual counts the reference label only, so a
  record in conflict counts nowhere;
- confidence histogram: every label of a non-manual source with a confidence, in 10 bins over
  [0, 1] (a bin holds its lower bound; values below 0 or above 1 fall in the end bins);
- confusion matrix: classification only, records with both a reference label and a weak
  supervision label;
- agreement: manual labels that are not gold (gold resolves disagreement, it is no annotator's
  vote); each annotator's whole value of a record is one nominal category, as in the reference
  rule.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable
from itertools import combinations
from typing import Any, TypeVarTuple, cast

import numpy as np
from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, select
from sqlalchemy.orm import Session, aliased

from assay import documents
from assay.algorithms.agreement import (
    MISSING,
    cohen_kappa,
    krippendorff_alpha,
    percent_agreement,
)
from assay.services import annotating, queries, tasks
from assay.storage.models import Annotation, Label, LabelingTask, ManualState, Project, Record

BINS = 10
WEAK_SUPERVISION = "weak_supervision"
NON_MANUAL = tuple(s for s in annotating.SOURCES if s != annotating.MANUAL)
Row = TypeVarTuple("Row")


def task_statistics(
    session: Session, project: Project, task_name: str, slice_name: str | None = None
) -> documents.TaskStatistics:
    """The overview of one task: progress, distributions, confidences, confusion, agreement."""
    task = tasks.get(session, project, task_name)
    where = {"slice": slice_name} if slice_name else None
    _query, _key, scope = queries.build(session, project, where)
    labels = tasks.labels(session, task)
    states = _manual_states(session, task, scope)
    total = queries.count(session, project, where)
    manual = _label_counts(session, task, scope, annotating.MANUAL)
    weak = _label_counts(session, task, scope, WEAK_SUPERVISION)
    annotators = _annotators(session, task, scope)
    document = {
        "project": project.name,
        "task": task.name,
        "task_type": task.task_type,
        "slice": slice_name,
        "records": total,
        "progress": {
            "records": total,
            "labeled": states["gold"] + states["agreed"],
            **states,
            "none": total - sum(states.values()),
        },
        "distribution_unit": "spans" if task.task_type == "extraction" else "records",
        "distribution": [
            {
                "label": lb.name,
                "manual": manual.get(lb.id, 0),
                WEAK_SUPERVISION: weak.get(lb.id, 0),
            }
            for lb in labels
        ],
        "weakly_supervised": _records_with_source(session, task, scope, WEAK_SUPERVISION),
        "confidence": _confidence_histograms(session, task, scope),
        "confusion": (
            _confusion(session, task, scope, labels) if task.task_type == "classification" else None
        ),
        "annotators": [{"annotator": a, "records": n} for a, n in annotators],
        "agreement": _agreement(session, task, scope),
        "conflicts": {
            "count": states["conflict"],
            "where": {"task": task.name, "state": "conflict"},
        },
    }
    return cast(documents.TaskStatistics, document)


def _in_scope(query: Select[*Row], scope: ColumnElement[bool]) -> Select[*Row]:
    """Annotations of the records in scope (the scope is a condition on ``record``)."""
    return query.join(Record, Record.id == Annotation.record_id).where(scope)


def _manual_states(
    session: Session, task: LabelingTask, scope: ColumnElement[bool]
) -> dict[str, int]:
    rows = session.execute(
        select(ManualState.state, func.count())
        .join(Record, Record.id == ManualState.record_id)
        .where(ManualState.task_id == task.id, scope)
        .group_by(ManualState.state)
    ).all()
    counts = {"gold": 0, "agreed": 0, "conflict": 0}
    counts.update({state: int(n) for state, n in rows})
    return counts


def _label_counts(
    session: Session, task: LabelingTask, scope: ColumnElement[bool], source: str
) -> dict[int, int]:
    # Records per label, or spans per label for extraction (a record may hold several).
    counted = (
        func.count()
        if task.task_type == "extraction"
        else func.count(distinct(Annotation.record_id))
    )
    query = _in_scope(select(Annotation.label_id, counted), scope).where(
        Annotation.task_id == task.id, Annotation.source == source
    )
    if source == annotating.MANUAL:
        query = query.where(Annotation.is_reference.is_(True))
    rows = session.execute(query.group_by(Annotation.label_id)).all()
    return {label_id: int(n) for label_id, n in rows}


def _records_with_source(
    session: Session, task: LabelingTask, scope: ColumnElement[bool], source: str
) -> int:
    query = _in_scope(select(func.count(distinct(Annotation.record_id))), scope).where(
        Annotation.task_id == task.id, Annotation.source == source
    )
    return int(session.scalar(query) or 0)


def _confidence_histograms(
    session: Session, task: LabelingTask, scope: ColumnElement[bool]
) -> list[dict[str, Any]]:
    """Per non-manual source: labels per confidence bin, and labels without a confidence."""
    confidence = Annotation.confidence
    # Comparisons with the bin edges, not a cast: CAST rounds on PostgreSQL, truncates on
    # SQLite. k / BINS is the same double on both databases and in Python.
    binned = case(
        (confidence.is_(None), -1),
        *((confidence < (k + 1) / BINS, k) for k in range(BINS - 1)),
        else_=BINS - 1,
    )
    # Grouped in an outer query: PostgreSQL does not match a GROUP BY expression whose
    # parameters are bound separately from the selected one.
    inner = (
        _in_scope(select(Annotation.source.label("source"), binned.label("bin")), scope)
        .where(Annotation.task_id == task.id, Annotation.source.in_(NON_MANUAL))
        .subquery()
    )
    rows = session.execute(
        select(inner.c.source, inner.c.bin, func.count()).group_by(inner.c.source, inner.c.bin)
    ).all()
    histograms: dict[str, dict[str, Any]] = {
        source: {"source": source, "bins": [0] * BINS, "without_confidence": 0}
        for source in NON_MANUAL
    }
    for source, index, n in rows:
        if index < 0:
            histograms[source]["without_confidence"] = int(n)
        else:
            histograms[source]["bins"][index] = int(n)
    return list(histograms.values())


def _confusion(
    session: Session,
    task: LabelingTask,
    scope: ColumnElement[bool],
    labels: list[Label],
) -> dict[str, Any]:
    """Records per (reference label, weak-supervision label): rows manual, columns weak."""
    weak = aliased(Annotation)
    both = (
        _in_scope(
            select(
                Annotation.record_id,
                Annotation.label_id.label("manual_label"),
                weak.label_id.label("weak_label"),
            ),
            scope,
        )
        .join(
            weak,
            and_(
                weak.record_id == Annotation.record_id,
                weak.task_id == Annotation.task_id,
                weak.source == WEAK_SUPERVISION,
            ),
        )
        .where(
            Annotation.task_id == task.id,
            Annotation.source == annotating.MANUAL,
            Annotation.is_reference.is_(True),
        )
        .subquery()
    )
    manual_label, weak_label = both.c.manual_label, both.c.weak_label
    rows = session.execute(
        select(manual_label, weak_label, func.count(distinct(both.c.record_id))).group_by(
            manual_label, weak_label
        )
    ).all()
    position = {lb.id: i for i, lb in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for manual_id, weak_id, n in rows:
        counts[position[manual_id]][position[weak_id]] = int(n)
    records = session.scalar(select(func.count(distinct(both.c.record_id))))
    return {"labels": [lb.name for lb in labels], "counts": counts, "records": int(records or 0)}


def _annotators(
    session: Session, task: LabelingTask, scope: ColumnElement[bool]
) -> list[tuple[str, int]]:
    rows = session.execute(
        _in_scope(select(Annotation.annotator, func.count(distinct(Annotation.record_id))), scope)
        .where(
            Annotation.task_id == task.id,
            Annotation.source == annotating.MANUAL,
            Annotation.is_gold.is_(False),
        )
        .group_by(Annotation.annotator)
    ).all()
    # Sorted here, by code point: a database's collation would order names differently.
    return sorted((annotator, int(n)) for annotator, n in rows)


def _agreement(session: Session, task: LabelingTask, scope: ColumnElement[bool]) -> dict[str, Any]:
    votes = and_(
        Annotation.task_id == task.id,
        Annotation.source == annotating.MANUAL,
        Annotation.is_gold.is_(False),
    )
    shared = (
        _in_scope(select(Annotation.record_id), scope)
        .where(votes)
        .group_by(Annotation.record_id)
        .having(func.count(distinct(Annotation.annotator)) >= 2)
    )
    rows = session.execute(
        select(
            Annotation.record_id,
            Annotation.annotator,
            Annotation.label_id,
            Annotation.span_start,
            Annotation.span_end,
        ).where(votes, Annotation.record_id.in_(shared))
    ).all()
    # An annotator's value of a record: the set of his (label, span) votes, compared whole.
    values: dict[tuple[int, str], set[Hashable]] = defaultdict(set)
    for record_id, annotator, label_id, start, end in rows:
        values[(record_id, annotator)].add((label_id, start, end))
    annotators = sorted({annotator for _, annotator in values})
    items = sorted({record_id for record_id, _ in values})
    row_of = {a: i for i, a in enumerate(annotators)}
    column_of = {r: j for j, r in enumerate(items)}
    codes: dict[frozenset[Hashable], int] = {}
    matrix = np.full((len(annotators), len(items)), MISSING, dtype=np.int64)
    for (record_id, annotator), value in values.items():
        code = codes.setdefault(frozenset(value), len(codes))
        matrix[row_of[annotator], column_of[record_id]] = code
    pairs = []
    for (i, a), (j, b) in combinations(enumerate(annotators), 2):
        common = int(np.sum((matrix[i] != MISSING) & (matrix[j] != MISSING)))
        if common:
            pairs.append(
                {
                    "annotator_a": a,
                    "annotator_b": b,
                    "items": common,
                    "percent_agreement": percent_agreement(matrix[i], matrix[j]),
                    "kappa": _finite(cohen_kappa(matrix[i], matrix[j])),
                }
            )
    return {
        "items": len(items),
        "annotators": annotators,
        "pairs": pairs,
        "alpha": _finite(krippendorff_alpha(matrix)) if items else None,
    }


def _finite(value: float) -> float | None:
    """An undefined measure (nan) is null in JSON."""
    return None if math.isnan(value) else value
