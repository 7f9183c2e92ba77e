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


def test_a_new_project_refuses_the_name_of_one_that_exists(
    page: Any, server: Any, tmp_path: Path, shot: Any
) -> None:
    # Re-importing an export of clickbait as a "new project" must not merge into clickbait.
    export = server.api.get("/api/projects/clickbait/export", params={"format": "json"})
    source = tmp_path / "clickbait.json"
    source.write_bytes(export.content)
    page.goto("/")
    page.get_by_role("button", name="New project from a file").click()
    dialog = page.get_by_role("dialog", name="New project from a file")
    dialog.locator("input[type=file]").set_input_files(str(source))
    expect(dialog.get_by_test_id("preview")).to_contain_text("1,400 rows")
    expect(dialog.get_by_label("Project name")).to_have_value("clickbait")
    taken = dialog.get_by_test_id("name-taken")
    expect(taken).to_contain_text("A project named “clickbait” already exists")
    expect(taken).to_contain_text("Add records from a file")
    expect(dialog.get_by_role("button", name="Import")).to_be_disabled()
    shot("upload-name-taken")
    dialog.get_by_label("Project name").fill("clickbait again")
    expect(taken).to_have_count(0)
    expect(dialog.get_by_role("button", name="Import")).to_be_enabled()
    dialog.get_by_role("button", name="Cancel").click()
    assert server.api.get("/api/projects/clickbait").json()["records"] == 1400
    # The server refuses it too, whatever a page sends.
    refused = server.api.post(
        "/api/projects/clickbait/import",
        files={"file": ("clickbait.json", export.content, "application/json")},
    )
    assert refused.status_code == 409
    assert "'clickbait' already exists" in refused.json()["error"]["message"]


def test_adding_records_from_a_file_says_first_what_changes(
    page: Any, server: Any, tmp_path: Path, shot: Any
) -> None:
    source = tmp_path / "more.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["running_id", "headline", "__clickbait__MANUAL",
                         "__clickbait__WEAK_SUPERVISION"])  # fmt: skip
        writer.writerows(
            [
                [1, "An existing headline, updated", "yes", "yes"],
                [2, "Another existing one", "", "no"],
                [90001, "A new headline", "no", "no"],
            ]
        )
    before = server.api.get("/api/projects/clickbait").json()["records"]
    page.goto("/projects/clickbait/settings")
    page.get_by_role("button", name="Add records from a file").click()
    dialog = page.get_by_role("dialog", name="Add records from a file to clickbait")
    dialog.locator("input[type=file]").set_input_files(str(source))
    addition = dialog.get_by_test_id("addition")
    expect(addition.get_by_test_id("addition-records")).to_have_text(
        "1 new records; 2 update the existing records with the same running_id."
    )
    labels = addition.get_by_test_id("addition-labels")
    expect(labels.nth(0)).to_contain_text(
        "__clickbait__MANUAL: 2 manual labels of task “clickbait”, added as annotator “import”"
    )
    expect(labels.nth(1)).to_contain_text(
        "3 weak-supervision labels of task “clickbait”, added as the source “import” beside "
        "the project's own weak supervision"
    )
    addition.get_by_label("Annotator of the manual labels").fill("lead")
    expect(labels.nth(0)).to_contain_text("added as annotator “lead”")
    shot("upload-addition")
    dialog.get_by_role("button", name="Add to clickbait").click()
    expect(page.get_by_test_id("jobs")).to_contain_text("Add more.csv to clickbait")
    expect(page).to_have_url(f"{server.url}/projects/clickbait", timeout=30_000)
    assert server.api.get("/api/projects/clickbait").json()["records"] == before + 1
    found = server.api.post(
        "/api/projects/clickbait/records/query",
        json={"where": {"attribute": "running_id", "op": "eq", "value": 1}},
    ).json()["records"][0]
    assert found["data"]["headline"] == "An existing headline, updated"
    detail = server.api.get(f"/api/projects/clickbait/records/{found['id']}").json()
    manual = [a for a in detail["labels"]["clickbait"]["annotations"] if a["source"] == "manual"]
    assert [(a["annotator"], a["label"]) for a in manual] == [("lead", "yes")]


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
