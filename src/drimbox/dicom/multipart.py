"""``multipart/related`` (RFC 2387 over RFC 2046 framing) for DICOMweb: a streaming writer and an
incremental reader.

The writer emits each part as soon as it is given one, so the first instance leaves before the
last is transcoded. The reader accepts any chunking (down to one byte at a time) and keeps only
the part being read in memory.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from drimbox.dicom.transfer import DICOM_MEDIA, AcceptHeaderError, parse_media_type
from drimbox.errors import DrimboxError

CRLF = b"\r\n"
_VALID_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]\Z")
_HEADER_NAME = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")


class MultipartError(DrimboxError):
    """A multipart body or its Content-Type is malformed (from a peer: HTTP 502 upstream)."""

    http_status = 502


@dataclass(frozen=True)
class Part:
    """One body part: its ``Content-Type``, extra headers, and content."""

    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def transfer_syntax(self) -> str | None:
        """The ``transfer-syntax`` parameter of the part's Content-Type, if any."""
        try:
            return parse_media_type(self.content_type)[1].get("transfer-syntax")
        except AcceptHeaderError as exc:
            raise MultipartError(f"bad part Content-Type {self.content_type!r}: {exc}") from exc


def new_boundary() -> str:
    """A random boundary; 128 bits make a collision with part content practically impossible."""
    return f"drimbox-{uuid.uuid4().hex}"


def dicom_part_type(transfer_syntax: str) -> str:
    """The per-part Content-Type that labels an instance with its real syntax (PS3.18 §8.7.3)."""
    return f"{DICOM_MEDIA}; transfer-syntax={transfer_syntax}"  # a UID is a token: no quotes


def related_content_type(boundary: str, media_type: str = DICOM_MEDIA) -> str:
    """The response's ``Content-Type``: ``multipart/related; type="…"; boundary=…``."""
    check_boundary(boundary)
    return f'multipart/related; type="{media_type}"; boundary={boundary}'


def check_boundary(boundary: str) -> str:
    """Raise unless ``boundary`` is a valid RFC 2046 §5.1.1 boundary (1–70 bchars)."""
    if not _VALID_BOUNDARY.match(boundary):
        raise MultipartError(f"invalid multipart boundary {boundary!r} (RFC 2046 §5.1.1)")
    return boundary


