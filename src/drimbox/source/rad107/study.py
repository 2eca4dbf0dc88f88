"""Study-level retrieve (PS3.18 §10.4.1.1.1): every instance of every series the KOS grants.

The series are opened one after the other with :func:`open_parts`, in KOS order. The first one
is opened before the status line, so that every refusal (PACS down, identity, Accept) still gets
its status; a first series already gone from the PACS is skipped for the next, and 410 E206 is
the answer only when none is left. Later series are opened while streaming: one gone by then is
skipped with a warning (as a deleted instance is), any other failure aborts the body without its
close delimiter, as the series route does.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator

from fastapi import Request, Response

from drimbox.dicom.multipart import new_boundary
from drimbox.dicom.transfer import DICOM_MEDIA, AcceptRange, parse_accept
from drimbox.errors import DrimboxError
from drimbox.source.archive import KosRecord

from . import audit as au
from .access import Access, checked_kos
from .errors import ImagesDeleted
from .responses import MultipartResponse, instances_body
from .retrieval import OutPart
from .service import Rad107Service
from .serving import OpenedParts, open_parts

log = logging.getLogger(__name__)


class _Tally:
    """What the audit row says at the end: counted while streaming."""

    def __init__(self) -> None:
        self.series = 0
        self.instances = 0
        self.origins: list[str] = []
        self.first_syntax = ""

    def __str__(self) -> str:
        origins = ", ".join(dict.fromkeys(self.origins)) or "-"
        return (
            f"{self.instances} instance(s) of {self.series} series from {origins}, "
            f"first part {self.first_syntax}"
        )


async def _first_open(
    service: Rad107Service, kos: KosRecord, series: list[str], ranges: list[AcceptRange]
) -> tuple[int, OpenedParts]:
    """The first series still in the PACS, opened (its index in ``series``)."""
    gone: ImagesDeleted | None = None
    for index, series_uid in enumerate(series):
        try:
            return index, await open_parts(service, kos, series_uid, ranges)
        except ImagesDeleted as exc:
            log.warning("study retrieve, KOS %s: %s", kos.sop_instance_uid, exc)
            gone = exc
    raise gone or ImagesDeleted(f"KOS {kos.sop_instance_uid} references no series")


async def _study_parts(
    service: Rad107Service,
    kos: KosRecord,
    series: list[str],
    ranges: list[AcceptRange],
    opened: OpenedParts,
    tally: _Tally,
) -> AsyncGenerator[OutPart, None]:
    """The parts of the opened series, then of each later one; closing this closes the current
    retrieve (C-CANCEL)."""
    current: OpenedParts | None = opened
    try:
        for series_uid in series:
            if current is None:
                try:
                    current = await open_parts(service, kos, series_uid, ranges)
                except ImagesDeleted as exc:
                    log.warning("study retrieve, KOS %s: %s", kos.sop_instance_uid, exc)
                    continue
            tally.series += 1
            tally.origins.append(current.origin)
            yield current.first
            tally.instances += 1
            async for part in current.rest:
                yield part
                tally.instances += 1
            current = None
    finally:
        if current is not None:
            with contextlib.suppress(RuntimeError):
                await current.rest.aclose()


async def retrieve_study(service: Rad107Service, request: Request, study: str) -> Response:
    """``GET <base>/studies/{study}``: one multipart/related of every granted instance."""
    access = Access(service, au.RETRIEVE_STUDY, au.object_id(study))
    try:
        kos = await checked_kos(service, access, request, study, None)
        ranges = parse_accept(request.headers.getlist("accept"))
        series = [s.series_instance_uid for s in await service.archive.series_of(kos.id)]
        start, opened = await _first_open(service, kos, series, ranges)
    except DrimboxError as exc:
        return access.refused(exc)
    tally = _Tally()
    tally.first_syntax = opened.first.syntax
    parts = _study_parts(service, kos, series[start:], ranges, opened, tally)
    boundary = new_boundary()
    media_type = (
        f'multipart/related; type="{DICOM_MEDIA}"; transfer-syntax={opened.first.syntax}; '
        f"boundary={boundary}"
    )
    body = instances_body(parts, boundary, access, tally)
    return MultipartResponse(body, parts, media_type=media_type)
