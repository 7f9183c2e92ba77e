"""HTTP clients over the app of the ``wb`` fixture (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay import Workbench
from assay.api.app import create_app
from assay.api.door import CLIENT_HEADER

LOOPBACK: dict[str, Any] = {"base_url": "http://127.0.0.1", "headers": {CLIENT_HEADER: "test"}}
"""What a test client needs to pass the server's door on loopback."""


@pytest.fixture
def client(wb: Workbench) -> Iterator[TestClient]:
    # The server's door answers loopback Host names, and a POST without an Origin (not a
    # browser) must name its client: see assay.api.door.
    with TestClient(create_app(wb), **LOOPBACK) as test_client:
        yield test_client


@pytest.fixture
def cb_client(client: TestClient) -> TestClient:
    """A client whose server holds the clickbait sample as project ``cb``."""
    client.post("/api/samples/clickbait", params={"name": "cb"}).raise_for_status()
    return client
