"""Frame and bulk-data retrieve (PS3.18 §10.4.1.1.2 / §10.4.1.1.5) over real HTTP: native and
compressed multi-frame instances from the PACS simulator, Accept negotiation of the pixel media
types, 400/404/406 refusals, and every BulkDataURI of a metadata response resolving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import pytest
from pixel_env import (
    FRAMES,
    HTJ2K,
    JPEG_2000,
    JPEG_LS,
    NESTED_OW,
    PATIENT,
    PRIVATE_OB,
    SIZE,
    frame_pixels,
    nested_ow,
    private_ob,
    write_pixel_patient,
)
from pydicom import dcmread
from pydicom.encaps import generate_frames
from rad107_env import PACS_AE, Source, SourceFactory, get, outcome, parts_of

from drimbox.config import CacheSettings
from drimbox.dicom.transfer import EXPLICIT_VR_LE
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.store.audit import audit_events
from support.dicom_factory import SeriesFiles, make_ct_series

OCTETS = 'multipart/related; type="application/octet-stream"'


@pytest.fixture(scope="module")
def patients(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[SeriesFiles]]:
    """Overrides the conftest's: two small CT patients and the multi-frame one."""
    root = tmp_path_factory.mktemp("rad107-frames") / PACS_AE
    series = make_ct_series(root, patients=2, series_per_patient=2, instances=2)
    series += write_pixel_patient(root)
    by_patient: dict[str, list[SeriesFiles]] = {}
    for s in series:
        by_patient.setdefault(s.patient_id, []).append(s)
    return by_patient


def instance_url(source: Source, series_index: int, instance_index: int) -> str:
    series = source.patients[PATIENT][series_index]
    return f"{source.series_url(series)}/instances/{series.sop_uids[instance_index]}"


def headers(source: Source, accept: str | None = None) -> dict[str, str]:
    result = source.headers(source.kos[PATIENT])
    if accept is None:
        del result["Accept"]
    else:
        result["Accept"] = accept
    return result


def stored_frames(source: Source, instance_index: int) -> list[bytes]:
    path = source.patients[PATIENT][1].paths[instance_index]
    return list(generate_frames(dcmread(path).PixelData, number_of_frames=FRAMES))


def as_pixels(body: bytes) -> np.ndarray:
    return np.frombuffer(body, dtype="<u2").reshape(SIZE, SIZE)


# --- frames ----------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [OCTETS, None, "*/*", f"{OCTETS}; transfer-syntax=*"])
async def test_native_frames_in_list_order(source: Source, accept: str | None) -> None:
    answer = await get(f"{instance_url(source, 0, 0)}/frames/4,2,4", headers(source, accept))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(
        f"{OCTETS}; transfer-syntax={EXPLICIT_VR_LE}; boundary="
    )
    parts = parts_of(answer)
    assert [p.content_type for p in parts] == [
        f"application/octet-stream; transfer-syntax={EXPLICIT_VR_LE}"
    ] * 3
    for part, number in zip(parts, (4, 2, 4), strict=True):
        assert np.array_equal(as_pixels(part.body), frame_pixels(number))


@pytest.mark.parametrize(
    ("index", "media", "syntax", "decode"),
    [
        (0, "image/jls", JPEG_LS, imagecodecs.jpegls_decode),
        (1, "image/jp2", JPEG_2000, imagecodecs.jpeg2k_decode),
        (2, "image/jphc", HTJ2K, imagecodecs.htj2k_decode),
    ],
)
async def test_compressed_frames_pass_through(
    source: Source, index: int, media: str, syntax: str, decode: Any
) -> None:
    for accept in (f'multipart/related; type="{media}"', None):
        answer = await get(f"{instance_url(source, 1, index)}/frames/1,3", headers(source, accept))
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith(
            f'multipart/related; type="{media}"; transfer-syntax={syntax}'
        )
        parts = parts_of(answer)
        stored = stored_frames(source, index)
        assert [p.content_type for p in parts] == [f"{media}; transfer-syntax={syntax}"] * 2
        assert [p.body for p in parts] == [stored[0], stored[2]]
        assert np.array_equal(decode(parts[1].body), frame_pixels(3))


async def test_compressed_frames_decoded_to_native_when_asked(source: Source) -> None:
    answer = await get(f"{instance_url(source, 1, 0)}/frames/5", headers(source, OCTETS))
    assert answer.status_code == 200, answer.text
    (part,) = parts_of(answer)
    assert part.content_type == f"application/octet-stream; transfer-syntax={EXPLICIT_VR_LE}"
    assert np.array_equal(as_pixels(part.body), frame_pixels(5))  # lossless


