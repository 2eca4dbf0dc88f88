"""The ASGI application factory: a thin composition point for the HTTP faces of the DRIMbox.

Routers are included here (the Source admin API today; RAD-107 and the viewer next) and every
error leaves as JSON ``{"code", "message"}``: a :class:`~drimbox.errors.DrimboxError` with its
own ``http_status``, a malformed request with 400 and the exact fields at fault, an unexpected
failure with 500 and no traceback.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from drimbox import __version__
from drimbox.config import Settings
from drimbox.errors import DrimboxError
from drimbox.store.db import Database

if TYPE_CHECKING:
    from drimbox.source.rad107 import Rad107Service

log = logging.getLogger(__name__)


def error_code(exc: DrimboxError) -> str:
    """The JSON ``code``: the class's own ``code``, else its DRIM-M user code, else its name."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    return exc.user_code or type(exc).__name__


async def _drimbox_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DrimboxError)
    status = exc.http_status
    if status >= 500:
        log.warning("request failed: %s: %s", type(exc).__name__, exc)
    return JSONResponse({"code": error_code(exc), "message": str(exc)}, status_code=status)


def _location(loc: Any) -> str:
    return ".".join(str(part) for part in loc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": _location(item.get("loc", ())), "message": str(item.get("msg", ""))}
        for item in exc.errors()
    ]
    summary = "; ".join(f"{e['location']}: {e['message']}" for e in errors) or "invalid request"
    return JSONResponse(
        {"code": "invalid_request", "message": summary, "errors": errors}, status_code=400
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        {"code": f"http_{exc.status_code}", "message": str(exc.detail)},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error while serving a request", exc_info=exc)
    return JSONResponse({"code": "internal_error", "message": "internal error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """JSON answers for every failure (see the module docstring)."""
    app.add_exception_handler(DrimboxError, _drimbox_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def create_app(
    settings: Settings,
    *,
    source: bool = True,
    database: Database | None = None,
    rad107: Rad107Service | None = None,
) -> FastAPI:
    """The DRIMbox web application for ``settings``.

    ``source`` mounts the Source's routers (admin API under ``/admin``). The database is
    ``settings.effective_database_url`` unless one is given; the caller disposes of it.
    """
    app = FastAPI(
        title="DRIMbox",
        version=__version__,
        description="Open DRIMbox: DRIM-M Source and Consommatrice.",
    )
    install_error_handlers(app)
    if source:
        from drimbox.source import admin_api, health_api

        database = database or Database(settings.effective_database_url)
        admin_api.install(app, settings, database)
        app.include_router(admin_api.router)
        health_api.install(app, settings, database)
        if rad107 is not None:  # RAD-107 routes under each PACS public base path
            from drimbox.source.rad107 import mount

            mount(app, rad107)
    return app
