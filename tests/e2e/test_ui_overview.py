"""Walkthrough step 3 and 13 in Chromium: the overview of a fresh sample shows empty charts that
say why; after labeling by two annotators (some disagreeing), a gold label and imported weak
supervision it shows progress, distributions, confidences, the confusion matrix and agreement
with the service's numbers; the conflicts link opens the labeling suite on them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

HOSTILE = '<img src=x onerror="window.pwned=1">'


def statistics(server: Any, project: str, task: str, **params: str) -> dict[str, Any]:
    answer = server.api.get(f"/api/projects/{project}/statistics", params={"task": task, **params})
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def test_a_fresh_sample_shows_empty_charts_with_reasons(page: Any, server: Any, shot: Any) -> None:
    server.api.post("/api/samples/clickbait").raise_for_status()
    page.goto("/projects/clickbait")
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    expect(page.get_by_label("Task")).to_have_value("clickbait")
    expect(page.get_by_test_id("summary")).to_contain_text("1,400 records")
    progress = page.get_by_test_id("panel-progress")
    expect(progress).to_contain_text("No manual labels yet")
    expect(progress).to_contain_text("Label records in the labeling suite")
    link = progress.get_by_role("link", name="Open the labeling suite")
    href = link.get_attribute("href")
    assert href is not None and href.startswith("/projects/clickbait/labeling?")
    where = json.loads(parse_qs(urlparse(href).query)["where"][0])
    assert where == {"task": "clickbait", "state": "none"}
    expect(page.get_by_test_id("panel-distribution")).to_contain_text("No manual labels yet")
    expect(page.get_by_test_id("panel-distribution")).to_contain_text("No weak supervision yet")
    expect(page.get_by_test_id("panel-confidence")).to_contain_text("No weak supervision yet")
    expect(page.get_by_test_id("panel-confusion")).to_contain_text("No weak supervision yet")
    expect(page.get_by_test_id("panel-annotators")).to_contain_text("No manual labels yet")
    expect(page.get_by_test_id("panel-agreement")).to_contain_text("Needs two annotators")
    expect(page.get_by_test_id("summary")).to_contain_text("no conflicts")
    shot("overview-empty")

    # The extraction task: no confusion matrix, and it says why.
    page.get_by_label("Task").select_option("entities")
    expect(page).to_have_url(re.compile(r"\?task=entities$"))
    expect(page.get_by_test_id("panel-confusion")).to_contain_text("Not available")
    expect(page.get_by_test_id("panel-confusion")).to_contain_text("extraction task")


def test_a_project_without_tasks_points_to_settings(page: Any, server: Any) -> None:
    server.api.post("/api/projects", json={"name": "bare"}).raise_for_status()
    page.goto("/projects/bare")
    expect(page.get_by_test_id("empty")).to_contain_text("No labeling tasks yet")
    page.get_by_role("link", name="Add a task in Settings").click()
    expect(page).to_have_url(f"{server.url}/projects/bare/settings")


def _label(server: Any, project: str, rid: int, label: str, annotator: str, **extra: Any) -> None:
    server.api.post(
        f"/api/projects/{project}/records/running_id={rid}/annotations",
        json={"task": "clickbait", "label": label, "annotator": annotator, **extra},
    ).raise_for_status()


@pytest.fixture(scope="module")
def labeled(server: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Records 1-12 labeled by ann, 1-8 by bob, who disagrees on 2 and 3; a gold label on 3;
    weak supervision with confidences imported for records 1-40."""
    project = "labeled"
    server.api.post("/api/samples/clickbait", params={"name": project}).raise_for_status()
    for rid in range(1, 13):
        ann = "yes" if rid % 3 == 0 else "no"
        _label(server, project, rid, ann, "ann")
        if rid <= 8:
            flip = {"yes": "no", "no": "yes"}
            _label(server, project, rid, flip[ann] if rid in (2, 3) else ann, "bob")
    _label(server, project, 3, "yes", "lead", gold=True)
    weak: Path = tmp_path_factory.mktemp("weak") / "weak.csv"
    lines = ["running_id,__clickbait__WEAK_SUPERVISION,__clickbait__WEAK_SUPERVISION__confidence"]
    lines += [
        f"{rid},{'yes' if rid % 4 == 0 else 'no'},{0.5 + (rid % 5) / 10:.2f}"
        for rid in range(1, 41)
    ]
    weak.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with weak.open("rb") as handle:
        job = server.api.post(
            f"/api/projects/{project}/import",
            params={"wait": "true"},
            files={"file": ("weak.csv", handle, "text/csv")},
            data={"into": "existing"},
        )
    job.raise_for_status()
    assert job.json()["status"] == "done", job.json()
    server.api.post(
        f"/api/projects/{project}/slices",
        json={"name": "first ten", "where": {"attribute": "running_id", "op": "le", "value": 10}},
    ).raise_for_status()
    return project


