"""Try-runs ("Run on 10", record-IDE snippets): cancel one while it runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from assay import documents
from assay.api.deps import WorkbenchDep

router = APIRouter(tags=["try-runs"])


@router.post(
    "/try-runs/{cancel_key}/cancel",
    summary="Stop a try-run started with this cancel_key; it answers at once, cancelled",
)
def cancel_try_run(
    wb: WorkbenchDep, cancel_key: Annotated[str, Path(max_length=100)]
) -> documents.TryRunCancel:
    return wb.cancel_try_run(cancel_key)
