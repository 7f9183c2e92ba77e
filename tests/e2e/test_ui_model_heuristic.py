"""The task's live model as a heuristic, in Chromium (issue 13): added from the heuristics page
(no code, no embedding, the default name ``model-<task>``), run from the list, its statistics
measured on the test split only; after another version goes live the list says so, and the
next run votes with it; a task without a live model says so when the heuristic is added,
tried or run.

The Workbench of these tests (``bench``, conftest.py) opens the server's own SQLite database
(its data dir): it labels records and trains the versions, the page does the rest. The tests
build on each other, in order, on one server."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from assay.workbench import Workbench

PROJECT = "clickbait"
TASK = "clickbait"
HEURISTICS = f"/projects/{PROJECT}/heuristics"
NAME = f"model-{TASK}"  # the server's default name


def wait_job_done(page: Any, title: str, timeout: int = 120_000) -> None:
    toast = page.get_by_test_id("jobs").locator(".toast", has_text=title).first
    expect(toast).to_have_attribute("data-status", "done", timeout=timeout)


def run_from_the_list(page: Any) -> Any:
    """Select the model heuristic in the list and run it; returns its row."""
    row = page.get_by_test_id("heuristics").locator(f"tr[data-heuristic='{NAME}']")
    row.get_by_label(f"Select {NAME}").check()
    page.get_by_role("button", name="Run selected (1)").click()
    wait_job_done(page, "Run 1 heuristic(s)")
    return row


def expect_statistics(row: Any, stats: dict[str, Any]) -> None:
    """The row shows the API's statistics."""
    expect(row.locator("[data-stat=coverage]")).to_contain_text(f"{100 * stats['coverage']:.1f}%")
    expect(row.locator("[data-stat=coverage]")).to_contain_text(f"{stats['records']:,} records")
    expect(row.locator("[data-stat=hits]")).to_have_text(f"{stats['hits']:,}")
    expect(row.locator("[data-stat=tp-fp]")).to_have_text(
        f"{stats['true_positives']:,} / {stats['false_positives']:,}"
    )
    low, high = stats["interval"]
    expect(row.locator("[data-stat=precision]")).to_have_text(
        f"{round(100 * stats['precision'])}% ({round(100 * low)}%–{round(100 * high)}%)"
    )
    expect(row.locator("[data-stat=model-scope]")).to_have_text(
        f"measured on the test split ({stats['reference_records']:,} labeled)"
    )


def test_add_the_live_model_and_run_it(page: Any, bench: Workbench, shot: Any) -> None:
    v1 = bench.get_model(PROJECT, TASK, 1)
    assert v1["status"] == "live"
    page.goto(f"{HEURISTICS}?task={TASK}")
    page.get_by_role("button", name="Trained model (the live version)").click()
    form = page.get_by_role("region", name=f"New trained-model heuristic for {TASK}")
    expect(form.get_by_test_id("live-model")).to_contain_text("Live now: version 1")
    # Nothing to choose: no code, no embedding; the name is optional.
    expect(form.get_by_label("Name")).to_have_attribute("placeholder", NAME)
    expect(form.locator("select")).to_have_count(0)
    form.get_by_role("button", name="Create model heuristic").click()

    # It opens in the editor, which shows the versions instead of code.
    editor = page.get_by_role("region", name="Heuristic editor")
    facts = editor.get_by_test_id("model-heuristic")
    expect(facts).to_contain_text("Not run yet · live now: version 1")
    expect(editor.get_by_test_id("code-editor")).to_have_count(0)
    expect(editor).not_to_contain_text("code v")
    doc = bench.get_heuristic(PROJECT, NAME)
    assert (doc["kind"], doc["code"], doc["embedding"]) == ("model", "", None)
    assert doc["config"] == {"version": None, "live_version": 1}

    # Run on 10: the live model's votes, each record's probabilities as its output.
    editor.get_by_role("button", name="Run on 10").click()
    results = editor.get_by_test_id("try-results")
    expect(results.locator("tbody tr")).to_have_count(10, timeout=60_000)
    expect(results.locator("pre.output").first).to_contain_text("version 1: ")
    values = set(results.get_by_test_id("try-value").all_inner_texts())
    assert values <= {'"yes"', '"no"'}, values

    row = run_from_the_list(page)
    ran = bench.get_heuristic(PROJECT, NAME)
    stats = ran["statistics"]
    assert ran["last_run"]["model"]["version"] == 1
    # The model votes on every record; measured on the test split's manual labels only (the
    # records version 1 was scored on), where its precision is version 1's test accuracy.
    assert stats["coverage"] == 1.0
    assert 0 < stats["reference_records"] == v1["metrics"]["test_records"]
    assert stats["true_positives"] + stats["false_positives"] == stats["reference_records"]
    assert stats["precision"] == pytest.approx(v1["metrics"]["accuracy"])
    expect_statistics(row, stats)
    expect(row.locator("[data-stat=last-run]")).to_contain_text("model v1")
    expect(facts).to_contain_text("Last voted with version 1 · live now: version 1")
    shot("heuristics-model")


