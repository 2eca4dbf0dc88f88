"""Frame-list and bulk-path parsing, frame extraction and bulk values (rad107.pixels)."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian

from drimbox.source.rad107.errors import BadRequest, BulkDataNotFound, FrameNotFound
from drimbox.source.rad107.pixels import (
    PixelInfo,
    bulk_value,
    check_frames,
    extract_frames,
    native_pixel_value,
    parse_frame_list,
    parse_tag_path,
    pixel_info,
)


def test_frame_list_keeps_order_and_repeats() -> None:
    assert parse_frame_list("1") == [1]
    assert parse_frame_list("3,1,3") == [3, 1, 3]


@pytest.mark.parametrize("text", ["", "0", "1,0", "1,,2", ",1", "1,", "a", "-1", "1 ,2", "1.5",
                                  "1234567890", "+1"])  # fmt: skip
def test_malformed_frame_lists_are_400(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_frame_list(text)


def test_too_many_frames_listed_is_400() -> None:
    with pytest.raises(BadRequest):
        parse_frame_list(",".join(["1"] * 10_001))


def test_frames_beyond_number_of_frames_are_404() -> None:
    check_frames([1, 5], PixelInfo(5, True), "1.2")
    with pytest.raises(FrameNotFound, match="no frame 6, 9"):
        check_frames([9, 1, 6], PixelInfo(5, True), "1.2")
    with pytest.raises(FrameNotFound, match="no pixel data"):
        check_frames([1], PixelInfo(1, False), "1.2")


def test_tag_paths() -> None:
    assert parse_tag_path("7FE00010") == [0x7FE00010]
    assert parse_tag_path("7fe00010") == [0x7FE00010]
    assert parse_tag_path("00091011/2/00091012") == [0x00091011, 2, 0x00091012]
    for bad in ("", "7FE0001", "7FE000100", "00091011/2", "00091011/01/00091012", "x/0/y"):
        with pytest.raises(BadRequest):
            parse_tag_path(bad)


def instance(syntax: str = ExplicitVRLittleEndian, *, frames: int = 3, bits: int = 16) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = "1.2.3"
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, "1.2.3"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 3, 3, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit, ds.PixelRepresentation = bits - 1, 0
    ds.NumberOfFrames = frames
    if bits == 1:
        flat = np.tile(np.array([1, 0, 0], np.uint8), 3 * frames)  # 9 bits a frame
        ds.PixelData = np.packbits(flat, bitorder="little").tobytes()
    else:
        ds.PixelData = (
            np.arange(9 * frames, dtype=np.uint16)
            .astype(">u2" if syntax == ExplicitVRBigEndian else "<u2")
            .tobytes()
        )
    ds["PixelData"].VR = "OW" if bits == 16 else "OB"
    item = Dataset()
    item.add_new(0x00091012, "OW", np.arange(4, dtype=">u2" if syntax == ExplicitVRBigEndian
                                              else "<u2").tobytes())  # fmt: skip
    ds.add_new(0x00091011, "SQ", Sequence([item]))
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True, little_endian=syntax != ExplicitVRBigEndian,
               implicit_vr=False)  # fmt: skip
    return out.getvalue()


def test_native_frames_are_cut_in_request_order() -> None:
    data = instance()
    frames = extract_frames(data, [3, 1])
    assert frames == [np.arange(18, 27, dtype="<u2").tobytes(), np.arange(9, dtype="<u2").tobytes()]
    assert pixel_info(data) == PixelInfo(3, True)
    assert native_pixel_value(data) == np.arange(27, dtype="<u2").tobytes()


def test_big_endian_values_leave_little_endian() -> None:
    data = instance(ExplicitVRBigEndian)
    assert extract_frames(data, [2]) == [np.arange(9, 18, dtype="<u2").tobytes()]
    assert native_pixel_value(data) == np.arange(27, dtype="<u2").tobytes()
    assert bulk_value(data, [0x00091012]) == np.arange(4, dtype="<u2").tobytes()


def test_one_bit_frames_not_on_byte_boundaries() -> None:
    frames = extract_frames(instance(bits=1), [2])
    expected = np.packbits(np.tile(np.array([1, 0, 0], np.uint8), 3), bitorder="little")
    assert frames == [expected.tobytes()]


def test_bulk_values_top_level_nested_and_absent() -> None:
    data = instance()
    assert bulk_value(data, [0x00091011, 0, 0x00091012]) == np.arange(4, dtype="<u2").tobytes()
    with pytest.raises(BulkDataNotFound):
        bulk_value(data, [0x00431029])
    with pytest.raises(BulkDataNotFound):
        bulk_value(data, [0x00091011, 1, 0x00091012])
    with pytest.raises(BulkDataNotFound, match="not a bulk data element"):
        bulk_value(data, [0x00280010])
