"""GET /statistics in-process, on both databases: the document, the query parameters, errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assay import Workbench


def test_statistics_of_the_finished_sample(client: TestClient, wb: Workbench) -> None:
    client.post("/api/samples/clickbait", params={"variant": "finished"}).raise_for_status()
    client.post(
        "/api/projects/clickbait-finished/slices",
        json={"name": "first ten", "where": {"attribute": "running_id", "op": "lt", "value": 10}},
    ).raise_for_status()
    response = client.get(
        "/api/projects/clickbait-finished/statistics", params={"task": "clickbait"}
    )
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats == wb.statistics("clickbait-finished", "clickbait")
    assert stats["records"] == 1400
    assert stats["progress"]["agreed"] == 25
    assert sum(row["manual"] for row in stats["distribution"]) == 25
    assert [a["annotator"] for a in stats["annotators"]] == ["sample-annotator"]
    sliced = client.get(
        "/api/projects/clickbait-finished/statistics",
        params={"task": "entities", "slice": "first ten"},
    ).json()
    assert (sliced["slice"], sliced["records"], sliced["distribution_unit"]) == (
        "first ten",
        10,
        "spans",
    )
    assert sliced["confusion"] is None


@pytest.mark.parametrize(
    ("params", "status"),
    [({}, 422), ({"task": "nope"}, 404), ({"task": "clickbait", "slice": "nope"}, 404)],
)
def test_statistics_errors_have_the_one_shape(
    client: TestClient, params: dict[str, str], status: int
) -> None:
    client.post("/api/samples/clickbait").raise_for_status()
    response = client.get("/api/projects/clickbait/statistics", params=params)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message", "detail"}
