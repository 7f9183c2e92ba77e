"""Dependencies of the routes: the one Workbench of the application, the types of path
parameters, and the pieces of a response that several routes build."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Path, Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Message

from assay.errors import TooLarge, ValidationError
from assay.storage.models import MAX_ID
from assay.workbench import Workbench

log = logging.getLogger("assay.api")


def get_workbench(request: Request) -> Workbench:
    workbench: Workbench = request.app.state.workbench
    return workbench


WorkbenchDep = Annotated[Workbench, Depends(get_workbench)]

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="an internal id")]
"""Every internal id in a path: one beyond the databases' INTEGER range answers 422, never
reaches a query (SQLite cannot bind it, PostgreSQL cannot compare it with a column)."""

RecordRef = Annotated[
    str, Path(description="a record's internal id, or its key col=value[,col=value]")
]
"""A record in a path: an id beyond the range names no record (404, services/records.py)."""


class BodyLimitRoute(APIRoute):
    """A route whose request body may not exceed ``body_limit``: refused (413, the error of
    ``too_large``) by its Content-Length before it is read, or as soon as the bytes that
    arrive pass the limit, so no body over it is ever held whole. Subclasses say the limit."""

    def body_limit(self, request: Request) -> int:
        raise NotImplementedError

    def too_large(self, limit: int) -> TooLarge:
        return TooLarge(f"the request body is larger than {limit:,} bytes", limit=limit)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def capped(request: Request) -> Response:
            limit = self.body_limit(request)
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise self.too_large(limit)
            received = 0

            async def receive() -> Message:
                nonlocal received
                message = await request.receive()
                received += len(message.get("body", b""))
                if received > limit:
                    raise self.too_large(limit)
                return message

            try:
                return await handler(Request(request.scope, receive))
            except HTTPException as exc:  # FastAPI wraps what fails while it reads a body
                if isinstance(exc.__cause__, TooLarge):
                    raise exc.__cause__ from None
                raise

        return capped


def error_body(code: str, message: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one error shape of the API (docs/api.md)."""
    return {"error": {"code": code, "message": message, "detail": detail or {}}}


def internal_error(exc: BaseException) -> dict[str, Any]:
    """The body of an error that no check foresaw: a message without server details for the
    client, the traceback for the server's log."""
    log.error("internal error: %s", type(exc).__name__, exc_info=exc)
    return error_body(
        "internal",
        f"internal error ({type(exc).__name__}): the request could not be answered; "
        "the server's log has the details",
    )


def attachment(filename: str) -> dict[str, str]:
    """The Content-Disposition header of a download: any name, in RFC 6266/5987 form (an
    ASCII fallback, and the exact name percent-encoded as UTF-8), as browsers read it."""
    fallback = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in filename)
    return {
        "Content-Disposition": f'attachment; filename="{fallback}"; '
        f"filename*=UTF-8''{quote(filename, safe='')}"
    }


def span(start: int | None, end: int | None) -> tuple[int, int] | None:
    """A token span from a body's optional start_token/end_token pair."""
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise ValidationError("a span needs both start_token and end_token")
    return (start, end)
