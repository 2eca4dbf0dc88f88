"""Warm cache: a cold request fills it (write-through), a KOS pre-fetch fills it ahead, and
both are then served — images and metadata — with the PACS stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rad107_env import Source, SourceFactory, dataset_of, get, parts_of

from drimbox.config import CacheSettings
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.source.rad107 import prefetch

JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
EXPLICIT = "1.2.840.10008.1.2.1"
LOSSY_FIRST = (
    f'multipart/related; type="application/dicom"; transfer-syntax={JPEG_EXTENDED}; q=0.9, '
    f'multipart/related; type="application/dicom"; transfer-syntax={EXPLICIT}; q=0.4'
)
LOSSLESS_ONLY = f'multipart/related; type="application/dicom"; transfer-syntax={EXPLICIT}'


@pytest.fixture
def stop_pacs(pacs: PacsSimulator) -> Iterator[PacsSimulator]:
    """Lets a test stop the PACS; it is started again (on a new port) afterwards."""
    yield pacs
    pacs.start()


def cache_settings(tmp_path: Path) -> CacheSettings:
    return CacheSettings(enabled=True, dir=tmp_path / "cache", max_bytes=10**9)


async def test_cold_request_fills_the_cache_and_is_served_without_the_pacs(
    make_source: SourceFactory, stop_pacs: PacsSimulator, tmp_path: Path
) -> None:
    async with make_source(cache=cache_settings(tmp_path)) as source:
        kos, series = source.small(12)
        url = source.series_url(series[0])
        cold = await get(url, source.headers(kos, Accept=LOSSY_FIRST))
        assert cold.status_code == 200
        stop_pacs.stop()
        warm = await get(url, source.headers(kos, Accept=LOSSY_FIRST))
        assert warm.status_code == 200, warm.text
        parts = parts_of(warm)
        assert [p.transfer_syntax for p in parts] == [JPEG_EXTENDED] * 3
        assert [dataset_of(p).SOPInstanceUID for p in parts] == [
            dataset_of(p).SOPInstanceUID for p in parts_of(cold)
        ]
        # another syntax is not in the cache: the (stopped) PACS is needed → 502 E207
        miss = await get(url, source.headers(kos, Accept=LOSSLESS_ONLY))
        assert (miss.status_code, miss.json()["code"]) == (502, "E207")
        # the KOS checks still apply to cached series
        assert (await get(url, source.headers("1.2.3.999"))).status_code == 404


async def test_prefetch_warms_lossy_lossless_and_metadata(
    make_source: SourceFactory, stop_pacs: PacsSimulator, tmp_path: Path
) -> None:
    async with make_source(cache=cache_settings(tmp_path)) as source:
        kos, series = source.small(13)
        report = await prefetch(source.service, kos)
        assert report.cached == {s.series_uid: 3 for s in series} and not report.failed
        stop_pacs.stop()
        for accept, syntax in ((LOSSY_FIRST, JPEG_EXTENDED), (LOSSLESS_ONLY, EXPLICIT)):
            answer = await get(source.series_url(series[1]), source.headers(kos, Accept=accept))
            assert answer.status_code == 200, answer.text
            parts = parts_of(answer)
            assert [p.transfer_syntax for p in parts] == [syntax] * 3
            assert {dataset_of(p).PatientID for p in parts} == {"PAT013"}
        metadata = await get(
            f"{source.series_url(series[0])}/metadata",
            source.headers(kos, Accept="application/dicom+json"),
        )
        assert metadata.status_code == 200, metadata.text
        items = metadata.json()
        assert [i["00080018"]["Value"][0] for i in items] == list(series[0].sop_uids)
        assert items[0]["7FE00010"]["BulkDataURI"].startswith("https://vi1.999.example.fr/")
        sop = series[0].sop_uids[2]
        instance = await get(f"{source.series_url(series[0])}/instances/{sop}", source.headers(kos))
        assert instance.status_code == 200
        assert dataset_of(parts_of(instance)[0]).SOPInstanceUID == sop


async def test_prefetch_without_cache_is_a_no_op(source: Source) -> None:
    kos, _ = source.small(14)
    report = await prefetch(source.service, kos)
    assert report.cached == {} and report.failed == {}
