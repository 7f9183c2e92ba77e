"""Schemathesis against the served OpenAPI document, in-process, on both databases.

Every operation gets schemathesis' coverage cases (boundary values, missing and wrong-typed
parameters, unexpected methods) and random cases that fit its schema and that do not. Cases
that name a project name the clickbait sample ``cb`` (except deletes), so that they reach
past the project lookup. No response may be a 5xx, and every error answers the one error
shape. All failures are collected and reported together; nothing is shrunk, so the wall time
stays bounded (2,094 requests and about a minute per database on a busy two-core machine).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from assay import Workbench

BASE_URL = "http://127.0.0.1"  # a loopback Host: the server's door answers only those
HEADERS = {"X-Assay-Client": "fuzz"}  # a client without an Origin names itself to change state
SAMPLE = "cb"
RANDOM_CASES = 6  # per operation and generation mode, besides the coverage cases


def _error_shape(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    return (
        isinstance(error, dict)
        and set(error) == {"code", "message", "detail"}
        and isinstance(error["code"], str)
        and isinstance(error["message"], str)
        and isinstance(error["detail"], dict)
    )


def _on_sample(case: schemathesis.Case) -> schemathesis.Case:
    if case.path_parameters and "project" in case.path_parameters and case.method != "DELETE":
        case.path_parameters["project"] = SAMPLE
    return case


class Fuzz:
    """Sends cases and keeps what went wrong, and how many went out."""

    def __init__(self) -> None:
        self.sent = 0
        self.problems: list[str] = []

    def send(self, case: schemathesis.Case) -> None:
        self.sent += 1
        response = case.call(base_url=BASE_URL, headers=HEADERS, timeout=120)
        if response.status_code >= 500:
            self._report(case, f"{response.status_code}: {response.text[:300]}")
        elif response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            if not _error_shape(body):
                self._report(
                    case, f"{response.status_code} not in the error shape: {response.text[:300]}"
                )

    def _report(self, case: schemathesis.Case, problem: str) -> None:
        curl = case.as_curl_command(headers=HEADERS)
        self.problems.append(f"{case.operation.label}: {problem}\n    {curl}")

    def coverage(self, operation: schemathesis.APIOperation) -> None:
        """Schemathesis' coverage cases: boundaries, missing and wrong-typed values, methods."""
        schema = operation.schema
        cases: Iterable[schemathesis.Case] = schema.iter_coverage_cases(  # type: ignore[attr-defined]
            operation,
            generation_modes=list(GenerationMode),
            generation_config=schema.config.generation_for(operation=operation, phase="coverage"),
        )
        for case in cases:
            self.send(_on_sample(case))

    def random(self, operation: schemathesis.APIOperation, mode: GenerationMode) -> None:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=RANDOM_CASES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            self.send(_on_sample(case) if mode is GenerationMode.POSITIVE else case)

        with contextlib.suppress(Unsatisfiable):  # an operation without input: no negative case
            run()


@pytest.mark.slow
def test_no_server_error_and_one_error_shape(client: TestClient, wb: Workbench) -> None:
    client.post("/api/samples/clickbait", params={"name": SAMPLE}).raise_for_status()
    schema = schemathesis.openapi.from_asgi(
        "/api/openapi.json", client.app, headers={"Host": "127.0.0.1"}
    )
    fuzz = Fuzz()
    for result in schema.get_all_operations():
        operation = result.ok()
        fuzz.coverage(operation)
        for mode in GenerationMode:
            fuzz.random(operation, mode)
        if client.get(f"/api/projects/{SAMPLE}").status_code == 404:  # a case deleted it
            client.post("/api/samples/clickbait", params={"name": SAMPLE}).raise_for_status()
    for job in wb.list_jobs():  # no job a case started runs on into the next test
        if job["status"] in ("queued", "running"):
            wb.cancel_job(job["id"])
    assert fuzz.sent > 1500
    assert not fuzz.problems, f"{len(fuzz.problems)} failures:\n" + "\n".join(fuzz.problems)
