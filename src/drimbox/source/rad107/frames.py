"""Frame and bulk-data retrieve (PS3.18 §10.4.1.1.2 and §10.4.1.1.5) of one granted instance.

Both fetch the instance as stored (warm cache, else the PACS: :func:`open_parts` with
``transfer-syntax=*``), then negotiate the pixel representation from ``Accept``
(:mod:`drimbox.dicom.pixel_media`): pass-through of the stored frames, or a transcoding in the
service's process pool (decoding a multi-frame instance never runs on the event loop). Frames are
cut from the Part 10 bytes in a thread. The answer is built whole before its status line: an
instance is at most one object, and every refusal must still get its status.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import MappingProxyType

from fastapi import Request, Response

from drimbox.dicom.multipart import Part, new_boundary, write_multipart
from drimbox.dicom.pixel_media import (
    OCTET_STREAM,
    PixelChoice,
    label_of,
    negotiate_pixels,
    octet_stream_acceptable,
    supported,
)
from drimbox.dicom.transfer import DICOM_MEDIA, EXPLICIT_VR_LE, AcceptRange, parse_accept
from drimbox.errors import DrimboxError

from . import audit as au
from . import pixels
from .access import Access, checked_kos
from .errors import BulkDataNotFound, NoAcceptableSyntax
from .retrieval import OutPart
from .service import Rad107Service
from .serving import open_parts

STORED = [
    AcceptRange(
        "multipart/related", MappingProxyType({"type": DICOM_MEDIA, "transfer-syntax": "*"})
    )
]
"""Accept ranges that ask :func:`open_parts` for the stored syntax (pass-through wins ties)."""


@dataclass(frozen=True)
class Fetched:
    """One granted instance as stored, and the client's Accept ranges."""

    part: OutPart
    ranges: list[AcceptRange]
    origin: str


async def fetch_instance(
    service: Rad107Service,
    access: Access,
    request: Request,
    study: str,
    series: str,
    sop: str,
    path_check: Callable[[], object],
) -> Fetched:
    """The instance route's checks (403 → 400 → 404 → 410 → 502/504 → 406), then its bytes."""
    kos = await checked_kos(service, access, request, study, series, sop, path_check)
    ranges = parse_accept(request.headers.getlist("accept"))
    opened = await open_parts(service, kos, series, STORED, only=sop)
    try:
        async for _ in opened.rest:  # nothing more: let the retrieve end normally
            pass
    finally:
        with contextlib.suppress(RuntimeError):
            await opened.rest.aclose()
    return Fetched(opened.first, ranges, opened.origin)


def _choose(fetched: Fetched, sop: str) -> PixelChoice:
    part = fetched.part
    choice = negotiate_pixels(fetched.ranges, part.syntax, part.traits)
    if choice is None:
        raise NoAcceptableSyntax(
            f"the pixel data of instance {sop} (stored as {part.stored_syntax}) cannot be sent "
            "in any media type and transfer syntax the request accepts",
            supported(part.syntax, part.traits),
        )
    return choice


async def _coded(service: Rad107Service, fetched: Fetched, choice: PixelChoice) -> bytes:
    """The instance in the chosen syntax: the stored bytes, or a transcoding in the pool."""
    if choice.syntax == fetched.part.syntax:
        return fetched.part.data
    return await service.pool.submit(fetched.part.data, choice.syntax)


async def _multipart(media_type: str, syntax: str, bodies: list[bytes]) -> Response:
    """A finished ``multipart/related`` response, one part per body, each labelled."""

    async def parts() -> AsyncIterator[Part]:
        for body in bodies:
            yield Part(f"{media_type}; transfer-syntax={syntax}", body)

    boundary = new_boundary()
    body = b"".join([chunk async for chunk in write_multipart(parts(), boundary)])
    content_type = (
        f'multipart/related; type="{media_type}"; transfer-syntax={syntax}; boundary={boundary}'
    )
    return Response(body, media_type=content_type)


async def retrieve_frames(
    service: Rad107Service,
    request: Request,
    study: str,
    series: str,
    sop: str,
    frame_list: str,
) -> Response:
    """``…/instances/{sop}/frames/{frame_list}``: one part per listed frame, in list order."""
    access = Access(service, au.RETRIEVE_FRAMES, au.object_id(study, series, sop, frame_list))
    numbers: list[int] = []

    def parse() -> None:
        numbers.extend(pixels.parse_frame_list(frame_list))

    try:
        fetched = await fetch_instance(service, access, request, study, series, sop, parse)
        info = await asyncio.to_thread(pixels.pixel_info, fetched.part.data)
        pixels.check_frames(numbers, info, sop)
        choice = _choose(fetched, sop)
        coded = await _coded(service, fetched, choice)
        frames = await asyncio.to_thread(pixels.extract_frames, coded, numbers)
        response = await _multipart(choice.media_type, label_of(choice.syntax), frames)
    except DrimboxError as exc:
        return access.refused(exc)
    access.record(
        au.SUCCESS,
        f"HTTP 200, {len(frames)} frame(s) of {info.frames} as {choice.media_type} "
        f"{label_of(choice.syntax)} from {fetched.origin}",
    )
    return response


async def retrieve_bulk(
    service: Rad107Service, request: Request, study: str, series: str, sop: str, tag_path: str
) -> Response:
    """``…/instances/{sop}/bulk/{tag}``: the value a metadata BulkDataURI stands for.

    Pixel Data (7FE00010, top level) follows the frames' negotiation: compressed, one part per
    frame; native, one ``application/octet-stream`` part with the whole value. Any other binary
    element: one ``application/octet-stream`` part (PS3.18 §8.7.3.3).
    """
    access = Access(service, au.RETRIEVE_BULK, au.object_id(study, series, sop, tag_path))
    path: list[int] = []

    def parse() -> None:
        path.extend(pixels.parse_tag_path(tag_path))

    try:
        fetched = await fetch_instance(service, access, request, study, series, sop, parse)
        if path == [pixels.PIXEL_DATA]:
            info = await asyncio.to_thread(pixels.pixel_info, fetched.part.data)
            if not info.has_pixels:
                raise BulkDataNotFound(f"instance {sop} has no Pixel Data")
            choice = _choose(fetched, sop)
            coded = await _coded(service, fetched, choice)
            if choice.native:
                bodies = [await asyncio.to_thread(pixels.native_pixel_value, coded)]
            else:
                bodies = await asyncio.to_thread(pixels.extract_frames, coded, None)
            media, syntax = choice.media_type, label_of(choice.syntax)
        else:
            if not octet_stream_acceptable(fetched.ranges):
                raise NoAcceptableSyntax(
                    f'bulk data is only available as multipart/related; type="{OCTET_STREAM}"',
                    [f"{OCTET_STREAM}; transfer-syntax={EXPLICIT_VR_LE}"],
                )
            bodies = [await asyncio.to_thread(pixels.bulk_value, fetched.part.data, path)]
            media, syntax = OCTET_STREAM, EXPLICIT_VR_LE
        response = await _multipart(media, syntax, bodies)
    except DrimboxError as exc:
        return access.refused(exc)
    access.record(
        au.SUCCESS,
        f"HTTP 200, {len(bodies)} part(s), {sum(map(len, bodies))} bytes as {media} {syntax} "
        f"from {fetched.origin}",
    )
    return response
