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
