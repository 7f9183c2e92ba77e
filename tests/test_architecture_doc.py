"""docs/architecture.md stays true: it names every module of the package and every table of
the schema, so a module or table added without a word there fails here, naming it."""

from __future__ import annotations

import re
from pathlib import Path

from assay.storage.models import Base

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "assay"
DOC = (ROOT / "docs" / "architecture.md").read_text()


def _modules() -> list[str]:
    """Every module as the doc names it: ``workbench.py``, ``services/importing/plan.py``.
    The migration scripts count as their folder (``migrations/versions/``)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("migrations/versions/"):
            relative = "migrations/versions/"
        elif path.name == "__init__.py" and path.parent != PACKAGE:
            continue  # a package is named by its modules
        found.append(relative)
    return sorted(set(found))


def test_every_module_is_named() -> None:
    missing = [m for m in _modules() if m != "__init__.py" and m not in DOC]
    assert missing == [], f"docs/architecture.md does not name: {', '.join(missing)}"


def test_every_table_is_in_the_schema_section() -> None:
    schema = DOC[DOC.index("## Schema") :]
    schema = schema[: schema.index("\n## ", 1)]
    rows = set(re.findall(r"^\| `(\w+)` \|", schema, flags=re.MULTILINE))
    tables = {t.name for t in Base.metadata.sorted_tables}
    assert tables - rows == set(), "tables without a row in ## Schema"
    assert rows - tables == set(), "rows of ## Schema for tables that do not exist"
