"""How a record is named for its users: its primary key, or (a project without one) its
1-based position in the project; internal ids stay in URLs and the API."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient


def _import(client: TestClient, project: str, rows: list[dict[str, object]], **data: str) -> None:
    job = client.post(
        f"/api/projects/{project}/import",
        params={"wait": True},
        files={"file": ("rows.json", json.dumps(rows).encode(), "application/json")},
        data=data,
    ).json()
    assert job["status"] == "done", job


def test_a_keyless_record_is_named_by_its_position_in_the_project(client: TestClient) -> None:
    # Another project first, so the new project's ids do not start at 1.
    _import(client, "other", [{"t": f"other {i}"} for i in range(5)])
    _import(client, "plain", [{"t": "first"}, {"t": "second"}, {"t": "third"}])
    page = client.post("/api/projects/plain/records/query", json={}).json()["records"]
    assert [r["data"]["t"] for r in page] == ["first", "second", "third"]
    assert [r["position"] for r in page] == [1, 2, 3]
    assert page[0]["id"] > 1  # the internal id is not its position
    # A page in another order, and one that starts past the first record, keep the positions.
    backwards = client.post(
        "/api/projects/plain/records/query", json={"order_by": "t", "descending": True}
    ).json()["records"]
    assert [(r["data"]["t"], r["position"]) for r in backwards] == [
        ("third", 3),
        ("second", 2),
        ("first", 1),
    ]
    later = client.post(
        "/api/projects/plain/records/query", json={"where": {"ids": [page[2]["id"], page[1]["id"]]}}
    ).json()["records"]
    assert sorted(r["position"] for r in later) == [2, 3]
    third = client.get(f"/api/projects/plain/records/{page[2]['id']}").json()
    assert third["position"] == 3
    ran = client.post(
        f"/api/projects/plain/records/{page[1]['id']}/run", json={"code": "print(1)"}
    ).json()
    assert ran["position"] == 2
    # Test on chosen records: each row with its position too.
    client.post(
        "/api/projects/plain/attributes",
        json={"name": "size", "data_type": "integer", "code": "def size(r):\n    return 1\n"},
    ).raise_for_status()
    tried = client.post(
        "/api/projects/plain/attributes/size/try", json={"record_ids": [page[2]["id"]]}
    ).json()
    assert [(r["record_id"], r["position"]) for r in tried["results"]] == [(page[2]["id"], 3)]


def test_a_keyed_record_is_named_by_its_key(client: TestClient) -> None:
    _import(client, "keyed", [{"rid": 6, "t": "six"}, {"rid": 7, "t": "seven"}], primary_key="rid")
    page = client.post("/api/projects/keyed/records/query", json={}).json()["records"]
    assert [(r["key"], r["position"]) for r in page] == [("[6]", None), ("[7]", None)]
    assert client.get(f"/api/projects/keyed/records/{page[0]['id']}").json()["position"] is None
