"""Names of projects, tasks, labels and slices: what users call them, and path segments of
the REST API (``/api/projects/{project}/tasks/{task}/labels/{label}``)."""

from __future__ import annotations

from typing import Any

from assay.errors import ValidationError


def clean(name: str, what: str, **detail: Any) -> str:
    """The name as stored (surrounding white space removed); empty names and names with a
    ``/`` (which would split an API path) are refused."""
    name = name.strip()
    if not name:
        raise ValidationError(f"a {what} needs a name", **detail)
    if "/" in name:
        raise ValidationError(f"a {what} name cannot contain '/': {name!r}", **detail)
    return name
