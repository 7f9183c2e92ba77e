"""Tasks, labels and manual annotations with the reference rule, on both databases."""

from __future__ import annotations

import pytest

from assay import Conflict, NotFound, ValidationError, Workbench


@pytest.fixture
def project(wb: Workbench) -> str:
    import pandas as pd

    frame = pd.DataFrame(
        {"rid": [1, 2, 3], "text": ["Mike Tyson visits France", "You won't believe it", "ok"]}
    )
    wb.import_dataframe(frame, "p", primary_key=["rid"])
    wb.add_task("p", "kind", "classification", labels=["yes", "no"])
    wb.add_task("p", "tags", "multi-label", labels=["a", "b", "c"])
    wb.add_task("p", "ents", "extraction", attribute="text", labels=["person", "country"])
    return "p"


def test_reference_follows_annotators_and_gold(wb: Workbench, project: str) -> None:
    one = wb.annotate(project, "rid=1", "kind", "yes", "ann")
    assert one["reference"] == {"state": "agreed", "value": "yes"}
    two = wb.annotate(project, "rid=1", "kind", "no", "bob")
    assert two["reference"] == {"state": "conflict", "value": None}
    gold = wb.annotate(project, "rid=1", "kind", "no", "lead", gold=True)
    assert gold["reference"] == {"state": "gold", "value": "no"}
    # a second gold label replaces the first
    again = wb.annotate(project, "rid=1", "kind", "yes", "lead", gold=True)
    assert again["reference"] == {"state": "gold", "value": "yes"}
    assert sum(a["gold"] for a in again["annotations"]) == 1
    # an annotator changes their mind: one label per annotator in classification
    wb.remove_annotation(project, "rid=1", "kind", "lead", gold=True)
    agreed = wb.annotate(project, "rid=1", "kind", "yes", "bob")
    assert agreed["reference"] == {"state": "agreed", "value": "yes"}
    assert len(agreed["annotations"]) == 2


def test_conflicts_are_filterable_and_export_null(wb: Workbench, project: str) -> None:
    wb.annotate(project, "rid=1", "kind", "yes", "ann")
    wb.annotate(project, "rid=1", "kind", "no", "bob")
    wb.annotate(project, "rid=2", "kind", "yes", "ann")
    conflict = wb.query(project, {"task": "kind", "state": "conflict"})
    assert [r["data"]["rid"] for r in conflict["records"]] == [1]
    labeled_yes = wb.query(project, {"task": "kind", "label": "yes"})
    assert [r["data"]["rid"] for r in labeled_yes["records"]] == [2]
    none = wb.query(project, {"task": "kind", "state": "none"})
    assert [r["data"]["rid"] for r in none["records"]] == [3]
    page = wb.query(project, None, with_labels=True)
    assert [r["labels"]["kind"]["manual"] for r in page["records"]] == [None, "yes", None]


def test_multi_label_sets(wb: Workbench, project: str) -> None:
    wb.annotate(project, "rid=2", "tags", "a", "ann")
    wb.annotate(project, "rid=2", "tags", "b", "ann")
    wb.annotate(project, "rid=2", "tags", "b", "bob")
    state = wb.annotate(project, "rid=2", "tags", "a", "bob")
    assert state["reference"] == {"state": "agreed", "value": ["a", "b"]}
    state = wb.annotate(project, "rid=2", "tags", "c", "bob")
    assert state["reference"]["state"] == "conflict"
    hits = wb.query(project, {"task": "tags", "label": "a"})
    assert hits["total"] == 0  # a conflict has no reference value


