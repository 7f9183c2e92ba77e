"""Jobs: status, cancel, and progress as server-sent events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from assay import documents
from assay.api.deps import Id, WorkbenchDep, error_body, internal_error
from assay.errors import AssayError
from assay.services.jobs import FINAL

router = APIRouter(tags=["jobs"])


@router.get("/jobs", summary="Recent jobs")
def list_jobs(wb: WorkbenchDep, project: str | None = None) -> list[documents.JobPublic]:
    return wb.list_jobs(project)


@router.get("/jobs/{job_id}", summary="A job's status and progress")
def get_job(wb: WorkbenchDep, job_id: Id) -> documents.JobPublic:
    return wb.get_job(job_id)


@router.post("/jobs/{job_id}/cancel", summary="Ask a job to stop")
def cancel_job(wb: WorkbenchDep, job_id: Id) -> documents.JobPublic:
    return wb.cancel_job(job_id)


@router.get(
    "/jobs/{job_id}/events",
    summary="Job progress as server-sent events, until the job ends",
    description="Events `progress` (the job, whenever it changed) and a last `end`; "
    "a last `error` (the error shape) when the job cannot be read any more.",
    response_class=StreamingResponse,
)
async def job_events(wb: WorkbenchDep, job_id: Id) -> StreamingResponse:
    first = wb.get_job(job_id)  # 404 before the stream starts

    async def events() -> AsyncIterator[str]:
        job = first
        last = None
        try:
            while True:
                payload = json.dumps(job)
                if payload != last:
                    yield f"event: progress\ndata: {payload}\n\n"
                    last = payload
                if job["status"] in FINAL:
                    yield f"event: end\ndata: {payload}\n\n"
                    return
                await asyncio.sleep(0.25)
                job = await asyncio.to_thread(wb.get_job, job_id)
        except Exception as exc:  # noqa: BLE001 -- the status line is sent: say it as an event
            body = (
                error_body(exc.code, exc.message, exc.detail)
                if isinstance(exc, AssayError)
                else internal_error(exc)
            )
            yield f"event: error\ndata: {json.dumps(body)}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