def test_another_live_version_is_named_then_voted_with(page: Any, bench: Workbench) -> None:
    job = bench.train_model(PROJECT, TASK, algorithm="tfidf-nb", wait=True)
    assert job["status"] == "done", job
    bench.promote_model(PROJECT, TASK, 2)  # whatever its figures: the manual override
    v2 = bench.get_model(PROJECT, TASK, 2)

    page.goto(f"{HEURISTICS}?task={TASK}")
    row = page.get_by_test_id("heuristics").locator(f"tr[data-heuristic='{NAME}']")
    last_run = row.locator("[data-stat=last-run]")
    expect(last_run).to_contain_text("model v1")
    expect(last_run).to_contain_text("live: v2")

    run_from_the_list(page)
    ran = bench.get_heuristic(PROJECT, NAME)
    assert ran["last_run"]["model"]["version"] == 2
    assert ran["config"] == {"version": 2, "live_version": 2}
    assert ran["statistics"]["precision"] == pytest.approx(v2["metrics"]["accuracy"])
    expect(last_run).to_contain_text("model v2")
    expect(last_run).not_to_contain_text("live: v2")
    expect_statistics(row, ran["statistics"])


def test_a_task_without_a_live_model_says_so(page: Any, bench: Workbench) -> None:
    bench.add_task(PROJECT, "tone", "classification", attribute="headline", labels=["calm", "loud"])
    # The form says there is no live model, and adds the heuristic all the same.
    page.goto(f"{HEURISTICS}?task=tone")
    page.get_by_role("button", name="Trained model (the live version)").click()
    form = page.get_by_role("region", name="New trained-model heuristic for tone")
    expect(form.get_by_test_id("live-model")).to_contain_text("No live model yet")
    form.get_by_label("Name").fill("tone-model")
    form.get_by_role("button", name="Create model heuristic").click()
    editor = page.get_by_role("region", name="Heuristic editor")
    expect(editor.get_by_test_id("model-heuristic")).to_contain_text(
        "Not run yet · no live model now"
    )
    editor.get_by_role("button", name="Run on 10").click()
    expect(editor).to_contain_text("has no live model", timeout=60_000)
    # A run fails as a job, naming what to do; the heuristic keeps no votes.
    row = page.get_by_test_id("heuristics").locator("tr[data-heuristic='tone-model']")
    row.get_by_label("Select tone-model").check()
    page.get_by_role("button", name="Run selected (1)").click()
    toast = page.get_by_test_id("jobs").locator(".toast", has_text="Run 1 heuristic(s)").first
    expect(toast).to_have_attribute("data-status", "failed", timeout=60_000)
    expect(toast).to_contain_text("the task 'tone' has no live model")
    expect(row.locator("[data-stat=last-run]")).to_have_text("never")
    assert bench.get_heuristic(PROJECT, "tone-model")["last_run"] is None
