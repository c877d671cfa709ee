"""The editing environment: a browser UI served by `headrace serve` at `/`, built only on the
public `/api/v1` API. Its files are plain ES modules under `static/`, with the pre-built
CodeMirror and Preact bundles in `static/vendor/` (see web/ at the repository root)."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
# Browsers revalidate every asset (a cheap 304 while unchanged), so the UI of a newly
# installed headrace never runs with modules cached from the previous one.
REVALIDATE = "no-cache"


class _Assets(StaticFiles):
    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = REVALIDATE
        return response


def mount_ui(app: FastAPI) -> None:
    """Serve the UI's page at `/` and its assets under `/ui/`."""
    app.mount("/ui", _Assets(directory=STATIC_DIR), name="ui")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": REVALIDATE})
