"""What used to answer a plain-text 500: each cause answers the one error shape now, and the
catch-all that would answer anything unforeseen does so without server details."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from assay import Workbench
from assay.api.app import create_app
from assay.services.queries import MAX_FILTER_DEPTH

BIG_IDS = (2**31, 2**63, 10**30)  # past PostgreSQL's INTEGER, past SQLite's, past both
LOOPBACK: dict[str, Any] = {"base_url": "http://127.0.0.1", "headers": {"X-Assay-Client": "t"}}


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "detail"}
    error: dict[str, Any] = body["error"]
    return error


def _nested(depth: int) -> str:
    """A filter tree ``depth`` levels deep, as JSON text (json.dumps itself cannot)."""
    leaf = '{"attribute": "headline", "op": "contains", "value": "x"}'
    return '{"not": ' * (depth - 1) + leaf + "}" * (depth - 1)


@pytest.mark.parametrize("depth", [MAX_FILTER_DEPTH + 1, 400, 10_000])
def test_deeply_nested_filters_answer_422_naming_the_limit(
    cb_client: TestClient, depth: int
) -> None:
    for path, body in [
        ("/api/projects/cb/records/query", '{"where": %s}'),
        ("/api/projects/cb/slices", '{"name": "deep", "where": %s}'),
    ]:
        response = cb_client.post(
            path, content=body % _nested(depth), headers={"content-type": "application/json"}
        )
        error = _error(response, 422)
        assert f"at most {MAX_FILTER_DEPTH} levels" in error["message"], error
    assert cb_client.get("/api/projects/cb/slices/deep").status_code == 404


def test_a_filter_at_the_depth_limit_works(cb_client: TestClient) -> None:
    response = cb_client.post(
        "/api/projects/cb/slices",
        content=f'{{"name": "deep", "where": {_nested(MAX_FILTER_DEPTH)}}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 201, response.text
    query = {"where": {"slice": "deep"}, "limit": 1}
    assert cb_client.post("/api/projects/cb/records/query", json=query).status_code == 200
    # A saved slice's tree counts towards the depth of a filter that names it.
    deeper = {"where": {"not": {"slice": "deep"}}}
    error = _error(cb_client.post("/api/projects/cb/records/query", json=deeper), 422)
    assert "<slice deep>" in error["message"]


def _uploads(wb: Workbench) -> list[Path]:
    folder = wb.settings.data_dir / "uploads"
    return list(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("name", [".", "..", "x" * 300 + ".csv"])
def test_an_upload_without_a_usable_file_name_is_refused_and_leaves_nothing(
    cb_client: TestClient, wb: Workbench, name: str
) -> None:
    content = b"headline\nhello\n"
    for path in [
        "/api/projects/new/import",
        "/api/imports/preview",
        "/api/projects/cb/lookup-lists/terms/import",
    ]:
        response = cb_client.post(path, files={"file": (name, content, "text/csv")})
        error = _error(response, 422)
        assert "cannot name a file" in error["message"] and "/" not in error["message"]
    assert _uploads(wb) == []
    assert cb_client.get("/api/projects/new").status_code == 404


@pytest.mark.parametrize("types", ["[1]", "5", '"text"', "null", "{bad", "[" * 100_000])
def test_types_that_are_not_an_object_are_refused(
    client: TestClient, wb: Workbench, types: str
) -> None:
    files = {"file": ("a.csv", b"headline\nhello\n", "text/csv")}
    response = client.post(
        "/api/projects/new/import", files=files, data={"types": types}, params={"wait": True}
    )
    error = _error(response, 422)
    assert error["message"].startswith("types is not a JSON object"), error
    assert _uploads(wb) == []
    assert client.get("/api/jobs").json() == []


def test_types_as_an_object_still_work(client: TestClient) -> None:
    files = {"file": ("a.csv", b"n,headline\n1,hello\n", "text/csv")}
    response = client.post(
        "/api/projects/new/import",
        files=files,
        data={"types": '{"n": "category"}'},
        params={"wait": True},
    )
    assert response.json()["status"] == "done", response.text
    attributes = {
        a["name"]: a["data_type"] for a in client.get("/api/projects/new").json()["attributes"]
    }
    assert attributes["n"] == "category"


@pytest.mark.parametrize("big", BIG_IDS)
def test_ids_past_the_integer_range_name_nothing(cb_client: TestClient, big: int) -> None:
    for method, path in [
        ("GET", f"/api/jobs/{big}"),
        ("POST", f"/api/jobs/{big}/cancel"),
        ("GET", f"/api/jobs/{big}/events"),
    ]:
        error = _error(cb_client.request(method, path), 422)
        assert error["detail"]["errors"][0]["location"] == "path.job_id"
    label = {"task": "clickbait", "label": "yes", "annotator": "me"}
    for method, path, body in [
        ("GET", f"/api/projects/cb/records/{big}", None),
        ("POST", f"/api/projects/cb/records/{big}/annotations", label),
        ("POST", f"/api/projects/cb/records/{big}/annotations/remove", label),
        ("POST", f"/api/projects/cb/records/{big}/run", {"code": "print(1)"}),
    ]:
        error = _error(cb_client.request(method, path, json=body), 404)
        assert f"no record with id {big}" in error["message"]
    # the same ids in a filter and in a body's record list
    query = {"where": {"ids": [1, big, -big]}}
    page = cb_client.post("/api/projects/cb/records/query", json=query).json()
    assert [r["id"] for r in page["records"]] == [1]


def test_every_path_parameter_takes_a_huge_number(cb_client: TestClient) -> None:
    """Every route of the OpenAPI document, each path parameter 2**63 in turn (the others
    naming what the sample has): never a 500, errors in the error shape (a job that a
    route starts reports the missing project itself)."""
    known = {"project": "cb", "task": "clickbait", "record": "1", "job_id": "1"}
    document = cb_client.get("/api/openapi.json").json()
    tried = 0
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            for huge in names:
                path = template
                for name in names:
                    value = str(2**63) if name == huge else known.get(name, "x")
                    path = path.replace(f"{{{name}}}", value)
                response = cb_client.request(method.upper(), path, json={})
                assert response.status_code < 500, (method, path, response.text)
                if response.status_code >= 400:
                    _error(response, response.status_code)
                tried += 1
    assert tried > 50


def test_a_lookup_list_with_any_name_exports(cb_client: TestClient) -> None:
    name = "Städte €uro 東京"
    created = cb_client.post("/api/projects/cb/lookup-lists", json={"name": name})
    assert created.status_code == 201, created.text
    cb_client.post(f"/api/projects/cb/lookup-lists/{name}/terms", json={"terms": ["Köln"]})
    response = cb_client.get(f"/api/projects/cb/lookup-lists/{name}/export")
    assert response.status_code == 200, response.text
    assert response.text == "Köln\n"
    disposition = response.headers["content-disposition"]
    assert disposition.endswith(f"filename*=UTF-8''{quote(name + '.txt', safe='')}")
    assert disposition.isascii()


def test_an_unforeseen_error_answers_the_error_shape_and_goes_to_the_log(
    wb: Workbench, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(wb)

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError(f"secret state under {wb.settings.data_dir}")

    app.router.routes.insert(0, app.router.routes.pop())  # before the catch-all /api route
    with (
        TestClient(app, raise_server_exceptions=False, **LOOPBACK) as client,
        caplog.at_level(logging.ERROR, logger="assay.api"),
    ):
        error = _error(client.get("/api/boom"), 500)
    assert error["code"] == "internal" and error["detail"] == {}
    assert "RuntimeError" in error["message"]
    assert str(wb.settings.data_dir) not in error["message"] and "Traceback" not in error["message"]
    assert any(
        record.exc_info and "secret state" in str(record.exc_info[1]) for record in caplog.records
    )


@pytest.mark.parametrize("big", BIG_IDS)
def test_ids_past_the_range_in_a_body_name_no_record(cb_client: TestClient, big: int) -> None:
    code = "def lf(record):\n    return 'yes'"
    lf = {"kind": "labeling_function", "task": "clickbait", "name": "lf", "code": code}
    assert cb_client.post("/api/projects/cb/heuristics", json=lf).status_code == 201
    attribute = {"name": "ca", "data_type": "text", "code": "def ca(record):\n    return 'x'"}
    assert cb_client.post("/api/projects/cb/attributes", json=attribute).status_code == 201
    for path, body in [
        ("/api/projects/cb/heuristics/lf/try", {"record_ids": [1, big]}),
        ("/api/projects/cb/attributes/ca/try", {"record_ids": [big]}),
        ("/api/projects/cb/slices", {"name": "s", "kind": "static", "record_ids": [big, 1]}),
    ]:
        error = _error(cb_client.post(path, json=body), 404)
        assert str(big) in error["message"], error
    query = {"where": {"attribute": "running_id", "op": "in", "value": [1, big]}}
    response = cb_client.post("/api/projects/cb/records/query", json=query)
    if big < 2**63:  # an integer both databases compare
        assert [r["data"]["running_id"] for r in response.json()["records"]] == [1]
    else:
        assert "64-bit" in _error(response, 422)["message"]
    page = cb_client.post("/api/projects/cb/records/query", json={"offset": big}).json()
    assert page["records"] == [] and page["total"] == 1400


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"attribute": ["headline"]}, "'attribute' takes a name"),
        ({"task": {"name": "clickbait"}}, "'task' takes a name"),
        ({"slice": [1]}, "'slice' takes a name"),
        ({"ids": [True]}, "'ids' takes a list of integers"),
        ({"attribute": "running_id", "op": "between", "value": [-(2**64), 2**64]}, "64-bit"),
    ],
)
def test_filters_of_the_wrong_shape_answer_422(
    cb_client: TestClient, where: dict[str, Any], message: str
) -> None:
    response = cb_client.post("/api/projects/cb/records/query", json={"where": where})
    assert message in _error(response, 422)["message"]
