"""Calculated attributes in the settings and the record IDE, in Chromium: add
``headline_length`` (integer: the headline's tokens), test it on 10 records (nothing stored),
run it on all, then filter and order by it in the data browser; a type mismatch shows per
record; the record IDE prints a record's output and moves to the next record.

The tests of this module build on each other, in order, on one server."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

PROJECT = "cb"
LENGTH = """def headline_length(record):
    print("tokens:", len(record["headline"]))
    return len(record["headline"])
"""


@pytest.fixture(scope="module")
def sample(server: Any) -> str:
    server.api.post("/api/samples/clickbait", params={"name": PROJECT}).raise_for_status()
    return PROJECT


def set_code(page: Any, editor: Any, code: str) -> None:
    """Replace the editor's text (typing would meet the editor's auto-indent)."""
    content = editor.get_by_test_id("code-editor").locator(".cm-content")
    content.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    content.fill(code)


def query(server: Any, **body: Any) -> dict[str, Any]:
    found = server.api.post(f"/api/projects/{PROJECT}/records/query", json=body)
    found.raise_for_status()
    result: dict[str, Any] = found.json()
    return result


def test_add_test_on_10_run_and_browse(page: Any, server: Any, sample: str, shot: Any) -> None:
    page.goto(f"/projects/{PROJECT}/settings")
    section = page.get_by_test_id("calculated")
    section.get_by_role("button", name="New calculated attribute").click()
    editor = section.get_by_role("group", name="Calculated attribute editor")
    editor.get_by_label("Name").fill("headline_length")
    editor.get_by_label("Type").select_option("integer")
    set_code(page, editor, LENGTH)
    editor.get_by_role("button", name="Test on 10").click()

    results = editor.get_by_test_id("try-results")
    expect(results).to_contain_text("Test on 10 records (nothing stored)", timeout=60_000)
    rows = results.locator("tbody tr")
    expect(rows).to_have_count(10)
    first = rows.first
    record_id = int(first.get_attribute("data-record") or 0)
    detail = server.api.get(f"/api/projects/{PROJECT}/records/{record_id}").json()
    n = len(detail["tokens"]["headline"])
    expect(first.get_by_test_id("try-value")).to_have_text(str(n))
    expect(first.locator("pre.output")).to_have_text(f"tokens: {n}\n")
    assert "headline_length" not in detail["data"]  # nothing stored
    row = section.locator("tr[data-attribute=headline_length]")
    expect(row.get_by_test_id("calculated-state")).to_have_text("new")
    shot("calculated-test-on-10")

    editor.get_by_role("button", name="Run on all records").click()
    toast = page.get_by_test_id("jobs").locator(".toast", has_text="Calculate headline_length")
    expect(toast).to_have_attribute("data-status", "done", timeout=60_000)
    expect(row.get_by_test_id("calculated-state")).to_have_text("ready")
    expect(row).to_contain_text("1400 of 1400 with a value")
    expect(page.get_by_test_id("schema")).to_contain_text("headline_length")

    # In the data browser: order by it, then filter on it.
    page.goto(f"/projects/{PROJECT}/browser")
    page.get_by_label("Order by").select_option("headline_length")
    longest = query(server, order_by="headline_length", descending=False, limit=1)["records"][0]
    expect(page.get_by_test_id("record-card").first).to_contain_text(longest["data"]["headline"])
    panel = page.get_by_test_id("filter-panel")
    panel.get_by_role("button", name="+ Attribute condition").click()
    panel.get_by_label("Attribute of condition 1").select_option("headline_length")
    panel.get_by_label("Operator of condition 1").select_option("ge")
    panel.get_by_label("Value of condition 1").fill("12")
    panel.get_by_role("button", name="Apply filter").click()
    where = {"attribute": "headline_length", "op": "ge", "value": 12}
    total = query(server, where=where, limit=1)["total"]
    assert 0 < total < 1400
    expect(page.get_by_test_id("result-count").first).to_contain_text(f"of {total:,}")
    shot("calculated-browser")


def test_type_mismatch_per_record(page: Any, server: Any, sample: str, shot: Any) -> None:
    page.goto(f"/projects/{PROJECT}/settings")
    section = page.get_by_test_id("calculated")
    section.locator("tr[data-attribute=headline_length]").get_by_role("button", name="Edit").click()
    editor = section.get_by_role("group", name="Calculated attribute editor")
    set_code(
        page,
        editor,
        'def headline_length(record):\n    n = len(record["headline"])\n'
        '    return "many" if n % 2 else n\n',
    )
    editor.get_by_role("button", name="Test on 10").click()
    results = editor.get_by_test_id("try-results")
    expect(results).to_contain_text("not of type integer", timeout=60_000)
    bad = results.locator("tbody tr[data-error]")
    expect(bad.first.get_by_test_id("try-error")).to_have_text(
        "returned str 'many', not a number (integer)"
    )
    shot("calculated-mismatch")
    # Run on all: the job fails naming records; the stored values stay.
    editor.get_by_role("button", name="Run on all records").click()
    toast = page.get_by_test_id("jobs").locator(".toast", has_text="Calculate headline_length")
    expect(toast.first).to_have_attribute("data-status", "failed", timeout=60_000)
    expect(toast.first).to_contain_text("returned str 'many'")
    stored = server.api.get(f"/api/projects/{PROJECT}/attributes/headline_length").json()
    assert stored["state"] == "stale" and stored["last_run"]["code_version"] == 1


def test_record_ide(page: Any, server: Any, sample: str, shot: Any) -> None:
    page.goto(f"/projects/{PROJECT}/labeling")
    page.get_by_role("link", name="Record IDE").click()
    expect(page).to_have_url(f"{server.url}/projects/{PROJECT}/ide?record=1")
    code = page.get_by_role("region", name="Snippet")
    set_code(
        page, code, 'print(record["headline"].text.upper())\ndef ide(record):\n    return 7 * 6\n'
    )
    page.keyboard.press("Control+Enter")
    first = server.api.get(f"/api/projects/{PROJECT}/records/1").json()
    output = page.get_by_test_id("ide-output")
    expect(output.get_by_test_id("ide-printed")).to_have_text(
        first["data"]["headline"].upper() + "\n", timeout=60_000
    )
    expect(output.get_by_test_id("ide-value")).to_have_text("42")
    shot("record-ide")
    page.get_by_role("button", name="Next record →").click()
    expect(page).to_have_url(f"{server.url}/projects/{PROJECT}/ide?record=2")
    second = server.api.get(f"/api/projects/{PROJECT}/records/2").json()
    expect(output.get_by_test_id("ide-printed")).to_have_text(
        second["data"]["headline"].upper() + "\n"
    )
    set_code(page, code, "print('before')\n1 / 0\n")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(output).to_contain_text("ZeroDivisionError: division by zero")
    expect(output.locator("pre.traceback")).to_contain_text('File "<ide>", line 2')


def test_a_running_snippet_can_be_cancelled(page: Any, server: Any, sample: str) -> None:
    page.goto(f"/projects/{PROJECT}/ide?record=1")
    output = page.get_by_test_id("ide-output")
    expect(output).to_be_visible(timeout=60_000)  # the first run, of the starter snippet
    set_code(page, page.get_by_role("region", name="Snippet"), "import time\ntime.sleep(3600)\n")
    page.get_by_role("button", name="Run", exact=True).click()
    cancel = page.get_by_role("button", name="Cancel")
    expect(cancel).to_be_visible()
    page.wait_for_timeout(1000)  # the code is sleeping in the sandbox
    cancel.click()
    # The run answers at once (its timeout is 60 s), and says why it ended.
    expect(output.get_by_role("alert")).to_have_text(
        "cancelled: the run was stopped before it ended; nothing was kept", timeout=10_000
    )
    expect(cancel).to_be_hidden()
