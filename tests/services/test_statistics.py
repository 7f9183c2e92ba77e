"""Task statistics (the overview) on both databases, with numbers computed by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from assay import NotFound, Workbench

TEXTS = [
    "Mike Tyson visits France",
    "You won't believe it",
    "Council approves budget",
    "10 tricks doctors hate",
    "Rain expected on Sunday",
    "This cat will amaze you",
    "Markets close higher",
    "Minister resigns",
]
# Votes on task "kind" (classification), by annotator: record number -> label.
VOTES = {
    "ann": {1: "yes", 2: "yes", 3: "no", 4: "no", 5: "yes"},
    "bob": {1: "yes", 2: "no", 3: "no", 4: "yes", 6: "no"},
    "cy": {1: "yes", 3: "no", 4: "no", 5: "yes"},
}
# Weak supervision: label and confidence per record (8: a label without a confidence).
WEAK = {1: ("yes", 0.9), 2: ("no", 0.55), 3: ("no", 0.95), 4: ("yes", 1.0), 7: ("yes", 0.05)}


@pytest.fixture
def project(wb: Workbench) -> str:
    frame = pd.DataFrame({"rid": range(1, 9), "text": TEXTS})
    wb.import_dataframe(frame, "p", primary_key=["rid"])
    wb.add_task("p", "kind", "classification", labels=["yes", "no"])
    wb.add_task("p", "tags", "multi-label", labels=["a", "b"])
    wb.add_task("p", "ents", "extraction", attribute="text", labels=["person", "country"])
    return "p"


@pytest.fixture
def labeled(wb: Workbench, project: str) -> str:
    for annotator, votes in VOTES.items():
        for rid, label in votes.items():
            wb.annotate(project, f"rid={rid}", "kind", label, annotator)
    wb.annotate(project, "rid=2", "kind", "yes", "lead", gold=True)
    weak = {
        "rid": list(range(1, 9)),
        "__kind__WEAK_SUPERVISION": [WEAK[r][0] if r in WEAK else None for r in range(1, 9)],
        "__kind__WEAK_SUPERVISION__confidence": [
            WEAK[r][1] if r in WEAK else None for r in range(1, 9)
        ],
    }
    weak["__kind__WEAK_SUPERVISION"][7] = "no"  # record 8: weakly labeled, no confidence
    wb.import_dataframe(pd.DataFrame(weak), project, primary_key=["rid"])
    return project


def test_a_fresh_task_has_empty_statistics(wb: Workbench, project: str) -> None:
    stats = wb.statistics(project, "kind")
    assert stats["records"] == 8
    assert stats["progress"] == {
        "records": 8,
        "labeled": 0,
        "gold": 0,
        "agreed": 0,
        "conflict": 0,
        "none": 8,
    }
    assert stats["distribution"] == [
        {"label": "yes", "manual": 0, "weak_supervision": 0},
        {"label": "no", "manual": 0, "weak_supervision": 0},
    ]
    assert stats["weakly_supervised"] == 0
    assert [h["source"] for h in stats["confidence"]] == ["heuristic", "weak_supervision", "model"]
    assert all(h["bins"] == [0] * 10 and h["without_confidence"] == 0 for h in stats["confidence"])
    assert stats["confusion"] == {"labels": ["yes", "no"], "counts": [[0, 0], [0, 0]], "records": 0}
    assert stats["annotators"] == []
    assert stats["agreement"] == {"items": 0, "annotators": [], "pairs": [], "alpha": None}
    assert stats["conflicts"] == {"count": 0, "where": {"task": "kind", "state": "conflict"}}


def test_classification_statistics(wb: Workbench, labeled: str) -> None:
    stats = wb.statistics(labeled, "kind")
    # 1, 3, 5, 6 agreed; 2 gold; 4 conflict (ann and cy say no, bob yes); 7, 8 unlabeled.
    assert stats["progress"] == {
        "records": 8,
        "labeled": 5,
        "gold": 1,
        "agreed": 4,
        "conflict": 1,
        "none": 2,
    }
    # Reference: yes on 1, 2 (gold), 5; no on 3, 6. Weak: yes on 1, 4, 7; no on 2, 3, 8.
    assert stats["distribution_unit"] == "records"
    assert stats["distribution"] == [
        {"label": "yes", "manual": 3, "weak_supervision": 3},
        {"label": "no", "manual": 2, "weak_supervision": 3},
    ]
    assert stats["weakly_supervised"] == 6
    weak = {h["source"]: h for h in stats["confidence"]}["weak_supervision"]
    # 0.05 -> bin 0; 0.55 -> bin 5; 0.9, 0.95 and 1.0 -> bin 9 (a bin holds its lower bound).
    assert weak["bins"] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 3]
    assert weak["without_confidence"] == 1
    # Both a reference and a weak label: 1 (yes/yes), 2 (yes/no), 3 (no/no); 4 is a conflict.
    assert stats["confusion"] == {
        "labels": ["yes", "no"],
        "counts": [[1, 1], [0, 1]],
        "records": 3,
    }
    # The gold label's author is no annotator.
    assert stats["annotators"] == [
        {"annotator": "ann", "records": 5},
        {"annotator": "bob", "records": 5},
        {"annotator": "cy", "records": 4},
    ]
    agreement = stats["agreement"]
    assert agreement["items"] == 5  # records 1-5; 6 has bob's vote alone
    assert agreement["annotators"] == ["ann", "bob", "cy"]
    pairs = {(p["annotator_a"], p["annotator_b"]): p for p in agreement["pairs"]}
    # ann/bob on 1-4: agree on 1 and 3 (gold does not count); each says yes half the time:
    # p_e = 0.5, kappa 0.
    assert pairs["ann", "bob"]["items"] == 4
    assert pairs["ann", "bob"]["percent_agreement"] == pytest.approx(0.5)
    assert pairs["ann", "bob"]["kappa"] == pytest.approx(0.0)
    # ann/cy on 1, 3, 4, 5: all agree.
    assert pairs["ann", "cy"]["items"] == 4
    assert pairs["ann", "cy"]["percent_agreement"] == pytest.approx(1.0)
    assert pairs["ann", "cy"]["kappa"] == pytest.approx(1.0)
    # bob/cy on 1, 3, 4: agree on 2 of 3; p_e = 2/3*1/3 + 1/3*2/3 = 4/9;
    # kappa = (2/3 - 4/9) / (5/9) = 0.4.
    assert pairs["bob", "cy"]["items"] == 3
    assert pairs["bob", "cy"]["percent_agreement"] == pytest.approx(2 / 3)
    assert pairs["bob", "cy"]["kappa"] == pytest.approx(0.4)
    # alpha over 1-5: n = 13 values, matching coincidences 3 + 0 + 3 + 1 + 2 = 9;
    # n_yes = 7, n_no = 6: alpha = 1 - 12 * 4 / (169 - 49 - 36) = 3/7.
    assert agreement["alpha"] == pytest.approx(3 / 7)
    assert stats["conflicts"]["count"] == 1
    conflicts = wb.query(labeled, stats["conflicts"]["where"])
    assert [r["data"]["rid"] for r in conflicts["records"]] == [4]


def test_a_slice_restricts_every_number(wb: Workbench, labeled: str) -> None:
    wb.create_slice(labeled, "first four", {"attribute": "rid", "op": "le", "value": 4})
    stats = wb.statistics(labeled, "kind", "first four")
    assert stats["slice"] == "first four"
    assert stats["records"] == 4
    assert stats["progress"] == {
        "records": 4,
        "labeled": 3,
        "gold": 1,
        "agreed": 2,
        "conflict": 1,
        "none": 0,
    }
    assert stats["distribution"] == [
        {"label": "yes", "manual": 2, "weak_supervision": 2},
        {"label": "no", "manual": 1, "weak_supervision": 2},
    ]
    weak = {h["source"]: h for h in stats["confidence"]}["weak_supervision"]
    assert weak["bins"] == [0, 0, 0, 0, 0, 1, 0, 0, 0, 3]
    assert weak["without_confidence"] == 0
    assert stats["confusion"]["counts"] == [[1, 1], [0, 1]]
    agreement = stats["agreement"]
    assert agreement["items"] == 4
    pairs = {(p["annotator_a"], p["annotator_b"]): p["items"] for p in agreement["pairs"]}
    assert pairs == {("ann", "bob"): 4, ("ann", "cy"): 3, ("bob", "cy"): 3}
    # n = 11, matches 3 + 0 + 3 + 1 = 7, n_yes = 5, n_no = 6: 1 - 10 * 4 / 60 = 1/3.
    assert agreement["alpha"] == pytest.approx(1 / 3)
    with pytest.raises(NotFound, match="no slice"):
        wb.statistics(labeled, "kind", "missing")


def test_multi_label_values_are_whole_sets(wb: Workbench, project: str) -> None:
    for rid, labels in ((1, "ab"), (2, "a")):
        for label in labels:
            wb.annotate(project, f"rid={rid}", "tags", label, "ann")
    for label in "ba":
        wb.annotate(project, "rid=1", "tags", label, "bob")
        wb.annotate(project, "rid=2", "tags", label, "bob")
    stats = wb.statistics(project, "tags")
    assert stats["progress"]["agreed"] == 1
    assert stats["progress"]["conflict"] == 1  # {a} and {a, b} disagree
    assert stats["distribution"] == [
        {"label": "a", "manual": 1, "weak_supervision": 0},
        {"label": "b", "manual": 1, "weak_supervision": 0},
    ]
    assert stats["confusion"] is None
    (pair,) = stats["agreement"]["pairs"]
    # ann: {a,b}, {a}; bob: {a,b}, {a,b}. p_o = 1/2; p_e = 1/2 * 1 = 1/2: kappa 0.
    assert (pair["items"], pair["percent_agreement"], pair["kappa"]) == (2, 0.5, 0.0)


def test_extraction_counts_spans_and_undefined_agreement_is_null(
    wb: Workbench, project: str
) -> None:
    for annotator in ("ann", "bob"):
        wb.annotate(project, "rid=1", "ents", "person", annotator, span=(0, 2))
        wb.annotate(project, "rid=1", "ents", "country", annotator, span=(3, 4))
    wb.annotate(project, "rid=2", "ents", "person", "ann", span=(0, 1))
    stats = wb.statistics(project, "ents")
    assert stats["distribution_unit"] == "spans"
    assert stats["distribution"] == [
        {"label": "person", "manual": 2, "weak_supervision": 0},
        {"label": "country", "manual": 1, "weak_supervision": 0},
    ]
    assert stats["confusion"] is None
    (pair,) = stats["agreement"]["pairs"]
    # One record in common with one and the same span set: agreement 1, kappa undefined.
    assert (pair["items"], pair["percent_agreement"], pair["kappa"]) == (1, 1.0, None)
    assert stats["agreement"]["alpha"] is None


def test_unknown_task_is_not_found(wb: Workbench, project: str) -> None:
    with pytest.raises(NotFound, match="no labeling task 'nope'"):
        wb.statistics(project, "nope")


def test_annotators_sort_by_code_point_on_both_databases(wb: Workbench, project: str) -> None:
    for annotator in ("amy", "Zed", "émile"):
        wb.annotate(project, "rid=1", "kind", "yes", annotator)
    stats = wb.statistics(project, "kind")
    assert [a["annotator"] for a in stats["annotators"]] == ["Zed", "amy", "émile"]
    assert stats["agreement"]["annotators"] == ["Zed", "amy", "émile"]
    assert stats["agreement"]["alpha"] is None  # one value throughout
