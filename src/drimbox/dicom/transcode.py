"""Transcoding of one Part 10 instance to another transfer syntax (pure, runs in worker processes).

Frames are decoded with imagecodecs straight from the encapsulated fragments (pydicom's own
``pixel_array`` path is ~4x slower on JPEG-LS) and re-encoded with imagecodecs; pydicom only reads
and writes the dataset. Values are handled as true pixel values (signed data sign-extended from
Bits Stored); lossless JPEG carries signed data as a Bits-Stored-wide two's complement
pattern, JPEG-LS as a 16-bit one (see :func:`_encode`), JPEG 2000 natively.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import struct
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from io import BytesIO
from typing import Any

import imagecodecs
import numpy as np
from numpy.typing import NDArray
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.multival import MultiValue
from pydicom.pixels.processing import convert_color_space
from pydicom.pixels.utils import pixel_array
from pydicom.uid import UID

from drimbox.dicom.transfer import (
    CATALOGUE,
    EXPLICIT_VR_LE,
    JPEG_BASELINE,
    JPEG_EXTENDED,
    ImageTraits,
    can_produce,
)
from drimbox.errors import DicomDataError

Array = NDArray[Any]

JPEG_QUALITY = 90  # libjpeg quality for .50/.51: visually lossless on CT/MR soft-tissue windows
HTJ2K_QSTEP = 0.00015  # OpenJPH step for .203, of the dtype range: RMS ≈2.5 HU on CT, as .51 q90
HTJ2K_QSTEP_8BIT = 0.004  # ≈1 grey level of 256


class TranscodeError(DicomDataError):
    """The instance cannot be converted to the requested syntax (precise reason in the message)."""


def stored_syntax(part10: bytes) -> str:
    """The Transfer Syntax UID of a Part 10 byte string, read from its file meta group only."""
    if len(part10) < 132 or part10[128:132] != b"DICM":
        raise TranscodeError("not a DICOM Part 10 file (no DICM prefix)")
    pos = 132
    while pos + 8 <= len(part10):
        group, element = struct.unpack_from("<HH", part10, pos)
        if group != 2:
            break
        vr = part10[pos + 4 : pos + 6]
        if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT", b"UC", b"UR"):
            (length,) = struct.unpack_from("<I", part10, pos + 8)
            pos += 12
        else:
            (length,) = struct.unpack_from("<H", part10, pos + 6)
            pos += 8
        if element == 0x0010:
            return part10[pos : pos + length].rstrip(b"\x00 ").decode("ascii")
        pos += length
    raise TranscodeError("file meta group has no Transfer Syntax UID (0002,0010)")


def describe(part10: bytes) -> tuple[str, ImageTraits]:
    """Stored syntax and image traits of an instance: what :func:`negotiate` needs (≈0.2 ms)."""
    syntax = stored_syntax(part10)
    try:
        ds = dcmread(BytesIO(part10))
    except Exception as exc:  # pydicom raises several unrelated types on bad input
        raise TranscodeError(f"cannot read instance: {exc}") from exc
    return syntax, ImageTraits.of(ds)


# --- decoding ---------------------------------------------------------------------------------


def _frame_decoder(syntax: str, photometric: str) -> Callable[[bytes], Array] | None:
    """imagecodecs decoder for an encapsulated syntax; None means "let pydicom do it" (RLE).

    Colour is always returned interleaved; JPEG colour space is given from the Photometric
    Interpretation, never guessed from markers (a marker-less RGB lossless stream would
    otherwise be "converted" from YCbCr).
    """
    if syntax.endswith((".4.50", ".4.51", ".4.57", ".4.70")):
        space = "YCbCr" if photometric.startswith("YBR") else None
        if photometric == "RGB":
            space = "RGB"
        lossless = syntax.endswith((".4.57", ".4.70"))  # components as coded, no conversion
        out = space if lossless else space and "RGB"
        return partial(imagecodecs.jpeg8_decode, colorspace=space, outcolorspace=out)
    if syntax.endswith((".4.80", ".4.81")):
        return imagecodecs.jpegls_decode
    if syntax.endswith((".4.201", ".4.202", ".4.203")):
        return partial(imagecodecs.htj2k_decode, planar=False)
    if syntax.endswith((".4.90", ".4.91")):
        return partial(imagecodecs.jpeg2k_decode, planar=False)
    return None


def decoded_photometric(syntax: str, photometric: str) -> str:
    """The Photometric Interpretation of the frames :func:`decode_frames` returns."""
    if photometric == "YBR_FULL_422" and not CATALOGUE[syntax].encapsulated:
        return "YBR_FULL"  # pydicom up-samples the chroma, values unchanged
    if photometric in ("YBR_RCT", "YBR_ICT"):
        return "RGB"  # JPEG 2000 decoders undo the component transform
    if photometric.startswith("YBR") and syntax.endswith((".4.50", ".4.51")):
        return "RGB"  # libjpeg converts YCbCr, as dcmdjpeg does by default
    return photometric


def _true_values(frame: Array, traits: ImageTraits) -> Array:
    """Mask to Bits Stored; sign-extend signed data (decoders return raw unsigned patterns)."""
    bits = traits.bits_stored
    width = 16 if traits.bits_allocated > 8 else 8
    unsigned: Array = frame.astype(np.uint16 if width == 16 else np.uint8, copy=False)
    if bits < width:
        unsigned = np.bitwise_and(unsigned, (1 << bits) - 1)
    if not traits.signed:
        return unsigned
    signed: Array = unsigned.view(np.int16 if width == 16 else np.int8)
    shift = width - bits
    return np.right_shift(np.left_shift(signed, shift), shift) if shift else signed


def decode_frames(ds: Dataset, syntax: str) -> list[Array]:
    """All frames as arrays of true pixel values, shape (rows, cols) or (rows, cols, samples)."""
    traits = ImageTraits.of(ds)
    count = int(ds.get("NumberOfFrames", 1) or 1)
    decoder = _frame_decoder(syntax, traits.photometric)
    if decoder is None:  # native and RLE: pydicom's numpy path is as fast as any
        pixels = pixel_array(ds, raw=True)  # raw: no colour conversion
        frames = list(pixels) if count > 1 else [pixels]
    else:
        try:
            frames = [decoder(f) for f in generate_frames(ds.PixelData, number_of_frames=count)]
        except Exception as exc:  # codec errors have no common base class
            raise TranscodeError(f"cannot decode {syntax} pixel data: {exc}") from exc
    return [_true_values(np.asarray(f), traits) for f in frames]


# --- encoding ---------------------------------------------------------------------------------


@dataclass
class _Image:
    """The frames plus the attributes an encoder may have to change."""

    frames: list[Array]
    ds: Dataset
    traits: ImageTraits

    def pattern(self, frame: Array, *, precision: int | None = None) -> Array:
        """Unsigned two's complement pattern of signed data, ``precision`` bits wide (default
        Bits Stored); unsigned data is returned as is."""
        if not self.traits.signed:
            return frame
        unsigned: Array = frame.view(np.uint16 if frame.dtype.itemsize == 2 else np.uint8)
        bits = precision or self.traits.bits_stored
        return (
            unsigned
            if bits >= 8 * frame.dtype.itemsize
            else np.bitwise_and(unsigned, (1 << bits) - 1)
        )


def _is_colour(image: _Image) -> bool:
    return image.traits.samples_per_pixel > 1


def _to_12_bits(image: _Image) -> None:
    """Map deep greyscale values into 0..4095 keeping modality values (see transfer policy)."""
    lo = min(int(f.min()) for f in image.frames)
    hi = max(int(f.max()) for f in image.frames)
    scale = max(1.0, (hi - lo) / 4095.0)
    if lo >= 0 and hi <= 4095:
        lo = 0  # already 12-bit values (most CT stored as 16 bits): no shift, no copy
    image.frames = [
        np.round((f.astype(np.float32) - lo) / scale).astype(np.uint16)
        if scale > 1
        else (
            f if lo == 0 and f.dtype == np.uint16 else (f.astype(np.int32) - lo).astype(np.uint16)
        )
        for f in image.frames
    ]
    ds = image.ds
    if "RescaleIntercept" in ds or "RescaleSlope" in ds:
        slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
        ds.RescaleIntercept = f"{intercept + slope * lo:.6g}"
        ds.RescaleSlope = f"{slope * scale:.6g}"
    else:
        for name in ("WindowCenter", "WindowWidth"):
            if name in ds:
                values = ds[name].value
                values = list(values) if isinstance(values, MultiValue) else [values]
                shift = lo if name == "WindowCenter" else 0
                ds[name].value = [f"{(float(v) - shift) / scale:.6g}" for v in values]
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 12, 11, 0
    for name in ("SmallestImagePixelValue", "LargestImagePixelValue", "PixelPaddingValue"):
        if name in ds:
            del ds[name]  # their VR (US/SS) and meaning follow the old representation
    image.traits = ImageTraits.of(ds)


def _encode_jpeg_lossy(image: _Image, target: str) -> list[bytes | bytearray]:
    traits = image.traits
    if _is_colour(image):
        frames = image.frames
        if traits.photometric == "YBR_FULL":  # the encoder wants RGB; it codes YCbCr itself
            frames = [convert_color_space(f, "YBR_FULL", "RGB") for f in frames]
        image.ds.PhotometricInterpretation = "YBR_FULL_422"
        return [imagecodecs.jpeg8_encode(f, level=JPEG_QUALITY, subsampling="422") for f in frames]
    if target == JPEG_EXTENDED and (traits.bits_stored > 12 or traits.signed):
        _to_12_bits(image)
    bits = 8 if target == JPEG_BASELINE else 12
    if target == JPEG_EXTENDED and image.traits.bits_allocated == 8:
        bits = 8
    return [
        imagecodecs.jpeg8_encode(f, level=JPEG_QUALITY, bitspersample=bits) for f in image.frames
    ]


def _encode(image: _Image, target: str) -> list[bytes | bytearray]:
    traits = image.traits
    bits = traits.bits_stored
    if target in (JPEG_BASELINE, JPEG_EXTENDED):
        return _encode_jpeg_lossy(image, target)
    if target.endswith(".4.70"):
        return [
            imagecodecs.jpeg8_encode(
                image.pattern(f), lossless=True, predictor=1, bitspersample=bits
            )
            for f in image.frames
        ]
    if target.endswith(".4.80"):
        # imagecodecs' CharLS always codes 8 or 16-bit precision (P), so signed data is given
        # sign-extended to P bits: decoders that sign-extend from P (pydicom) or from Bits
        # Stored (dcmtk, ours) both recover the values.
        return [
            imagecodecs.jpegls_encode(image.pattern(f, precision=8 * f.dtype.itemsize))
            for f in image.frames
        ]
    if target.endswith((".4.90", ".4.91")):
        return [
            imagecodecs.jpeg2k_encode(
                f, codecformat="J2K", reversible=True, bitspersample=bits, mct=False
            )
            for f in image.frames
        ]
    if target.endswith(".4.201"):  # rgb=False: no component transform, photometric unchanged
        return [imagecodecs.htj2k_encode(f, reversible=True, rgb=False) for f in image.frames]
    if target.endswith(".4.203"):
        return [
            imagecodecs.htj2k_encode(
                f,
                level=HTJ2K_QSTEP if f.dtype.itemsize > 1 else HTJ2K_QSTEP_8BIT,
                reversible=False,
                rgb=False,
            )
            for f in image.frames
        ]
    raise TranscodeError(f"no encoder for transfer syntax {target}")


def _mark_lossy(ds: Dataset, target: str, raw_size: int, coded_size: int) -> None:
    """Lossy Image Compression attributes (PS3.3 C.7.6.1.1.5): history is appended, never reset."""
    method = CATALOGUE[target].method
    ratios = list(ds.get("LossyImageCompressionRatio", []) or [])
    methods = list(ds.get("LossyImageCompressionMethod", []) or [])
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionRatio = [*ratios, f"{raw_size / max(coded_size, 1):.4g}"]
    ds.LossyImageCompressionMethod = [*methods, method]


def _native_bytes(image: _Image) -> bytes:
    wide = image.traits.bits_allocated > 8
    dtype = {(True, True): "<i2", (True, False): "<u2", (False, True): "i1", (False, False): "u1"}[
        (wide, image.traits.signed)
    ]
    data = b"".join(np.ascontiguousarray(f, dtype=dtype).tobytes() for f in image.frames)
    return data + b"\x00" if len(data) % 2 else data


def _recode_pixels(ds: Dataset, source: str, target: str) -> None:
    traits = ImageTraits.of(ds)
    if not can_produce(target, source, traits):
        raise TranscodeError(
            f"cannot produce {target} from {source} for {traits.bits_stored}-bit "
            f"{traits.photometric} pixels"
        )
    image = _Image(decode_frames(ds, source), ds, traits)
    if _is_colour(image):
        ds.PhotometricInterpretation = decoded_photometric(source, traits.photometric)
        ds.PlanarConfiguration = 0  # frames are interleaved, as every encapsulated syntax wants
        image.traits = ImageTraits.of(ds)
    for name in ("ExtendedOffsetTable", "ExtendedOffsetTableLengths", "IconImageSequence"):
        if name in ds:  # offsets of the old fragments; an icon coded in the old syntax (Type 3)
            del ds[name]
    if target == EXPLICIT_VR_LE:
        ds.PixelData = _native_bytes(image)
        ds["PixelData"].VR = "OB" if image.traits.bits_allocated == 8 else "OW"
        ds["PixelData"].is_undefined_length = False
        return
    raw_size = sum(f.size for f in image.frames) * image.traits.bits_allocated // 8
    try:
        coded = [bytes(c) for c in _encode(image, target)]  # no copy: codecs return bytes
    except TranscodeError:
        raise
    except Exception as exc:  # codec errors have no common base class
        raise TranscodeError(f"cannot encode {target}: {exc}") from exc
    ds.PixelData = encapsulate(coded, has_bot=True)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    if CATALOGUE[target].lossy:
        _mark_lossy(ds, target, raw_size, sum(len(c) for c in coded))


def transcode(part10: bytes, target: str) -> bytes:
    """Return the instance re-encoded in ``target`` (unchanged bytes if already in it).

    Objects without pixel data (SR, KOS, Encapsulated PDF…) only ever go to Explicit VR LE.
    """
    source = stored_syntax(part10)
    if source == target:
        return part10
    try:
        ds = dcmread(BytesIO(part10))
    except Exception as exc:  # pydicom raises several unrelated types on bad input
        raise TranscodeError(f"cannot read instance: {exc}") from exc
    if "PixelData" in ds:
        _recode_pixels(ds, source, target)
    elif not can_produce(target, source, ImageTraits(has_pixels=False)):
        raise TranscodeError(
            f"non-image object in {source}: only {EXPLICIT_VR_LE} can be produced, "
            "from a little-endian syntax"
        )
    ds.file_meta.TransferSyntaxUID = UID(target)
    out = BytesIO()
    try:
        ds.save_as(out, enforce_file_format=True)
    except (AttributeError, ValueError, TypeError) as exc:
        raise TranscodeError(f"cannot write instance as {target}: {exc}") from exc
    return out.getvalue()


def frames_of(part10: bytes) -> Iterator[Array]:
    """Decode every frame of an instance (tests and benchmarks compare pixels with this)."""
    ds = dcmread(BytesIO(part10))
    yield from decode_frames(ds, stored_syntax(part10))


# --- process pool and ordered streaming -------------------------------------------------------


@dataclass(frozen=True)
class TranscodedPart:
    """One instance ready to send, labelled with the syntax it is really in."""

    data: bytes
    transfer_syntax: str
    index: int


def _worker_ready() -> int:
    """Runs in a worker: the module (pydicom, imagecodecs) is imported by unpickling this."""
    time.sleep(0.05)  # long enough for each worker of the pool to take one
    return os.getpid()


class TranscodePool:
    """A process pool for :func:`transcode` (``forkserver``: safe beside asyncio and threads)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        context = multiprocessing.get_context("forkserver")
        self._executor = ProcessPoolExecutor(self.workers, mp_context=context)

    def submit(self, part10: bytes, target: str) -> asyncio.Future[bytes]:
        return asyncio.wrap_future(self._executor.submit(transcode, part10, target))

    def warm_up(self) -> None:
        """Start every worker and load the codecs now (blocking), so that the first RAD-107
        request does not pay 1-2 s of process start-up and imports (bench/RESULTS.md)."""
        futures = [self._executor.submit(_worker_ready) for _ in range(self.workers)]
        for future in futures:
            future.result()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> TranscodePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def transcode_stream(
    source: AsyncIterator[bytes],
    target_for: Callable[[bytes], str],
    pool: TranscodePool,
    *,
    max_in_flight: int | None = None,
) -> AsyncIterator[TranscodedPart]:
    """Yield the instances of ``source`` in arrival order, transcoded to ``target_for(instance)``.

    Up to ``max_in_flight`` instances (default: twice the pool size) are read ahead and coded in
    parallel, so memory stays bounded; each is yielded as soon as it and all before it are done.
    Pass-through instances skip the pool. Closing the iterator cancels the pending work.
    """
    limit = max_in_flight or 2 * pool.workers
    loop = asyncio.get_running_loop()
    pending: deque[tuple[asyncio.Future[bytes], str]] = deque()
    reading: asyncio.Task[bytes] | None = None
    exhausted = False
    index = 0
    try:
        while True:
            if reading is None and not exhausted and len(pending) < limit:
                reading = asyncio.ensure_future(anext(source))
            waiting: list[asyncio.Future[Any]] = [f for f, _ in list(pending)[:1]]
            if reading is not None:
                waiting.append(reading)
            if not waiting:
                return
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if reading is not None and reading.done():
                try:
                    data = reading.result()
                except StopAsyncIteration:
                    exhausted = True
                else:
                    target = target_for(data)
                    if target == stored_syntax(data):
                        done: asyncio.Future[bytes] = loop.create_future()
                        done.set_result(data)
                        pending.append((done, target))
                    else:
                        pending.append((pool.submit(data, target), target))
                reading = None
            while pending and pending[0][0].done():
                future, target = pending.popleft()
                yield TranscodedPart(future.result(), target, index)
                index += 1
    finally:
        if reading is not None:
            reading.cancel()
        for future, _ in pending:
            future.cancel()
