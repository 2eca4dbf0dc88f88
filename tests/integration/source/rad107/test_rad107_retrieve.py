"""RAD-107 happy paths over real HTTP: series, instance, metadata, ANS sample replay, a real
third-party client (dicomweb-client), pass-through vs transcoding labels."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import numpy as np
from dicomweb_client.api import DICOMwebClient
from pydicom import dcmread
from rad107_env import DICOM_ACCEPT, Source, dataset_of, parts_of

from drimbox.dicom.transfer import EXPLICIT_VR_LE
from support.ans_messages import data_root

JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
SERIES_SAMPLE = (
    "Echantillons_validateurs/Validateur_WADO-RS/Requete_WADO-RS_-_Serie/"
    "Requete_WADO-RS_-_Serie.txt"
)


def ans_accept_line() -> str:
    """The Accept header of the ANS series-level sample, verbatim (one comma list)."""
    text = (data_root() / SERIES_SAMPLE).read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.lower().startswith("accept:"))
    return line.partition(":")[2]


async def test_series_is_streamed_as_multipart_in_the_stored_syntax(source: Source) -> None:
    kos, series = source.small(0)
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.get(source.series_url(series[0]), headers=source.headers(kos))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith('multipart/related; type="application/dicom"')
    parts = parts_of(answer)
    assert [p.transfer_syntax for p in parts] == [EXPLICIT_VR_LE] * 3
    datasets = [dataset_of(p) for p in parts]
    assert sorted(ds.SOPInstanceUID for ds in datasets) == sorted(series[0].sop_uids)
    assert {ds.PatientID for ds in datasets} == {"PAT000"}


async def test_ans_series_sample_replayed_gets_jpeg_lossless_parts(source: Source) -> None:
    """Same Accept line as the ANS validator sample (4.70 first at q=0.9), series-level form."""
    kos, series = source.small(1)
    accept = ans_accept_line()
    assert accept.startswith('multipart/related; type="application/dicom";transfer-syntax=1.2.840')
    headers = {
        "Accept": accept,
        "Authorization": f"Bearer {source.token()}",
        "KOS-SOPInstanceUID": kos.sop_instance_uid,
        "User-Agent": "Java/11.0.16",
        "Connection": "keep-alive",
    }
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.get(source.series_url(series[1]), headers=headers)
    assert answer.status_code == 200, answer.text
    parts = parts_of(answer)
    assert len(parts) == 3
    for part, path in zip(parts, sorted(series[1].paths), strict=False):
        assert part.content_type == f"application/dicom; transfer-syntax={JPEG_LOSSLESS_SV1}"
        ds = dataset_of(part)
        assert ds.file_meta.TransferSyntaxUID == JPEG_LOSSLESS_SV1
        original = dcmread(path)
        assert ds.SOPInstanceUID in series[1].sop_uids
        if ds.SOPInstanceUID == original.SOPInstanceUID:
            assert np.array_equal(ds.pixel_array, original.pixel_array)  # lossless


async def test_lossy_request_is_transcoded_and_labelled(source: Source) -> None:
    kos, series = source.small(2)
    accept = (
        f'multipart/related; type="application/dicom"; transfer-syntax={JPEG_EXTENDED}; q=0.9, '
        f'multipart/related; type="application/dicom"; transfer-syntax={EXPLICIT_VR_LE}; q=0.4'
    )
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.get(
            source.series_url(series[0]), headers=source.headers(kos, Accept=accept)
        )
    assert answer.status_code == 200, answer.text
    assert f"transfer-syntax={JPEG_EXTENDED}" in answer.headers["content-type"]
    for part in parts_of(answer):
        assert part.transfer_syntax == JPEG_EXTENDED
        ds = dataset_of(part)
        assert ds.LossyImageCompression == "01"
        assert ds.pixel_array.shape == (16, 16)


async def test_dicomweb_client_retrieves_the_series(source: Source) -> None:
    kos, series = source.small(3)
    client = DICOMwebClient(
        url=source.url,
        headers={
            "Authorization": f"Bearer {source.token()}",
            "KOS-SOPInstanceUID": kos.sop_instance_uid,
        },
    )
    datasets = await asyncio.to_thread(
        client.retrieve_series, series[0].study_uid, series[0].series_uid
    )
    assert sorted(ds.SOPInstanceUID for ds in datasets) == sorted(series[0].sop_uids)
    for ds in datasets:
        assert ds.PatientID == "PAT003"
        assert ds.pixel_array.shape == (16, 16)


async def test_instance_level_retrieve(source: Source) -> None:
    kos, series = source.small(4)
    sop = series[1].sop_uids[1]
    url = f"{source.series_url(series[1])}/instances/{sop}"
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.get(url, headers=source.headers(kos))
    assert answer.status_code == 200, answer.text
    parts = parts_of(answer)
    assert len(parts) == 1
    assert dataset_of(parts[0]).SOPInstanceUID == sop


async def test_series_metadata_is_dicom_json_with_bulk_data_uris(source: Source) -> None:
    kos, series = source.small(5)
    url = f"{source.series_url(series[0])}/metadata"
    headers = source.headers(kos, Accept="application/dicom+json")
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/dicom+json"
    items = answer.json()
    assert isinstance(items, list) and len(items) == 3
    retrieve_url = f"https://vi1.999.example.fr/drimbox/rs/studies/{series[0].study_uid}"
    for item, sop in zip(items, series[0].sop_uids, strict=True):
        # PS3.18 F.2: keys are 8 upper-case hex digits, each value has a "vr"
        assert all(re.fullmatch(r"[0-9A-F]{8}", key) for key in item)
        assert all("vr" in value for value in item.values())
        assert item["00080018"] == {"vr": "UI", "Value": [sop]}
        assert item["00100020"]["Value"] == ["PAT005"]
        assert item["7FE00010"]["BulkDataURI"] == (
            f"{retrieve_url}/series/{series[0].series_uid}/instances/{sop}/bulk/7FE00010"
        )
        assert "InlineBinary" not in item["7FE00010"]


def test_ans_sample_file_is_present() -> None:
    assert Path(data_root() / SERIES_SAMPLE).is_file()


__all__ = ["DICOM_ACCEPT"]
