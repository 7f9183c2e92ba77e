"""Names of projects, tasks, labels and slices: what users call them, and path segments of
the REST API (``/api/projects/{project}/tasks/{task}/labels/{label}``)."""

from __future__ import annotations

from typing import Any

from assay.errors import ValidationError


def clean(name: str, what: str, *, slash: bool = False, **detail: Any) -> str:
    """The name as stored (surrounding white space removed); empty names are refused, and so
    are names with a ``/`` (it would split an API path) unless ``slash``: label names may
    hold one ("n/a"), as a label is the last segment of its paths."""
    name = name.strip()
    if not name:
        raise ValidationError(f"a {what} needs a name", **detail)
    if "/" in name and not slash:
        raise ValidationError(f"a {what} name cannot contain '/': {name!r}", **detail)
    return name
