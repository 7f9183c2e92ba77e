"""Curating in Chromium (issue 14): on the clickbait sample with 200 labeled records (some
labels flipped on purpose, three records whose annotators disagree, two copies of existing
headlines, one of them labeled against its original) and an embedding of the headlines, the
curate page selects records to label next (coreset) and opens the labeling session on them;
splits the labeled records and shows the report; checks the labels and opens the ranked
label errors in the labeling suite, where `k` keeps a label and a label's key changes it;
finds the exact duplicates and flags the group with mixed labels.

The Workbench of these tests (``curated``) opens the server's own SQLite database, so what it
writes the page shows, and what the page does the API reads back. The tests build on each
other, in order, on one server."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from assay.config import Settings
from assay.services import samples
from assay.workbench import Workbench

PROJECT = TASK = "clickbait"
CURATE = f"/projects/{PROJECT}/curate"
ANNOTATOR = "ann"
REVIEWER = "rita"
LABELED = 200  # the first records of the sample, labeled from the gold answers
FLIPPED = range(10, LABELED, 20)  # positions among them whose label is flipped: 10 errors
DISPUTED = (3, 4, 5)  # running_ids a second annotator labels the other way
COPIES = {5000: 0, 5001: 1}  # new running_id: the running_id whose headline it copies
PICKS = 10
HOTKEYS = {"yes": "1", "no": "2"}


def other(label: str) -> str:
    return "no" if label == "yes" else "yes"


@pytest.fixture(scope="module")
def curated(server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workbench]:
    """The sample with its labels, copies and embedding, written through a Workbench on the
    server's database."""
    folder = tmp_path_factory.mktemp("curate")
    gold = {answer["running_id"]: answer["clickbait"] for answer in samples.gold()}
    headlines = {row["running_id"]: row["headline"] for row in samples.data()}
    workbench = Workbench(Settings(data_dir=server.data_dir, database_url=None))
    try:
        workbench.create_sample("clickbait")
        copies = _csv(
            folder / "copies.csv",
            ["running_id", "headline"],
            [[new, headlines[old]] for new, old in COPIES.items()],
        )
        workbench.import_file(copies, PROJECT, primary_key=["running_id"], into="existing")
        rows = []
        for position, running_id in enumerate(sorted(gold)[:LABELED]):
            label = gold[running_id]
            rows.append(
                [running_id, TASK, other(label) if position in FLIPPED else label, ANNOTATOR]
            )
        rows += [[running_id, TASK, other(gold[running_id]), "bob"] for running_id in DISPUTED]
        # One copy labeled against its original (a mixed group), one like it.
        rows.append([5000, TASK, other(gold[COPIES[5000]]), ANNOTATOR])
        rows.append([5001, TASK, gold[COPIES[5001]], ANNOTATOR])
        labels = _csv(folder / "labels.csv", ["key", "task", "label", "annotator"], rows)
        assert workbench.annotate_file(PROJECT, labels) == {"applied": len(rows)}
        job = workbench.add_embedding(PROJECT, "headline", wait=True)
        assert job["status"] == "done", job
        yield workbench
    finally:
        workbench.close()


def _csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def wait_job_done(page: Any, title: str, timeout: int = 60_000) -> None:
    toast = page.get_by_test_id("jobs").locator(".toast", has_text=title).first
    expect(toast).to_have_attribute("data-status", "done", timeout=timeout)


def row_ids(table: Any) -> list[int]:
    found = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(row => row.getAttribute('data-record'))"
    )
    return [int(record) for record in found]


def slice_ids(server: Any, name: str) -> list[int]:
    answer = server.api.post(
        f"/api/projects/{PROJECT}/records/query",
        json={"where": {"slice": name}, "order_by": f"slice:{name}", "limit": 500},
    )
    answer.raise_for_status()
    return [record["id"] for record in answer.json()["records"]]


def key_of(finding: dict[str, Any]) -> int:
    """A finding's running_id (its stored key is the JSON list of its key values)."""
    running_id: int = json.loads(finding["key"])[0]
    return running_id


def manual(server: Any, record: int, annotator: str) -> list[str]:
    detail = server.api.get(f"/api/projects/{PROJECT}/records/{record}").json()
    return [
        a["label"]
        for a in detail["labels"][TASK]["annotations"]
        if a["source"] == "manual" and a["annotator"] == annotator
    ]


