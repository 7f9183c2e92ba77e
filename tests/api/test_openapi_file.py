"""The web UI's client is generated from web/openapi.json: it must be the API's schema."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_web_openapi_json_is_the_apis_schema() -> None:
    spec = importlib.util.spec_from_file_location("openapi_script", ROOT / "scripts/openapi.py")
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    committed = (ROOT / "web" / "openapi.json").read_text(encoding="utf-8")
    assert committed == script.schema_text(), (
        "web/openapi.json is stale: run `python scripts/openapi.py` and rebuild the UI"
    )
