"""RAD-107 WADO-RS routes of the Source: study, series, instance, frames, bulk data and
series-metadata retrieve.

Mount under each PACS location's public base path (``pacs[].public_base_url``), e.g.
``app.include_router(rad107_router(service), prefix="/wado-rs")``. See docs/rad107.md.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request, Response

from drimbox.config import Settings
from drimbox.dicom.multipart import new_boundary
from drimbox.dicom.transfer import DICOM_MEDIA, parse_accept, quality_of
from drimbox.errors import DrimboxError
from drimbox.web.app import error_code

from . import audit as au
from .access import Access, checked_kos, error_response
from .errors import NoAcceptableSyntax
from .frames import retrieve_bulk, retrieve_frames
from .metadata import render, series_metadata
from .responses import MultipartResponse, instances_body
from .service import Rad107Service
from .serving import chain, open_parts
from .study import retrieve_study

log = logging.getLogger(__name__)

DICOM_JSON = "application/dicom+json"
__all__ = ["base_paths", "error_code", "error_response", "mount", "rad107_router"]


async def _retrieve(
    service: Rad107Service, request: Request, study: str, series: str, sop: str | None
) -> Response:
    action = au.RETRIEVE_SERIES if sop is None else au.RETRIEVE_INSTANCE
    access = Access(service, action, au.object_id(study, series, sop))
    try:
        kos = await checked_kos(service, access, request, study, series, sop)
        ranges = parse_accept(request.headers.getlist("accept"))
        opened = await open_parts(service, kos, series, ranges, only=sop)
    except DrimboxError as exc:
        return access.refused(exc)
    boundary = new_boundary()
    media_type = (
        f'multipart/related; type="{DICOM_MEDIA}"; transfer-syntax={opened.first.syntax}; '
        f"boundary={boundary}"
    )
    summary = f"{opened.total} instance(s) from {opened.origin}, first part {opened.first.syntax}"
    body = instances_body(chain(opened), boundary, access, summary)
    return MultipartResponse(body, opened.rest, media_type=media_type)


async def _metadata(service: Rad107Service, request: Request, study: str, series: str) -> Response:
    access = Access(service, au.METADATA, au.object_id(study, series))
    try:
        kos = await checked_kos(service, access, request, study, series)
        ranges = parse_accept(request.headers.getlist("accept"))
        if max(quality_of(ranges, DICOM_JSON), quality_of(ranges, "application/json")) <= 0:
            raise NoAcceptableSyntax(
                "series metadata is only available as application/dicom+json", [DICOM_JSON]
            )
        items = await series_metadata(service, kos, series)
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
        "/studies/{study}",
        summary="Retrieve a study (RAD-107)",
        response_class=Response,
        **described,  # type: ignore[arg-type]
    )
    async def retrieve_study_route(request: Request, study: str) -> Response:
        """Every instance of every series the KOS grants, in KOS order, as one
        `multipart/related; type="application/dicom"` response."""
        return await retrieve_study(service, request, study)

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

    pixel_described = {
        "responses": described["responses"]
        | {
            200: {
                "description": 'multipart/related; type="application/octet-stream" (native) or '
                "the compressed media type (image/jpeg, image/jls, image/jp2, image/jphc…)"
            },
            400: {"description": "malformed frame list or bulk data tag, or no KOS header"},
            404: {"description": "E205 not granted; FRAME_NOT_FOUND / BULKDATA_NOT_FOUND"},
        }
    }

    @router.get(
        "/studies/{study}/series/{series}/instances/{sop}/frames/{frame_list}",
        summary="Retrieve frames (RAD-107)",
        response_class=Response,
        **pixel_described,  # type: ignore[arg-type]
    )
    async def retrieve_frames_route(
        request: Request, study: str, series: str, sop: str, frame_list: str
    ) -> Response:
        """The listed frames (1-based, comma-separated), one part each, in list order."""
        return await retrieve_frames(service, request, study, series, sop, frame_list)

    @router.get(
        "/studies/{study}/series/{series}/instances/{sop}/bulk/{tag_path:path}",
        summary="Retrieve bulk data (RAD-107)",
        response_class=Response,
        **pixel_described,  # type: ignore[arg-type]
    )
    async def retrieve_bulk_route(
        request: Request, study: str, series: str, sop: str, tag_path: str
    ) -> Response:
        """The value behind a metadata BulkDataURI (`7FE00010`: the pixel data)."""
        return await retrieve_bulk(service, request, study, series, sop, tag_path)

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