def test_extraction_spans(wb: Workbench, project: str) -> None:
    record = wb.get_record(project, "rid=1")
    assert [t["text"] for t in record["tokens"]["text"]] == ["Mike", "Tyson", "visits", "France"]
    wb.annotate(project, "rid=1", "ents", "person", "ann", span=(0, 2))
    state = wb.annotate(project, "rid=1", "ents", "country", "ann", span=(3, 4))
    assert state["reference"]["value"] == [
        {"label": "person", "start_token": 0, "end_token": 2},
        {"label": "country", "start_token": 3, "end_token": 4},
    ]
    overlapping = wb.annotate(project, "rid=1", "ents", "country", "ann", span=(1, 4))
    assert len(overlapping["reference"]["value"]) == 3
    with pytest.raises(ValidationError, match="outside the text"):
        wb.annotate(project, "rid=1", "ents", "person", "ann", span=(3, 9))
    with pytest.raises(ValidationError, match="needs a token span"):
        wb.annotate(project, "rid=1", "ents", "person", "ann")
    with pytest.raises(ValidationError, match="spans are for extraction"):
        wb.annotate(project, "rid=1", "kind", "yes", "ann", span=(0, 1))


def test_unknown_names_are_clear_errors(wb: Workbench, project: str) -> None:
    with pytest.raises(NotFound, match="no label 'maybe'"):
        wb.annotate(project, "rid=1", "kind", "maybe", "ann")
    with pytest.raises(NotFound, match="no labeling task 'nope'"):
        wb.annotate(project, "rid=1", "nope", "yes", "ann")
    with pytest.raises(NotFound, match="no record rid=9"):
        wb.annotate(project, "rid=9", "kind", "yes", "ann")
    with pytest.raises(NotFound, match="no project named"):
        wb.annotate("missing", "rid=1", "kind", "yes", "ann")
    with pytest.raises(ValidationError, match="annotator"):
        wb.annotate(project, "rid=1", "kind", "yes", " ")


def test_rename_keeps_annotations(wb: Workbench, project: str) -> None:
    wb.annotate(project, "rid=1", "kind", "yes", "ann")
    wb.update_label(project, "kind", "yes", new_name="clickbait", color="#000000", hotkey="c")
    record = wb.get_record(project, "rid=1")
    assert record["labels"]["kind"]["reference"]["value"] == "clickbait"
    assert wb.query(project, {"task": "kind", "label": "clickbait"})["total"] == 1
    labels = {lb["name"]: lb for lb in wb.list_tasks(project)[0]["labels"]}
    assert labels["clickbait"]["color"] == "#000000"
    assert labels["clickbait"]["hotkey"] == "c"
    with pytest.raises(Conflict, match="already has a label"):
        wb.update_label(project, "kind", "clickbait", new_name="no")
    with pytest.raises(Conflict, match="hotkey"):
        wb.update_label(project, "kind", "no", hotkey="c")


def test_delete_label_drops_its_annotations(wb: Workbench, project: str) -> None:
    wb.annotate(project, "rid=1", "kind", "yes", "ann")
    wb.delete_label(project, "kind", "yes")
    assert wb.query(project, {"task": "kind", "state": "none"})["total"] == 3


def test_task_validation(wb: Workbench, project: str) -> None:
    with pytest.raises(ValidationError, match="needs a text attribute"):
        wb.add_task(project, "e2", "extraction")
    with pytest.raises(ValidationError, match="unknown task type"):
        wb.add_task(project, "x", "ranking")
    with pytest.raises(Conflict):
        wb.add_task(project, "kind", "classification")


def test_rename_task_keeps_labels_and_annotations(wb: Workbench, project: str) -> None:
    wb.annotate(project, "rid=1", "kind", "yes", "ann")
    renamed = wb.rename_task(project, "kind", "  clickbait ")
    assert renamed["name"] == "clickbait"
    assert [lb["name"] for lb in renamed["labels"]] == ["yes", "no"]
    assert wb.query(project, {"task": "clickbait", "label": "yes"})["total"] == 1
    with pytest.raises(NotFound):
        wb.query(project, {"task": "kind", "label": "yes"})
    assert wb.rename_task(project, "clickbait", "clickbait")["name"] == "clickbait"
    with pytest.raises(Conflict, match="already has a task"):
        wb.rename_task(project, "clickbait", "tags")
    with pytest.raises(ValidationError, match="'__'"):
        wb.rename_task(project, "clickbait", "a__b")
    with pytest.raises(ValidationError, match="'/'"):
        wb.rename_task(project, "clickbait", "a/b")
