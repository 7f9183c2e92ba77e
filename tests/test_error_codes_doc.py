"""Every error code has a row in docs/api.md's error table: the code of each ``AssayError``
subclass anywhere in the package (found by importing every module), with its status and
exception, and the codes the API writes itself (``error_body("internal", ...)``,
``_error(422, "invalid", ...)`` in ``assay.api``). A row of a code that is gone fails too."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import assay
from assay.errors import AssayError

API_MD = Path(__file__).resolve().parents[1] / "docs" / "api.md"
CODE_CELL = re.compile(r"^`([a-z_]+)`$")
# The functions of assay.api that write an error body, and the place of their code (and
# status) arguments.
WRITERS = {"error_body": (0, None), "_error": (1, 0)}


def modules() -> Iterator[ModuleType]:
    """Every module of the package, imported (``__main__`` would run the CLI)."""
    yield assay
    for info in pkgutil.walk_packages(assay.__path__, "assay."):
        if not info.name.endswith(".__main__"):
            yield importlib.import_module(info.name)


def error_classes() -> list[type[AssayError]]:
    """``AssayError`` and every subclass of it that the package defines, by name."""
    for _ in modules():
        pass
    found, todo = {AssayError}, [AssayError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.split(".")[0] == "assay" and sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted(found, key=lambda cls: cls.__name__)


def api_codes() -> set[tuple[str, int | None]]:
    """(code, status) of each error body the API writes with a literal code; status None
    where the call does not fix it."""
    codes: set[tuple[str, int | None]] = set()
    for module in modules():
        if not module.__name__.startswith("assay.api"):
            continue
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in WRITERS:
                continue
            code_at, status_at = WRITERS[node.func.id]
            code = _literal(node.args[code_at])
            status = _literal(node.args[status_at]) if status_at is not None else None
            if isinstance(code, str):
                codes.add((code, status if isinstance(status, int) else None))
    return codes


def _literal(node: ast.expr) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def documented() -> list[tuple[set[int], str, str]]:
    """The rows of docs/api.md's error table as (statuses, code, exception)."""
    section = API_MD.read_text(encoding="utf-8").split("\n## Errors\n", 1)[1].split("\n## ")[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not (match := CODE_CELL.match(cells[1])):
            continue
        statuses = {int(n) for n in re.findall(r"\d{3}", cells[0])}
        rows.append((statuses, match.group(1), cells[2].strip("`")))
    return rows


def test_the_table_is_found() -> None:
    assert len(documented()) >= 10


def test_every_error_class_has_a_row() -> None:
    rows = documented()
    missing = [
        f"{cls.__module__}.{cls.__name__} ({cls.status_code} {cls.code})"
        for cls in error_classes()
        if not any(
            cls.status_code in statuses and cls.code == code and cls.__name__ == exception
            for statuses, code, exception in rows
        )
    ]
    assert not missing, f"docs/api.md's error table lacks a row (status, code, class) for {missing}"


def test_every_code_the_api_writes_has_a_row() -> None:
    rows = documented()
    found = api_codes()
    assert ("internal", None) in found  # the scan sees the API's own codes
    missing = [
        f"{status or 'any'} {code}"
        for code, status in sorted(found, key=str)
        if not any(
            code == row_code and (status is None or status in statuses)
            for statuses, row_code, _ in rows
        )
    ]
    assert not missing, f"docs/api.md's error table lacks a row for the API's codes {missing}"


def test_the_table_documents_no_code_that_is_gone() -> None:
    known = {cls.code for cls in error_classes()} | {code for code, _ in api_codes()}
    gone = sorted({code for _, code, _ in documented()} - known)
    assert not gone, f"docs/api.md's error table documents codes no error has: {gone}"
    names = {cls.__name__ for cls in error_classes()} | {"—"}
    gone = sorted({exception for _, _, exception in documented()} - names)
    assert not gone, f"docs/api.md's error table names exceptions that are gone: {gone}"
