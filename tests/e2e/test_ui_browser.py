"""Walkthrough steps 4 and 8 (ordering, filtering) in Chromium: the data browser lists every
record, searches, orders, filters; the URL keeps the state through reload and back; slices are
saved, opened and deleted; "label these" opens a labeling session on the selection; a card
opens the record IDE on its record. Hostile and very long record texts are shown as text
without breaking the layout."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

BROWSER = "/projects/clickbait/browser"
HOSTILE = '<img src=x onerror="window.__pwned=1">'


@pytest.fixture(scope="module", autouse=True)
def clickbait(server: Any) -> None:
    """The sample project, variant initial, shared by the module's tests."""
    server.api.post("/api/samples/clickbait").raise_for_status()


def query(server: Any, **body: Any) -> dict[str, Any]:
    answer = server.api.post("/api/projects/clickbait/records/query", json=body)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def headlines(page: Any) -> list[str]:
    cards = page.get_by_test_id("record-card").locator("dd[data-attribute=headline]")
    texts: list[str] = cards.all_inner_texts()
    return texts


def test_every_record_and_full_text_search(page: Any, server: Any, shot: Any) -> None:
    page.goto(BROWSER)
    expect(page.get_by_test_id("result-count").first).to_have_text("1–50 of 1,400")
    expect(page.get_by_test_id("record-card")).to_have_count(50)
    first = query(server, limit=50)["records"]
    assert headlines(page) == [r["data"]["headline"] for r in first]
    shot("browser")

    page.get_by_role("searchbox", name="Search the records").fill("Mike Tyson")
    page.get_by_role("button", name="Search", exact=True).click()
    expected = query(server, where={"search": "mike tyson"}, limit=1000)
    assert 0 < expected["total"] < 50
    count = f"1–{expected['total']} of {expected['total']}"
    expect(page.get_by_test_id("result-count").first).to_have_text(count)
    expect(page.get_by_test_id("record-card")).to_have_count(expected["total"])
    assert headlines(page) == [r["data"]["headline"] for r in expected["records"]]
    assert all("mike tyson" in h.casefold() for h in headlines(page))

    # The search is in the URL: a reload shows the same result and the same search box.
    assert json.loads(parse_qs(urlparse(page.url).query)["where"][0]) == {"search": "Mike Tyson"}
    page.reload()
    expect(page.get_by_test_id("result-count").first).to_have_text(count)
    expect(page.get_by_role("searchbox", name="Search the records")).to_have_value("Mike Tyson")
    page.go_back()
    expect(page.get_by_test_id("result-count").first).to_have_text("1–50 of 1,400")


def test_no_match_says_why_and_clears(page: Any) -> None:
    page.goto(BROWSER)
    page.get_by_role("searchbox", name="Search the records").fill("zzqx-nothing-like-it")
    page.keyboard.press("Enter")
    empty = page.get_by_role("region", name="Records").get_by_test_id("empty")
    expect(empty).to_contain_text("No record matches")
    empty.get_by_role("button", name="Clear the filter and search").click()
    expect(page.get_by_test_id("result-count").first).to_have_text("1–50 of 1,400")


