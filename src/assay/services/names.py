"""Names of projects, tasks, labels and slices: what users call them, and path segments of
the REST API (``/api/projects/{project}/tasks/{task}/labels/{label}``); and the text that
every database can store.

Every create and rename of a named thing (project, task, label, slice, lookup list, attribute,
heuristic, embedding) goes through :func:`clean` (an imported column's name, kept as it is,
through its :func:`check_characters`). Names are shown on one line, in lists and
headers: control characters (newlines, tabs, NUL...), line and paragraph separators and the
bidirectional controls that reorder what follows (U+202E shows ``exe.txt`` as ``txt.exe``)
are refused. Free text (lookup terms, descriptions, code, cells) may hold most of these, but
never NUL: PostgreSQL cannot store it in a text or JSON value, SQLite can, and a project must
be the same on both (:func:`check_text`, :func:`unstorable`).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterator
from typing import Any

from assay.errors import ValidationError

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Marks and embeddings/overrides/isolates of the Unicode bidirectional algorithm."""


def clean(name: str, what: str, *, slash: bool = False, **detail: Any) -> str:
    """The name as stored (surrounding white space removed); empty names are refused, and so
    are names with a ``/`` (it would split an API path) unless ``slash``: label names may
    hold one ("n/a"), as a label is the last segment of its paths. Names with a control
    character, a line break or a bidirectional control are refused (:func:`check_characters`)."""
    name = name.strip()
    if not name:
        raise ValidationError(f"a {what} needs a name", **detail)
    if "/" in name and not slash:
        raise ValidationError(f"a {what} name cannot contain '/': {name!r}", **detail)
    return check_characters(name, what, **detail)


def check_characters(name: str, what: str, **detail: Any) -> str:
    """``name`` unless it holds a control character (NUL, newline, tab...), a line or
    paragraph separator or a bidirectional control, which are refused naming the character
    and where it is. :func:`clean` calls it; names kept exactly as given (an imported file's
    column names, which are its records' keys) call it alone."""
    for position, char in enumerate(name):
        if _odd(char):
            raise ValidationError(
                f"a {what} name cannot contain {_describe(char)} at character {position + 1}"
                f": {name!r}",
                **detail,
            )
    return name


def _odd(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in BIDI_CONTROLS


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")  # control characters have none
    return (
        f"U+{ord(char):04X} ({name.lower()})"
        if name
        else f"the control character U+{ord(char):04X}"
    )


def check_text(text: str, field: str, **detail: Any) -> str:
    """``text`` when every database can store it; a NUL character is refused, naming the
    field."""
    if "\x00" in text:
        raise ValidationError(
            f"{field} cannot contain a NUL character (U+0000); it has one at character "
            f"{text.index(chr(0)) + 1}",
            field=field,
            **detail,
        )
    return text


def unstorable(value: Any, where: str = "") -> tuple[str, str] | None:
    """The first place in a JSON-like value (dicts, lists, strings, numbers) that no database
    stores as it is: ``(location, what)`` such as ``("records[3].headline", "a NUL
    character (U+0000)")``; None when there is none. Keys count as well as values."""
    for location, item in _walk(value, where):
        if isinstance(item, str) and "\x00" in item:
            return location, "a NUL character (U+0000)"
        if isinstance(item, float) and not math.isfinite(item):
            return location, f"a non-finite number ({item})"
    return None


def _walk(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    stack = [(where, value)]
    while stack:  # not recursive: a deeply nested document must not overflow the stack
        location, item = stack.pop()
        if isinstance(item, dict):
            for key, child in reversed(item.items()):
                inner = f"{location}.{key}" if location else str(key)
                stack.append((inner, child))
                stack.append((inner, key))  # the key before its value
        elif isinstance(item, (list, tuple)):
            for index in reversed(range(len(item))):
                stack.append((f"{location}[{index}]", item[index]))
        else:
            yield location, item
