"""Lookup lists over HTTP: the same documents as the Workbench, uploads and downloads."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

LISTS = "/api/projects/p/lookup-lists"


@pytest.fixture
def client(client: TestClient) -> TestClient:
    client.post("/api/projects", json={"name": "p"}).raise_for_status()
    return client


def test_lists_terms_import_export(client: TestClient) -> None:
    created = client.post(LISTS, json={"name": "Country Related"})
    assert created.status_code == 201 and created.json()["module"] == "country_related"
    clash = client.post(LISTS, json={"name": "country related"})
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "conflict"
    added = client.post(f"{LISTS}/Country Related/terms", json={"terms": ["France", " Peru "]})
    assert added.json()["changed"] == {"added": 2, "blacklisted": 0}
    black = client.post(
        f"{LISTS}/Country Related/terms", json={"terms": ["Peru"], "blacklisted": True}
    )
    assert (black.json()["terms"], black.json()["blacklisted"]) == (2, 1)
    upload = client.post(
        f"{LISTS}/Country Related/import",
        files={"file": ("more.csv", b"term,blacklisted\nChile,false\nMars,true\n")},
    )
    assert upload.json()["changed"] == {"added": 2, "blacklisted": 1}
    text = client.get(f"{LISTS}/Country Related/export")
    assert text.text == "Chile\nFrance\n" and text.headers["content-type"].startswith("text/plain")
    table = client.get(f"{LISTS}/Country Related/export", params={"format": "csv"})
    assert table.text.splitlines() == [
        "term,blacklisted",
        "Chile,false",
        "France,false",
        "Mars,true",
        "Peru,true",
    ]
    removed = client.post(f"{LISTS}/Country Related/terms/remove", json={"terms": ["Chile"]})
    assert removed.json()["changed"] == {"removed": 1}
    detail = client.get(f"{LISTS}/Country Related").json()
    assert [e["term"] for e in detail["entries"]] == ["France", "Mars", "Peru"]
    assert client.delete(f"{LISTS}/Country Related").status_code == 204
    missing = client.get(f"{LISTS}/Country Related")
    assert missing.status_code == 404 and "no lookup list" in missing.json()["error"]["message"]
    bad = client.post(f"{LISTS}/x/import", files={"file": ("t.txt", "caf\xe9".encode("latin-1"))})
    assert bad.status_code == 422 and "not UTF-8" in bad.json()["error"]["message"]
