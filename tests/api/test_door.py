"""The server's door (assay.api.door): Host, Origin and token, on every route of the API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import SecretStr

from assay import Workbench
from assay.api.app import create_app
from assay.api.door import CLIENT_HEADER, SESSION_COOKIE
from assay.cli import main

FOREIGN = "http://evil.example"
TOKEN = "s3cret-token"
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


def _routes(wb: Workbench) -> list[tuple[str, str]]:
    """Every (method, path) of the OpenAPI document, path parameters filled with values of
    the ``cb`` project (a parameter added later: 1), so that a request the door let through
    would really act."""
    project = wb.get_project("cb")
    task = project["tasks"][0]
    jobs = wb.list_jobs()
    values = {
        "project": "cb",
        "task": task["name"],
        "label": task["labels"][0]["name"],
        "record": "1",
        "name": "x",
        "job_id": str(jobs[0]["id"] if jobs else 1),
        "sample": "clickbait",
    }
    routes = [
        (method.upper(), re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "1"), path))
        for path, operations in create_app(wb).openapi()["paths"].items()
        for method in operations
    ]
    assert len(routes) > 50 and {m for m, _ in routes} >= {"GET", "POST", "PATCH", "DELETE"}
    return routes


def _state(wb: Workbench) -> str:
    return json.dumps(
        [wb.list_projects(), wb.get_project("cb"), wb.list_jobs()], sort_keys=True, default=str
    )


def _refused(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.request.url, response.text)
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"] and isinstance(error["detail"], dict)
    return error


@pytest.fixture
def cb(cb_client: TestClient, wb: Workbench) -> Workbench:
    """The ``wb`` of a server holding the clickbait sample as ``cb``."""
    return wb


@pytest.fixture
def with_token(cb: Workbench, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client of the server with ``ASSAY_TOKEN`` set, on loopback, naming its client."""
    monkeypatch.setattr(cb.settings, "token", SecretStr(TOKEN))
    yield TestClient(
        create_app(cb), base_url="http://127.0.0.1:8000", headers={CLIENT_HEADER: "test"}
    )


def test_every_route_refuses_a_foreign_host_name(cb: Workbench) -> None:
    before = _state(cb)
    # DNS rebinding: evil.example resolves to 127.0.0.1, and its page talks to the server.
    rebound = TestClient(create_app(cb), base_url=FOREIGN, headers={CLIENT_HEADER: "test"})
    for method, path in _routes(cb):
        error = _refused(rebound.request(method, path, json={}), 403, "forbidden")
        assert "evil.example" in error["message"] and "ASSAY_ALLOWED_HOSTS" in error["message"]
    assert _refused(rebound.get("/"), 403, "forbidden")  # the UI's page too
    assert _state(cb) == before


def test_every_state_changing_route_refuses_a_foreign_origin(cb: Workbench) -> None:
    before = _state(cb)
    client = TestClient(create_app(cb), base_url="http://127.0.0.1:8000")
    for origin in (FOREIGN, "http://127.0.0.1:9000", "https://127.0.0.1:8000", "null"):
        for method, path in _routes(cb):
            if method not in STATE_CHANGING:
                continue
            response = client.request(
                method, path, json={}, headers={"Origin": origin, CLIENT_HEADER: "x"}
            )
            error = _refused(response, 403, "forbidden")
            assert error["detail"] == {"origin": origin}
    assert _state(cb) == before


def test_with_a_token_no_api_route_answers_without_it(
    cb: Workbench, with_token: TestClient
) -> None:
    before = _state(cb)
    for method, path in _routes(cb):
        _refused(with_token.request(method, path, json={}), 401, "unauthorized")
        wrong = {"Authorization": "Bearer not-the-token"}
        _refused(with_token.request(method, path, json={}, headers=wrong), 401, "unauthorized")
    assert _state(cb) == before
    assert with_token.get("/").status_code == 200  # the UI's page loads; it holds no data


def test_with_a_token_the_bearer_header_opens_the_api(
    cb: Workbench, with_token: TestClient
) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert with_token.get("/api/projects", headers=bearer).status_code == 200
    # Without an Origin, the token also stands for the client header.
    plain = TestClient(create_app(cb), base_url="http://127.0.0.1:8000", headers=bearer)
    assert plain.post("/api/projects", json={"name": "by-token"}).status_code == 201


def test_a_multipart_upload_from_a_foreign_page_is_refused(client: TestClient) -> None:
    # A cross-site <form enctype="multipart/form-data"> post needs no CORS preflight.
    form = {"file": ("rows.csv", b"text\nhello\n", "text/csv")}
    for path in ("/api/projects/up/import?wait=true", "/api/imports/preview"):
        response = client.post(path, files=form, headers={"Origin": FOREIGN})
        _refused(response, 403, "forbidden")
    assert client.get("/api/projects").json() == []


def test_a_same_origin_browser_request_passes(wb: Workbench) -> None:
    for base in ("http://127.0.0.1", "http://localhost:8000", "http://[::1]:5173"):
        browser = TestClient(create_app(wb), base_url=base, headers={"Origin": base})
        name = f"from-{len(wb.list_projects())}"
        assert browser.post("/api/projects", json={"name": name}).status_code == 201, base
        form = {"file": ("rows.csv", b"text\nhello\n", "text/csv")}
        assert browser.post("/api/imports/preview", files=form).status_code == 200
    assert len(wb.list_projects()) == 3


