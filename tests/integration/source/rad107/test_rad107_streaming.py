"""Streaming properties: no cross-request mixing under concurrency, client disconnect cancels
the PACS retrieve, and mutual TLS on the listener."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from rad107_env import BIG_INSTANCES, Source, SourceFactory, dataset_of, parts_of

from drimbox.config import TlsSettings
from drimbox.dicom.dimse import StoreReceiver
from drimbox.dicom.dimse.receiver import Route
from drimbox.trust.pki import PkiFiles, generate_test_pki
from drimbox.trust.tls import client_ssl_context

JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
LOSSY_FIRST = (
    f'multipart/related; type="application/dicom"; transfer-syntax={JPEG_EXTENDED}; q=0.9, '
    'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1; q=0.4'
)


async def test_twenty_concurrent_patients_never_mix(source: Source) -> None:
    """DESIGN §4: every part of every response belongs to the request's own patient/series."""
    requests = []
    for index in range(20):
        kos, both = source.small(index)
        accept = LOSSY_FIRST if index % 2 else "multipart/related; type=application/dicom"
        requests.append((f"PAT{index:03d}", both[index % 2], source.headers(kos, Accept=accept)))
    async with httpx.AsyncClient(timeout=60) as client:
        answers = await asyncio.gather(
            *(client.get(source.series_url(s), headers=h) for _, s, h in requests)
        )
    for (patient, series, _), answer in zip(requests, answers, strict=True):
        assert answer.status_code == 200, answer.text
        datasets = [dataset_of(part) for part in parts_of(answer)]
        assert [ds.PatientID for ds in datasets] == [patient] * len(series.sop_uids)
        assert sorted(ds.SOPInstanceUID for ds in datasets) == sorted(series.sop_uids)
        assert {ds.SeriesInstanceUID for ds in datasets} == {series.series_uid}


def _pending_routes(receiver: StoreReceiver) -> list[Route]:
    # The routing table has no public iterator; reading it here is test-only introspection.
    with receiver.routes._lock:
        return list(receiver.routes._by_key.values())


async def test_client_disconnect_cancels_the_pacs_retrieve(
    source: Source, receiver: StoreReceiver
) -> None:
    kos = source.kos["BIG000"]
    series = source.patients["BIG000"][0]
    routes: list[Route] = []
    async with (
        httpx.AsyncClient(timeout=60) as client,
        client.stream("GET", source.series_url(series), headers=source.headers(kos)) as answer,
    ):
        assert answer.status_code == 200
        async for _chunk in answer.aiter_raw():
            routes = _pending_routes(receiver)
            break  # the first bytes of the first part: hang up
    assert len(routes) == 1, "the C-MOVE should still be running when the client goes"
    for _ in range(400):  # bounded: ≤ 20 s
        if not _pending_routes(receiver):
            break
        await asyncio.sleep(0.05)
    assert not _pending_routes(receiver), "the routing entry must be freed"
    assert routes[0].delivered < BIG_INSTANCES, "the retrieve must have been cancelled"
    await source.service.audit.drain()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    return generate_test_pki(tmp_path_factory.mktemp("rad107-pki"), key_type="ec")


async def test_https_with_client_certificate_required(
    make_source: SourceFactory, pki: PkiFiles
) -> None:
    tls = TlsSettings(
        certificate=pki.server_cert, private_key=pki.server_key, client_ca=pki.root_cert
    )
    async with make_source(tls=tls) as source:
        assert source.url.startswith("https://127.0.0.1:")
        kos, series = source.small(0)
        mutual = client_ssl_context(pki.root_cert, pki.client_cert, pki.client_key)
        async with httpx.AsyncClient(verify=mutual, timeout=30) as client:
            answer = await client.get(source.series_url(series[0]), headers=source.headers(kos))
        assert answer.status_code == 200
        assert len(parts_of(answer)) == 3
        anonymous = client_ssl_context(pki.root_cert)
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            async with httpx.AsyncClient(verify=anonymous, timeout=30) as client:
                await client.get(source.series_url(series[0]), headers=source.headers(kos))