async def test_native_frames_coded_on_request(source: Source) -> None:
    accept = 'multipart/related; type="image/jls"; transfer-syntax=1.2.840.10008.1.2.4.80'
    answer = await get(f"{instance_url(source, 0, 0)}/frames/2", headers(source, accept))
    assert answer.status_code == 200, answer.text
    (part,) = parts_of(answer)
    assert part.content_type == f"image/jls; transfer-syntax={JPEG_LS}"
    assert np.array_equal(imagecodecs.jpegls_decode(part.body), frame_pixels(2))


async def test_unproducible_media_type_is_406_with_what_we_offer(source: Source) -> None:
    # image/jpeg defaults to JPEG Baseline (8 bits): never for 12-bit CT frames
    answer = await get(
        f"{instance_url(source, 0, 0)}/frames/1",
        headers(source, 'multipart/related; type="image/jpeg"'),
    )
    assert outcome(answer) == (406, "NO_ACCEPTABLE_TRANSFER_SYNTAX")
    assert (
        f"application/octet-stream; transfer-syntax={EXPLICIT_VR_LE}" in answer.json()["supported"]
    )


async def test_frame_beyond_number_of_frames_is_404(source: Source) -> None:
    answer = await get(f"{instance_url(source, 0, 0)}/frames/1,{FRAMES + 1}", headers(source))
    assert outcome(answer) == (404, "FRAME_NOT_FOUND")
    assert str(FRAMES + 1) in answer.json()["message"]


@pytest.mark.parametrize("frame_list", ["0", "1,,2", "a", "-1", "1,", "1;2", "1234567890"])
async def test_malformed_frame_list_is_400(source: Source, frame_list: str) -> None:
    answer = await get(f"{instance_url(source, 0, 0)}/frames/{frame_list}", headers(source))
    assert outcome(answer) == (400, "BAD_REQUEST")


async def test_malformed_frame_list_is_400_before_the_kos_is_looked_up(source: Source) -> None:
    h = headers(source)
    h["KOS-SOPInstanceUID"] = "1.2.3.4"  # unknown KOS: 404 if it were checked first
    answer = await get(f"{instance_url(source, 0, 0)}/frames/x", h)
    assert outcome(answer) == (400, "BAD_REQUEST")


async def test_frames_of_an_instance_the_kos_does_not_grant_are_404(source: Source) -> None:
    series = source.patients[PATIENT][0]
    other = source.patients[PATIENT][1].sop_uids[0]
    url = f"{source.series_url(series)}/instances/{other}/frames/1"
    assert outcome(await get(url, headers(source))) == (404, "E205")


async def test_frames_without_token_are_403(source: Source) -> None:
    h = headers(source)
    del h["Authorization"]
    answer = await get(f"{instance_url(source, 0, 0)}/frames/1", h)
    assert outcome(answer) == (403, "E204")


# --- bulk data -------------------------------------------------------------------------------


async def test_bulk_pixel_data_native_is_one_octet_stream_part(source: Source) -> None:
    answer = await get(f"{instance_url(source, 0, 0)}/bulk/7FE00010", headers(source))
    assert answer.status_code == 200, answer.text
    (part,) = parts_of(answer)
    assert part.content_type == f"application/octet-stream; transfer-syntax={EXPLICIT_VR_LE}"
    expected = b"".join(frame_pixels(n).tobytes() for n in range(1, FRAMES + 1))
    assert part.body == expected


async def test_bulk_pixel_data_compressed_is_one_part_per_frame(source: Source) -> None:
    answer = await get(f"{instance_url(source, 1, 0)}/bulk/7fe00010", headers(source))
    assert answer.status_code == 200, answer.text
    parts = parts_of(answer)
    assert [p.content_type for p in parts] == [f"image/jls; transfer-syntax={JPEG_LS}"] * FRAMES
    assert [p.body for p in parts] == stored_frames(source, 0)


async def test_bulk_of_other_elements(source: Source) -> None:
    for path, expected in ((f"{PRIVATE_OB:08X}", private_ob()), (f"{NESTED_OW:08X}", nested_ow())):
        answer = await get(f"{instance_url(source, 0, 0)}/bulk/{path}", headers(source, OCTETS))
        assert answer.status_code == 200, answer.text
        (part,) = parts_of(answer)
        assert part.content_type == f"application/octet-stream; transfer-syntax={EXPLICIT_VR_LE}"
        assert part.body == expected
    nested = f"00091011/0/{NESTED_OW:08X}"  # the explicit path form
    answer = await get(f"{instance_url(source, 0, 0)}/bulk/{nested}", headers(source))
    assert parts_of(answer)[0].body == nested_ow()


