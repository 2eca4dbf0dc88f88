"""Multi-frame instances (native, JPEG-LS, JPEG 2000, HTJ2K) and bulk elements for the frame and
bulk-data tests, written where the PACS simulator of the rad107 conftest indexes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from drimbox.dicom.transcode import transcode
from support.dicom_factory import SeriesFiles, ct_instance, uid

PATIENT = "MFR000"
FRAMES = 5
SIZE = 16
JPEG_LS = "1.2.840.10008.1.2.4.80"
JPEG_2000 = "1.2.840.10008.1.2.4.90"
HTJ2K = "1.2.840.10008.1.2.4.201"
PRIVATE_CREATOR = "DRIMBOX TEST"
PRIVATE_OB = 0x00091010
NESTED_SEQUENCE = 0x00091011
NESTED_OW = 0x00091012


def frame_pixels(number: int) -> np.ndarray:
    """Frame ``number`` (1-based): distinct 12-bit values per frame."""
    base = np.arange(SIZE * SIZE, dtype=np.uint16).reshape(SIZE, SIZE)
    return ((base * 7 + number * 300) % 4096).astype(np.uint16)


def private_ob() -> bytes:
    return bytes(range(256)) * 8  # 2 KiB: above the 1 KiB BulkDataURI threshold


def nested_ow() -> bytes:
    return np.arange(1024, dtype="<u2").tobytes()


def multiframe(study_uid: str, series_uid: str, sop_uid: str, number: int) -> Dataset:
    """A CT-like multi-frame instance in Explicit VR LE, with private bulk elements."""
    ds = ct_instance(PATIENT, study_uid, series_uid, sop_uid, number, SIZE)
    ds.NumberOfFrames = FRAMES
    ds.PixelData = b"".join(frame_pixels(n).tobytes() for n in range(1, FRAMES + 1))
    block = ds.private_block(0x0009, PRIVATE_CREATOR, create=True)
    block.add_new(0x10, "OB", private_ob())
    item = Dataset()
    item.add_new(NESTED_OW, "OW", nested_ow())
    item.private_block(0x0009, PRIVATE_CREATOR, create=True)
    block.add_new(0x11, "SQ", Sequence([item]))
    return ds


def write_pixel_patient(root: Path) -> list[SeriesFiles]:
    """Series 0: native multi-frame; series 1: the same in JPEG-LS, JPEG 2000 and HTJ2K."""
    study_uid = uid(PATIENT, "study")
    result = []
    for s, syntaxes in enumerate(((None,), (JPEG_LS, JPEG_2000, HTJ2K))):
        series_uid = uid(PATIENT, "series", s)
        folder = root / PATIENT / f"S{s}"
        folder.mkdir(parents=True, exist_ok=True)
        sops, paths = [], []
        for i, syntax in enumerate(syntaxes, start=1):
            sop_uid = uid(PATIENT, s, i)
            ds = multiframe(study_uid, series_uid, sop_uid, i)
            ds.SeriesNumber = s + 1
            path = folder / f"{i:04d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            if syntax is not None:
                path.write_bytes(transcode(path.read_bytes(), syntax))
                assert dcmread(path).file_meta.TransferSyntaxUID == syntax
            sops.append(sop_uid)
            paths.append(path)
        result.append(
            SeriesFiles(PATIENT, f"TEST^{PATIENT}", study_uid, series_uid, tuple(sops),
                        tuple(paths))
        )  # fmt: skip
    return result
