"""RAD-107 WADO-RS routes of the Source: series, instance and series-metadata retrieve.

Mount under each PACS location's public base path (``pacs[].public_base_url``), e.g.
``app.include_router(rad107_router(service), prefix="/wado-rs")``. See docs/rad107.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from drimbox.auth.errors import AccessDenied
from drimbox.auth.introspection import TokenInfo
from drimbox.config import Settings
from drimbox.dicom.multipart import Part, dicom_part_type, new_boundary, write_multipart
from drimbox.dicom.transfer import DICOM_MEDIA, parse_accept, quality_of
from drimbox.errors import DrimboxError
from drimbox.source.archive import KosRecord

from . import audit as au
from .checks import KOS_HEADER, check_kos, check_token, check_uid, kos_uid_from_header
from .errors import NoAcceptableSyntax, Rad107Error
from .metadata import render, series_metadata
from .service import Rad107Service
from .serving import OpenedParts, chain, open_parts

log = logging.getLogger(__name__)

DICOM_JSON = "application/dicom+json"


def error_code(exc: DrimboxError) -> str:
    """The class's own ``code``, else its DRIM-M user code, else its name (as web.app does)."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    return exc.user_code or type(exc).__name__


def error_response(exc: DrimboxError) -> JSONResponse:
    """``{"status", "code", "message"}``: code = DRIM-M user code (E204…E209) when there is one."""
    code = error_code(exc)
    body: dict[str, Any] = {"status": exc.http_status, "code": code, "message": str(exc)}
    headers: dict[str, str] = {}
    if isinstance(exc, NoAcceptableSyntax):
        body["supported"] = list(exc.supported)
    if isinstance(exc, AccessDenied):  # RFC 6750 §3
        error = f' error="{exc.oauth_error}"' if exc.oauth_error else ""
        headers["WWW-Authenticate"] = f'Bearer realm="drimbox"{error}'
    return JSONResponse(body, status_code=exc.http_status, headers=headers)


class _MultipartResponse(StreamingResponse):
    """Makes sure the part generator is closed (PACS retrieve cancelled) when the client goes:
    Starlette cancels the send, which may leave the generator suspended at a ``yield``."""

    def __init__(self, body: AsyncIterator[bytes], closer: OpenedParts, **kwargs: Any) -> None:
        super().__init__(body, **kwargs)
        self._opened = closer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            _close_soon(self._opened)


_closing: set[asyncio.Task[None]] = set()


def _close_soon(opened: OpenedParts) -> None:
    async def close() -> None:
        with contextlib.suppress(RuntimeError):
            await opened.rest.aclose()

    task = asyncio.get_running_loop().create_task(close())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


class _Access:
    """The audit context of one request."""

    def __init__(self, service: Rad107Service, action: str, object_id: str) -> None:
        self.service, self.action, self.object_id = service, action, object_id
        self.actor = au.ANONYMOUS
        self.national_id = ""
        self.kos_uid = ""

    def identify(self, info: TokenInfo) -> None:
        self.actor = info.subject
        self.national_id = info.national_id or ""

    def record(self, outcome: str, detail: str) -> None:
        who = f"PS {self.national_id}; " if self.national_id else ""
        kos = f"KOS {self.kos_uid}; " if self.kos_uid else ""
        self.service.audit.record(
            actor=self.actor,
            action=self.action,
            object_id=self.object_id,
            outcome=outcome,
            detail=f"{who}{kos}{detail}",
        )

    def refused(self, exc: DrimboxError) -> JSONResponse:
        outcome = au.DENIED if 400 <= exc.http_status < 500 else au.FAILURE
        code = error_code(exc)
        self.record(outcome, f"HTTP {exc.http_status} {code}: {exc}")
        if not isinstance(exc, Rad107Error | AccessDenied):
            log.warning("RAD-107 %s %s refused: %s", self.action, self.object_id, exc)
        return error_response(exc)


async def _checked_kos(
    service: Rad107Service,
    access: _Access,
    request: Request,
    study: str,
    series: str,
    sop: str | None = None,
) -> KosRecord:
    """Token, UIDs, KOS header and KOS record, in the DRIM-M order."""
    access.identify(await check_token(service.introspector, request.headers.get("authorization")))
    check_uid(study, "StudyInstanceUID")
    check_uid(series, "SeriesInstanceUID")
    if sop is not None:
        check_uid(sop, "SOPInstanceUID")
    access.kos_uid = kos_uid_from_header(request.headers.get(KOS_HEADER))
    return await check_kos(service.archive, access.kos_uid, study, series, sop)


def _parts_body(opened: OpenedParts, boundary: str, access: _Access) -> AsyncIterator[bytes]:
    async def parts() -> AsyncIterator[Part]:
        async for part in chain(opened):
            yield Part(dicom_part_type(part.syntax), part.data)

    async def body() -> AsyncIterator[bytes]:
        sent = 0
        try:
            async for chunk in write_multipart(parts(), boundary):
                sent += 1
                yield chunk
        except Exception as exc:
            # Headers are gone: abort without the close delimiter so the client sees it.
            log.error("RAD-107 %s aborted mid-stream: %s", access.object_id, exc)
            access.record(au.FAILURE, f"aborted after {sent // 2} part(s): {exc}")
            raise
        except BaseException:
            access.record(au.FAILURE, f"client gone after {sent // 2} part(s)")
            raise
        access.record(
            au.SUCCESS,
            f"HTTP 200, {opened.total} instance(s) from {opened.origin}, "
            f"first part {opened.first.syntax}",
        )

    return body()


