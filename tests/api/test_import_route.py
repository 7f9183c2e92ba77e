"""Uploading a file: a new project by default, refused when the name is taken; adding to an
existing project only when asked (``into=existing``), with a preview of what it changes."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

EXPORT = [
    {"running_id": 1, "headline": "You won't believe this", "__clickbait__MANUAL": "yes"},
    {"running_id": 2, "headline": "Parliament passes budget", "__clickbait__MANUAL": "no"},
]


def _upload(client: TestClient, project: str, rows: list[dict[str, object]], **data: str) -> object:
    return client.post(
        f"/api/projects/{project}/import",
        params={"wait": True},
        files={"file": ("clickbait.json", json.dumps(rows).encode(), "application/json")},
        data={"primary_key": "running_id", **data},
    )


def test_a_new_project_refuses_a_name_that_exists(client: TestClient) -> None:
    first = _upload(client, "clickbait", EXPORT)
    assert first.json()["status"] == "done", first.json()  # type: ignore[attr-defined]
    jobs_before = client.get("/api/jobs").json()
    again = _upload(client, "clickbait", [*EXPORT, {"running_id": 3, "headline": "x"}])
    assert again.status_code == 409, again.text  # type: ignore[attr-defined]
    error = again.json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == "conflict"
    assert "'clickbait' already exists" in error["message"]
    assert error["detail"] == {"project": "clickbait"}
    # Nothing merged, and no job started.
    project = client.get("/api/projects/clickbait").json()
    assert project["records"] == 2
    assert client.get("/api/jobs").json() == jobs_before
    # The archive of a project is refused the same way.
    archive = client.get("/api/projects/clickbait/export", params={"format": "project"})
    restored = client.post(
        "/api/projects/clickbait/import",
        files={"file": ("clickbait.assay.json", archive.content, "application/json")},
    )
    assert restored.status_code == 409, restored.text


def test_adding_to_an_existing_project_is_explicit(client: TestClient) -> None:
    _upload(client, "clickbait", EXPORT)
    more = [
        {"running_id": 2, "headline": "Parliament passes budget", "__clickbait__MANUAL": "yes"},
        {"running_id": 3, "headline": "Ten cats", "__clickbait__MANUAL": "yes"},
    ]
    added = _upload(client, "clickbait", more, into="existing", annotator="ann")
    job = added.json()  # type: ignore[attr-defined]
    assert job["status"] == "done", job
    assert job["result"]["created"] == 1 and job["result"]["updated"] == 1
    assert client.get("/api/projects/clickbait").json()["records"] == 3
    missing = _upload(client, "nowhere", more, into="existing")
    assert missing.status_code == 404  # type: ignore[attr-defined]
    assert "'nowhere'" in missing.json()["error"]["message"]  # type: ignore[attr-defined]
    assert client.get("/api/projects/nowhere").status_code == 404
    archive = client.get("/api/projects/clickbait/export", params={"format": "project"})
    into_existing = client.post(
        "/api/projects/clickbait/import",
        files={"file": ("clickbait.assay.json", archive.content, "application/json")},
        data={"into": "existing"},
    )
    assert into_existing.status_code == 422, into_existing.text
    assert "archive" in into_existing.json()["error"]["message"]


def test_the_preview_says_what_adding_a_file_changes(client: TestClient) -> None:
    _upload(client, "clickbait", EXPORT)
    rows = [
        {"running_id": 2, "headline": "Parliament passes budget", "topic": "politics",
         "__clickbait__MANUAL": "no", "__clickbait__WEAK_SUPERVISION": "no",
         "__sentiment__MANUAL": None},
        {"running_id": 3, "headline": "Ten cats", "topic": "pets",
         "__clickbait__MANUAL": "yes", "__clickbait__WEAK_SUPERVISION": "yes",
         "__sentiment__MANUAL": "positive"},
        {"running_id": 4, "headline": "Rain", "topic": "weather",
         "__clickbait__MANUAL": None, "__clickbait__WEAK_SUPERVISION": "no",
         "__sentiment__MANUAL": None},
    ]  # fmt: skip
    preview = client.post(
        "/api/imports/preview",
        files={"file": ("clickbait.json", json.dumps(rows).encode())},
        data={"project": "clickbait", "annotator": "alice"},
    )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["addition"] == {
        "project": "clickbait",
        "primary_key": ["running_id"],
        "records_new": 2,
        "records_updated": 1,
        "attributes_new": ["topic"],
        "tasks_new": ["sentiment"],
        "annotator": "alice",
        "weak_supervision_source": "import",
        "problem": None,
    }
    labels = {c["name"]: (c["source"], c["labels"]) for c in body["label_columns"]}
    assert labels == {
        "__clickbait__MANUAL": ("manual", 2),
        "__clickbait__WEAK_SUPERVISION": ("weak_supervision", 3),
        "__sentiment__MANUAL": ("manual", 1),
    }
    # A file the import would refuse says why, before anything is imported.
    keyless = [{"headline": "no key here"}]
    refused = client.post(
        "/api/imports/preview",
        files={"file": ("keyless.json", json.dumps(keyless).encode())},
        data={"project": "clickbait"},
    ).json()
    assert "running_id" in refused["addition"]["problem"]
    assert refused["addition"]["records_new"] is None
    # Without a project there is nothing to add to.
    plain = client.post(
        "/api/imports/preview", files={"file": ("x.json", json.dumps(EXPORT).encode())}
    )
    assert plain.json()["addition"] is None
    unknown = client.post(
        "/api/imports/preview",
        files={"file": ("x.json", json.dumps(EXPORT).encode())},
        data={"project": "nowhere"},
    )
    assert unknown.status_code == 404