def test_order_filter_and_pages(page: Any, server: Any, shot: Any) -> None:
    page.goto(BROWSER)
    expect(page.get_by_test_id("result-count").first).to_have_text("1–50 of 1,400")
    page.get_by_label("Order by").select_option("headline")
    by_headline = query(server, order_by="headline", limit=50)["records"]
    expect(page.get_by_test_id("record-card").first).to_contain_text(
        by_headline[0]["data"]["headline"]
    )
    assert headlines(page)[:10] == [r["data"]["headline"] for r in by_headline[:10]]

    # Step 8: filter headline contains "you".
    panel = page.get_by_test_id("filter-panel")
    panel.get_by_role("button", name="+ Attribute condition").click()
    panel.get_by_label("Attribute of condition 1").select_option("headline")
    expect(panel.get_by_label("Operator of condition 1")).to_have_value("contains")
    panel.get_by_label("Value of condition 1").fill("you")
    panel.get_by_role("button", name="Apply filter").click()
    where = {"attribute": "headline", "op": "contains", "value": "you", "case_sensitive": False}
    expected = query(server, where=where, order_by="headline", limit=50)
    total = expected["total"]
    assert 50 < total < 1400
    expect(page.get_by_test_id("result-count").first).to_have_text(f"1–50 of {total:,}")
    assert headlines(page) == [r["data"]["headline"] for r in expected["records"]]
    shot("browser-filtered")

    # Next page by cursor: the API's records 51-100 of the same query.
    page.get_by_role("button", name="Next →").first.click()
    second = query(server, where=where, order_by="headline", limit=50, offset=50)
    expect(page.get_by_test_id("result-count").first).to_have_text(
        f"51–{50 + len(second['records'])} of {total:,}"
    )
    assert headlines(page) == [r["data"]["headline"] for r in second["records"]]

    # Reload keeps filter, order and page; the panel shows the condition again.
    page.reload()
    expect(page.get_by_test_id("result-count").first).to_have_text(
        f"51–{50 + len(second['records'])} of {total:,}"
    )
    expect(page.get_by_label("Order by")).to_have_value("headline")
    expect(panel.get_by_label("Value of condition 1")).to_have_value("you")
    assert headlines(page) == [r["data"]["headline"] for r in second["records"]]

    # Previous is a new step in the history; back retraces every step.
    page.get_by_role("button", name="← Previous").first.click()
    expect(page.get_by_test_id("result-count").first).to_have_text(f"1–50 of {total:,}")
    page.go_back()
    expect(page.get_by_test_id("result-count").first).to_have_text(
        f"51–{50 + len(second['records'])} of {total:,}"
    )
    page.go_back()
    expect(page.get_by_test_id("result-count").first).to_have_text(f"1–50 of {total:,}")
    page.go_back()
    expect(page.get_by_test_id("result-count").first).to_have_text("1–50 of 1,400")
    expect(page.get_by_label("Order by")).to_have_value("headline")
    assert headlines(page)[:10] == [r["data"]["headline"] for r in by_headline[:10]]


def test_label_conditions_and_labels_on_cards(page: Any, server: Any) -> None:
    record = query(server, limit=1)["records"][0]
    base = f"/api/projects/clickbait/records/{record['id']}/annotations"
    server.api.post(base, json={"task": "clickbait", "label": "yes", "annotator": "ann"})
    server.api.post(
        base,
        json={
            "task": "entities",
            "label": "country_related",
            "annotator": "ann",
            "start_token": 0,
            "end_token": 1,
        },
    ).raise_for_status()
    detail = server.api.get(f"/api/projects/clickbait/records/{record['id']}").json()
    first_token = detail["tokens"]["headline"][0]["text"]

    page.goto(BROWSER)
    panel = page.get_by_test_id("filter-panel")
    panel.get_by_role("button", name="+ Label condition").click()
    panel.get_by_label("Task of condition 1").select_option("clickbait")
    panel.get_by_label("yes").check()
    panel.get_by_role("button", name="Apply filter").click()
    expect(page.get_by_test_id("result-count").first).to_have_text("1–1 of 1")
    card = page.get_by_test_id("record-card")
    labels = card.locator("[data-task=clickbait] [data-source=manual]")
    expect(labels).to_contain_text("yes")
    spans = card.locator("[data-task=entities] [data-source=manual]")
    expect(spans).to_contain_text("country_related")
    expect(spans).to_contain_text(f"“{first_token}”")

    # Negated: every other record.
    panel.get_by_label("Negate").check()
    panel.get_by_role("button", name="Apply filter").click()
    expect(page.get_by_test_id("result-count").first).to_have_text("1–50 of 1,399")


def test_an_invalid_filter_names_the_node(page: Any) -> None:
    where = json.dumps({"and": [{"attribute": "nope", "value": 1}]})
    page.goto(f"{BROWSER}?where={where}")
    error = page.get_by_test_id("error")
    expect(error).to_contain_text("invalid filter at $.and[0]")
    expect(error).to_contain_text("unknown attribute 'nope'")
    error.get_by_role("button", name="Clear the filter").click()
    expect(page.get_by_test_id("result-count").first).to_have_text("1–50 of 1,400")


