"""A task's fixed test split: stratified when first drawn, grown by the hash rule without ever
moving a record, and never trained on — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from assay import Workbench
from assay.services import (
    annotating,
    model_registry,
    projects,
    tasks,
    test_splits,
    training,
)
from assay.storage.models import LabelingTask, ModelTask, SplitRecord

WORDS = {"sport": "goal match team coach", "money": "bank stocks market profit"}


def _topic(rid: int) -> str:
    return "sport" if rid % 4 else "money"  # a minority the stratified draw must not miss


def _import(wb: Workbench, n: int, labeled: int, project: str = "p", reverse: bool = False) -> None:
    """Project ``p``: ``n`` records (key ``rid``), the first ``labeled`` of them labeled by
    hand for the whole-record classification task ``topic`` (a label column, as an import of
    labels writes them); ``reverse``: the rows in the other order (other record ids)."""
    rids = list(range(n))[:: -1 if reverse else 1]
    frame = pd.DataFrame(
        {
            "rid": rids,
            "headline": [f"{WORDS[_topic(r)]} {r}" for r in rids],
            "__topic__MANUAL": [_topic(r) if r < labeled else None for r in rids],
        }
    )
    wb.import_dataframe(frame, project, primary_key=["rid"])


def _task(s: object, wb: Workbench) -> LabelingTask:
    return tasks.get(s, projects.get(s, "p"), "topic")  # type: ignore[arg-type]


def _sides(wb: Workbench) -> dict[int, bool]:
    with wb.db.session() as s:
        return {r.record_id: r.in_test for r in s.query(SplitRecord)}


def _assign(wb: Workbench) -> set[int]:
    """Give the labeled records of ``topic`` their sides, as a training does."""
    with wb.db.session() as s:
        task = _task(s, wb)
        state = model_registry.state(s, task)
        labeled = training.gather(s, task, state, None)
        return set(labeled.test)


def test_first_draw_is_stratified_and_growth_moves_no_record(wb: Workbench) -> None:
    _import(wb, 400, 200)
    first_test = _assign(wb)
    first = _sides(wb)
    assert len(first) == 200
    with wb.db.session() as s:
        state = s.get(ModelTask, _task(s, wb).id)
        assert state is not None and state.split_drawn and state.test_fraction == 0.2
        values = annotating.reference_values(s, _task(s, wb), sorted(first))
    # Stratified: each label's share of the split is its share of the labels (20 % of each).
    per_label = Counter(values[r] for r in first_test)
    assert abs(per_label["money"] - 0.2 * 50) <= 1
    assert abs(per_label["sport"] - 0.2 * 150) <= 1

    # Assigning again changes nothing; new labels join by the hash rule, old sides stay.
    assert _assign(wb) == first_test
    with wb.db.session() as s:  # where the hash rule will put the records not labeled yet
        task = _task(s, wb)
        unlabeled = [r for r in range(1, 1000) if r not in first]
        foreseen = test_splits.would_be_test(s, model_registry.state(s, task), unlabeled)
    _import(wb, 400, 400)
    grown_test = _assign(wb)
    grown = _sides(wb)
    assert len(grown) == 400
    assert {r: grown[r] for r in first} == first
    assert first_test <= grown_test
    assert grown_test - first_test == foreseen & set(grown)
    assert 15 <= len(grown_test - first_test) <= 65  # about 20 % of 200, by the hash


def test_the_side_follows_the_key_and_salt(wb: Workbench) -> None:
    """The same records keyed the same, under the same salt, take the same sides in another
    project (the hash reads the key, not the row's id): a re-imported project keeps its
    split."""
    _import(wb, 150, 150)
    _assign(wb)
    _import(wb, 150, 150, "q", reverse=True)
    with wb.db.session() as s:
        p_task = _task(s, wb)
        q_task = tasks.get(s, projects.get(s, "q"), "topic")
        model_registry.state(s, q_task).split_salt = model_registry.state(s, p_task).split_salt
    with wb.db.session() as s:
        q_task = tasks.get(s, projects.get(s, "q"), "topic")
        training.gather(s, q_task, model_registry.state(s, q_task), None)
    with wb.db.session() as s:
        p_task, q_task = _task(s, wb), tasks.get(s, projects.get(s, "q"), "topic")
        p_test = test_splits.test_ids(s, p_task.id)
        q_test = test_splits.test_ids(s, q_task.id)
        assert sorted(test_splits.keys_of(s, p_test)) == sorted(test_splits.keys_of(s, q_test))
        assert not set(p_test) & set(test_splits.train_ids(s, p_task.id))
        assert test_splits.fingerprint(p_test) == test_splits.fingerprint(list(reversed(p_test)))
        assert test_splits.fingerprint(p_test) != test_splits.fingerprint(p_test[1:])