def test_select_what_to_label_next(page: Any, server: Any, curated: Workbench, shot: Any) -> None:
    page.goto(f"/projects/{PROJECT}")
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Curate").click()
    expect(page).to_have_url(re.compile(f"{CURATE}$"))
    form = page.get_by_role("form", name="Selection")
    form.get_by_label("Strategy").select_option("coreset")
    form.get_by_label("Records", exact=True).fill(str(PICKS))
    expect(form.get_by_label("Only records without a manual label")).to_be_checked()
    form.get_by_role("button", name="Select").click()
    wait_job_done(page, f"Select {PICKS} records (coreset)")

    picks = page.get_by_test_id("picks")
    expect(picks.get_by_role("heading")).to_have_text(f"{PICKS} records picked by coreset")
    table = picks.get_by_test_id("pick-table")
    expect(table.locator("tbody tr")).to_have_count(PICKS)
    summary = picks.get_by_test_id("selection-summary").inner_text()
    name = re.search(r"slice (selection-\d+)", summary)
    assert name, summary
    # The picks are the slice's records, in its order, none of them labeled before.
    shown = row_ids(table)
    assert shown == slice_ids(server, name.group(1))
    assert all(manual(server, record, ANNOTATOR) == [] for record in shown)
    shot("curate-selection")

    picks.get_by_role("link", name="Label these").click()
    expect(page).to_have_url(re.compile(f"/projects/{PROJECT}/labeling\\?"))
    query = parse_qs(urlparse(page.url).query)
    assert query["slice"] == [name.group(1)]
    assert query["order"] == [f"slice:{name.group(1)}"]
    expect(page.get_by_test_id("position")).to_have_text(f"record 1 of {PICKS}")
    # Back on the curate page, a reload reads the picks back from their slice (the URL names
    # it), in the same order.
    page.go_back()
    expect(page).to_have_url(re.compile(f"{CURATE}\\?picks={name.group(1)}$"))
    page.reload()
    expect(page.get_by_test_id("picks").get_by_role("heading")).to_contain_text(name.group(1))
    assert row_ids(page.get_by_test_id("pick-table")) == shown


def test_split_and_its_report(page: Any, server: Any, curated: Workbench, shot: Any) -> None:
    page.goto(f"{CURATE}?view=split")
    expect(page.get_by_test_id("empty")).to_contain_text("No split yet")
    form = page.get_by_role("form", name="New split")
    expect(form.get_by_label("Sets")).to_have_value("train=0.8,validation=0.1,test=0.1")
    form.get_by_label("Sets").fill("train=0.7,test=0.3")
    form.get_by_role("button", name="Split").click()
    wait_job_done(page, "Split the labeled records")

    report = page.get_by_test_id("split-report")
    expect(report.get_by_test_id("split-sets").locator("tbody tr")).to_have_count(2)
    stored = server.api.get(f"/api/projects/{PROJECT}/splits").json()
    assert [s["name"] for s in stored["sets"]] == ["train", "test"]
    for split_set in stored["sets"]:
        row = report.get_by_test_id("split-sets").locator(f"tr[data-set='{split_set['name']}']")
        expect(row.locator("[data-stat=records]")).to_have_text(f"{split_set['records']:,}")
        for label, count in split_set["labels"].items():
            expect(row.locator(f"td[data-label='{label}']")).to_contain_text(f"{count:,}")
    # Every labeled record but the disputed ones is in a set.
    assert stored["records"] == LABELED + len(COPIES) - len(DISPUTED)
    expect(report.get_by_test_id("split-distances").locator("tbody tr")).to_have_count(2)
    expect(report.get_by_test_id("split-duplicates")).to_contain_text("0 across sets")
    shot("curate-split")
    # A set's name opens its records in the data browser.
    test_set = next(s for s in stored["sets"] if s["name"] == "test")
    report.get_by_role("link", name="test", exact=True).click()
    expect(page).to_have_url(re.compile(f"/projects/{PROJECT}/browser\\?"))
    expect(page.get_by_test_id("result-count").first).to_contain_text(f"of {test_set['records']:,}")


