"""Uploads: capped in size while they arrive (413), and a refused file named by its uploaded
name, never by where the server kept it (both databases)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay import Workbench


def _leftovers(wb: Workbench) -> list[Path]:
    uploads = wb.settings.data_dir / "uploads"
    return list(uploads.rglob("*")) if uploads.exists() else []


def test_an_upload_over_the_limit_is_refused_with_413(
    client: TestClient, wb: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wb.settings, "max_upload_bytes", 10_000)
    small = b"id,headline\n1,x\n"
    big = b"id,headline\n" + b"1,some text\n" * 2_000  # 24 kB
    assert client.post("/api/imports/preview", files={"file": ("s.csv", small)}).status_code == 200
    for url in ("/api/imports/preview", "/api/projects/p/import?wait=true"):
        answer = client.post(url, files={"file": ("big.csv", big, "text/csv")})
        assert answer.status_code == 413, answer.text
        error = answer.json()["error"]
        assert error["code"] == "too_large" and error["detail"] == {"limit": 10_000}
        assert "10,000 bytes (ASSAY_MAX_UPLOAD_BYTES)" in error["message"]
    # a body without a Content-Length is counted as it arrives
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + big
        + f"\r\n--{boundary}--\r\n".encode()
    )
    answer = client.post(
        "/api/imports/preview",
        content=iter([body[i : i + 4096] for i in range(0, len(body), 4096)]),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "too_large"
    lookup = client.post(
        "/api/projects/p/lookup-lists/terms/import", files={"file": ("t.txt", big, "text/plain")}
    )
    assert lookup.status_code == 413, lookup.text
    assert client.get("/api/projects/p").status_code == 404
    assert [j for j in client.get("/api/jobs").json() if j["kind"] == "import"] == []
    assert _leftovers(wb) == []


def test_a_refused_file_is_named_as_uploaded(client: TestClient, wb: Workbench) -> None:
    server_path = str(wb.settings.data_dir.resolve())
    cases = {
        "open quote.csv": (b'id,h\n1,"never closed\n2,x\n', {"row": 1, "line": 2}),
        "bad.json": (b'[{"id": 1,}]', {"line": 1}),
        "inf.json": (b'[{"id": 1, "s": Infinity}]', {"row": 1, "column": "s"}),
    }
    for name, (content, where) in cases.items():
        answer = client.post("/api/imports/preview", files={"file": (name, content)})
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid_file"
        assert error["detail"] == {"file": name, **where}
        assert server_path not in answer.text and "uploads" not in answer.text
        job = client.post(
            "/api/projects/p/import", params={"wait": True}, files={"file": (name, content)}
        ).json()
        assert job["status"] == "failed" and name in job["error"], job
        assert server_path not in str(job) and "uploads" not in str(job)
    assert client.get("/api/projects/p").status_code == 404
    assert _leftovers(wb) == []
