"""Walkthrough steps 7 (the lookup part) and 10 in Chromium: a span labeled in the labeling
suite joins the list named like its label; the lookup-lists page shows it, edits lists (one
term, many pasted, blacklist, remove, search, pages, file import, download, delete); and the
heuristic `lookup_not_clickbait` imports `country_related` and runs.

The tests of this module build on each other, in order, on one server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

PROJECT = "clickbait"
LOOKUP = f"/projects/{PROJECT}/lookup"
LOOKUP_NOT_CLICKBAIT = """from knowledge import country_related


def lf(record):
    text = record["headline"].text.lower()
    for term in country_related:
        if term.lower() in text:
            print("found", term)
            return "not clickbait"
"""


@pytest.fixture(scope="module")
def sample(server: Any) -> str:
    server.api.post("/api/samples/clickbait", params={"variant": "initial"}).raise_for_status()
    for old, new in (("yes", "clickbait"), ("no", "not clickbait")):
        server.api.patch(
            f"/api/projects/{PROJECT}/tasks/clickbait/labels/{old}", json={"name": new}
        ).raise_for_status()
    return PROJECT


def terms_of(server: Any, name: str) -> dict[str, bool]:
    found = server.api.get(f"/api/projects/{PROJECT}/lookup-lists/{name}")
    found.raise_for_status()
    return {e["term"]: e["blacklisted"] for e in found.json()["entries"]}


def test_step7_a_labeled_span_fills_the_list(page: Any, server: Any, sample: str) -> None:
    page.add_init_script("window.localStorage.setItem('assay.annotator', 'ann-e2e')")
    page.goto(f"/projects/{PROJECT}/labeling?i=4")
    text = page.get_by_role("group", name="Text of headline")
    expect(text).to_contain_text("Poland")
    panel = page.get_by_role("region", name="Task entities")
    # Select "Poland" (token 5) as the mouse would, then label it with its hotkey (2).
    page.evaluate(
        """() => {
            const token = document.querySelector('[data-testid=span-text] [data-token="5"]');
            const range = document.createRange();
            range.selectNodeContents(token);
            const selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
            token.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
        }"""
    )
    expect(panel).to_contain_text("Selected: Poland —")
    panel.get_by_role("button", name="country_related", exact=True).click()
    expect(panel.get_by_role("list", name="My spans of entities")).to_contain_text("Poland")

    page.get_by_role("navigation", name="Project").get_by_role("link", name="Lookup lists").click()
    lists = page.get_by_role("region", name="Lists")
    lists.get_by_role("button", name="country_related").click()
    shown = page.get_by_role("region", name="List country_related")
    expect(shown.get_by_test_id("terms")).to_contain_text("Poland")
    expect(shown.get_by_test_id("import-line")).to_have_text(
        "from knowledge import country_related"
    )
    assert terms_of(server, "country_related") == {"Poland": False}


def test_edit_a_list(page: Any, server: Any, sample: str, tmp_path: Path, shot: Any) -> None:
    page.goto(LOOKUP)
    lists = page.get_by_role("region", name="Lists")
    # A list's import name: lower case, spaces to _, other characters dropped.
    lists.get_by_label("New list name").fill("Account blocked!")
    lists.get_by_role("button", name="Create list").click()
    shown = page.get_by_role("region", name="List Account blocked!")
    expect(shown.get_by_test_id("import-line")).to_have_text(
        "from knowledge import account_blocked"
    )
    expect(page).to_have_url(f"{server.url}{LOOKUP}?list=Account+blocked%21")
    expect(shown).to_contain_text("No terms yet.")

    shown.get_by_label("New term").fill("locked out")
    shown.get_by_role("button", name="Add", exact=True).click()
    expect(shown.get_by_test_id("terms")).to_contain_text("locked out")
    shown.get_by_text("Paste many terms").click()
    shown.get_by_label("Terms, one a line").fill("suspended\nbanned\n\n  frozen  \n")
    shown.get_by_role("button", name="Add all").click()
    expect(shown.get_by_test_id("list-summary")).to_contain_text("4 terms (0 blacklisted)")
    terms = shown.get_by_test_id("terms")
    terms.get_by_role("row", name="banned").get_by_role("button", name="Blacklist").click()
    expect(shown.get_by_test_id("list-summary")).to_contain_text("(1 blacklisted)")
    expect(terms.get_by_role("row", name="banned")).to_contain_text("blacklisted")
    terms.get_by_role("button", name="Remove frozen").click()
    expect(terms).not_to_contain_text("frozen")
    assert terms_of(server, "Account blocked!") == {
        "locked out": False,
        "suspended": False,
        "banned": True,
    }
    shown.get_by_label("Search the terms").fill("sus")
    expect(terms.locator("tr")).to_have_count(1)
    expect(shown).to_contain_text("1 of 3")
    shown.get_by_label("Search the terms").fill("")

    # A file: text, one term a line; CSV with a blacklisted column.
    words = tmp_path / "words.txt"
    words.write_text("hacked\ncompromised\n", encoding="utf-8")
    shown.get_by_label("Import a file (text or CSV)").set_input_files(str(words))
    expect(shown.get_by_test_id("list-summary")).to_contain_text("5 terms")
    table = tmp_path / "words.csv"
    table.write_text("term,blacklisted\nspam,true\nlocked,false\n", encoding="utf-8")
    shown.get_by_label("Import a file (text or CSV)").set_input_files(str(table))
    expect(shown.get_by_test_id("list-summary")).to_contain_text("7 terms (2 blacklisted)")
    shot("lookup-lists")

    # Download: text leaves blacklisted terms out; CSV keeps them with the flag.
    with page.expect_download() as download:
        shown.get_by_role("link", name="Download .txt").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert sorted(lines) == ["compromised", "hacked", "locked", "locked out", "suspended"]
    with page.expect_download() as download:
        shown.get_by_role("link", name="Download .csv").click()
    assert "spam,true" in Path(download.value.path()).read_text(encoding="utf-8")

    # Long lists page; the page is in the URL.
    server.api.post(
        f"/api/projects/{PROJECT}/lookup-lists/Account blocked!/terms",
        json={"terms": [f"term {i:03}" for i in range(150)]},
    ).raise_for_status()
    page.reload()
    expect(shown.get_by_text("page 1 of 2")).to_be_visible()
    shown.get_by_role("button", name="Next").click()
    expect(shown.get_by_text("page 2 of 2")).to_be_visible()
    expect(shown.get_by_test_id("terms").locator("tr")).to_have_count(57)
    assert "page=1" in page.url

    # Delete asks first.
    shown.get_by_role("button", name="Delete list").click()
    confirm = page.get_by_role("dialog", name="Delete the list?")
    confirm.get_by_role("button", name="Delete").click()
    expect(shown).to_be_hidden()
    expect(lists).not_to_contain_text("Account blocked!")
    assert (
        server.api.get(f"/api/projects/{PROJECT}/lookup-lists/Account blocked!").status_code == 404
    )


def test_step10_a_heuristic_imports_a_list(page: Any, server: Any, sample: str, shot: Any) -> None:
    page.goto(f"{LOOKUP}?list=country_related")
    shown = page.get_by_role("region", name="List country_related")
    shown.get_by_text("Paste many terms").click()
    shown.get_by_label("Terms, one a line").fill("France\nGermany\nJapan\nChina\nBrazil\nIndia")
    shown.get_by_role("button", name="Add all").click()
    expect(shown.get_by_test_id("list-summary")).to_contain_text("7 terms")

    page.get_by_role("navigation", name="Project").get_by_role("link", name="Heuristics").click()
    page.get_by_role("button", name="New heuristic").click()
    editor = page.get_by_role("region", name="Heuristic editor")
    editor.get_by_label("Name").fill("lookup_not_clickbait")
    content = editor.get_by_test_id("code-editor").locator(".cm-content")
    content.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    content.fill(LOOKUP_NOT_CLICKBAIT)
    editor.get_by_role("button", name="Run on 10").click()
    results = editor.get_by_test_id("try-results")
    expect(results).to_contain_text("Run on 10 records (nothing stored)", timeout=60_000)
    expect(results.get_by_role("alert")).to_have_count(0)
    assert (
        server.api.get(f"/api/projects/{PROJECT}/heuristics/lookup_not_clickbait").json()[
            "last_run"
        ]
        is None
    )

    table = page.get_by_test_id("heuristics")
    table.get_by_label("Select lookup_not_clickbait").check()
    page.get_by_role("button", name="Run selected (1)").click()
    toast = page.get_by_test_id("jobs").locator(".toast", has_text="Run 1 heuristic(s)")
    expect(toast).to_have_attribute("data-status", "done", timeout=60_000)
    voted = server.api.post(
        f"/api/projects/{PROJECT}/records/query",
        json={"where": {"task": "clickbait", "source": "heuristic"}, "limit": 500},
    ).json()
    assert voted["total"] > 0
    terms = [t.lower() for t in terms_of(server, "country_related")]
    for record in voted["records"]:
        assert any(t in record["data"]["headline"].lower() for t in terms)
    row = table.locator("tr[data-heuristic=lookup_not_clickbait]")
    expect(row.locator("[data-stat=hits]")).to_have_text(f"{voted['total']:,}")
    shot("heuristics-lookup")


def test_empty_pages_say_why(page: Any, server: Any, shot: Any) -> None:
    server.api.post(
        "/api/samples/clickbait", params={"variant": "initial", "name": "fresh"}
    ).raise_for_status()
    page.goto("/projects/fresh/lookup")
    expect(page.get_by_role("region", name="Lists")).to_contain_text("No lists yet.")
    expect(page.get_by_test_id("empty")).to_contain_text("No list open")
    page.goto("/projects/fresh/heuristics")
    expect(page.get_by_test_id("empty")).to_contain_text("No heuristics for clickbait yet")
    # Weak supervision needs heuristics: its panel comes with the first one.
    expect(page.get_by_role("region", name="Weak supervision")).to_have_count(0)
    shot("heuristics-empty")
    # The empty state leads to the editor, with the extraction template for that task.
    page.get_by_label("Task").select_option("entities")
    page.get_by_role("link", name="Write the first heuristic").click()
    editor = page.get_by_role("region", name="Heuristic editor")
    expect(editor.get_by_test_id("code-editor")).to_contain_text(
        'yield "clickbait_expression", token.i, token.i + 1'
    )
    # A list or project that does not exist: the API's message, not a blank page.
    page.goto("/projects/fresh/lookup?list=nothing-here")
    expect(page.get_by_test_id("error")).to_contain_text("nothing-here")
    page.goto("/projects/no-such-project/heuristics")
    expect(page.get_by_test_id("error")).to_contain_text("no-such-project")