def test_the_overview_shows_the_services_numbers(
    page: Any, server: Any, labeled: str, shot: Any
) -> None:
    stats = statistics(server, labeled, "clickbait")
    # By hand: 12 labeled, 2 and 3 disputed, gold settles 3: 1 gold, 10 agreed, 1 conflict.
    assert (stats["progress"]["gold"], stats["progress"]["agreed"]) == (1, 10)
    assert stats["conflicts"]["count"] == 1
    (pair,) = stats["agreement"]["pairs"]
    # ann/bob on 1-8 agree on 6; each says yes twice: p_e = (1/4)^2 + (3/4)^2 = 5/8,
    # kappa = (3/4 - 5/8) / (3/8) = 1/3; alpha = 1 - 15 * 4 / (256 - 16 - 144) = 0.375.
    assert (pair["items"], pair["percent_agreement"]) == (8, 0.75)
    assert pair["kappa"] == pytest.approx(1 / 3)
    assert stats["agreement"]["alpha"] == pytest.approx(0.375)

    page.goto(f"/projects/{labeled}?task=clickbait")
    summary = page.get_by_test_id("summary")
    expect(summary).to_contain_text("11 with a manual label")
    expect(summary).to_contain_text("40 weakly supervised")
    expect(page.get_by_test_id("panel-progress")).to_contain_text(
        "11 of 1,400 records have a reference label"
    )
    distribution = page.get_by_test_id("panel-distribution").get_by_role("img")
    for row in stats["distribution"]:
        expect(distribution).to_have_attribute(
            "aria-label",
            re.compile(
                re.escape(f"{row['label']}: {row['manual']} manual, ")
                + re.escape(f"{row['weak_supervision']} weakly supervised")
            ),
        )
    bins = next(h for h in stats["confidence"] if h["source"] == "weak_supervision")["bins"]
    histogram = page.get_by_test_id("panel-confidence").get_by_role("img")
    expect(histogram).to_have_attribute("aria-label", re.compile(r": 40 labels;"))
    table = page.get_by_test_id("panel-confidence").locator("table")
    expect(table.locator("td")).to_have_text([str(n) for n in bins])
    matrix = stats["confusion"]
    heatmap = page.get_by_test_id("panel-confusion")
    expect(heatmap.locator(".heatmap-cell")).to_have_text(
        [str(n) for row in matrix["counts"] for n in row]
    )
    expect(heatmap).to_contain_text(f"{matrix['records']} records have both")
    agreement = page.get_by_test_id("panel-agreement")
    expect(agreement.get_by_test_id("alpha")).to_contain_text("0.375")
    row = agreement.get_by_role("row", name="ann & bob")
    expect(row).to_contain_text("75.0%")
    expect(row).to_contain_text(f"{pair['kappa']:.2f}")
    expect(page.get_by_test_id("panel-annotators")).to_contain_text("ann")
    shot("overview")

    # A slice narrows every number; it is kept in the URL.
    page.get_by_label("Slice").select_option("first ten")
    expect(page).to_have_url(re.compile(r"slice=first\+ten"))
    sliced = statistics(server, labeled, "clickbait", slice="first ten")
    assert sliced["records"] == 11  # running_id 0 to 10
    expect(summary).to_contain_text("11 records")
    expect(summary).to_contain_text(f"{sliced['progress']['labeled']} with a manual label")

    # The conflicts open in the labeling suite, on the same slice.
    page.get_by_test_id("conflicts").click()
    expect(page).to_have_url(re.compile(rf"/projects/{labeled}/labeling\?"))
    query = parse_qs(urlparse(page.url).query)
    assert json.loads(query["where"][0]) == {"task": "clickbait", "state": "conflict"}
    assert query["slice"] == ["first ten"]


def test_the_finished_sample_renders(page: Any, server: Any, shot: Any) -> None:
    server.api.post("/api/samples/clickbait", params={"variant": "finished"}).raise_for_status()
    page.goto("/projects/clickbait-finished")
    expect(page.get_by_test_id("panel-progress")).to_contain_text(
        "25 of 1,400 records have a reference label"
    )
    distribution = page.get_by_test_id("panel-distribution")
    expect(distribution.get_by_role("img")).to_have_attribute(
        "aria-label", re.compile("not clickbait: ")
    )
    # The finished sample has run weak supervision (the story's step 13).
    expect(distribution).not_to_contain_text("No weak supervision yet")
    expect(page.get_by_test_id("panel-agreement")).to_contain_text("only one annotator")
    shot("overview-finished")
    page.get_by_label("Task").select_option("entities")
    expect(page.get_by_test_id("panel-distribution")).to_contain_text("Counts spans")


def test_names_are_text(page: Any, server: Any) -> None:
    server.api.post("/api/samples/clickbait", params={"name": "hostile"}).raise_for_status()
    server.api.post(
        "/api/projects/hostile/tasks",
        json={"name": f"t {HOSTILE}", "type": "classification", "labels": [HOSTILE, "plain"]},
    ).raise_for_status()
    for annotator in (HOSTILE, "ann"):
        server.api.post(
            "/api/projects/hostile/records/running_id=1/annotations",
            json={"task": f"t {HOSTILE}", "label": HOSTILE, "annotator": annotator},
        ).raise_for_status()
    page.goto("/projects/hostile")
    page.get_by_label("Task").select_option(f"t {HOSTILE}")
    expect(page.get_by_test_id("panel-distribution")).to_contain_text(HOSTILE)
    expect(page.get_by_test_id("panel-agreement")).to_contain_text(HOSTILE)
    assert page.evaluate("window.pwned") is None
