"""The reference docs are checked against the code: a command, option, route, setting, filter
op or state that the docs do not mention fails here, and so do docs of things that are gone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from assay.api.app import create_app
from assay.cli import app as cli_app
from assay.config import Settings
from assay.services import annotating, projects, queries, tasks
from assay.workbench import Workbench

DOCS = Path(__file__).resolve().parents[1] / "docs"
HEADING = re.compile(r"^(#{1,6})\s+(.*)$", re.MULTILINE)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _commands() -> Iterator[tuple[str, Any]]:
    """Every command of the CLI as (path, command): "" for the root, then "projects list"..."""

    def walk(path: str, command: Any) -> Iterator[tuple[str, Any]]:
        yield path, command
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(f"{path} {name}".strip(), sub)

    yield from walk("", typer.main.get_command(cli_app))


def _sections(text: str) -> dict[str, str]:
    """Text under each heading (up to the next heading of the same or a higher level)."""
    found = list(HEADING.finditer(text))
    sections = {}
    for i, match in enumerate(found):
        level = len(match.group(1))
        end = len(text)
        for later in found[i + 1 :]:
            if len(later.group(1)) <= level:
                end = later.start()
                break
        sections[match.group(2).strip()] = text[match.end() : end]
    return sections


def _command_section(sections: dict[str, str], path: str) -> str | None:
    return sections.get(f"`{' '.join(['assay', *path.split()])}`")


def test_every_cli_command_has_a_section_in_cli_md() -> None:
    sections = _sections(_read("cli.md"))
    missing = [
        f"assay {path}".strip()
        for path, _ in _commands()
        if _command_section(sections, path) is None
    ]
    assert not missing, f"docs/cli.md lacks a heading like ### `assay x y` for: {missing}"


def test_every_cli_option_is_documented_in_its_section() -> None:
    sections = _sections(_read("cli.md"))
    missing, checked = [], 0
    for path, command in _commands():
        body = _command_section(sections, path) or ""
        for param in command.params:
            # typer ships its own copy of click, so test the kind, not the class.
            if param.param_type_name != "option":
                continue
            for opt in [*param.opts, *param.secondary_opts]:
                if opt == "--help":
                    continue
                checked += 1
                if not re.search(rf"^\|[^\n]*`{re.escape(opt)}`", body, re.MULTILINE):
                    missing.append(f"assay {path} {opt}".replace("  ", " "))
    assert checked > 40, f"found only {checked} options: is the command tree walked?"
    assert not missing, f"options without a table row in their docs/cli.md section: {missing}"


def test_cli_md_documents_no_command_that_is_gone() -> None:
    known = {f"`{' '.join(['assay', *path.split()])}`" for path, _ in _commands()}
    headings = [m.group(2).strip() for m in HEADING.finditer(_read("cli.md"))]
    stale = [h for h in headings if h.startswith("`assay") and h not in known]
    assert not stale, f"docs/cli.md has sections for unknown commands: {stale}"


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    workbench = Workbench(Settings(data_dir=tmp_path_factory.mktemp("docs-data")))
    try:
        schema = create_app(workbench).openapi()
    finally:
        workbench.close()
    return {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if method.upper() in METHODS
    }


def test_every_api_route_is_documented(routes: set[str]) -> None:
    text = _read("api.md")
    missing = sorted(r for r in routes if f"`{r}`" not in text)
    assert not missing, f"docs/api.md lacks these routes (as `METHOD /path`): {missing}"


def test_api_md_documents_no_route_that_is_gone(routes: set[str]) -> None:
    pattern = re.compile(rf"`((?:{'|'.join(METHODS)}) /api/[^`\s?]*)`")
    documented = set(pattern.findall(_read("api.md")))
    stale = sorted(documented - routes)
    assert not stale, f"docs/api.md documents routes the app does not have: {stale}"


def test_every_setting_is_documented() -> None:
    text = _read("configuration.md")
    names = {f"ASSAY_{name.upper()}" for name in Settings.model_fields}
    missing = sorted(n for n in names if f"`{n}`" not in text)
    assert not missing, f"docs/configuration.md lacks these variables: {missing}"
    stale = sorted(set(re.findall(r"`(ASSAY_[A-Z_]+)`", text)) - names)
    assert not stale, f"docs/configuration.md names variables Settings lacks: {stale}"


@pytest.mark.parametrize("values", [queries.OPS, queries.STATES], ids=["ops", "states"])
def test_every_filter_op_and_state_has_a_row_in_queries_md(values: tuple[str, ...]) -> None:
    text = _read("queries.md")
    missing = [v for v in values if not re.search(rf"^\| `{v}` \|", text, re.MULTILINE)]
    assert not missing, f"docs/queries.md lacks a table row | `x` | for: {missing}"


@pytest.mark.parametrize(
    ("page", "values"),
    [
        ("queries.md", annotating.SOURCES),
        ("concepts.md", annotating.SOURCES),
        ("concepts.md", tasks.TASK_TYPES),
        ("concepts.md", projects.DATA_TYPES),
    ],
)
def test_every_value_is_documented(page: str, values: tuple[str, ...]) -> None:
    code = set(INLINE_CODE.findall(_read(page)))
    missing = [v for v in values if v not in code]
    assert not missing, f"docs/{page} lacks these values (in backticks): {missing}"


def test_links_between_docs_resolve() -> None:
    broken = []
    for page in sorted(DOCS.glob("*.md")):
        for target, anchor in re.findall(r"\]\(([\w.-]+\.md)?(?:#([\w-]+))?\)", page.read_text()):
            linked = DOCS / target if target else page
            if not linked.exists():
                broken.append(f"{page.name}: {target}")
                continue
            if anchor:
                slugs = {
                    re.sub(r"[^\w -]", "", h.group(2).strip().lower()).replace(" ", "-")
                    for h in HEADING.finditer(linked.read_text(encoding="utf-8"))
                }
                if anchor not in slugs:
                    broken.append(f"{page.name}: {target}#{anchor}")
    assert not broken, f"broken links in docs/: {broken}"
