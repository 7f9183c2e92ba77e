"""Walkthrough steps 6 and 15 in Chromium: the schema, renaming labels (annotations follow),
tasks and labels managed on the settings page, and export that imports back."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

LABELED = [(1, "yes"), (2, "no"), (3, "yes")]


def _sample(server: Any, name: str) -> None:
    server.api.post("/api/samples/clickbait", params={"name": name}).raise_for_status()
    for key, label in LABELED:
        server.api.post(
            f"/api/projects/{name}/records/running_id={key}/annotations",
            json={"task": "clickbait", "label": label, "annotator": "ann"},
        ).raise_for_status()


def test_schema_and_renaming_labels(page: Any, server: Any, shot: Any) -> None:
    _sample(server, "rename")
    page.goto("/projects/rename/settings")
    schema = page.get_by_test_id("schema")
    expect(schema.get_by_role("row", name="running_id")).to_contain_text("integer")
    expect(schema.get_by_role("row", name="headline")).to_contain_text("text")
    task = page.get_by_role("article", name="Task clickbait")
    for old, new in (("yes", "clickbait"), ("no", "not clickbait")):
        row = task.get_by_test_id(f"label {old}")
        row.get_by_label(f"Name of {old}").fill(new)
        row.get_by_role("button", name="Save").click()
        expect(task.get_by_test_id(f"label {new}")).to_be_visible()
    shot("settings")
    # Labels already given follow the new names.
    record = server.api.get("/api/projects/rename/records/running_id=2").json()
    assert record["labels"]["clickbait"]["reference"]["value"] == "not clickbait"
    found = server.api.post(
        "/api/projects/rename/records/query",
        json={"where": {"task": "clickbait", "label": "clickbait"}},
    ).json()
    assert found["total"] == 2


def test_tasks_and_labels_are_managed_here(page: Any, server: Any) -> None:
    server.api.post("/api/samples/clickbait", params={"name": "tasks"}).raise_for_status()
    page.goto("/projects/tasks/settings")
    form = page.get_by_role("form", name="New task")
    form.get_by_label("Name").fill("topic")
    form.get_by_label("Type").select_option("multi-label")
    form.get_by_label("Labels (comma-separated)").fill(
        "politics, sports, <img src=x onerror=alert(1)>, n/a"
    )
    form.get_by_role("button", name="Add task").click()
    topic = page.get_by_role("article", name="Task topic")
    expect(topic.get_by_test_id("label <img src=x onerror=alert(1)>")).to_be_visible()
    topic.get_by_label("New label of topic").fill("science")
    topic.get_by_role("button", name="Add label").click()
    expect(topic.get_by_test_id("label science")).to_be_visible()
    # A label with a slash is managed like any other.
    slashed = topic.get_by_test_id("label n/a")
    slashed.get_by_label("Color of n/a").fill("#123456")
    expect(slashed.get_by_label("Color of n/a")).to_have_value("#123456")
    row = topic.get_by_test_id("label sports")
    row.get_by_label("Hotkey of sports").fill("s")
    row.get_by_role("button", name="Save").click()
    expect(row.get_by_label("Hotkey of sports")).to_have_value("s")
    row.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog", name="Delete label").get_by_role("button", name="Delete").click()
    expect(topic.get_by_test_id("label sports")).to_have_count(0)
    topic.get_by_label("Task name").fill("topics")
    topic.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("article", name="Task topics")).to_be_visible()
    tasks = {t["name"]: t for t in server.api.get("/api/projects/tasks/tasks").json()}
    assert [lb["name"] for lb in tasks["topics"]["labels"]] == [
        "politics",
        "<img src=x onerror=alert(1)>",
        "n/a",
        "science",
    ]
    assert tasks["topics"]["labels"][2]["color"] == "#123456"
    assert tasks["topics"]["type"] == "multi-label"
    # A bad request shows the server's message.
    form.get_by_label("Name").fill("spans")
    form.get_by_label("Type").select_option("extraction")
    form.get_by_role("button", name="Add task").click()
    expect(form.get_by_role("alert")).to_contain_text("needs a text attribute")
    page.get_by_role("article", name="Task topics").get_by_role(
        "button", name="Delete task"
    ).click()
    page.get_by_role("dialog", name="Delete task").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("article", name="Task topics")).to_have_count(0)


def test_export_downloads_and_imports_back(page: Any, server: Any, tmp_path: Path) -> None:
    _sample(server, "export")
    page.goto("/projects/export/settings")
    downloads = {}
    for fmt in ("json", "csv"):
        page.get_by_label("Format").select_option(fmt)
        with page.expect_download() as info:
            page.get_by_role("link", name="Download").click()
        target = tmp_path / info.value.suggested_filename
        info.value.save_as(target)
        downloads[fmt] = target
    rows = json.loads(downloads["json"].read_text(encoding="utf-8"))
    assert len(rows) == 1400
    assert {
        r["running_id"]: r["__clickbait__MANUAL"] for r in rows if r["__clickbait__MANUAL"]
    } == {key: label for key, label in LABELED}
    with downloads["csv"].open(encoding="utf-8") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == 1400
    # The JSON goes back in through the home page's upload: every record and label intact.
    copy = tmp_path / "export-copy.json"
    copy.write_bytes(downloads["json"].read_bytes())
    page.goto("/")
    page.get_by_role("button", name="New project from a file").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[type=file]").set_input_files(str(copy))
    expect(dialog.get_by_test_id("preview")).to_contain_text("1,400 rows")
    expect(dialog.get_by_test_id("preview")).to_contain_text("__clickbait__MANUAL")
    dialog.locator("th[data-column=running_id]").get_by_label("key").check()
    dialog.get_by_role("button", name="Import").click()
    expect(page).to_have_url(f"{server.url}/projects/export-copy", timeout=60_000)
    back = server.api.post(
        "/api/projects/export-copy/records/query",
        json={"where": {"task": "clickbait", "state": "labeled"}, "order_by": "running_id"},
    ).json()
    assert [
        (r["data"]["running_id"], r["labels"]["clickbait"]["manual"]) for r in back["records"]
    ] == LABELED
    assert server.api.get("/api/projects/export-copy").json()["records"] == 1400
