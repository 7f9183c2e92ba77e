"""The production loop in Chromium (issue 13): the models page shows the live version with its
test-split figures; a second version is trained from the page, promoted and rolled back from
it; predictions stored through the Workbench are reviewed with the keyboard on the review
page (accept with ``a``, reject with ``r``, correct with ``c`` then a label's key), and the
accepted one is the reviewer's manual label; an audit item is answered blind and counts in the
live accuracy.

The Workbench of these tests (``bench``, conftest.py) opens the server's own SQLite database
(its data dir), so what it writes the page shows, and what the page does the Workbench reads.
The tests build on each other, in order, on one server."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from assay.workbench import Workbench

PROJECT = "clickbait"
TASK = "clickbait"
MODELS = f"/projects/{PROJECT}/models"
REVIEW = f"/projects/{PROJECT}/review"
REVIEWER = "rita"
TEXTS = [
    "You Won't Believe What This Cat Did Next",
    "Parliament approves the budget for next year",
    "17 Tricks Doctors Don't Want You To Know",
]


def wait_job_done(page: Any, title: str, timeout: int = 120_000) -> None:
    toast = page.get_by_test_id("jobs").locator(".toast", has_text=title).first
    expect(toast).to_have_attribute("data-status", "done", timeout=timeout)


def version_row(page: Any, version: int) -> Any:
    return page.get_by_test_id("model-versions").locator(f"tr[data-version='{version}']")


def records(texts: list[str], first: int) -> list[dict[str, Any]]:
    """Texts as new records of the sample (keyed by running_id, from ``first`` on)."""
    return [{"running_id": first + i, "headline": text} for i, text in enumerate(texts)]


def live_version(bench: Workbench) -> int | None:
    live: int | None = bench.models_overview(PROJECT, TASK)["live_version"]
    return live


def set_reviewer(page: Any) -> None:
    """The reviewer's name in the top bar; the field then lets go of the keys."""
    field = page.get_by_label("Annotator name")
    field.fill(REVIEWER)
    field.blur()


def test_models_page_shows_the_live_version(page: Any, bench: Workbench, shot: Any) -> None:
    overview = bench.models_overview(PROJECT, TASK)
    assert overview["live_version"] == 1
    first = overview["versions"][0]
    metrics = first["metrics"]

    page.goto("/projects/clickbait")
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Models").click()
    expect(page).to_have_url(re.compile(f"{MODELS}$"))
    row = version_row(page, 1)
    expect(row).to_have_attribute("data-status", "live")
    expect(row.locator("[data-stat=macro-f1]")).to_have_text(f"{metrics['macro_f1']:.3f}")
    expect(row.locator("[data-stat=accuracy]")).to_contain_text(f"{100 * metrics['accuracy']:.1f}%")
    expect(page.get_by_test_id("live-version")).to_have_text("Live: version 1")

    # The version shown below: its confusion matrix (true rows, predicted columns), the
    # reliability curve and the per-label figures, and the artifact to download.
    detail = page.get_by_test_id("version-detail")
    expect(detail.get_by_role("heading", name="Version 1")).to_be_visible()
    confusion = metrics["confusion"]
    assert confusion is not None
    matrix = detail.get_by_role("img", name=re.compile("^Confusion matrix of version 1"))
    expect(matrix).to_be_visible()
    total = sum(sum(row) for row in confusion["counts"])
    assert total == metrics["test_records"]
    expect(detail.get_by_role("img", name=re.compile("^Reliability of version 1"))).to_be_visible()
    per_label = detail.get_by_test_id("per-label").locator("tbody tr")
    expect(per_label).to_have_count(len(metrics["per_label"]))
    link = detail.get_by_role("link", name="Download the artifact")
    href = link.get_attribute("href") or ""
    artifact = page.request.get(href)
    assert artifact.ok
    assert artifact.body() == bench.export_model(PROJECT, TASK, 1)
    shot("models-v1")


def test_train_promote_and_roll_back_from_the_page(page: Any, bench: Workbench, shot: Any) -> None:
    page.goto(MODELS)
    expect(version_row(page, 1)).to_have_attribute("data-status", "live")
    train = page.get_by_role("region", name="Train")
    train.get_by_label("Algorithm").select_option("tfidf-nb")
    train.get_by_role("button", name="Train").click()
    wait_job_done(page, f"Train a model of {TASK}")
    second = version_row(page, 2)
    expect(second).to_be_visible()
    v2 = bench.get_model(PROJECT, TASK, 2)
    assert v2["algorithm"] == "tfidf-nb"
    assert v2["decision"] is not None
    expect(second).to_have_attribute("data-status", v2["status"])
    if v2["status"] == "candidate":  # the paired test did not find it better: it says why
        expect(second.locator("[data-stat=decision]")).to_contain_text("not promoted")
        expect(second.locator("[data-stat=decision]")).to_contain_text(v2["decision"]["reason"])
    # The chart of the figures over versions has both.
    expect(
        page.get_by_role("img", name=re.compile("^Test-split figures by version"))
    ).to_contain_text("v2")

    # Promote the version that is not live, whichever it is, then roll back to the other.
    before = live_version(bench)
    other = 1 if before == 2 else 2
    page.get_by_role("button", name=f"Promote version {other}").click()
    expect(version_row(page, other)).to_have_attribute("data-status", "live")
    expect(version_row(page, before or 0)).to_have_attribute("data-status", "retired")
    expect(page.get_by_test_id("live-version")).to_have_text(f"Live: version {other}")
    assert live_version(bench) == other
    shot("models-promoted")

    page.get_by_role("button", name="Roll back").click()
    dialog = page.get_by_role("dialog", name="Roll back")
    dialog.get_by_role("button", name="Roll back").click()
    expect(dialog).to_be_hidden()
    expect(version_row(page, before or 0)).to_have_attribute("data-status", "live")
    expect(page.get_by_test_id("live-version")).to_have_text(f"Live: version {before}")
    assert live_version(bench) == before


