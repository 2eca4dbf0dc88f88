"""HTTP face of the health check: ``GET /health`` and ``GET <WADO-RS root>``.

The ANS healthcheck client simulator calls the WADO-RS root itself with
``Accept: application/json`` (test_a_blanc/Simulateur_client_healthcheck), so every configured
PACS ``public_base_url`` path answers the same JSON as ``/health``. HEAD gives the status only.
HTTP 200 when healthy, 503 otherwise (monitoring tools alert on the status alone).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from drimbox.config import Settings
from drimbox.dicom.dimse import DimseClient
from drimbox.dicom.transfer import AcceptHeaderError, parse_accept, quality_of
from drimbox.source.health import CacheStats, HealthChecker
from drimbox.store.db import Database

HEALTH_PATH = "/health"
_NO_STORE = {"Cache-Control": "no-store"}


def wado_root_paths(settings: Settings) -> list[str]:
    """The URL paths of the configured WADO-RS roots (``public_base_url`` of each PACS)."""
    paths: list[str] = []
    for node in settings.pacs:
        if node.public_base_url:
            path = re.sub(r"/{2,}", "/", urlsplit(node.public_base_url).path).rstrip("/") or "/"
            if path not in paths and path != HEALTH_PATH:
                paths.append(path)
    return paths


def _refusal(request: Request) -> Response | None:
    """None when the client accepts JSON; otherwise the 400/406 answer."""
    try:
        ranges = parse_accept(request.headers.getlist("accept"))
    except AcceptHeaderError as exc:
        return PlainTextResponse(f"invalid Accept header: {exc}\n", status_code=400)
    if quality_of(ranges, "application/json") <= 0:
        return PlainTextResponse(
            "the health report is only available as application/json\n", status_code=406
        )
    return None


def health_router(checker: HealthChecker, wado_roots: Iterable[str] = ()) -> APIRouter:
    """Routes for ``/health`` and each WADO-RS root path; mount on the Source app."""
    router = APIRouter(tags=["health"])

    async def health(request: Request) -> Response:
        refusal = _refusal(request)
        if refusal is not None:
            return refusal
        report = await checker.check()
        if request.method == "HEAD":
            return Response(
                status_code=report.http_status,
                media_type="application/json",
                headers=_NO_STORE,
            )
        return JSONResponse(report.to_json(), status_code=report.http_status, headers=_NO_STORE)

    summary = "Health report (database, PACS C-ECHO, disk, cache): 200 healthy, 503 otherwise"
    for path in [HEALTH_PATH, *wado_roots]:
        router.add_api_route(
            path,
            health,
            methods=["GET", "HEAD"],
            summary=summary,
            response_class=JSONResponse,
            include_in_schema=path == HEALTH_PATH,
        )
    return router


def install(
    app: FastAPI,
    settings: Settings,
    database: Database,
    *,
    cache_stats: CacheStats | None = None,
    dimse: DimseClient | None = None,
) -> HealthChecker:
    """Mount ``/health`` and the WADO-RS roots on ``app``; returns the checker (for tests)."""
    checker = HealthChecker(settings, database, dimse=dimse, cache_stats=cache_stats)
    app.include_router(health_router(checker, wado_root_paths(settings)))
    return checker