def _part_head(part: Part) -> bytes:
    lines = [f"Content-Type: {part.content_type}"]
    lines += [f"{name}: {value}" for name, value in part.headers.items()]
    for line in lines:
        if "\r" in line or "\n" in line:
            raise MultipartError(f"line break in part header {line!r}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def write_multipart(parts: AsyncIterable[Part], boundary: str) -> AsyncIterator[bytes]:
    """Yield the encoded body chunk by chunk, one part at a time (never the whole body).

    The CRLF before each delimiter belongs to the delimiter (RFC 2046 §5.1.1), so binary content
    ending in CRLF keeps it. An empty stream yields just the close delimiter.
    """
    delimiter = b"--" + check_boundary(boundary).encode("ascii")
    first = True
    async for part in parts:
        yield (b"" if first else CRLF) + delimiter + CRLF + _part_head(part)
        yield part.body
        first = False
    yield (b"" if first else CRLF) + delimiter + b"--" + CRLF


def boundary_of(content_type: str) -> str:
    """The boundary of a ``multipart/*`` Content-Type, with precise errors when absent/invalid."""
    try:
        media, params = parse_media_type(content_type)
    except AcceptHeaderError as exc:
        raise MultipartError(f"bad Content-Type {content_type!r}: {exc}") from exc
    if not media.startswith("multipart/"):
        raise MultipartError(f"Content-Type {media!r} is not multipart")
    boundary = params.get("boundary")
    if boundary is None:
        raise MultipartError(f"Content-Type {content_type!r} has no boundary parameter")
    return check_boundary(boundary)


class MultipartReader:
    """Incremental parser: ``feed()`` bytes as they come, get complete parts back; ``close()``
    at end of stream checks that the close delimiter was seen."""

    def __init__(self, boundary: str, *, max_part_size: int | None = None) -> None:
        self._dash = b"--" + check_boundary(boundary).encode("ascii")
        self._delim = CRLF + self._dash
        self._buf = bytearray()
        self._state = "preamble"  # preamble → after_delim → headers → body → … → epilogue
        self._headers: dict[str, str] = {}
        self._scan_from = 0
        self._max = max_part_size

    @property
    def finished(self) -> bool:
        return self._state == "epilogue"

    def feed(self, data: bytes) -> list[Part]:
        self._buf += data
        parts: list[Part] = []
        while self._step(parts):
            pass
        return parts

    def close(self) -> None:
        if self._state == "preamble":
            raise MultipartError("no multipart delimiter found (wrong boundary or not multipart)")
        if self._state != "epilogue":
            raise MultipartError(
                f"multipart body ended without its close delimiter (while reading {self._state})"
            )

    def _step(self, parts: list[Part]) -> bool:
        """Advance one state if the buffer allows; False when more bytes are needed."""
        if self._state == "preamble":
            return self._skip_preamble()
        if self._state == "after_delim":
            return self._after_delimiter()
        if self._state == "headers":
            return self._read_headers()
        if self._state == "body":
            return self._read_body(parts)
        self._buf.clear()  # epilogue is ignored (RFC 2046)
        return False

    def _skip_preamble(self) -> bool:
        if self._buf.startswith(self._dash):
            del self._buf[: len(self._dash)]
        else:
            at = self._buf.find(self._delim)
            if at < 0:
                keep = len(self._delim) - 1
                if len(self._buf) > keep:
                    del self._buf[: len(self._buf) - keep]
                return False
            del self._buf[: at + len(self._delim)]
        self._state = "after_delim"
        return True

    def _after_delimiter(self) -> bool:
        """After ``--boundary``: ``--`` closes; else optional LWSP then CRLF starts a part."""
        if len(self._buf) < 2:
            return False
        if self._buf.startswith(b"--"):
            self._state = "epilogue"
            return True
        end = self._buf.find(CRLF)
        if end < 0:
            pending = bytes(self._buf[:-1] if self._buf.endswith(b"\r") else self._buf)
            if pending.strip(b" \t"):
                raise MultipartError(
                    f"unexpected bytes after a boundary delimiter: {pending[:20]!r}"
                )
            return False
        if self._buf[:end].strip(b" \t"):
            raise MultipartError(
                f"unexpected bytes after a boundary delimiter: {bytes(self._buf[:end][:20])!r}"
            )
        del self._buf[: end + 2]
        self._state = "headers"
        self._headers = {}
        return True

    def _read_headers(self) -> bool:
        end = self._buf.find(CRLF)
        if end < 0:
            self._check_size()
            return False
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        if not line:
            self._state = "body"
            self._scan_from = 0
            return True
        name, colon, value = line.partition(b":")
        if not colon or not _HEADER_NAME.match(name):
            raise MultipartError(f"bad part header line {line[:80]!r}")
        self._headers[name.decode("ascii").lower()] = value.strip(b" \t").decode("latin-1")
        return True

    def _read_body(self, parts: list[Part]) -> bool:
        at = self._buf.find(self._delim, self._scan_from)
        if at < 0:
            self._scan_from = max(0, len(self._buf) - len(self._delim) + 1)
            self._check_size()
            return False
        body = bytes(self._buf[:at])
        del self._buf[: at + len(self._delim)]
        content_type = self._headers.pop("content-type", "text/plain")
        parts.append(Part(content_type, body, MappingProxyType(dict(self._headers))))
        self._state = "after_delim"
        return True

    def _check_size(self) -> None:
        if self._max is not None and len(self._buf) > self._max:
            raise MultipartError(f"multipart part larger than {self._max} bytes")


async def read_multipart(
    chunks: AsyncIterable[bytes], content_type: str, *, max_part_size: int | None = None
) -> AsyncIterator[Part]:
    """Yield the parts of a streamed body as each one completes."""
    reader = MultipartReader(boundary_of(content_type), max_part_size=max_part_size)
    async for chunk in chunks:
        for part in reader.feed(chunk):
            yield part
        if reader.finished:
            break
    reader.close()
