"""End-to-end fixtures: a real `assay serve` on a temporary data dir, driven by Debian's
headless Chromium through Playwright.

The tests carry the ``browser`` marker. They need Chromium (`command -v chromium`) and the
built UI (`scripts/build-ui`); where either is missing they skip with the reason, unless
ASSAY_TEST_REQUIRE_BROWSER=1 (the README's test command sets it) makes that an error.
Screenshots of the main pages go to ASSAY_SCREENSHOTS (default: a temporary folder); the
run prints the folder at its end.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from assay.api.app import UI_DIR
from assay.config import Settings
from assay.services import samples
from assay.workbench import Workbench

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
MODEL_PROJECT = "clickbait"  # the project and task of `bench`, which trains a model of it
MODEL_LABELED = 300  # records `bench` labels by hand from the sample's gold answers
SCREENSHOTS = Path(os.environ.get("ASSAY_SCREENSHOTS") or tempfile.mkdtemp(prefix="assay-shots-"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    shots = sorted(SCREENSHOTS.glob("*.png"))
    if shots:
        terminalreporter.write_line(f"browser screenshots ({len(shots)}): {SCREENSHOTS}")


def _missing() -> str | None:
    if shutil.which("chromium") is None:
        return "Chromium is not installed (apt-get install -y chromium)"
    if not (UI_DIR / "index.html").is_file():
        return f"the web UI is not built in {UI_DIR} (run scripts/build-ui)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e .[dev])"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    data_dir: Path
    api: httpx.Client


@pytest.fixture(scope="session")
def _browser_ready() -> None:
    reason = _missing()
    if reason:
        if os.environ.get("ASSAY_TEST_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def server(_browser_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server process (SQLite in a fresh data dir), one per test module."""
    data_dir = tmp_path_factory.mktemp("e2e-data")
    port = _free_port()
    env = {**os.environ, "ASSAY_DATA_DIR": str(data_dir)}
    env.pop("ASSAY_DATABASE_URL", None)
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "assay", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=60, headers={"X-Assay-Client": "e2e"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/api/projects").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the server did not start:\n" + (data_dir / "server.log").read_text()
                )
            time.sleep(0.2)
        yield Server(url, data_dir, client)
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def bench(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workbench]:
    """A Workbench on the server's own SQLite database (its data dir), so that what it writes
    the page shows, with the clickbait sample, its first MODEL_LABELED records labeled by hand
    from the gold answers and version 1 of a model trained (made live: there was none). The
    loop's own retraining is off and no prediction is audited, so the versions and the review
    queue are the tests' alone."""
    workbench = Workbench(Settings(data_dir=server.data_dir, database_url=None))
    project = task = MODEL_PROJECT
    try:
        workbench.create_sample("clickbait")
        workbench.update_model_settings(project, task, retrain_after=0, audit_share=0.0)
        labels = tmp_path_factory.mktemp("labels") / "labels.csv"
        with labels.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["key", "task", "label", "annotator"])
            for answer in samples.gold()[:MODEL_LABELED]:
                writer.writerow([answer["running_id"], task, answer["clickbait"], "ann"])
        assert workbench.annotate_file(project, labels) == {"applied": MODEL_LABELED}
        job = workbench.train_model(project, task, algorithm="tfidf-logreg", wait=True)
        assert job["status"] == "done", job
        yield workbench
    finally:
        workbench.close()


@pytest.fixture(scope="session")
def browser(_browser_ready: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context on the server; its console errors fail the test."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        tab.screenshot(path=str(SCREENSHOTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def shot(page: Any) -> Any:
    """``shot(name)`` saves a screenshot of the page in the run's screenshot folder."""

    def take(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
