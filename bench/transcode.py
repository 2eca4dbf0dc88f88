"""Transcoding figures: per-frame encode/decode ms per syntax, then whole-series throughput with
the process pool, on a generated 512x512 16-bit signed CT series stored as JPEG-LS lossless.

Run: ``.venv/bin/python bench/transcode.py [--frames 200] [--workers N]`` (informational only).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import AsyncIterator
from io import BytesIO

import imagecodecs
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import CTImageStorage, JPEGLSLossless, generate_uid

from drimbox.dicom.transcode import TranscodePool, frames_of, transcode, transcode_stream

TS = "1.2.840.10008.1.2.4."
# .50 is refused for >8-bit data by policy (see drimbox.dicom.transfer)
TARGETS = ["1.2.840.10008.1.2.1", TS + "51", TS + "70", TS + "80", TS + "90"]
TARGETS += [TS + "201", TS + "203"]


def ct_slice(number: int, study: str, series: str) -> bytes:
    y, x = np.mgrid[0:512, 0:512]
    body = (x - 256) ** 2 / 200**2 + (y - 256) ** 2 / 160**2 < 1
    tissue = 40 + 60 * np.sin(x / 13.0 + number / 9.0) * np.cos(y / 17.0)
    noise = np.random.default_rng(number).normal(0, 12, (512, 512))
    pixels = np.where(body, tissue + noise, -1000).astype(np.int16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = study, series, "CT"
    ds.InstanceNumber, ds.Rows, ds.Columns = number, 512, 512
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = 0, 1
    ds.PixelData = encapsulate([imagecodecs.jpegls_encode(pixels.view(np.uint16))], has_bot=True)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def per_frame(sample: bytes, target: str, repeat: int = 5) -> tuple[float, float, int]:
    """ms to transcode one instance (decode JPEG-LS + encode), ms to decode the output, size."""
    start = time.perf_counter()
    for _ in range(repeat):
        out = transcode(sample, target)
    encode_ms = (time.perf_counter() - start) * 1000 / repeat
    start = time.perf_counter()
    for _ in range(repeat):
        list(frames_of(out))
    decode_ms = (time.perf_counter() - start) * 1000 / repeat
    return encode_ms, decode_ms, len(out)


async def series(instances: list[bytes], target: str, pool: TranscodePool) -> tuple[float, float]:
    async def source() -> AsyncIterator[bytes]:
        for data in instances:
            yield data

    start = time.perf_counter()
    first = 0.0
    async for part in transcode_stream(source(), lambda _: target, pool):
        if part.index == 0:
            first = time.perf_counter() - start
    return time.perf_counter() - start, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    study, series_uid = generate_uid(), generate_uid()
    instances = [ct_slice(i + 1, study, series_uid) for i in range(args.frames)]
    stored = sum(len(d) for d in instances)
    print(f"series: {args.frames} x 512x512 int16 JPEG-LS, {stored / 1e6:.1f} MB stored")
    print(f"{'target':<24}{'transcode ms':>14}{'decode ms':>11}{'ratio':>8}")
    for target in TARGETS:
        enc, dec, size = per_frame(instances[0], target)
        print(f"{target:<24}{enc:>14.1f}{dec:>11.1f}{512 * 512 * 2 / size:>8.2f}")
    with TranscodePool(args.workers) as pool:
        asyncio.run(series(instances[:4], TS + "51", pool))  # start the workers
        print(f"\nwhole series with {args.workers} worker processes:")
        for target in (TS + "51", TS + "203", TS + "70", TS + "80"):
            total, first = asyncio.run(series(instances, target, pool))
            rate = args.frames / total
            print(
                f"{target:<24}{total:>7.2f} s  {rate:>6.0f} img/s  first part {first * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main()
