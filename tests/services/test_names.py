"""Names (projects, tasks, labels, lists, slices, attributes, heuristics, embeddings) refuse
control characters, line breaks and bidirectional controls; free text refuses NUL. The same on
SQLite and PostgreSQL (where NUL used to fail with a driver error), and nothing is written."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assay import ValidationError, Workbench
from assay.services import names

ODD = {
    "newline": ("a\nb", "the control character U+000A at character 2"),
    "tab": ("a\tb", "the control character U+0009 at character 2"),
    "nul": ("a\x00b", "the control character U+0000 at character 2"),
    "escape": ("a\x1bb", "the control character U+001B at character 2"),
    "bidi override": ("exe\u202etxt", "U+202E (right-to-left override) at character 4"),
    "bidi isolate": ("a\u2067b", "U+2067 (right-to-left isolate) at character 2"),
    "line separator": ("a\u2028b", "U+2028 (line separator) at character 2"),
}
LABEL_FN = "def lf(record):\n    return None\n"


@pytest.fixture
def project(wb: Workbench, tmp_path: Path) -> str:
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"text": "Mike Tyson visits Peru"}]), encoding="utf-8")
    wb.import_file(path, "p")
    wb.add_task("p", "t", "classification", labels=["x"])
    wb.create_slice("p", "s", {"search": "Mike"})
    wb.create_lookup_list("p", "l")
    wb.add_heuristic("p", "t", "h", LABEL_FN)
    return "p"


CREATES: dict[str, Callable[[Workbench, str], Any]] = {
    "project": lambda wb, n: wb.create_project(n),
    "task": lambda wb, n: wb.add_task("p", n, "classification"),
    "task rename": lambda wb, n: wb.rename_task("p", "t", n),
    "label": lambda wb, n: wb.add_label("p", "t", n),
    "label via task": lambda wb, n: wb.add_task("p", "u", "classification", labels=[n]),
    "label rename": lambda wb, n: wb.update_label("p", "t", "x", new_name=n),
    "slice": lambda wb, n: wb.create_slice("p", n, {"search": "Mike"}),
    "slice rename": lambda wb, n: wb.rename_slice("p", "s", n),
    "lookup list": lambda wb, n: wb.create_lookup_list("p", n),
    "lookup list by terms": lambda wb, n: wb.add_terms("p", n, ["peru"]),
    "heuristic": lambda wb, n: wb.add_heuristic("p", "t", n, LABEL_FN),
    "heuristic rename": lambda wb, n: wb.update_heuristic("p", "h", new_name=n),
    "calculated attribute": lambda wb, n: wb.add_calculated_attribute(
        "p", n, "integer", "def f(record):\n    return 1\n"
    ),
    "embedding": lambda wb, n: wb.add_embedding("p", "text", name=n),
}


def _state(wb: Workbench) -> Any:
    return (
        [p["name"] for p in wb.list_projects()],
        wb.list_tasks("p"),
        [s["name"] for s in wb.list_slices("p")],
        [lst["name"] for lst in wb.list_lookup_lists("p")],
        [h["name"] for h in wb.list_heuristics("p")],
        [a["name"] for a in wb.get_project("p")["attributes"]],
        [e["name"] for e in wb.list_embeddings("p")],
    )


@pytest.mark.parametrize("odd", ["newline", "nul", "bidi override"])
@pytest.mark.parametrize("door", CREATES)
def test_odd_characters_in_names_are_refused(
    wb: Workbench, project: str, door: str, odd: str
) -> None:
    name, described = ODD[odd]
    before = _state(wb)
    with pytest.raises(ValidationError) as error:
        CREATES[door](wb, name)
    assert f"name cannot contain {described}" in error.value.message
    assert repr(name) in error.value.message
    assert _state(wb) == before


@pytest.mark.parametrize("odd", ODD)
def test_each_odd_character_is_named(odd: str) -> None:
    name, described = ODD[odd]
    with pytest.raises(ValidationError, match=re.escape(f"task name cannot contain {described}")):
        names.clean(name, "task")


def test_ordinary_names_pass(wb: Workbench, project: str) -> None:
    # non-Latin scripts, emoji with a zero-width joiner, a Persian zero-width non-joiner
    for name in ("Köln", "名前", "👩\u200d💻", "می\u200cخواهم", "n/a"):
        assert wb.add_label("p", "t", name)["name"] == name


def test_an_imported_column_name_with_a_newline_is_refused(wb: Workbench, tmp_path: Path) -> None:
    path = tmp_path / "cols.json"
    path.write_text(json.dumps([{"text": "a", "total\namount": 3}]), encoding="utf-8")
    with pytest.raises(ValidationError, match="a column name cannot contain the control char"):
        wb.import_file(path, "cols")
    assert wb.list_projects() == []


def test_nul_in_lookup_terms_and_descriptions_is_refused(wb: Workbench, project: str) -> None:
    with pytest.raises(ValidationError, match=r"a lookup term cannot contain a NUL character"):
        wb.add_terms("p", "l", ["peru", "a\x00b"])
    assert wb.get_lookup_list("p", "l")["entries"] == []
    with pytest.raises(ValidationError, match=r"a project's description cannot contain a NUL"):
        wb.create_project("q", "a\x00b")
    with pytest.raises(ValidationError, match=r"a lookup list's description cannot contain"):
        wb.create_lookup_list("p", "m", "a\x00b")
    assert [p["name"] for p in wb.list_projects()] == ["p"]


def test_unstorable_names_the_place() -> None:
    assert names.unstorable({"a": [1, {"b": "x\x00"}]}) == ("a[1].b", "a NUL character (U+0000)")
    assert names.unstorable({"k\x00": 1}, "body") == ("body.k\x00", "a NUL character (U+0000)")
    assert names.unstorable([1.5, float("-inf")]) == ("[1]", "a non-finite number (-inf)")
    assert names.unstorable({"a": ["ok", 2, None, True]}) is None
    deep: Any = "x\x00"
    for _ in range(100_000):  # no recursion: deep documents are walked, not overflowed
        deep = [deep]
    assert names.unstorable(deep) is not None


def test_nul_in_a_filter_is_refused_naming_the_node(wb: Workbench, project: str) -> None:
    """PostgreSQL failed on it, SQLite matched nothing: refused on both."""
    where = {"and": [{"search": "Mike"}, {"attribute": "text", "op": "eq", "value": "a\x00"}]}
    message = r"invalid filter at \$\.and\[1\]\.value: a filter cannot hold a NUL character"
    with pytest.raises(ValidationError, match=message):
        wb.query("p", where)
    with pytest.raises(ValidationError, match=message):
        wb.create_slice("p", "nul", where)
    assert [s["name"] for s in wb.list_slices("p")] == ["s"]


FREE_TEXT: dict[str, tuple[Callable[[Workbench], Any], str]] = {
    "annotator": (
        lambda wb: wb.annotate("p", 1, "t", "x", "ann\x00"),
        "an annotator's name cannot contain a NUL",
    ),
    "heuristic code": (
        lambda wb: wb.add_heuristic("p", "t", "g", "def g(r):\n    return '\x00'\n"),
        "a heuristic's code cannot contain a NUL",
    ),
    "heuristic code update": (
        lambda wb: wb.update_heuristic("p", "h", code="def h(r):\n    return '\x00'\n"),
        "a heuristic's code cannot contain a NUL",
    ),
    "heuristic description": (
        lambda wb: wb.update_heuristic("p", "h", new_name="h2", description="\x00"),
        "a heuristic's description cannot contain a NUL",
    ),
    "calculated code": (
        lambda wb: wb.add_calculated_attribute("p", "c", "text", "def c(r):\n    return '\x00'\n"),
        "an attribute's code cannot contain a NUL",
    ),
}


@pytest.mark.parametrize("door", FREE_TEXT)
def test_nul_in_free_text_is_refused_the_same_on_both_databases(
    wb: Workbench, project: str, door: str
) -> None:
    """SQLite stored these, PostgreSQL failed with a driver error."""
    write, message = FREE_TEXT[door]
    before = (_state(wb), wb.get_record("p", 1)["labels"], wb.get_heuristic("p", "h")["code"])
    with pytest.raises(ValidationError, match=message):
        write(wb)
    assert (_state(wb), wb.get_record("p", 1)["labels"], wb.get_heuristic("p", "h")["code"]) == (
        before
    )
