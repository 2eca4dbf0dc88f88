"""Frames and bulk data values out of one Part 10 instance (pure; run in a thread).

Frame numbers are 1-based (PS3.18 §10.4.1.1.2). Native values always leave little endian
(PS3.18 §8.7.3.3.2); a retired Big Endian instance has its words swapped here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from io import BytesIO

import numpy as np
from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.tag import Tag

from drimbox.dicom.part10 import DECODE_ERRORS
from drimbox.dicom.pixel_media import NATIVE_SYNTAXES
from drimbox.dicom.transfer import BIG_ENDIAN
from drimbox.errors import DicomDataError

from .errors import BadRequest, BulkDataNotFound, FrameNotFound

PIXEL_DATA = 0x7FE00010
MAX_FRAMES_LISTED = 10_000
_FRAME_LIST = re.compile(r"[0-9]{1,9}(,[0-9]{1,9})*\Z")
_TAG = re.compile(r"[0-9A-Fa-f]{8}\Z")
_INDEX = re.compile(r"(0|[1-9][0-9]{0,5})\Z")
_WORD = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}
"""Byte width of the words of the binary VRs whose byte order follows the syntax."""


def parse_frame_list(text: str) -> list[int]:
    """``1,3,2`` → ``[1, 3, 2]``: request order kept, repeats allowed; 400 on anything else."""
    if not _FRAME_LIST.match(text):
        raise BadRequest(
            f"frame list must be comma-separated frame numbers (PS3.18 §10.4.1.1.2): {text[:80]!r}"
        )
    numbers = [int(n) for n in text.split(",")]
    if 0 in numbers:
        raise BadRequest("frame numbers start at 1 (PS3.18 §10.4.1.1.2)")
    if len(numbers) > MAX_FRAMES_LISTED:
        raise BadRequest(f"at most {MAX_FRAMES_LISTED} frame numbers per request")
    return numbers


def parse_tag_path(text: str) -> list[int]:
    """``7FE00010`` or a nested ``SSSSSSSS/item/TTTTTTTT[/…]`` → flat list tag, item, tag, ….

    Tags are 8 hex digits (PS3.18 Annex F tag keys), items 0-based; 400 otherwise.
    """
    pieces = text.split("/")
    if len(pieces) % 2 == 0:
        raise BadRequest(f"bulk data path must end with a tag: {text[:80]!r}")
    path: list[int] = []
    for position, piece in enumerate(pieces):
        pattern = _TAG if position % 2 == 0 else _INDEX
        if not pattern.match(piece):
            what = "an 8-hex-digit tag" if position % 2 == 0 else "a 0-based item number"
            raise BadRequest(f"bulk data path: {piece[:20]!r} is not {what}")
        path.append(int(piece, 16) if position % 2 == 0 else int(piece))
    return path


def read(part10: bytes, *, defer: bool = False) -> Dataset:
    """The dataset (its file meta included); 422 when unreadable. ``defer``: values over 1 KiB
    are left unread (still listed), for a look at the attributes only."""
    try:
        return dcmread(BytesIO(part10), defer_size=1024 if defer else None)
    except Exception as exc:  # pydicom raises several unrelated types on bad input
        raise DicomDataError(f"cannot read instance: {exc}") from exc


@dataclass(frozen=True)
class PixelInfo:
    """What frame requests are checked against."""

    frames: int
    has_pixels: bool


def pixel_info(part10: bytes) -> PixelInfo:
    """Number of frames and presence of Pixel Data (the pixel value itself is not read)."""
    ds = read(part10, defer=True)
    has = PIXEL_DATA in ds
    try:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except DECODE_ERRORS as exc:
        raise DicomDataError(f"bad Number of Frames: {exc}") from exc
    return PixelInfo(frames, has)


def check_frames(numbers: list[int], info: PixelInfo, sop: str) -> None:
    """404 FRAME_NOT_FOUND for an instance without pixels or a number beyond its frames."""
    if not info.has_pixels:
        raise FrameNotFound(f"instance {sop} has no pixel data, hence no frames")
    beyond = sorted({n for n in numbers if n > info.frames})
    if beyond:
        raise FrameNotFound(
            f"instance {sop} has {info.frames} frame(s); no frame {', '.join(map(str, beyond))}"
        )


def _little_endian(value: bytes, width: int) -> bytes:
    if width <= 1:
        return value
    swapped: bytes = np.frombuffer(value, dtype=f">u{width}").astype(f"<u{width}").tobytes()
    return swapped


def _native_frames(ds: Dataset, syntax: str, numbers: list[int] | None) -> list[bytes]:
    value = bytes(ds.PixelData)
    count = int(ds.get("NumberOfFrames", 1) or 1)
    allocated = int(ds.BitsAllocated)
    bits = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1)) * allocated
    wanted = numbers or list(range(1, count + 1))
    if len(value) * 8 < bits * count:
        raise DicomDataError(f"Pixel Data holds {len(value)} bytes, less than {count} frame(s)")
    if bits % 8:  # 1-bit frames need not start on a byte boundary
        flat = np.unpackbits(np.frombuffer(value, np.uint8), bitorder="little")
        return [
            np.packbits(flat[(n - 1) * bits : n * bits], bitorder="little").tobytes()
            for n in wanted
        ]
    size = bits // 8
    width = allocated // 8 if syntax == BIG_ENDIAN else 1
    return [_little_endian(value[(n - 1) * size : n * size], width) for n in wanted]


def extract_frames(part10: bytes, numbers: list[int] | None) -> list[bytes]:
    """The wanted frames (all when None): native ones as little-endian octets, compressed ones
    as the bitstream of each frame (its fragments joined)."""
    ds = read(part10)
    syntax = str(ds.file_meta.TransferSyntaxUID)
    try:
        if syntax in NATIVE_SYNTAXES:
            return _native_frames(ds, syntax, numbers)
        count = int(ds.get("NumberOfFrames", 1) or 1)
        frames = list(generate_frames(ds.PixelData, number_of_frames=count))
    except DicomDataError:
        raise
    except (*DECODE_ERRORS, EOFError) as exc:
        raise DicomDataError(f"cannot split the pixel data into frames: {exc}") from exc
    if numbers is None:
        return frames
    if max(numbers) > len(frames):
        raise DicomDataError(f"the pixel data holds {len(frames)} frame(s) only")
    return [frames[n - 1] for n in numbers]


def native_pixel_value(part10: bytes) -> bytes:
    """The whole native Pixel Data value, little endian (bulk data of a native instance)."""
    ds = read(part10)
    syntax = str(ds.file_meta.TransferSyntaxUID)
    value = bytes(ds.PixelData)
    if syntax == BIG_ENDIAN and int(ds.BitsAllocated) > 8:
        return _little_endian(value, int(ds.BitsAllocated) // 8)
    return value


def _find(ds: Dataset, path: list[int]) -> DataElement | None:
    """Follow an explicit path, else (one bare tag) the top level, then the first match in the
    sequences, depth first: the BulkDataURIs of nested values carry their tag only."""
    if len(path) > 1:
        element = ds.get(Tag(path[0]))
        if element is None or element.VR != "SQ" or path[1] >= len(element.value):
            return None
        return _find(element.value[path[1]], path[2:])
    tag = Tag(path[0])
    if tag in ds:
        return ds[tag]
    for element in ds:
        if element.VR == "SQ":
            for item in element.value:
                found = _find(item, path)
                if found is not None:
                    return found
    return None


def bulk_value(part10: bytes, path: list[int]) -> bytes:
    """The value of a binary element (not Pixel Data), little endian; 404 when absent/not bulk."""
    ds = read(part10)
    syntax = str(ds.file_meta.TransferSyntaxUID)
    where = "/".join(f"{p:08X}" if i % 2 == 0 else str(p) for i, p in enumerate(path))
    try:
        element = _find(ds, path)
        value = None if element is None else element.value
    except DECODE_ERRORS as exc:
        raise DicomDataError(f"cannot read element {where}: {exc}") from exc
    if element is None:
        raise BulkDataNotFound(f"the instance has no element {where}")
    if not isinstance(value, bytes | bytearray):
        raise BulkDataNotFound(f"element {where} ({element.VR}) is not a bulk data element")
    width = _WORD.get(str(element.VR), 1) if syntax == BIG_ENDIAN else 1
    return _little_endian(bytes(value), width)
