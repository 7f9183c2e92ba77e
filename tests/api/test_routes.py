"""The REST API in-process (httpx over ASGI), on both databases, with the one error shape."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay import Workbench
from assay.api.app import create_app


def _error(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "detail"}
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def _wait(client: TestClient, job_id: int) -> dict[str, object]:
    for _ in range(200):
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end")


def test_story_through_the_api(client: TestClient, tmp_path: Path) -> None:
    created = client.post("/api/samples/clickbait", params={"variant": "initial"})
    assert created.status_code == 201
    project = created.json()
    assert project["records"] == 1400
    assert [a["name"] for a in project["attributes"]] == ["running_id", "headline"]
    assert {t["name"]: t["type"] for t in project["tasks"]} == {
        "clickbait": "classification",
        "entities": "extraction",
    }
    listed = client.get("/api/projects").json()
    assert [p["name"] for p in listed] == ["clickbait"]

    found = client.post(
        "/api/projects/clickbait/records/query", json={"where": {"search": "Mike Tyson"}}
    ).json()
    assert found["total"] >= 5
    assert all("mike tyson" in r["data"]["headline"].lower() for r in found["records"])

    renamed = client.patch(
        "/api/projects/clickbait/tasks/clickbait/labels/yes", json={"name": "clickbait"}
    )
    assert renamed.json()["name"] == "clickbait"
    labeled = client.post(
        "/api/projects/clickbait/records/running_id=6/annotations",
        json={"task": "clickbait", "label": "clickbait", "annotator": "ann"},
    )
    assert labeled.status_code == 200
    assert labeled.json()["reference"] == {"state": "agreed", "value": "clickbait"}
    record = client.get("/api/projects/clickbait/records/running_id=6").json()
    tokens = record["tokens"]["headline"]
    span = client.post(
        "/api/projects/clickbait/records/running_id=6/annotations",
        json={
            "task": "entities",
            "label": "country_related",
            "annotator": "ann",
            "start_token": 0,
            "end_token": 1,
        },
    )
    assert span.json()["reference"]["value"][0]["start_token"] == 0
    removed = client.post(
        "/api/projects/clickbait/records/running_id=6/annotations/remove",
        json={"task": "entities", "annotator": "ann"},
    )
    assert removed.json()["reference"]["state"] == "none"
    assert tokens[0]["start"] == 0

    ordered = client.post(
        "/api/projects/clickbait/records/query",
        json={
            "where": {"attribute": "headline", "op": "contains", "value": "you"},
            "order_by": "headline",
            "limit": 20,
        },
    ).json()
    headlines = [r["data"]["headline"] for r in ordered["records"]]
    assert headlines == sorted(headlines)
    assert ordered["next_cursor"]

    sliced = client.post(
        "/api/projects/clickbait/slices",
        json={"name": "unlabeled", "where": {"task": "clickbait", "state": "none"}},
    )
    assert sliced.status_code == 201
    assert sliced.json()["records"] == 1399
    assert client.get("/api/projects/clickbait/slices").json()[0]["name"] == "unlabeled"

    exported = client.get("/api/projects/clickbait/export", params={"format": "json"})
    assert exported.status_code == 200
    rows = exported.json()
    assert len(rows) == 1400
    assert "__clickbait__MANUAL" in rows[0]


def test_upload_import_runs_as_a_job_with_events(client: TestClient, tmp_path: Path) -> None:
    content = "id,text\n1,hello world\n2,another one\n"
    response = client.post(
        "/api/projects/up/import",
        files={"file": ("data.csv", content.encode(), "text/csv")},
        data={"primary_key": ["id"]},
    )
    assert response.status_code == 202
    job = _wait(client, response.json()["id"])
    assert job["status"] == "done", job
    assert job["result"]["created"] == 2  # type: ignore[index]
    with client.stream("GET", f"/api/jobs/{job['id']}/events") as stream:
        body = "".join(stream.iter_text())
    assert "event: end" in body
    payload = json.loads(body.split("event: end\ndata: ")[1].strip())
    assert payload["status"] == "done"
    page = client.post("/api/projects/up/records/query", json={}).json()
    assert page["total"] == 2


def test_bad_upload_is_a_failed_job_not_a_500(client: TestClient) -> None:
    response = client.post(
        "/api/projects/bad/import",
        params={"wait": True},
        files={"file": ("data.csv", b"a,b\n1,2,3\n", "text/csv")},
    )
    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "failed"
    assert "row 1" in job["error"] and "3 fields" in job["error"]
    _error(client.get("/api/projects/bad"), 404)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/api/projects/missing", None, 404),
        ("post", "/api/projects", {"name": ""}, 422),
        ("post", "/api/projects", {"wrong": 1}, 422),
        ("post", "/api/projects/missing/records/query", {}, 404),
        ("post", "/api/projects/p/records/query", {"where": {"attribute": "nope"}}, 422),
        ("post", "/api/projects/p/records/query", {"limit": 0}, 422),
        ("post", "/api/projects/p/records/query", {"cursor": "%%%"}, 422),
        ("get", "/api/projects/p/records/999", None, 404),
        ("get", "/api/projects/p/records/k=1", None, 422),
        ("post", "/api/projects/p/tasks", {"name": "t", "type": "bogus"}, 422),
        (
            "post",
            "/api/projects/p/records/1/annotations",
            {"task": "t", "label": "x", "annotator": "a"},
            404,
        ),
        ("get", "/api/projects/p/export?format=xml", None, 422),
        ("get", "/api/jobs/12345", None, 404),
        ("post", "/api/samples/nope", None, 404),
        ("get", "/api/nothing-here", None, 404),
    ],
)
def test_error_shape(client: TestClient, method: str, path: str, body: object, status: int) -> None:
    client.post("/api/projects", json={"name": "p"})
    response = (
        client.request(method, path, json=body)
        if body is not None
        else client.request(method, path)
    )
    _error(response, status)


def test_duplicate_project_is_a_conflict(client: TestClient) -> None:
    assert client.post("/api/projects", json={"name": "p"}).status_code == 201
    assert _error(client.post("/api/projects", json={"name": "p"}), 409)["code"] == "conflict"
    assert client.delete("/api/projects/p").status_code == 204
    _error(client.delete("/api/projects/p"), 404)


def test_openapi_lists_the_routes(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    assert "/api/projects/{project}/records/query" in schema["paths"]
    assert client.get("/docs").status_code == 200
    # Every operation documents a typed response (the web UI's client is generated from it);
    # downloads and event streams document their media type instead.
    streams = ("/export", "/events", "/artifact")
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method == "delete" or path.endswith(streams):
                continue
            body = next(iter(operation["responses"].values()))["content"]["application/json"]
            assert body["schema"], (method, path)
    artifact = schema["paths"]["/api/projects/{project}/tasks/{task}/models/{version}/artifact"]
    assert "application/octet-stream" in artifact["get"]["responses"]["200"]["content"]


def test_unknown_api_path_is_an_error_not_the_ui_page(client: TestClient) -> None:
    assert _error(client.get("/api/no/such/route"), 404)["message"] == (
        "no API route /api/no/such/route"
    )


def test_ui_is_served_at_every_other_path(wb: Workbench, tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<div id=root></div>")
    (tmp_path / "assets" / "app.js").write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    client = TestClient(create_app(wb, ui_dir=tmp_path), base_url="http://127.0.0.1")
    for path in ("/", "/projects/p/browser", "/projects/p/label?i=3"):
        page = client.get(path)
        assert (page.status_code, page.text) == (200, "<div id=root></div>"), path
    assert client.get("/assets/app.js").text == "console.log(1)"
    assert client.get("/favicon.svg").text == "<svg/>"
    assert client.get("/../pyproject.toml").text == "<div id=root></div>"
    assert client.get("/assets/missing.js").status_code == 404


def test_without_a_built_ui_the_front_page_says_how_to_build_it(
    wb: Workbench, tmp_path: Path
) -> None:
    client = TestClient(create_app(wb, ui_dir=tmp_path / "none"), base_url="http://127.0.0.1")
    page = client.get("/")
    assert page.status_code == 200 and "scripts/build-ui" in page.text


def test_names_with_a_slash_are_refused_they_would_split_api_paths(client: TestClient) -> None:
    assert (
        "cannot contain '/'"
        in _error(client.post("/api/projects", json={"name": "a/b"}), 422)["message"]
    )
    client.post("/api/projects", json={"name": "p"}).raise_for_status()
    task = {"name": "t/1", "type": "classification", "labels": ["x"]}
    _error(client.post("/api/projects/p/tasks", json=task), 422)
    task = {"name": "t", "type": "classification", "labels": ["x"]}
    client.post("/api/projects/p/tasks", json=task).raise_for_status()
    _error(client.post("/api/projects/p/slices", json={"name": "s/1"}), 422)
    # A label is the last segment of its paths: it may hold a slash.
    client.post("/api/projects/p/tasks/t/labels", json={"name": "n/a"}).raise_for_status()
    renamed = client.patch("/api/projects/p/tasks/t/labels/n%2Fa", json={"name": "y/n"})
    assert renamed.json()["name"] == "y/n"
    assert client.delete("/api/projects/p/tasks/t/labels/y/n").status_code == 204
    assert [lb["name"] for lb in client.get("/api/projects/p/tasks").json()[0]["labels"]] == ["x"]
    assert client.get("/api/projects").json()[0]["name"] == "p"


def test_preview_shows_first_rows_and_inferred_types_and_imports_nothing(
    client: TestClient,
) -> None:
    rows = [{"id": i, "text": f"t{i}", "mixed": i if i % 2 else "x"} for i in range(12)]
    rows[0]["text__topic__MANUAL"] = "a"
    body = json.dumps(rows).encode()
    preview = client.post("/api/imports/preview", files={"file": ("rows.json", body)})
    assert preview.status_code == 200, preview.text
    found = preview.json()
    assert found["rows"] == 12 and len(found["head"]) == 10
    assert found["head"][1] == {"id": 1, "text": "t1", "mixed": 1, "text__topic__MANUAL": None}
    columns = {c["name"]: (c["data_type"], c["problem"]) for c in found["columns"]}
    assert columns["id"] == ("integer", None) and columns["text"] == ("text", None)
    assert columns["mixed"][0] is None and "mixes types" in columns["mixed"][1]
    assert found["label_columns"] == [
        {
            "name": "text__topic__MANUAL",
            "task": "topic",
            "attribute": "text",
            "source": "manual",
            "labels": 1,  # cells that hold a label
        }
    ]
    assert client.get("/api/projects").json() == []
    bad = client.post("/api/imports/preview", files={"file": ("rows.json", b"[{")})
    assert "rows.json" in _error(bad, 422)["message"]
