"""The FastAPI application: routes under /api, OpenAPI at /docs, one error shape, and the
web UI's built files at every other path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from assay import __version__
from assay.api.deps import error_body, internal_error
from assay.api.door import Door, DoorMiddleware
from assay.api.inputs import check_request
from assay.api.routes import (
    attributes,
    curation,
    embeddings,
    heuristics,
    jobs,
    lookup_lists,
    models,
    projects,
    records,
    search,
    slices,
    statistics,
    tasks,
    try_runs,
)
from assay.config import Settings
from assay.errors import AssayError
from assay.services.queries import MAX_FILTER_DEPTH
from assay.workbench import Workbench

UI_DIR = Path(__file__).resolve().parents[1] / "ui"
"""The web UI's production build (``npm run build`` in ``web/`` writes it; wheels carry it)."""

ROUTERS = (
    projects.router,
    tasks.router,
    records.router,
    slices.router,
    embeddings.router,
    models.router,
    curation.router,
    search.router,
    statistics.router,
    lookup_lists.router,
    heuristics.router,
    attributes.router,
    jobs.router,
    try_runs.router,
)

_NO_UI = """<!doctype html><meta charset="utf-8"><title>assay</title>
<h1>assay</h1><p>The web UI is not built. Run <code>scripts/build-ui</code> (needs Node 20)
and reload, or use the API: <a href="/docs">/docs</a>.</p>"""


def _error(status: int, code: str, message: str, detail: Any = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, detail), status_code=status)


def create_app(
    workbench: Workbench | None = None,
    settings: Settings | None = None,
    ui_dir: Path = UI_DIR,
) -> FastAPI:
    app = FastAPI(
        title="assay",
        version=__version__,
        description="A data-centric workbench for NLP training data.",
        docs_url="/docs",
        openapi_url="/api/openapi.json",
    )
    app.state.workbench = workbench or Workbench(settings)
    app.state.door = Door(app.state.workbench.settings)  # Host, Origin, token: see door.py
    app.add_middleware(DoorMiddleware, door=app.state.door)

    @app.exception_handler(AssayError)
    async def assay_error(_request: Request, exc: AssayError) -> JSONResponse:
        return _error(exc.status_code, exc.code, exc.message, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"location": "", "message": "invalid request"}
        return _error(
            422, "invalid", f"{first['location']}: {first['message']}", {"errors": errors}
        )

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, RecursionError):  # FastAPI's 400 for a body json can't read
            return _error(
                422,
                "invalid",
                "body: the JSON nests too deeply to be read "
                f"(a filter takes at most {MAX_FILTER_DEPTH} levels)",
            )
        return _error(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(Exception)
    async def internal(_request: Request, exc: Exception) -> JSONResponse:
        # The last resort, meant never to answer: a cause found gets its own check and test.
        # Starlette raises the error again once this answered, for the server to log as well.
        return JSONResponse(internal_error(exc), status_code=500)

    # Every /api route refuses values not every database stores (NUL, inf, NaN): 422.
    api = APIRouter(prefix="/api", dependencies=[Depends(check_request)])
    for router in ROUTERS:
        api.include_router(router)

    @api.api_route(
        "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def unknown(path: str) -> None:
        # Unknown API paths answer the error shape, never the UI's page.
        raise HTTPException(404, f"no API route /api/{path}")

    app.include_router(api)
    _serve_ui(app, ui_dir)
    return app


def _serve_ui(app: FastAPI, ui_dir: Path) -> None:
    """The single-page app: its assets, and its page for every other path (the app routes)."""
    index = ui_dir / "index.html"
    if (ui_dir / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=ui_dir / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    def page(path: str) -> Response:
        served = (ui_dir / path).resolve()
        if path and served.is_file() and served.is_relative_to(ui_dir.resolve()):
            return FileResponse(served)  # favicon and other top-level files of the build
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(_NO_UI)
