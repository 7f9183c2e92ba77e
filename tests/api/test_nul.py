"""Values that not every database stores (NUL, a non-finite number) answer 422 naming their
place, on SQLite as on PostgreSQL (where NUL used to answer 500), and change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

NUL = "a\u0000b"


@pytest.fixture
def project(client: TestClient) -> str:
    client.post("/api/projects", json={"name": "p"}).raise_for_status()
    client.post(
        "/api/projects/p/tasks", json={"name": "t", "type": "classification", "labels": ["x"]}
    ).raise_for_status()
    return "p"


def _refused(response: Any, location: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["detail"]["location"] == location
    assert error["message"].startswith(f"{location}: a NUL character")


@pytest.mark.parametrize(
    ("path", "body", "location"),
    [
        ("/api/projects", {"name": NUL}, "body.name"),
        ("/api/projects", {"name": "q", "description": NUL}, "body.description"),
        ("/api/projects/p/tasks", {"name": NUL, "type": "classification"}, "body.name"),
        ("/api/projects/p/tasks/t/labels", {"name": NUL}, "body.name"),
        ("/api/projects/p/lookup-lists", {"name": NUL}, "body.name"),
        ("/api/projects/p/lookup-lists/l/terms", {"terms": ["ok", NUL]}, "body.terms[1]"),
        ("/api/projects/p/slices", {"name": "s", "where": {"search": NUL}}, "body.where.search"),
        (
            "/api/projects/p/records/query",
            {"where": {"attribute": "text", "op": "equals", "value": NUL}},
            "body.where.value",
        ),
        (
            "/api/projects/p/heuristics",
            {"task": "t", "name": "h", "code": f"def h(r):\n    return '{NUL}'\n"},
            "body.code",
        ),
        ("/api/projects/p/records/1/annotations", {"task": "t", "label": NUL}, "body.label"),
    ],
)
def test_nul_in_a_json_body_is_refused_naming_the_field(
    client: TestClient, project: str, path: str, body: dict[str, Any], location: str
) -> None:
    before = client.get("/api/projects/p").json()
    _refused(client.post(path, json=body), location)
    assert client.get("/api/projects/p").json() == before
    assert [p["name"] for p in client.get("/api/projects").json()] == ["p"]


def test_nul_in_a_query_or_path_is_refused(client: TestClient, project: str) -> None:
    _refused(client.get("/api/projects/p/export", params={"slice": NUL}), "query.slice")
    _refused(client.get("/api/projects/a%00b"), "path.project")
    _refused(client.patch("/api/projects/p/tasks/t", json={"name": "u\u0000"}), "body.name")


def test_nul_in_a_form_field_is_refused(client: TestClient) -> None:
    response = client.post(
        "/api/projects/p/import",
        files={"file": ("a.csv", b"text\nhello\n", "text/csv")},
        data={"primary_key": NUL},
    )
    _refused(response, "body.primary_key")
    assert client.get("/api/projects").json() == []


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_in_a_json_body_are_refused(
    client: TestClient, project: str, number: str
) -> None:
    response = client.post(
        "/api/projects/p/records/query",
        content=f'{{"where": {{"attribute": "n", "op": "gt", "value": {number}}}}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["detail"]["location"] == "body.where.value"
    assert "non-finite number" in error["message"]


def test_a_body_no_route_reads_is_not_parsed_into_an_error(client: TestClient) -> None:
    client.post("/api/projects", json={"name": "p"}).raise_for_status()
    response = client.request(
        "DELETE", "/api/projects/p", content=b"{", headers={"content-type": "application/json"}
    )
    assert response.status_code == 204
