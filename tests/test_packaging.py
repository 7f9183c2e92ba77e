"""A built wheel carries the built web UI, so who installs the package never needs Node."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from assay.api.app import UI_DIR

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_carries_the_built_ui(tmp_path: Path) -> None:
    if not (UI_DIR / "index.html").is_file():
        reason = f"the web UI is not built in {UI_DIR} (run scripts/build-ui)"
        if os.environ.get("ASSAY_TEST_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("assay-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    built = {f"assay/ui/{p.relative_to(UI_DIR)}" for p in UI_DIR.rglob("*") if p.is_file()}
    assert "assay/ui/index.html" in built
    assert built <= names
