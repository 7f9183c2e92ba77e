"""Heuristics: labeling functions run in the sandbox, their votes and statistics; on both
databases."""

from __future__ import annotations

from typing import get_args

import pytest

from assay import Conflict, NotFound, ValidationError, Workbench
from assay.documents import HeuristicKind
from assay.services import heuristics

STARTS_WITH_DIGIT = """
def starts_with_digit(record):
    first = record["headline"][0].text
    print("first word:", first)
    if first.isdigit():
        return "yes"
"""

LOOKUP = """
from knowledge import country_related

def mentions_country(record):
    text = record["headline"].text.lower()
    if any(term.lower() in text for term in country_related):
        return "no"
"""

SPANS = """
def countries(record):
    for token in record["headline"]:
        if token.text in ("France", "Poland"):
            yield "country_related", token.i, token.i + 1
"""


@pytest.fixture
def project(wb: Workbench) -> str:
    wb.create_sample("clickbait", "initial", "cb")
    return "cb"


def test_add_try_run_and_statistics(wb: Workbench, project: str) -> None:
    wb.add_heuristic(project, "clickbait", "starts_with_digit", STARTS_WITH_DIGIT)
    with pytest.raises(Conflict):
        wb.add_heuristic(project, "clickbait", "starts_with_digit", STARTS_WITH_DIGIT)
    tried = wb.try_heuristic(project, "starts_with_digit", n=10, seed=1)
    assert tried["error"] is None and len(tried["results"]) == 10
    for result in tried["results"]:
        record = wb.get_record(project, str(result["record_id"]))
        first = record["tokens"]["headline"][0]["text"]
        assert result["data"] == record["data"]
        assert result["output"] == f"first word: {first}\n"
        assert result["value"] == ("yes" if first.isdigit() else None)
    assert wb.get_heuristic(project, "starts_with_digit")["last_run"] is None  # nothing stored

    wb.annotate(project, "running_id=0", "clickbait", "no", "ann")
    job = wb.run_heuristics(project, wait=True)
    assert job["status"] == "done", job
    found = wb.get_heuristic(project, "starts_with_digit")
    digits = wb.query(project, {"task": "clickbait", "source": "heuristic", "label": "yes"})[
        "total"
    ]
    # The same rule outside the sandbox, on the tokens assay stores.
    expected = sum(
        1
        for rid in range(1400)
        if wb.get_record(project, f"running_id={rid}")["tokens"]["headline"][0]["text"].isdigit()
    )
    assert digits == expected == found["last_run"]["votes"]
    assert found["statistics"]["hits"] == expected
    assert found["statistics"]["coverage"] == pytest.approx(expected / 1400)
    assert found["stale"] is False
    # A record's labels name the heuristic that voted them (its id is internal).
    voted = wb.query(project, {"task": "clickbait", "source": "heuristic"}, limit=1)["records"]
    labels = wb.get_record(project, voted[0]["id"])["labels"]["clickbait"]["annotations"]
    assert [(a["source_name"], a["source_id"]) for a in labels if a["source"] == "heuristic"] == [
        ("starts_with_digit", str(found["id"]))
    ]
    assert {a["source_name"] for a in labels if a["source"] != "heuristic"} <= {None}
    changed = wb.update_heuristic(project, "starts_with_digit", code=STARTS_WITH_DIGIT + "\n")
    assert (changed["code_version"], changed["stale"]) == (2, True)


def test_lookup_lists_and_extraction(wb: Workbench, project: str) -> None:
    wb.add_terms(project, "country_related", ["France", "Poland"])
    wb.add_heuristic(project, "clickbait", "mentions_country", LOOKUP)
    wb.add_heuristic(project, "entities", "countries", SPANS)
    assert wb.run_heuristics(project, wait=True)["status"] == "done"
    spans = wb.query(project, {"task": "entities", "source": "heuristic"}, with_labels=True)
    assert spans["total"] > 0
    record = wb.get_record(project, str(spans["records"][0]["id"]))
    votes = [a for a in record["labels"]["entities"]["annotations"] if a["source"] == "heuristic"]
    tokens = record["tokens"]["headline"]
    assert all(tokens[v["start_token"]]["text"] in ("France", "Poland") for v in votes)


def test_a_failing_run_keeps_the_previous_votes(wb: Workbench, project: str) -> None:
    wb.add_heuristic(project, "clickbait", "h", STARTS_WITH_DIGIT)
    wb.run_heuristics(project, ["h"], wait=True)
    before = wb.get_heuristic(project, "h")["last_run"]["votes"]
    wb.update_heuristic(project, "h", code="def h(record):\n    return 'maybe'\n")
    job = wb.run_heuristics(project, ["h"], wait=True)
    assert job["status"] == "failed" and "maybe" in job["error"]
    assert wb.query(project, {"task": "clickbait", "source": "heuristic"})["total"] == before
    tried = wb.try_heuristic(project, "h", n=3)
    assert tried["results"] == [] and "maybe" in tried["error"]
    wb.update_heuristic(project, "h", code="def h(record):\n    return 1 / 0\n")
    tried = wb.try_heuristic(project, "h", n=3, seed=2)
    assert "ZeroDivisionError" in tried["failures"][0]["error"]
    with pytest.raises(NotFound):
        wb.try_heuristic(project, "nope")
    wb.delete_heuristic(project, "h")
    assert wb.query(project, {"task": "clickbait", "source": "heuristic"})["total"] == 0


YOU = """
def you(record):
    if "you" in record["headline"].text.lower().split():
        return "yes"
"""
NEWS = """
def news(record):
    if record["headline"][0].text[0].isupper():
        return "no"
"""


