"""HTTP clients over the app of the ``wb`` fixture (both databases)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from assay import Workbench
from assay.api.app import create_app


@pytest.fixture
def client(wb: Workbench) -> Iterator[TestClient]:
    with TestClient(create_app(wb)) as test_client:
        yield test_client


@pytest.fixture
def cb_client(client: TestClient) -> TestClient:
    """A client whose server holds the clickbait sample as project ``cb``."""
    client.post("/api/samples/clickbait", params={"name": "cb"}).raise_for_status()
    return client
