"""Small image instances of every shape the transcoder must handle, as Part 10 bytes."""

from __future__ import annotations

from io import BytesIO
from types import SimpleNamespace

import imagecodecs
import numpy as np
import pytest
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ImplicitVRLittleEndian,
    JPEGLSLossless,
    MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
    SecondaryCaptureImageStorage,
)

from support.dicom_factory import ct_instance, uid


def smooth(rows: int, cols: int, lo: int, hi: int, seed: int = 0) -> NDArray[np.float64]:
    """A smooth phantom with mild noise: lossy codecs behave as on real images."""
    y, x = np.mgrid[0:rows, 0:cols]
    base = 0.5 + 0.25 * np.sin(x / 7.0) * np.cos(y / 11.0) + 0.2 * ((x - cols / 2) ** 2 < 200)
    noise = np.random.default_rng(seed).normal(0, 0.01, (rows, cols))
    return np.clip(lo + (hi - lo) * (base + noise), lo, hi)


def to_bytes(ds: Dataset) -> bytes:
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def ct_signed_jpegls(size: int = 64) -> tuple[bytes, NDArray[np.int16]]:
    """16-bit signed CT (Bits Stored 16, -1024..3071 HU-like) stored as JPEG-LS lossless."""
    ds = ct_instance("P1", uid("st"), uid("se"), uid("ct-signed"), 1, size)
    pixels = smooth(size, size, -1024, 3071).astype(np.int16)
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = 0, 1
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelData = encapsulate([imagecodecs.jpegls_encode(pixels.view(np.uint16))], has_bot=True)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    return to_bytes(ds), pixels


def _sc(photometric: str, samples: int, bits: int, frames: int = 1) -> Dataset:
    ds = ct_instance(
        "P2", uid("st2"), uid("se2"), uid("sc", photometric, samples, bits, frames), 1, 8
    )
    del ds.RescaleIntercept, ds.RescaleSlope, ds.KVP
    sop = SecondaryCaptureImageStorage
    if frames > 1:
        sop = MultiFrameGrayscaleWordSecondaryCaptureImageStorage
        ds.NumberOfFrames = frames
        ds.FrameIncrementPointer = 0x00181063
        ds.FrameTime = 40
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.PatientOrientation = ""
    if frames > 1:
        ds.BurnedInAnnotation = "NO"
        ds.PresentationLUTShape = "IDENTITY"
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 8 if bits <= 8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, 0
    return ds


def mono8(photometric: str = "MONOCHROME2") -> tuple[bytes, NDArray[np.uint8]]:
    ds = _sc(photometric, 1, 8)
    ds.Rows = ds.Columns = 48
    pixels = smooth(48, 48, 0, 255).astype(np.uint8)
    ds.PixelData = pixels.tobytes()
    return to_bytes(ds), pixels


def rgb(planar: int) -> tuple[bytes, NDArray[np.uint8]]:
    ds = _sc("RGB", 3, 8)
    ds.Rows = ds.Columns = 48
    ds.PlanarConfiguration = planar
    pixels = np.stack([smooth(48, 48, 0, 255, seed=c) for c in range(3)], axis=-1).astype(np.uint8)
    layout = pixels.transpose(2, 0, 1) if planar else pixels
    ds.PixelData = np.ascontiguousarray(layout).tobytes()
    return to_bytes(ds), pixels


def multiframe12(frames: int = 3) -> tuple[bytes, NDArray[np.uint16]]:
    """Multi-frame 12-bit unsigned greyscale, Implicit VR Little Endian."""
    ds = _sc("MONOCHROME2", 1, 12, frames)
    ds.Rows = ds.Columns = 32
    pixels = np.stack([smooth(32, 32, 0, 4095, seed=f) for f in range(frames)]).astype(np.uint16)
    ds.PixelData = pixels.tobytes()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    return to_bytes(ds), pixels


def pdf() -> bytes:
    """An Encapsulated PDF (no pixel data), Implicit VR Little Endian."""
    ds = ct_instance("P3", uid("st3"), uid("se3"), uid("pdf"), 1, 8)
    for name in list(ds.dir()):
        if name not in ("PatientID", "PatientName", "StudyInstanceUID", "SeriesInstanceUID"):
            delattr(ds, name)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.104.1"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "DOC"
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = b"%PDF-1.4\n%%EOF\n"
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    return to_bytes(ds)


@pytest.fixture(scope="session")
def images() -> SimpleNamespace:
    """The factories above, for tests (conftest modules are not importable by name)."""
    return SimpleNamespace(
        ct_signed_jpegls=ct_signed_jpegls,
        mono8=mono8,
        rgb=rgb,
        multiframe12=multiframe12,
        pdf=pdf,
        to_bytes=to_bytes,
    )