def test_save_open_and_delete_a_slice(page: Any, server: Any) -> None:
    where = json.dumps({"search": "mike tyson"})
    page.goto(f"{BROWSER}?where={where}")
    total = query(server, where={"search": "mike tyson"})["total"]
    expect(page.get_by_test_id("result-count").first).to_have_text(f"1–{total} of {total}")
    page.get_by_role("button", name="Save as slice").click()
    dialog = page.get_by_role("dialog", name="Save as slice")
    dialog.get_by_label("Slice name").fill("tyson")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    item = page.get_by_test_id("slices").locator("li[data-slice=tyson]")
    expect(item).to_contain_text(f"dynamic · {total} records")
    saved = server.api.get("/api/projects/clickbait/slices/tyson").json()
    assert saved["filter"] == {"search": "mike tyson"}

    # Open it from a view of every record: the URL names the slice, the result is the slice.
    page.goto(BROWSER)
    expect(page.get_by_test_id("result-count").first).to_have_text("1–50 of 1,400")
    item.get_by_role("button", name="Open").click()
    expect(page.get_by_test_id("result-count").first).to_have_text(f"1–{total} of {total}")
    assert parse_qs(urlparse(page.url).query)["slice"] == ["tyson"]
    expect(item).to_have_attribute("aria-current", "true")

    # Delete asks first; cancel keeps it, confirm removes it and closes the open slice.
    item.get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog", name="Delete the slice?")
    confirm.get_by_role("button", name="Cancel").click()
    expect(item).to_be_visible()
    item.get_by_role("button", name="Delete").click()
    confirm.get_by_role("button", name="Delete").click()
    expect(item).to_be_hidden()
    expect(page.get_by_test_id("result-count").first).to_have_text("1–50 of 1,400")
    assert server.api.get("/api/projects/clickbait/slices/tyson").status_code == 404


def test_static_slice_and_rename(page: Any, server: Any) -> None:
    where = json.dumps({"search": "mike tyson"})
    page.goto(f"{BROWSER}?where={where}")
    total = query(server, where={"search": "mike tyson"})["total"]
    page.get_by_role("button", name="Save as slice").click()
    dialog = page.get_by_role("dialog", name="Save as slice")
    dialog.get_by_label("Slice name").fill("tyson-now")
    dialog.get_by_label(f"Static: saves the {total} records that match now").check()
    dialog.get_by_role("button", name="Save").click()
    item = page.get_by_test_id("slices").locator("li[data-slice=tyson-now]")
    expect(item).to_contain_text(f"static · {total} records")
    item.get_by_role("button", name="Open").click()
    expect(page.get_by_test_id("result-count").first).to_have_text(f"1–{total} of {total}")
    item.get_by_role("button", name="Rename").click()
    rename = page.get_by_role("dialog", name="Rename the slice")
    rename.get_by_label("New name").fill("tyson-batch")
    rename.get_by_role("button", name="Rename").click()
    renamed = page.get_by_test_id("slices").locator("li[data-slice=tyson-batch]")
    expect(renamed).to_have_attribute("aria-current", "true")
    assert parse_qs(urlparse(page.url).query)["slice"] == ["tyson-batch"]
    # A static slice opens in its own order, which follows the rename.
    expect(page.get_by_label("Order by")).to_have_value("slice:tyson-batch")
    assert server.api.get("/api/projects/clickbait/slices/tyson-batch").json()["kind"] == "static"


def test_label_these_opens_the_labeling_session(page: Any, server: Any) -> None:
    page.goto(BROWSER)
    page.get_by_label("Order by").select_option("headline")
    page.get_by_role("searchbox", name="Search the records").fill("you")
    # The search follows the order at once: it must keep it (it once read a render that the
    # order's navigation had not reached yet).
    page.keyboard.press("Enter")
    total = query(server, where={"search": "you"})["total"]
    expect(page.get_by_test_id("result-count").first).to_have_text(f"1–50 of {total:,}")
    # A card's link opens the session at that record's index.
    page.get_by_test_id("record-card").nth(2).get_by_role("link", name="Open in labeling").click()
    expect(page).to_have_url(re.compile(r"/projects/clickbait/labeling\?"))
    assert _session(page.url) == {"where": {"search": "you"}, "order": "headline", "i": "2"}
    page.go_back()
    page.get_by_role("button", name="Label these").click()
    expect(page).to_have_url(re.compile(r"/projects/clickbait/labeling\?"))
    assert _session(page.url) == {"where": {"search": "you"}, "order": "headline", "i": "0"}


