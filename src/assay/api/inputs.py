"""The check every API request passes before its route runs: no value that not every database
stores as it is.

PostgreSQL cannot hold a NUL character (U+0000) in a text or JSON value, SQLite can; a JSON
body may spell ``NaN`` or ``Infinity``, which no JSON column and no JSON export can hold. Such
a value anywhere in the path, the query, a JSON body or a form field answers 422 naming its
place (``body.where.value``, ``query.name``), the same on both databases, before anything is
read or written. The services check names and lookup terms again for the CLI and Python.
"""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import Request

from assay.errors import ValidationError
from assay.services.names import unstorable

_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


async def check_request(request: Request) -> None:
    """Refuse a request that holds a NUL character or a non-finite number (a dependency of
    every ``/api`` route; the route has read and parsed the body already, so this reads the
    parsed copy)."""
    places: list[tuple[str, Any]] = [("path", dict(request.path_params))]
    places += [("query", {k: v}) for k, v in request.query_params.multi_items()]
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        # A body that is no JSON: a route that reads no body ignores it, one that does
        # refuses it itself.
        with contextlib.suppress(ValueError, RecursionError):
            if await request.body():
                places.append(("body", await request.json()))
    elif kind in _FORMS:
        form = await request.form()
        places += [("body", {k: v}) for k, v in form.multi_items() if isinstance(v, str)]
    for where, value in places:
        problem = unstorable(value, where)
        if problem is not None:
            location, what = problem
            raise ValidationError(
                f"{location}: {what} is not accepted (not every database can store it)",
                location=location,
            )
