"""Walkthrough steps 1-2 in Chromium: the home page, a sample project, a new project from an
upload previewed first, deleting with confirmation; hostile names shown as text."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


def test_start_on_home_and_create_the_sample(page: Any, server: Any, shot: Any) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()
    expect(page.get_by_test_id("empty")).to_contain_text("No projects yet")
    expect(page.get_by_role("button", name="New project from a file")).to_be_visible()
    shot("home-empty")
    page.get_by_role("button", name="Clickbait — initial").click()
    # The sample opens on its overview; the project is listed on the home page.
    expect(page).to_have_url(f"{server.url}/projects/clickbait")
    page.get_by_role("link", name="assay").click()
    row = page.get_by_test_id("projects").get_by_role("row", name="clickbait")
    expect(row).to_contain_text("1,400")
    shot("home")
    project = server.api.get("/api/projects/clickbait").json()
    assert [(a["name"], a["data_type"], a["primary_key"]) for a in project["attributes"]] == [
        ("running_id", "integer", True),
        ("headline", "text", False),
    ]


def test_new_project_from_an_upload_with_preview(
    page: Any, server: Any, tmp_path: Path, shot: Any
) -> None:
    source = tmp_path / "reviews.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "stars"])
        writer.writerows([i, f"review {i}, {HOSTILE}", i % 5] for i in range(30))
    page.goto("/")
    page.get_by_role("button", name="New project from a file").click()
    dialog = page.get_by_role("dialog", name="New project from a file")
    dialog.locator("input[type=file]").set_input_files(str(source))
    preview = dialog.get_by_test_id("preview")
    expect(preview).to_contain_text("30 rows")
    expect(preview).to_contain_text(HOSTILE)  # shown as text, not markup
    expect(dialog.get_by_label("Type of id")).to_have_value("integer")
    expect(dialog.get_by_label("Type of stars")).to_have_value("integer")
    dialog.get_by_label("Type of stars").select_option("category")
    dialog.locator("th[data-column=id]").get_by_label("key").check()
    expect(dialog.get_by_label("Project name")).to_have_value("reviews")
    shot("upload-preview")
    dialog.get_by_role("button", name="Import").click()
    # Progress arrives as a notification; when the job is done the project opens.
    expect(page.get_by_test_id("jobs")).to_contain_text("Import reviews.csv")
    expect(page).to_have_url(f"{server.url}/projects/reviews", timeout=30_000)
    project = server.api.get("/api/projects/reviews").json()
    assert project["records"] == 30
    assert {a["name"]: (a["data_type"], a["primary_key"]) for a in project["attributes"]} == {
        "id": ("integer", True),
        "text": ("text", False),
        "stars": ("category", False),
    }
    assert page.evaluate("window.__pwned") is None


def test_a_bad_upload_shows_the_servers_message(page: Any, tmp_path: Path) -> None:
    source = tmp_path / "broken.json"
    source.write_text('[{"a": 1}, {"a": ', encoding="utf-8")
    page.goto("/")
    page.get_by_role("button", name="New project from a file").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[type=file]").set_input_files(str(source))
    expect(dialog.get_by_role("alert")).to_contain_text("broken.json")
    expect(dialog.get_by_role("button", name="Import")).to_be_disabled()


def test_delete_asks_first(page: Any, server: Any) -> None:
    server.api.post(
        "/api/projects", json={"name": f"doomed {HOSTILE.replace('/', '')}"}
    ).raise_for_status()
    page.goto("/")
    row = page.get_by_test_id("projects").get_by_role("row", name="doomed")
    expect(row).to_contain_text(HOSTILE.replace("/", ""))
    row.get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog", name="Delete project")
    confirm.get_by_role("button", name="Cancel").click()
    expect(row).to_be_visible()
    row.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog", name="Delete project").get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    assert page.evaluate("window.__pwned") is None


def test_unknown_project_shows_a_readable_error(page: Any) -> None:
    page.goto("/projects/nope/settings")
    expect(page.get_by_role("alert").first).to_be_visible()
