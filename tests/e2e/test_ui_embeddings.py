"""Walkthrough steps 5 and 8 in Chromium: add an embedding of `headline` in the settings and
watch its job until it is ready; in the data browser, order by headline, filter headline
contains "you", open the records most similar to running_id 6 (scores, an editable threshold,
the filter still applied) and label some of them; similar records in the labeling suite; the
outliers, ranked, and their slice; deleting an embedding.

The tests of this module build on each other, in order, on one server (the story's order)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

PROJECT = "clickbait"
EMBEDDING = "headline-tfidf-svd"
YOU = {"attribute": "headline", "op": "contains", "value": "you", "case_sensitive": False}
ANNOTATOR = "ann"


def _api(server: Any, method: str, path: str, **kwargs: Any) -> Any:
    answer = server.api.request(method, f"/api/projects/{PROJECT}{path}", **kwargs)
    answer.raise_for_status()
    return answer.json()


def similar(server: Any, **body: Any) -> dict[str, Any]:
    found: dict[str, Any] = _api(server, "POST", "/similar", json=body)
    return found


def record_id(server: Any, running_id: int) -> int:
    found: int = _api(server, "GET", f"/records/running_id={running_id}")["id"]
    return found


def wait_job_done(page: Any, title: str, timeout: int = 120_000) -> None:
    toast = page.get_by_test_id("jobs").locator(".toast", has_text=title).first
    expect(toast).to_have_attribute("data-status", "done", timeout=timeout)


def card_ids(page: Any) -> list[int]:
    cards = page.get_by_test_id("similar-results").get_by_test_id("record-card")
    return [
        int(record or 0)
        for record in cards.evaluate_all(
            "cards => cards.map(card => card.getAttribute('data-record'))"
        )
    ]


def scores(page: Any) -> list[float]:
    found = page.get_by_test_id("similar-results").get_by_test_id("similarity")
    return [float(text.split()[-1]) for text in found.all_inner_texts()]


def test_before_any_embedding_the_pages_say_what_to_do(page: Any, server: Any) -> None:
    server.api.post("/api/samples/clickbait", params={"variant": "initial"}).raise_for_status()
    page.goto(f"/projects/{PROJECT}/browser")
    neural = page.get_by_role("region", name="Similar records and outliers")
    expect(neural).to_contain_text("Needs a ready embedding")
    page.get_by_test_id("record-card").first.get_by_role("button", name="Similar records").click()
    error = page.get_by_test_id("similar-results").get_by_test_id("error")
    expect(error).to_contain_text("embedding")
    error.get_by_role("link", name="Add an embedding in Settings").click()
    expect(page.get_by_role("heading", name="Embeddings")).to_be_visible()


def test_step5_add_an_embedding_in_settings(page: Any, server: Any, shot: Any) -> None:
    page.goto(f"/projects/{PROJECT}/settings")
    section = page.get_by_test_id("embeddings")
    expect(section.get_by_test_id("empty")).to_contain_text("No embedding yet")
    form = section.get_by_role("form", name="New embedding")
    expect(form.get_by_label("Attribute to embed")).to_have_value("headline")
    expect(form.get_by_label("Embedder")).to_have_value("tfidf-svd")
    form.get_by_role("button", name="Add embedding").click()

    # A progress notification follows the job until the embedding is ready.
    wait_job_done(page, "Embedding headline")
    row = section.locator(f"tr[data-embedding={EMBEDDING}]")
    expect(row.get_by_test_id("embedding-state")).to_have_attribute("data-state", "ready")
    stored = _api(server, "GET", f"/embeddings/{EMBEDDING}")
    assert stored["state"] == "ready"
    assert stored["attribute"] == "headline"
    expect(row).to_contain_text(str(stored["dimensions"]))
    expect(row).to_contain_text("1,400 records")
    shot("settings-embeddings")

    # A second embedding with a model that is not there fails with the server's message.
    form.get_by_label("Embedder").select_option("st:")
    form.get_by_label("Model folder").fill("/nowhere/model")
    form.get_by_role("button", name="Add embedding").click()
    expect(form.get_by_role("alert")).to_contain_text("/nowhere/model")


def test_step8_similar_to_running_id_6_within_the_filter(page: Any, server: Any, shot: Any) -> None:
    page.goto(f"/projects/{PROJECT}/browser")
    page.get_by_label("Order by").select_option("headline")
    panel = page.get_by_test_id("filter-panel")
    panel.get_by_role("button", name="+ Attribute condition").click()
    panel.get_by_label("Attribute of condition 1").select_option("headline")
    panel.get_by_label("Value of condition 1").fill("you")
    panel.get_by_role("button", name="Apply filter").click()
    expect(page.get_by_test_id("result-count").first).to_contain_text("1–50 of")

    # Running_id 6 is no "you" headline: it is named by its key in the side panel.
    six = record_id(server, 6)
    neural = page.get_by_role("region", name="Similar records and outliers")
    neural.get_by_label("Similar to record (running_id)").fill("6")
    neural.get_by_role("button", name="Find similar").click()
    results = page.get_by_test_id("similar-results")
    expect(results).to_contain_text("Records most similar to running_id 6")
    # Similar records come best first: the browser's order does not apply, and says so.
    order = page.get_by_label("Order by")
    expect(order).to_be_disabled()
    expect(order).to_have_attribute("title", re.compile("best first"))
    params = parse_qs(urlparse(page.url).query)
    assert params["similar"] == [str(six)]
    assert json.loads(params["where"][0])["attribute"] == "headline"

    # With the embedder's default threshold no "you" headline is close to a museum story:
    # the view says so, and the threshold (shown) can be lowered: typed, or in one click.
    default = similar(server, record=six, where=YOU, limit=50)
    assert default["embedding"] == EMBEDDING
    assert default["records"] == []
    threshold = results.get_by_label("Similarity threshold")
    expect(threshold).to_have_value(str(default["threshold"]))
    empty = results.get_by_test_id("empty")
    expect(empty).to_contain_text("No similar record")
    expect(empty).to_contain_text(f"threshold {default['threshold']:.2f}")
    threshold.fill("0.9")
    threshold.press("Enter")
    expect(page).to_have_url(re.compile(r"threshold=0\.9"))
    expect(empty).to_contain_text("threshold 0.90")
    empty.get_by_role("button", name="Show the closest anyway").click()
    expect(threshold).to_have_value("0")
    assert parse_qs(urlparse(page.url).query)["threshold"] == ["0"]

    # The full limit comes back from the filtered records, best first, with scores.
    expected = similar(server, record=six, where=YOU, limit=50, threshold=0)
    ids = [r["id"] for r in expected["records"]]
    assert len(ids) == 50
    expect(results.get_by_test_id("record-card")).to_have_count(50)
    assert card_ids(page) == ids
    shown = scores(page)
    assert shown == sorted(shown, reverse=True)
    assert all(abs(a - r["score"]) < 6e-4 for a, r in zip(shown, expected["records"], strict=True))
    for r in expected["records"]:
        assert "you" in r["data"]["headline"].casefold()
    expect(results.get_by_test_id("similar-summary")).to_contain_text("50 records")
    shot("browser-similar")

    # Label some of them: a labeling session on the similar records, best first.
    page.get_by_role("button", name="Label these").click()
    expect(page).to_have_url(re.compile(r"/labeling\?"))
    expect(page.get_by_test_id("position")).to_have_text(f"record 1 of {len(ids)}")
    prompt = page.get_by_role("form", name="Annotator")
    prompt.get_by_label("Your name").fill(ANNOTATOR)
    prompt.get_by_role("button", name="Start labeling").click()
    task = page.get_by_role("region", name="Task clickbait")
    for i, label in enumerate(["yes", "yes", "no"]):
        expect(page.get_by_test_id("position")).to_have_text(f"record {i + 1} of {len(ids)}")
        expect(page.get_by_test_id("record-name")).to_have_text(
            f"running_id {expected['records'][i]['data']['running_id']}"
        )
        task.get_by_role("button", name=label, exact=True).click()
    expect(page.get_by_test_id("done")).to_have_text("3 labeled in this session")
    for rid, label in zip(ids[:3], ["yes", "yes", "no"], strict=True):
        labels = _api(server, "GET", f"/records/{rid}")["labels"]["clickbait"]
        assert [(a["label"], a["annotator"]) for a in labels["annotations"]] == [(label, ANNOTATOR)]

    # Back in the browser (the same selection), the cards show the new labels.
    page.get_by_role("link", name="open in the data browser").click()
    expect(results.get_by_test_id("record-card")).to_have_count(len(ids))
    first = results.get_by_test_id("record-card").first.locator(
        "[data-task=clickbait] [data-source=manual]"
    )
    expect(first).to_contain_text("yes")


def test_similar_from_a_record_card(page: Any, server: Any) -> None:
    page.goto(f"/projects/{PROJECT}/browser")
    card = page.get_by_test_id("record-card").nth(6)
    expect(card).to_contain_text("Museum in Valparaíso")
    card.get_by_role("button", name="Similar records").click()
    six = record_id(server, 6)
    expected = similar(server, record=six, limit=50)
    results = page.get_by_test_id("similar-results")
    expect(results.get_by_test_id("record-card")).to_have_count(len(expected["records"]))
    assert card_ids(page) == [r["id"] for r in expected["records"]]
    assert six not in card_ids(page)
    # Fewer: the limit is in the URL.
    results.get_by_label("How many similar records").select_option("10")
    expect(results.get_by_test_id("record-card")).to_have_count(min(10, len(expected["records"])))
    results.get_by_role("button", name="Close similar records").click()
    expect(page.get_by_test_id("result-count").first).to_have_text("1–50 of 1,400")
    expect(page.get_by_label("Order by")).to_be_enabled()


def test_similar_records_in_the_labeling_suite(page: Any, server: Any, shot: Any) -> None:
    page.goto(f"/projects/{PROJECT}/labeling?i=6")
    expect(page.get_by_test_id("record")).to_contain_text("Museum in Valparaíso")
    page.get_by_role("button", name="Similar records").click()
    panel = page.get_by_test_id("similar")
    expect(panel).to_contain_text("Records similar to running_id 6")
    six = record_id(server, 6)
    expected = similar(server, record=six, limit=50)
    items = panel.locator("li[data-record]")
    expect(items).to_have_count(min(10, len(expected["records"])))
    first = expected["records"][0]
    expect(items.first).to_contain_text(first["data"]["headline"])
    expect(items.first.get_by_test_id("similarity")).to_contain_text(f"{first['score']:.3f}")
    expect(panel.get_by_label("Similarity threshold")).to_have_value(str(expected["threshold"]))
    shot("labeling-similar")
    panel.get_by_role("link", name=re.compile(r"Label these")).click()
    expect(page.get_by_test_id("position")).to_have_text(f"record 1 of {len(expected['records'])}")
    expect(page.get_by_test_id("record-name")).to_have_text(
        f"running_id {first['data']['running_id']}"
    )


def test_outliers_ranked_and_as_a_slice(page: Any, server: Any, shot: Any) -> None:
    page.goto(f"/projects/{PROJECT}/browser")
    neural = page.get_by_role("region", name="Similar records and outliers")
    expect(neural.get_by_label("Outlier embedding")).to_have_value(EMBEDDING)
    neural.get_by_role("button", name="Show outliers").click()
    assert parse_qs(urlparse(page.url).query)["outliers"] == [EMBEDDING]

    # Ranked, most unusual first, with their scores: the API's answer.
    expected = _api(server, "GET", f"/embeddings/{EMBEDDING}/outliers", params={"limit": 100})
    assert expected["method"] == "labeled"  # step 8 labeled some records
    results = page.get_by_test_id("outlier-results")
    expect(results).to_contain_text("farthest from the manually labeled records")
    order = page.get_by_label("Order by")
    expect(order).to_be_disabled()
    expect(order).to_have_attribute("title", re.compile("most unusual first"))
    cards = results.get_by_test_id("record-card")
    expect(cards).to_have_count(len(expected["records"]))
    shown = [
        float(s)
        for s in results.get_by_test_id("similarity").evaluate_all(
            "scores => scores.map(score => score.dataset.score)"
        )
    ]
    assert shown == [r["score"] for r in expected["records"]]
    assert shown == sorted(shown, reverse=True)
    expect(cards.first).to_contain_text(expected["records"][0]["data"]["headline"])
    shot("browser-outliers")

    # A labeling session on them keeps the ranking.
    page.get_by_role("button", name="Label these").click()
    expect(page.get_by_test_id("position")).to_have_text(f"record 1 of {len(expected['records'])}")
    expect(page.get_by_test_id("record-name")).to_have_text(
        f"running_id {expected['records'][0]['data']['running_id']}"
    )
    page.go_back()

    # Saved as the static slice outliers-EMBEDDING, which opens.
    page.get_by_test_id("outlier-results").get_by_role("button", name="Save as slice").click()
    name = f"outliers-{EMBEDDING}"
    expect(page.locator(".browser-slice")).to_contain_text(name)
    slices = {s["name"]: s for s in _api(server, "GET", "/slices")}
    assert slices[name]["kind"] == "static"
    assert slices[name]["records"] == len(expected["records"])
    expect(page.get_by_test_id("result-count").first).to_contain_text(
        f"of {slices[name]['records']:,}"
    )
    # It opens in its own order: ranked, most unusual first.
    expect(page.get_by_label("Order by")).to_have_value(f"slice:{name}")
    cards = page.get_by_test_id("record-card")
    expect(cards.first).to_have_attribute("data-record", str(expected["records"][0]["id"]))
    ids = [
        int(record)
        for record in cards.evaluate_all("cards => cards.map(c => c.getAttribute('data-record'))")
    ]
    assert ids == [r["id"] for r in expected["records"]][: len(ids)]
    # The side panel's button refreshes it.
    neural.get_by_role("button", name="Outlier slice").click()
    expect(page.locator(".browser-slice")).to_contain_text(name)


def test_delete_an_embedding(page: Any, server: Any) -> None:
    _api(
        server,
        "POST",
        "/embeddings",
        json={"attribute": "headline", "reducer": "pca-64", "name": "headline-pca"},
    )
    page.goto(f"/projects/{PROJECT}/settings")
    section = page.get_by_test_id("embeddings")
    extra = "headline-pca"
    row = section.locator(f"tr[data-embedding='{extra}']")
    expect(row).to_be_visible()
    row.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog", name="Delete embedding").get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    assert [e["name"] for e in _api(server, "GET", "/embeddings")] == [EMBEDDING]