def test_record_ide_from_a_card(page: Any, server: Any) -> None:
    page.goto(BROWSER)
    card = page.get_by_test_id("record-card").nth(3)
    record_id = int(card.get_attribute("data-record") or 0)
    card.get_by_role("link", name="Record IDE").click()
    expect(page).to_have_url(re.compile(rf"/projects/clickbait/ide\?record={record_id}$"))
    # The IDE runs its snippet on that record at once and shows the record's data.
    data = server.api.get(f"/api/projects/clickbait/records/{record_id}").json()["data"]
    expect(page.get_by_test_id("ide-output")).to_contain_text(
        json.dumps(data["headline"], ensure_ascii=False), timeout=60_000
    )
    # The record is named by its key, as everywhere (the internal id stays in the URL).
    expect(page.get_by_test_id("record-name")).to_have_text(f"running_id {data['running_id']}")


def test_records_are_named_by_their_key_or_position_never_their_id(
    page: Any, server: Any, tmp_path: Path
) -> None:
    # The sample's first records in id order, by their running_id (not their internal id).
    first = query(server, limit=3)["records"]
    page.goto(BROWSER)
    cards = page.get_by_test_id("record-card")
    for i, record in enumerate(first):
        name = f"running_id {record['data']['running_id']}"
        expect(cards.nth(i).get_by_test_id("record-name")).to_have_text(name)
        expect(cards.nth(i)).to_have_attribute("aria-label", f"Record {name}")
    # A project without a primary key: its records by their position in the project, though
    # the sample's records took the first internal ids.
    source = tmp_path / "plain.jsonl"
    source.write_text("\n".join(json.dumps({"text": t}) for t in ("one", "two", "three")))
    with source.open("rb") as handle:
        job = server.api.post(
            "/api/projects/plain/import?wait=true", files={"file": ("plain.jsonl", handle)}
        ).json()
    assert job["status"] == "done", job
    ids = [
        r["id"]
        for r in server.api.post("/api/projects/plain/records/query", json={}).json()["records"]
    ]
    assert ids[0] > 1400
    page.goto("/projects/plain/browser")
    names = page.get_by_test_id("record-card").get_by_test_id("record-name")
    expect(names).to_have_text(["#1", "#2", "#3"])
    page.get_by_test_id("record-card").nth(1).get_by_role("link", name="Record IDE").click()
    # The IDE's chunk loads lazily: the browser stays on screen until the IDE replaces it.
    expect(page.get_by_role("heading", name="Record IDE")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("record-name")).to_have_text("#2", timeout=60_000)


def _session(url: str) -> dict[str, Any]:
    """A labeling URL's selection parameters, with the filter tree read as JSON."""
    params = {name: values[0] for name, values in parse_qs(urlparse(url).query).items()}
    return {**params, "where": json.loads(params["where"])}


def test_hostile_and_long_texts(page: Any, server: Any, tmp_path: Path) -> None:
    source = tmp_path / "odd.jsonl"
    long_text = ("word " * 4000).strip() + " END"
    rows = [
        {"id": 1, "text": HOSTILE},
        {"id": 2, "text": long_text},
        {"id": 3, "text": "مرحبا بالعالم"},
    ]
    source.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    with source.open("rb") as handle:
        job = server.api.post(
            "/api/projects/odd/import?wait=true",
            files={"file": ("odd.jsonl", handle)},
            data={"primary_key": "id"},
        ).json()
    assert job["status"] == "done", job
    page.goto("/projects/odd/browser")
    expect(page.get_by_test_id("result-count").first).to_have_text("1–3 of 3")
    cards = page.get_by_test_id("record-card")
    expect(cards.nth(0).locator("dd[data-attribute=text]")).to_have_text(HOSTILE)
    assert page.evaluate("window.__pwned") is None
    # The long text shows its beginning, then all of it on request; the page never scrolls
    # sideways.
    long_card = cards.nth(1)
    expect(long_card).not_to_contain_text("END")
    long_card.get_by_role("button", name=f"Show all {len(long_text):,} characters").click()
    expect(long_card).to_contain_text("END")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]
    box = long_card.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width[1]
    rtl = cards.nth(2).locator("dd[data-attribute=text] [dir=auto]")
    expect(rtl).to_have_text("مرحبا بالعالم")
