"""The version is written once, in pyproject.toml; everything else reads the package's
metadata, so a release bumps one line."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import assay
from assay.api.app import create_app
from assay.config import Settings
from assay.workbench import Workbench

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_pyprojects() -> None:
    written = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert assay.__version__ == written["project"]["version"]
    assert assay.__version__ == importlib.metadata.version("assay")


def test_the_api_reports_the_packages_version(tmp_path: Path) -> None:
    workbench = Workbench(Settings(data_dir=tmp_path))
    try:
        assert create_app(workbench).openapi()["info"]["version"] == assay.__version__
    finally:
        workbench.close()