async def test_bulk_of_an_absent_tag_is_404(source: Source) -> None:
    answer = await get(f"{instance_url(source, 0, 0)}/bulk/00431029", headers(source))
    assert outcome(answer) == (404, "BULKDATA_NOT_FOUND")
    answer = await get(f"{instance_url(source, 0, 0)}/bulk/00100010", headers(source))
    assert outcome(answer) == (404, "BULKDATA_NOT_FOUND")  # PatientName: not bulk data


@pytest.mark.parametrize("path", ["7FE0001", "7FE0001G", "00091011/x/00091012", "00091011/0"])
async def test_malformed_bulk_tag_is_400(source: Source, path: str) -> None:
    answer = await get(f"{instance_url(source, 0, 0)}/bulk/{path}", headers(source))
    assert outcome(answer) == (400, "BAD_REQUEST")


async def test_bulk_element_only_as_octet_stream(source: Source) -> None:
    answer = await get(
        f"{instance_url(source, 0, 0)}/bulk/{PRIVATE_OB:08X}",
        headers(source, 'multipart/related; type="image/jls"'),
    )
    assert outcome(answer) == (406, "NO_ACCEPTABLE_TRANSFER_SYNTAX")


def bulk_uris(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["BulkDataURI"]] if "BulkDataURI" in value else []
        return found + [u for v in value.values() for u in bulk_uris(v)]
    if isinstance(value, list):
        return [u for v in value for u in bulk_uris(v)]
    return []


async def test_every_bulk_data_uri_of_the_metadata_resolves(source: Source) -> None:
    public = (source.settings.pacs[0].public_base_url or "").rstrip("/")
    seen = 0
    for series in source.patients[PATIENT]:
        answer = await get(f"{source.series_url(series)}/metadata", headers(source))
        assert answer.status_code == 200, answer.text
        uris = bulk_uris(answer.json())
        assert uris and all(u.startswith(public + "/") for u in uris)
        for uri in uris:
            resolved = await get(source.url + uri[len(public) :], headers(source))
            assert resolved.status_code == 200, (uri, resolved.text)
            assert parts_of(resolved)
            seen += 1
    assert seen >= 4 * 3  # pixel data, private OB, nested OW per instance (4 instances)


async def test_frames_and_bulk_are_audited(source: Source) -> None:
    await get(f"{instance_url(source, 0, 0)}/frames/1", headers(source))
    await get(f"{instance_url(source, 0, 0)}/bulk/7FE00010", headers(source))
    await get(f"{instance_url(source, 0, 0)}/frames/99", headers(source))
    await source.service.audit.drain()
    async with source.service.archive.sessions() as session:
        rows = list(await session.run_sync(lambda s: audit_events(s, limit=100)))
    actions = {(r.action, r.outcome) for r in rows}
    assert ("rad107.retrieve.frames", "success") in actions
    assert ("rad107.retrieve.frames", "denied") in actions
    assert ("rad107.retrieve.bulk", "success") in actions
    sop = source.patients[PATIENT][0].sop_uids[0]
    ids = {r.object_id for r in rows if r.action == "rad107.retrieve.frames"}
    assert any(i.endswith(f"{sop}/1") for i in ids) and any(i.endswith(f"{sop}/99") for i in ids)


async def test_frames_and_bulk_served_from_the_warm_cache_without_the_pacs(
    make_source: SourceFactory, pacs: PacsSimulator, tmp_path: Path
) -> None:
    cache = CacheSettings(enabled=True, dir=tmp_path / "cache", max_bytes=10**9)
    try:
        async with make_source(cache=cache) as source:
            series = source.patients[PATIENT][1]
            warm = await get(source.series_url(series), source.headers(source.kos[PATIENT]))
            assert warm.status_code == 200 and len(parts_of(warm)) == 3  # write-through
            pacs.stop()
            answer = await get(f"{instance_url(source, 1, 0)}/frames/2", headers(source))
            assert answer.status_code == 200, answer.text
            assert [p.body for p in parts_of(answer)] == [stored_frames(source, 0)[1]]
            answer = await get(f"{instance_url(source, 1, 1)}/frames/4", headers(source, OCTETS))
            assert answer.status_code == 200, answer.text
            assert np.array_equal(as_pixels(parts_of(answer)[0].body), frame_pixels(4))
            answer = await get(f"{instance_url(source, 1, 2)}/bulk/7FE00010", headers(source))
            assert len(parts_of(answer)) == FRAMES
    finally:
        pacs.start()