def test_review_with_the_keyboard(page: Any, bench: Workbench, shot: Any) -> None:
    served = bench.predict(PROJECT, TASK, records=records(TEXTS, 10_000), store=True)
    assert all(p["record_id"] is not None for p in served["predictions"])
    # The queue's order, as the API gives it (oldest first; one call's items may tie).
    queue = bench.list_predictions(PROJECT, TASK)["predictions"]
    assert sorted(p["text"] for p in queue) == sorted(TEXTS)
    assert not any(p["audit"] for p in queue)

    page.goto(REVIEW)
    set_reviewer(page)
    expect(page.get_by_test_id("pending-count")).to_contain_text(f"{len(TEXTS)} pending")
    item = page.get_by_test_id("review-item")
    text = page.get_by_test_id("review-text")
    expect(text).to_have_text(queue[0]["text"])
    expect(item.get_by_test_id("suggestion")).to_contain_text(str(queue[0]["label"]))
    shot("review-queue")

    page.keyboard.press("a")  # accept the first
    expect(text).to_have_text(queue[1]["text"])
    page.keyboard.press("r")  # reject the second
    expect(text).to_have_text(queue[2]["text"])
    expect(page.get_by_test_id("pending-count")).to_contain_text("1 pending")
    # Correct the third: c, then the hotkey of the label the model did not give.
    other = "no" if queue[2]["label"] == "yes" else "yes"
    hotkey = {"yes": "1", "no": "2"}[other]
    page.keyboard.press("c")
    expect(item.get_by_role("group", name="Labels")).to_be_visible()
    page.keyboard.press(hotkey)
    expect(page.get_by_test_id("empty")).to_contain_text("Nothing to review")
    # The queue moves on at once; the last review is named once the server has stored it.
    expect(page.get_by_test_id("last-review")).to_have_text(f"· last: correct ({other}), saved")
    expect(page.get_by_test_id("pending-count")).to_contain_text("0 pending")

    def manual(index: int) -> list[str]:
        record = bench.get_record(PROJECT, queue[index]["record_id"])
        return [
            a["label"]
            for a in record["labels"][TASK]["annotations"]
            if a["source"] == "manual" and a["annotator"] == REVIEWER
        ]

    assert manual(0) == [queue[0]["label"]]  # accepted: the reviewer's manual label
    assert manual(1) == []  # rejected: no label of the reviewer's
    assert manual(2) == [other]  # corrected
    reviewed = bench.list_predictions(PROJECT, TASK, status=None)["predictions"]
    statuses = {p["id"]: (p["status"], p["reviewer"]) for p in reviewed}
    assert [statuses[p["id"]] for p in queue] == [
        ("accepted", REVIEWER),
        ("rejected", REVIEWER),
        ("corrected", REVIEWER),
    ]


def test_audit_item_is_answered_blind(page: Any, bench: Workbench, shot: Any) -> None:
    # Every served prediction audited, set on the models page's settings.
    page.goto(MODELS)
    settings = page.get_by_role("region", name="Settings")
    settings.get_by_label("Audit share of served predictions").fill("1")
    with page.expect_response(
        lambda r: r.url.endswith("/models/settings") and r.request.method == "PATCH"
    ) as saved:
        settings.get_by_role("button", name="Save settings").click()
    assert saved.value.ok
    expect(settings.get_by_label("Audit share of served predictions")).to_have_value("1")
    expect(settings.get_by_role("button", name="Save settings")).to_be_disabled()
    assert bench.model_settings(PROJECT, TASK)["audit_share"] == 1.0

    text = "Ten Reasons Your Morning Coffee Is Secretly Amazing"
    served = bench.predict(PROJECT, TASK, records=records([text], 20_000), store=True)[
        "predictions"
    ][0]
    page.goto(REVIEW)
    set_reviewer(page)
    item = page.get_by_test_id("review-item")
    expect(item).to_have_attribute("data-audit", "1")
    expect(page.get_by_test_id("review-text")).to_have_text(text)
    expect(item.get_by_test_id("suggestion")).to_have_count(0)  # the model's answer is hidden
    page.keyboard.press("a")  # no accepting blind: nothing happens
    expect(item).to_be_visible()
    shot("review-audit")
    page.keyboard.press("1")  # answer "yes" with its hotkey
    expect(page.get_by_test_id("empty")).to_contain_text("Nothing to review")
    expect(page.get_by_test_id("last-review")).to_have_text("· last: correct (yes), saved")

    live = bench.live_accuracy(PROJECT, TASK)
    assert live["reviewed"] == 1
    assert live["correct"] == (1 if served["label"] == "yes" else 0)
    page.goto(MODELS)
    expect(page.get_by_test_id("live-accuracy")).to_contain_text(
        f"({live['correct']} of 1 reviewed correct)"
    )


def test_review_page_of_a_project_without_predictions(page: Any, bench: Workbench) -> None:
    bench.create_sample("clickbait", name="empty-queue")
    page.goto("/projects/empty-queue/review")
    expect(page.get_by_test_id("empty")).to_contain_text("Nothing to review")
    page.goto("/projects/empty-queue/models")
    expect(page.get_by_test_id("empty")).to_contain_text("No model of clickbait yet")
    expect(page.get_by_test_id("live-version")).to_have_text("No live model")