async def _retrieve(
    service: Rad107Service, request: Request, study: str, series: str, sop: str | None
) -> Response:
    action = au.RETRIEVE_SERIES if sop is None else au.RETRIEVE_INSTANCE
    access = _Access(service, action, au.object_id(study, series, sop))
    try:
        kos = await _checked_kos(service, access, request, study, series, sop)
        ranges = parse_accept(request.headers.getlist("accept"))
        kos_sops = [i.sop_instance_uid for i in await service.archive.instances_of(kos.id, series)]
        opened = await open_parts(service, kos, series, kos_sops, ranges, only=sop)
    except DrimboxError as exc:
        return access.refused(exc)
    boundary = new_boundary()
    media_type = (
        f'multipart/related; type="{DICOM_MEDIA}"; transfer-syntax={opened.first.syntax}; '
        f"boundary={boundary}"
    )
    return _MultipartResponse(_parts_body(opened, boundary, access), opened, media_type=media_type)


async def _metadata(service: Rad107Service, request: Request, study: str, series: str) -> Response:
    access = _Access(service, au.METADATA, au.object_id(study, series))
    try:
        kos = await _checked_kos(service, access, request, study, series)
        ranges = parse_accept(request.headers.getlist("accept"))
        if max(quality_of(ranges, DICOM_JSON), quality_of(ranges, "application/json")) <= 0:
            raise NoAcceptableSyntax(
                "series metadata is only available as application/dicom+json", [DICOM_JSON]
            )
        wanted = [i.sop_instance_uid for i in await service.archive.instances_of(kos.id, series)]
        items = await series_metadata(service, kos, series, wanted)
        urls = [s.retrieve_url for s in await service.archive.series_of(kos.id)]
        series_url = next((u for u in urls if u.rstrip("/").endswith(f"/series/{series}")), "")
    except DrimboxError as exc:
        return access.refused(exc)
    access.record(au.SUCCESS, f"HTTP 200, metadata of {len(items)} instance(s)")
    return Response(render(items, series_url), media_type=DICOM_JSON)


def base_paths(settings: Settings) -> list[str]:
    """The URL paths to mount the routes under: those of the PACS ``public_base_url``s
    (several locations may share one path, told apart by host name), ``""`` when none is set."""
    paths = [
        urlsplit(p.public_base_url).path.rstrip("/") for p in settings.pacs if p.public_base_url
    ]
    return list(dict.fromkeys(paths)) or [""]


def mount(app: FastAPI, service: Rad107Service) -> None:
    """Include the RAD-107 routes under every configured base path."""
    router = rad107_router(service)
    for path in base_paths(service.settings):
        app.include_router(router, prefix=path)


def rad107_router(service: Rad107Service) -> APIRouter:
    """The RAD-107 routes bound to ``service``."""
    router = APIRouter(tags=["RAD-107 WADO-RS"])
    described = {
        "responses": {
            200: {"description": 'multipart/related; type="application/dicom"'},
            400: {"description": "KOS-SOPInstanceUID missing or malformed request"},
            403: {"description": "E204 access token missing, invalid or expired"},
            404: {"description": "E205 KOS unknown or not granting this series/instance"},
            406: {"description": "E209 patient mismatch, or no acceptable transfer syntax"},
            410: {"description": "E206 KOS replaced/unpublished or images deleted"},
            502: {"description": "E207 PACS unreachable (or token introspection unreachable)"},
            504: {"description": "E208 PACS timeout"},
        }
    }

    @router.get(
        "/studies/{study}/series/{series}",
        summary="Retrieve a series (RAD-107)",
        response_class=Response,
        **described,  # type: ignore[arg-type]
    )
    async def retrieve_series(request: Request, study: str, series: str) -> Response:
        """The instances of the series the KOS grants, one `application/dicom` part each,
        labelled with their real transfer syntax. Headers: `Authorization: Bearer <PSC token>`,
        `KOS-SOPInstanceUID`, `Accept`."""
        return await _retrieve(service, request, study, series, None)

    @router.get(
        "/studies/{study}/series/{series}/instances/{sop}",
        summary="Retrieve one instance (RAD-107)",
        response_class=Response,
        **described,  # type: ignore[arg-type]
    )
    async def retrieve_instance(request: Request, study: str, series: str, sop: str) -> Response:
        """One instance the KOS references, as a one-part multipart/related response."""
        return await _retrieve(service, request, study, series, sop)

    @router.get(
        "/studies/{study}/series/{series}/metadata",
        summary="Series metadata (DICOM JSON)",
        response_class=Response,
        **described,  # type: ignore[arg-type]
    )
    async def retrieve_metadata(request: Request, study: str, series: str) -> Response:
        """PS3.18 §F.2 DICOM JSON of the instances the KOS grants, pixel data as BulkDataURI."""
        return await _metadata(service, request, study, series)

    return router
