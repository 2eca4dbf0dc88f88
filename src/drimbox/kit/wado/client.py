"""Send one RAD-107 request and read the answer as a stream, part by part.

Each part is described as soon as it is complete (syntax label, size, SOP Instance UID read
from the header without touching the pixels) and the body is dropped unless ``save_dir`` is
given, so a 1300-image series costs one part of memory.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import httpx
from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from drimbox.dicom.multipart import MultipartError, MultipartReader, Part, boundary_of

from .request import WadoRequest

_E_CODE = re.compile(r"\bE2\d\d\b")


@dataclass(frozen=True)
class PartInfo:
    """One received part; ``meta_syntax`` is the file meta's, to compare with the label."""

    index: int
    content_type: str
    transfer_syntax: str | None
    size: int
    sop_instance_uid: str | None
    sop_class_uid: str | None
    meta_syntax: str | None
    at_s: float
    problem: str | None = None


@dataclass
class WadoResult:
    """Status line, headers as received (order and case kept), parts and timings."""

    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]
    request_line: str
    request_headers: list[tuple[str, str]]
    parts: list[PartInfo] = field(default_factory=list)
    body_bytes: int = 0
    first_byte_s: float = 0.0
    first_part_s: float | None = None
    total_s: float = 0.0
    error_body: str | None = None
    error: str | None = None

    @property
    def user_code(self) -> str | None:
        """The DRIM-M E-code (DB.VI-CO.27) found in an error body, if any."""
        if self.error_body is None:
            return None
        try:
            body = json.loads(self.error_body)
        except ValueError:
            body = None
        if isinstance(body, dict):
            for key in ("code", "user_code", "error_code", "errorCode"):
                value = body.get(key)
                if isinstance(value, str) and _E_CODE.fullmatch(value):
                    return value
        found = _E_CODE.search(self.error_body)
        return found.group(0) if found else None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None and bool(self.parts)


def describe_part(index: int, part: Part, at_s: float) -> PartInfo:
    """Syntax label, size and SOP UIDs of a DICOM part, reading the header only."""
    sop_uid = sop_class = meta_syntax = problem = None
    try:
        label = part.transfer_syntax
    except MultipartError as exc:
        label, problem = None, str(exc)
    try:
        ds = dcmread(
            BytesIO(part.body),
            stop_before_pixels=True,
            specific_tags=["SOPInstanceUID", "SOPClassUID"],
        )
        sop_uid = str(ds.get("SOPInstanceUID", "")) or None
        sop_class = str(ds.get("SOPClassUID", "")) or None
        meta_syntax = str(ds.file_meta.get("TransferSyntaxUID", "")) or None
    except (InvalidDicomError, ValueError, EOFError, OSError) as exc:
        problem = f"not a readable DICOM Part-10 object: {exc}"
    if problem is None and label and meta_syntax and label != meta_syntax:
        problem = f"labelled {label} but the file meta says {meta_syntax}"
    return PartInfo(
        index,
        part.content_type,
        label,
        len(part.body),
        sop_uid,
        sop_class,
        meta_syntax,
        at_s,
        problem,
    )


def _save(directory: Path, info: PartInfo, body: bytes) -> None:
    name = info.sop_instance_uid or f"part-{info.index:05d}"
    (directory / f"{name}.dcm").write_bytes(body)


async def fetch(
    request: WadoRequest,
    client: httpx.AsyncClient,
    *,
    save_dir: Path | None = None,
    on_part: Callable[[PartInfo], None] | None = None,
) -> WadoResult:
    """Send ``request``; stream and describe the parts; never raises for an HTTP status."""
    if save_dir is not None:
        save_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    async with client.stream("GET", request.url, headers=request.headers()) as response:
        sent = response.request
        result = WadoResult(
            status=response.status_code,
            reason=response.reason_phrase,
            http_version=response.http_version,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw],
            request_line=f"GET {sent.url} HTTP/1.1",
            request_headers=[
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in sent.headers.raw
            ],
            first_byte_s=time.perf_counter() - started,
        )
        if response.status_code != 200:
            body = await response.aread()
            result.body_bytes = len(body)
            result.error_body = body.decode("utf-8", errors="replace")
        else:
            await _read_parts(response, result, started, save_dir, on_part)
    result.total_s = time.perf_counter() - started
    return result


async def _read_parts(
    response: httpx.Response,
    result: WadoResult,
    started: float,
    save_dir: Path | None,
    on_part: Callable[[PartInfo], None] | None,
) -> None:
    try:
        reader = MultipartReader(boundary_of(response.headers.get("content-type", "")))
        async for chunk in response.aiter_bytes():
            result.body_bytes += len(chunk)
            for part in reader.feed(chunk):
                at = time.perf_counter() - started
                if result.first_part_s is None:
                    result.first_part_s = at
                info = describe_part(len(result.parts) + 1, part, at)
                result.parts.append(info)
                if save_dir is not None:
                    _save(save_dir, info, part.body)
                if on_part is not None:
                    on_part(info)
        reader.close()
    except MultipartError as exc:
        result.error = f"bad multipart body: {exc}"
