"""Dependencies of the routes: the one Workbench of the application."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from assay.errors import ValidationError
from assay.workbench import Workbench


def get_workbench(request: Request) -> Workbench:
    workbench: Workbench = request.app.state.workbench
    return workbench


WorkbenchDep = Annotated[Workbench, Depends(get_workbench)]


def span(start: int | None, end: int | None) -> tuple[int, int] | None:
    """A token span from a body's optional start_token/end_token pair."""
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise ValidationError("a span needs both start_token and end_token")
    return (start, end)