@pytest.mark.parametrize("model", ["majority", "weighted", "dawid-skene", "generative"])
def test_weak_supervision_stores_labels_and_replaces_them(
    wb: Workbench, project: str, model: str
) -> None:
    for name, code in (("digit", STARTS_WITH_DIGIT), ("you", YOU), ("news", NEWS)):
        wb.add_heuristic(project, "clickbait", name, code)
    for rid, label in enumerate(["yes", "no", "no", "yes", "no", "no", "no", "yes"]):
        wb.annotate(project, f"running_id={rid}", "clickbait", label, "ann")
    assert wb.run_heuristics(project, wait=True)["status"] == "done"
    job = wb.weak_supervise(project, "clickbait", model=model, wait=True)
    assert job["status"] == "done", job
    result = job["result"]
    assert result["heuristics"] == ["digit", "news", "you"]
    voted = wb.query(
        project,
        {"or": [{"task": "clickbait", "source": "heuristic", "label": x} for x in ("yes", "no")]},
    )["total"]
    assert result["records_with_votes"] == voted
    labeled = wb.query(project, {"task": "clickbait", "source": "weak_supervision"})["total"]
    assert labeled == result["labeled"] == voted - result["ties"]
    # Confidences are probabilities; a record where every heuristic says "no" gets "no".
    page = wb.query(
        project, {"task": "clickbait", "source": "weak_supervision"}, with_labels=True, limit=200
    )
    for record in page["records"]:
        labels = record["labels"]["clickbait"]
        assert 0.0 <= labels["weak_supervision_confidence"] <= 1.0
    # A second run replaces the first (no duplicates).
    again = wb.weak_supervise(project, "clickbait", model=model, wait=True)
    assert again["result"]["labeled"] == labeled
    assert (
        wb.query(project, {"task": "clickbait", "source": "weak_supervision"})["total"] == labeled
    )


def test_weak_supervision_errors(wb: Workbench, project: str) -> None:
    job = wb.weak_supervise(project, "clickbait", wait=True)
    assert job["status"] == "failed" and "run heuristics first" in job["error"]
    wb.add_heuristic(project, "clickbait", "you", YOU)
    wb.run_heuristics(project, wait=True)
    job = wb.weak_supervise(project, "clickbait", model="oracle", wait=True)
    assert job["status"] == "failed" and "unknown label model" in job["error"]
    job = wb.weak_supervise(project, "entities", wait=True)  # its heuristics: none ran
    assert job["status"] == "failed" and "run heuristics first" in job["error"]


def test_renaming_a_label_rewrites_the_heuristics_that_name_it(wb: Workbench, project: str) -> None:
    code = (
        "def lf(record):\n"
        "    # returns 'yes' for digits\n"
        "    if record['headline'][0].text.isdigit():\n"
        "        return 'yes'\n"
        '    return "yes" if "yes?" in record["headline"].text else None\n'
    )
    wb.add_heuristic(project, "clickbait", "lf", code)
    wb.add_heuristic(project, "entities", "other", "def other(record):\n    return None\n")
    wb.update_label(project, "clickbait", "yes", new_name="it's clickbait")
    found = wb.get_heuristic(project, "lf")
    assert found["code"] == (
        "def lf(record):\n"
        "    # returns 'yes' for digits\n"
        "    if record['headline'][0].text.isdigit():\n"
        '        return "it\'s clickbait"\n'
        '    return "it\'s clickbait" if "yes?" in record["headline"].text else None\n'
    )
    assert found["code_version"] == 2
    assert wb.get_heuristic(project, "other")["code_version"] == 1
    wb.run_heuristics(project, ["lf"], wait=True)
    assert wb.query(project, {"task": "clickbait", "source": "heuristic"})["total"] > 0


def test_kinds_are_a_registry() -> None:
    """Each kind is registered under the name stored in ``heuristic.kind`` (the API's
    closed set), declares its settings once, and is found by either spelling."""
    assert set(heuristics.KINDS) == set(get_args(HeuristicKind))
    for name, kind in heuristics.KINDS.items():
        assert kind.name == name and kind.noun
        assert heuristics.kind_of(name.replace("_", "-")) is kind
    assert heuristics.KINDS["labeling_function"].settings == {}
    assert heuristics.KINDS["active_learner"].settings["min_confidence"] == 0.8


def test_add_heuristic_by_kind(wb: Workbench, project: str) -> None:
    """One add_heuristic for every kind: positional use of a labeling function stays, a
    kind's settings are checked by the kind, an unknown kind or setting is refused."""
    added = wb.add_heuristic(
        project, "clickbait", name="digit", code=STARTS_WITH_DIGIT, kind="labeling-function"
    )
    assert (added["kind"], added["embedding"], added["config"]) == (
        "labeling_function",
        None,
        None,
    )
    with pytest.raises(ValidationError, match="unknown kind 'oracle'"):
        wb.add_heuristic(project, "clickbait", "x", "def f(r): pass", kind="oracle")
    with pytest.raises(ValidationError, match="unknown config of a labeling function: embedding"):
        wb.add_heuristic(project, "clickbait", "x", "def f(r): pass", embedding="e")
    with pytest.raises(ValidationError, match="takes a name and code"):
        wb.add_heuristic(project, "clickbait", "x")
    with pytest.raises(ValidationError, match="reads an embedding"):
        wb.add_heuristic(project, "clickbait", kind="active_learner")
    with pytest.raises(ValidationError, match="unknown config of an active learner: temperature"):
        wb.add_heuristic(project, "clickbait", kind="active_learner", embedding="e", temperature=1)
    assert [h["name"] for h in wb.list_heuristics(project)] == ["digit"]
