"""GET /api/projects/{project}/export: CSV formula escaping and its ``raw`` switch."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from fastapi.testclient import TestClient

from assay import Workbench


def test_csv_export_escapes_formulas_unless_raw(
    client: TestClient, wb: Workbench, tmp_path: Path
) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"text": "=cmd|' /C calc'!A0", "n": -3}]), encoding="utf-8")
    wb.import_file(path, "p")
    url = "/api/projects/p/export"
    escaped = client.get(url, params={"format": "csv"})
    raw = client.get(url, params={"format": "csv", "raw": "true"})
    assert escaped.status_code == raw.status_code == 200
    assert list(csv.reader(io.StringIO(escaped.text))) == [
        ["text", "n"],
        ["'=cmd|' /C calc'!A0", "-3"],
    ]
    assert list(csv.reader(io.StringIO(raw.text))) == [["text", "n"], ["=cmd|' /C calc'!A0", "-3"]]


def test_lookup_list_csv_escapes_formulas_unless_raw(client: TestClient) -> None:
    client.post("/api/projects", json={"name": "p"}).raise_for_status()
    client.post("/api/projects/p/lookup-lists/l/terms", json={"terms": ["=1+1"]})
    url = "/api/projects/p/lookup-lists/l/export"
    escaped = client.get(url, params={"format": "csv"})
    raw = client.get(url, params={"format": "csv", "raw": "true"})
    assert escaped.text.splitlines() == ["term,blacklisted", "'=1+1,false"]
    assert raw.text.splitlines() == ["term,blacklisted", "=1+1,false"]
