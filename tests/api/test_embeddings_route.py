"""Embeddings over HTTP: add (a job), list, get, rerun, delete, errors in the one shape."""

from __future__ import annotations

from fastapi.testclient import TestClient

E = "/api/projects/cb/embeddings"


def test_add_list_run_delete(cb_client: TestClient) -> None:
    job = cb_client.post(E, json={"attribute": "headline"}, params={"wait": "true"})
    assert job.status_code == 202, job.text
    body = job.json()
    assert body["kind"] == "embedding" and body["status"] == "done", body
    embedding = body["result"]["embedding"]
    assert (embedding["name"], embedding["state"]) == ("headline-tfidf-svd", "ready")
    assert embedding["last_run"]["records"] == 1400

    listed = cb_client.get(E).json()
    assert [e["name"] for e in listed] == ["headline-tfidf-svd"]
    got = cb_client.get(f"{E}/headline-tfidf-svd").json()
    assert got["dimensions"] == embedding["dimensions"] and got["semantic"] is False

    rerun = cb_client.post(f"{E}/headline-tfidf-svd/run", params={"wait": "true"}).json()
    assert rerun["status"] == "done"
    assert rerun["result"]["embedding"]["last_run"]["embedded"] == 0

    duplicate = cb_client.post(E, json={"attribute": "headline", "name": "x"})
    assert duplicate.status_code == 409
    assert "already embeds" in duplicate.json()["error"]["message"]
    wrong = cb_client.post(E, json={"attribute": "headline", "embedder": "st:/no/such/model"})
    assert wrong.status_code == 422 and "does not exist" in wrong.json()["error"]["message"]
    assert cb_client.post(E, json={"attribute": "running_id"}).status_code == 422

    assert cb_client.delete(f"{E}/headline-tfidf-svd").status_code == 204
    missing = cb_client.get(f"{E}/headline-tfidf-svd")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
