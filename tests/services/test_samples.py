"""The clickbait sample project: data, gold kept apart, and the finished variant."""

from __future__ import annotations

from assay import Workbench
from assay.services import samples


def test_sample_data_and_gold_are_apart_and_aligned() -> None:
    data, gold = samples.data(), samples.gold()
    assert len(data) >= 1000
    assert [d["running_id"] for d in data] == [g["running_id"] for g in gold]
    assert set(data[0]) == {"running_id", "headline"}  # no answers in the project data
    labels = {g["clickbait"] for g in gold}
    assert labels == {"yes", "no"}
    starts_with_digit = [g["clickbait"] for d, g in zip(data, gold, strict=True)
                         if d["headline"].split()[0][0].isdigit()]  # fmt: skip
    precision = starts_with_digit.count("yes") / len(starts_with_digit)
    assert 0.5 < precision < 0.9  # the story's heuristic is useful but imperfect
    assert sum("Mike Tyson" in d["headline"] for d in data) >= 5


def test_initial_variant(wb: Workbench) -> None:
    project = wb.create_sample("clickbait", "initial")
    assert project["name"] == "clickbait"
    assert project["records"] == len(samples.data())
    assert {a["name"]: (a["data_type"], a["primary_key"]) for a in project["attributes"]} == {
        "running_id": ("integer", True),
        "headline": ("text", False),
    }
    tasks = {t["name"]: t for t in project["tasks"]}
    assert [lb["name"] for lb in tasks["clickbait"]["labels"]] == ["yes", "no"]
    assert tasks["entities"]["attribute"] == "headline"
    assert wb.query("clickbait", {"task": "clickbait", "state": "labeled"})["total"] == 0


def test_finished_variant_applies_the_story(wb: Workbench) -> None:
    wb.create_sample("clickbait", "finished")
    tasks = {t["name"]: t for t in wb.list_tasks("clickbait-finished")}
    assert [lb["name"] for lb in tasks["clickbait"]["labels"]] == ["clickbait", "not clickbait"]
    labeled = wb.query(
        "clickbait-finished", {"task": "clickbait", "state": "labeled"}, limit=100, with_labels=True
    )
    assert labeled["total"] == samples.STORY_LABELED
    gold = {g["running_id"]: g for g in samples.gold()}
    for record in labeled["records"]:
        answer = gold[record["data"]["running_id"]]
        expected = samples.RENAMES[answer["clickbait"]]
        assert record["labels"]["clickbait"]["manual"] == expected
        spans = record["labels"]["entities"]["manual"] or []
        assert len(spans) == len(answer["entities"])
