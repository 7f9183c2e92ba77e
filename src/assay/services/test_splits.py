"""A task's fixed test split: which labeled records models are scored on and never trained on.

Each record's side is decided once and stored (``split_record``), by a stable hash of its key
(``Record.key``; the record's id where the project has no primary key) salted with the
task's ``split_salt`` (``algorithms.test_split``):

- the **first draw**, over the records labeled when a model is first trained, is stratified
  on the reference label (multi-label: the record's rarest label), so every label is in the
  split in its share ``test_fraction``;
- records labeled later **join by the hash rule** alone (``grow``), so adding labels never
  moves a record from test to train or back: every version is scored on a split that only
  grows, and a record one version trained on is never in a later version's test split.

A **named split** (``services/splits.py``: ``assay split``) overrides this where it speaks:
while the project's split has a set named ``test``, a record with a set is in the test split
exactly when its set is ``test`` (``train``, ``validation`` or any other name: it trains),
whatever ``split_record`` says; a record without a set (labeled after the split, or a
record of another task) keeps its stored side or joins by the hash rule as above. The
``split_record`` rows stay the hash rule's sides, so a record's side there never changes;
a new named split may move records between test and train (the registry's promotion
compares versions on the current test split, scoring the live version there afresh).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from assay.algorithms import test_split
from assay.services import annotating, splits
from assay.storage.models import LabelingTask, ModelTask, Record, SplitRecord

CHUNK = 900


def keys_of(session: Session, record_ids: Sequence[int]) -> list[str]:
    """The key each record's side is hashed from: its primary-key value, else its id."""
    found: dict[int, str] = {}
    for start in range(0, len(record_ids), CHUNK):
        chunk = list(record_ids[start : start + CHUNK])
        for record_id, key in session.execute(
            select(Record.id, Record.key).where(Record.id.in_(chunk))
        ):
            found[record_id] = key if key is not None else str(record_id)
    return [found.get(int(r), str(r)) for r in record_ids]


def stratum(values: Mapping[int, Any]) -> dict[int, str]:
    """The stratum of each record: its label, or for a set of labels its rarest one (ties:
    the first by name; an empty set: the empty stratum)."""
    counts: Counter[str] = Counter()
    for value in values.values():
        counts.update([value] if isinstance(value, str) else value)
    strata = {}
    for record_id, value in values.items():
        names = [value] if isinstance(value, str) else sorted(value)
        strata[record_id] = min(names, key=lambda n: (counts[n], n)) if names else ""
    return strata


def assign(
    session: Session,
    state: ModelTask,
    record_ids: Iterable[int],
    *,
    values: Mapping[int, Any] | None = None,
) -> set[int]:
    """Give each of these labeled records its side of the task's test split, where it has
    none yet, and return those in the test split. The first draw is stratified on
    ``values`` (record id -> reference label or labels; read when not given); later records
    join by the hash rule. Sides already stored never change."""
    ids = sorted(set(int(r) for r in record_ids))
    named = named_sides(session, state.project_id, ids) or {}
    sides = _sides(session, state.task_id, ids)
    new = [r for r in ids if r not in sides and r not in named]
    if new:
        keys = keys_of(session, new)
        if state.split_drawn:
            mask = test_split.grow(keys, fraction=state.test_fraction, salt=state.split_salt)
        else:
            if values is None:
                task = session.get(LabelingTask, state.task_id)
                assert task is not None
                values = annotating.reference_values(session, task, new)
            strata = stratum({r: values[r] for r in new if r in values})
            mask = test_split.draw(
                keys,
                [strata.get(r, "") for r in new],
                fraction=state.test_fraction,
                salt=state.split_salt,
            )
            state.split_drawn = True
        rows = [
            {"task_id": state.task_id, "record_id": r, "in_test": bool(m)}
            for r, m in zip(new, np.asarray(mask).tolist(), strict=True)
        ]
        for start in range(0, len(rows), CHUNK):
            session.execute(insert(SplitRecord), rows[start : start + CHUNK])
        sides.update((int(row["record_id"]), bool(row["in_test"])) for row in rows)
    return {r for r in ids if named.get(r, sides.get(r))}


def named_sides(session: Session, project_id: int, record_ids: Sequence[int]) -> dict[int, bool]:
    """Where the project's named split has a ``test`` set: for each of these records that
    has a set, whether it is ``test``; else (no split, or one without ``test``) nothing."""
    if not splits.has_test_set(session, project_id):
        return {}
    return {
        r: name == splits.TEST_SET
        for r, name in splits.sets_of(session, project_id, record_ids).items()
    }


def would_be_test(session: Session, state: ModelTask, record_ids: Sequence[int]) -> set[int]:
    """Of these records without a side, those the hash rule would put in the test split once
    labeled (those with a side: as stored). Training on weakly supervised labels leaves them
    out, so a record a model trained on never joins a later test split."""
    ids = [int(r) for r in record_ids]
    named = named_sides(session, state.project_id, ids)
    sides = _sides(session, state.task_id, ids)
    free = [r for r in ids if r not in sides and r not in named]
    mask = test_split.grow(
        keys_of(session, free), fraction=state.test_fraction, salt=state.split_salt
    )
    hashed = {r for r, m in zip(free, np.asarray(mask).tolist(), strict=True) if m}
    stored = {r for r, in_test in sides.items() if in_test and r not in named}
    return hashed | stored | {r for r, in_test in named.items() if in_test}


def _sides(session: Session, task_id: int, record_ids: Sequence[int]) -> dict[int, bool]:
    found: dict[int, bool] = {}
    for start in range(0, len(record_ids), CHUNK):
        chunk = list(record_ids[start : start + CHUNK])
        rows = session.execute(
            select(SplitRecord.record_id, SplitRecord.in_test).where(
                SplitRecord.task_id == task_id, SplitRecord.record_id.in_(chunk)
            )
        )
        found.update({record_id: in_test for record_id, in_test in rows})
    return found


def test_ids(session: Session, task_id: int) -> list[int]:
    """The records of the task's test split, ascending (with a named split: its labeled
    records in ``test``, and those without a set by their stored side)."""
    return _ids(session, task_id, in_test=True)


def train_ids(session: Session, task_id: int) -> list[int]:
    """The labeled records with a side outside the test split, ascending (a model may train
    on them if their labels still stand)."""
    return _ids(session, task_id, in_test=False)


def _ids(session: Session, task_id: int, *, in_test: bool) -> list[int]:
    rows = session.execute(
        select(SplitRecord.record_id, SplitRecord.in_test).where(SplitRecord.task_id == task_id)
    )
    stored = {record_id: in_test for record_id, in_test in rows}
    task = session.get(LabelingTask, task_id)
    named: dict[int, bool] = {}
    if task is not None and splits.has_test_set(session, task.project_id):
        labeled = splits.labeled_ids(session, task_id)
        named = named_sides(session, task.project_id, sorted(set(labeled) | set(stored)))
    sides = {**stored, **named}
    return sorted(r for r, side in sides.items() if side is in_test)


def fingerprint(record_ids: Iterable[int], values: Mapping[int, Any] | None = None) -> str:
    """sha256 over the sorted record ids (with each one's label, when ``values`` are given):
    two versions with the same fingerprint saw the same records (and labels)."""
    digest = hashlib.sha256()
    for record_id in sorted(set(int(r) for r in record_ids)):
        line = f"{record_id}" if values is None else f"{record_id}\t{values.get(record_id)!r}"
        digest.update(f"{line}\n".encode())
    return digest.hexdigest()