def test_a_post_without_origin_must_name_its_client(wb: Workbench) -> None:
    plain = TestClient(create_app(wb), base_url="http://127.0.0.1")
    error = _refused(plain.post("/api/projects", json={"name": "p"}), 403, "forbidden")
    assert CLIENT_HEADER in error["message"] and error["detail"] == {"header": CLIENT_HEADER}
    empty = {CLIENT_HEADER: ""}
    _refused(plain.post("/api/projects", json={"name": "p"}, headers=empty), 403, "forbidden")
    assert wb.list_projects() == []
    assert plain.get("/api/projects").status_code == 200  # reading needs no ceremony
    named = {CLIENT_HEADER: "curl"}
    assert plain.post("/api/projects", json={"name": "p"}, headers=named).status_code == 201


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8000", "127.0.0.1:1", "127.0.0.2", "[::1]", "[::1]:8000"]
)
def test_loopback_host_names_pass_with_any_port(wb: Workbench, host: str) -> None:
    client = TestClient(create_app(wb), base_url=f"http://{host}")
    assert client.get("/api/projects").status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "localhost.evil.example", "127.0.0.1.evil.example", "evil@127.0.0.1"]
)
def test_other_host_names_are_refused(wb: Workbench, host: str) -> None:
    client = TestClient(create_app(wb))
    _refused(client.get("/api/projects", headers={"Host": host}), 403, "forbidden")


def test_allowed_hosts_adds_names(wb: Workbench, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wb.settings, "allowed_hosts", ["assay.internal"])
    client = TestClient(create_app(wb), base_url="http://assay.internal:8000")
    assert client.get("/api/projects").status_code == 200
    _refused(client.get("/api/projects", headers={"Host": "other"}), 403, "forbidden")
    monkeypatch.setattr(wb.settings, "allowed_hosts", ["*"])
    anything = TestClient(create_app(wb), base_url="http://any.where")
    assert anything.get("/api/projects").status_code == 200


def test_the_login_link_works_once_and_its_cookie_opens_the_api(
    cb: Workbench, with_token: TestClient
) -> None:
    link = with_token.app.state.door.login_link("http://127.0.0.1:8000")  # type: ignore[attr-defined]
    signed_in = with_token.get(link, follow_redirects=False)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/")
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
    assert with_token.get("/api/projects").status_code == 200
    # Job progress (server-sent events, which cannot send headers) goes by the cookie too.
    form = {"file": ("rows.csv", b"text\nhello\n", "text/csv")}
    imported = with_token.post("/api/projects/up/import", params={"wait": True}, files=form)
    job = imported.json()["id"]
    events = with_token.get(f"/api/jobs/{job}/events")
    assert events.status_code == 200 and "event: end" in events.text

    again = TestClient(with_token.app, base_url="http://127.0.0.1:8000")
    error = _refused(again.get(link, follow_redirects=False), 401, "unauthorized")
    assert "used already" in error["message"]
    _refused(again.get("/api/projects"), 401, "unauthorized")
    _refused(again.get(f"/api/jobs/{job}/events"), 401, "unauthorized")


class _Served(Exception):
    """What the fake uvicorn.run raises: the server would have started."""


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, wb: Workbench) -> list[dict[str, Any]]:
    """``assay serve`` in-process: uvicorn.run records its arguments instead of listening,
    so no test binds an address."""
    calls: list[dict[str, Any]] = []

    def run(app: Any, host: str, port: int) -> None:
        calls.append({"app": app, "host": host, "port": port})
        raise _Served

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setenv("ASSAY_DATABASE_URL", wb.settings.resolved_database_url())
    monkeypatch.delenv("ASSAY_TOKEN", raising=False)
    return calls


def test_serve_refuses_a_non_loopback_address_without_a_token(
    served: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    for host in ("0.0.0.0", "::", "192.168.1.5"):
        with pytest.raises(SystemExit) as exited:
            main(["serve", "--host", host])
        assert exited.value.code == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: refusing to listen on {host} without an access token")
        assert len(err.strip().splitlines()) == 1 and "--token" in err
    assert served == []


def test_serve_with_a_token_prints_a_login_link_that_works(
    served: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(_Served):
        main(["serve", "--host", "0.0.0.0", "--port", "8123", "--token", TOKEN])
    (call,) = served
    assert (call["host"], call["port"]) == ("0.0.0.0", 8123)
    link = re.search(r"(http://\S+)/login\?code=(\S+)", capsys.readouterr().err)
    assert link is not None
    # Beyond loopback, with its token, the server answers the names clients reach it by.
    client = TestClient(call["app"], base_url=link.group(1))
    _refused(client.get("/api/projects"), 401, "unauthorized")
    assert client.get(link.group(0), follow_redirects=False).status_code == 303
    assert client.get("/api/projects").status_code == 200


def test_serve_on_loopback_needs_no_token(served: list[dict[str, Any]]) -> None:
    with pytest.raises(_Served):
        main(["serve"])
    (call,) = served
    assert call["host"] == "127.0.0.1"
    client = TestClient(call["app"], base_url="http://127.0.0.1:8000")
    assert client.get("/api/projects").status_code == 200