def test_label_quality_and_its_review(
    page: Any, server: Any, curated: Workbench, shot: Any
) -> None:
    page.add_init_script(f"window.localStorage.setItem('assay.annotator', '{REVIEWER}')")
    page.goto(f"{CURATE}?view=quality")
    expect(page.get_by_test_id("empty")).to_contain_text(f"No check of {TASK} yet")
    page.get_by_role("form", name="Check labels").get_by_role("button", name="Run check").click()
    wait_job_done(page, f"Check the labels of {TASK}")

    lists = page.get_by_test_id("quality-lists")
    stored = server.api.get(
        f"/api/projects/{PROJECT}/tasks/{TASK}/quality", params={"list": "label_error"}
    ).json()
    assert stored["total"] > 0
    findings = lists.get_by_test_id("findings")
    expect(findings.locator("tbody tr").first).to_be_visible()
    assert row_ids(findings) == [f["id"] for f in stored["findings"]]
    top = stored["findings"][0]
    first = findings.locator("tbody tr").first
    expect(first.locator("[data-stat=given]")).to_have_text(top["given"])
    expect(first.locator("[data-stat=suggested]")).to_have_text(top["suggested"] or "—")
    expect(lists.get_by_test_id("count-label_error")).to_have_text(f"{stored['total']:,}")
    # The annotators' disagreements: the three disputed records.
    lists.get_by_role("tab", name=re.compile("^Annotator disagreement")).click()
    expect(page).to_have_url(re.compile("list=annotator_disagreement"))
    expect(lists.get_by_test_id("findings").locator("tbody tr")).to_have_count(len(DISPUTED))
    lists.get_by_role("tab", name=re.compile("^Label errors")).click()
    shot("curate-quality")

    lists.get_by_role("link", name="Review in labeling").click()
    expect(page).to_have_url(re.compile(f"/projects/{PROJECT}/labeling\\?"))
    query = parse_qs(urlparse(page.url).query)
    assert query["slice"] == [stored["slice"]]
    position = page.get_by_test_id("position")
    expect(position).to_have_text(f"record 1 of {stored['total']:,}")
    record_name = page.get_by_test_id("record-name")
    expect(record_name).to_have_text(f"running_id {key_of(top)}")
    # k keeps the first record's label (nothing stored) and moves on; a label's key changes
    # the second's.
    page.keyboard.press("k")
    expect(position).to_have_text(f"record 2 of {stored['total']:,}")
    assert manual(server, top["id"], REVIEWER) == []
    second = stored["findings"][1]
    expect(record_name).to_have_text(f"running_id {key_of(second)}")
    changed = second["suggested"] or other(second["given"])
    with page.expect_response(
        lambda r: (
            r.url.endswith(f"/records/{second['id']}/annotations") and r.request.method == "POST"
        )
    ) as saved:
        page.keyboard.press(HOTKEYS[changed])
    assert saved.value.ok
    expect(position).to_have_text(f"record 3 of {stored['total']:,}")
    assert manual(server, second["id"], REVIEWER) == [changed]


def test_exact_duplicates(page: Any, server: Any, curated: Workbench, shot: Any) -> None:
    page.goto(f"{CURATE}?view=duplicates")
    expect(page.get_by_test_id("empty")).to_contain_text("No exact duplicates searched yet")
    form = page.get_by_role("form", name="Find duplicates")
    expect(form.get_by_label("Kind")).to_have_value("exact")
    form.get_by_role("button", name="Find duplicates").click()
    wait_job_done(page, "Find exact duplicates")

    groups = page.get_by_test_id("duplicate-groups")
    expect(groups.get_by_test_id("duplicates-summary")).to_contain_text(
        f"{len(COPIES)} exact groups of {2 * len(COPIES)} records"
    )
    expect(groups.get_by_test_id("duplicate-group")).to_have_count(len(COPIES))
    mixed = groups.locator("[data-testid=duplicate-group][data-mixed=true]")
    expect(mixed).to_have_count(1)
    expect(mixed).to_contain_text("mixed labels")
    expect(mixed).to_contain_text("running_id 5000")
    expect(mixed).to_contain_text("running_id 0")
    shot("curate-duplicates")

    toggle = groups.get_by_label("Mixed labels only")
    toggle.click()  # the URL changes, then the box shows it (check() looks in between)
    expect(toggle).to_be_checked()
    expect(page).to_have_url(re.compile("mixed=1"))
    expect(page.get_by_test_id("duplicate-group")).to_have_count(1)
    expect(page.get_by_test_id("duplicate-group")).to_contain_text("running_id 5000")
