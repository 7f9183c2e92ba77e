"""Write the API's OpenAPI schema to web/openapi.json, from which the web UI's typed client
is generated (npm run gen:api). tests/api/test_openapi_file.py fails when it is stale."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from assay.api.app import create_app
from assay.config import Settings

TARGET = Path(__file__).resolve().parents[1] / "web" / "openapi.json"


def schema_text() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(settings=Settings(data_dir=Path(tmp)))
        text = json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        app.state.workbench.close()
    return text


if __name__ == "__main__":
    TARGET.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {TARGET}", file=sys.stderr)
