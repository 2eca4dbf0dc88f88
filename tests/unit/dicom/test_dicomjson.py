"""DICOM JSON metadata (PS3.18 §F.2)."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest
from pydicom import Dataset, dcmread

from drimbox.dicom.dicomjson import (
    bulk_under,
    dumps,
    instance_metadata,
    series_metadata,
)
from drimbox.errors import DicomDataError

URL = "https://db.example/wado/studies/1/series/2/instances/3"


def test_pixel_data_becomes_bulk_data_uri(images: SimpleNamespace) -> None:
    data, _ = images.ct_signed_jpegls()
    meta = instance_metadata(data, bulk_under(URL))
    assert meta["7FE00010"] == {"vr": "OB", "BulkDataURI": f"{URL}/bulk/7FE00010"}
    assert meta["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "TEST^P1"}]}
    assert meta["00280100"] == {"vr": "US", "Value": [16]}
    assert not any(tag.startswith("0002") for tag in meta)  # no file meta group
    assert list(meta) == sorted(meta)


def test_native_pixel_data_keeps_its_vr(images: SimpleNamespace) -> None:
    data, _ = images.multiframe12()
    meta = instance_metadata(data, bulk_under(URL + "/"))
    assert meta["7FE00010"]["vr"] == "OW"
    assert meta["7FE00010"]["BulkDataURI"] == f"{URL}/bulk/7FE00010"


def test_nested_bulk_data_uris_carry_their_path(images: SimpleNamespace) -> None:
    """An icon's Pixel Data must not get the URI of the image's own Pixel Data."""
    data, _ = images.ct_signed_jpegls()
    ds = dcmread(io.BytesIO(data))
    icon = Dataset()
    icon.Rows, icon.Columns = 64, 64
    icon.PixelData = bytes(64 * 64 * 2)
    icon["PixelData"].VR = "OW"
    ds.IconImageSequence = [icon]
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    meta = instance_metadata(out.getvalue(), bulk_under(URL))
    nested = meta["00880200"]["Value"][0]["7FE00010"]
    assert nested == {"vr": "OW", "BulkDataURI": f"{URL}/bulk/00880200/0/7FE00010"}
    assert meta["7FE00010"]["BulkDataURI"] == f"{URL}/bulk/7FE00010"


def test_small_binary_inline_large_binary_bulk(images: SimpleNamespace) -> None:

    data = images.pdf()
    ds = dcmread(__import__("io").BytesIO(data))
    ds.EncapsulatedDocument = b"%PDF" + b"x" * 4000
    ds.add_new(0x00291010, "OB", b"\x01\x02")  # a small private binary value
    meta = instance_metadata(images.to_bytes(ds), bulk_under(URL))
    assert meta["00420011"] == {"vr": "OB", "BulkDataURI": f"{URL}/bulk/00420011"}
    assert meta["00291010"]["InlineBinary"] == "AQI="  # VR UN: the file is Implicit VR


def test_series_metadata_is_a_json_array(images: SimpleNamespace) -> None:
    objects = [instance_metadata(images.mono8()[0], bulk_under(URL)) for _ in range(2)]
    body = dumps(series_metadata(objects))
    parsed = json.loads(body)
    assert isinstance(parsed, list) and len(parsed) == 2
    assert Dataset.from_json(parsed[0], lambda uri: b"").Modality == "OT"


def test_unreadable_instance_is_a_typed_error() -> None:
    with pytest.raises(DicomDataError, match="cannot read instance"):
        instance_metadata(b"not dicom at all", bulk_under(URL))
