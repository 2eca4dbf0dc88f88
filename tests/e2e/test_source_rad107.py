"""The whole DRIMbox Source, as a Consumer and a RIS see it, over real sockets.

A report goes in over MLLP (TE.SIM-HL7), the Source builds and archives the KOS from the PACS
simulator, warms its cache, and a Consumer with a PSC token (the kit's IdP simulator) retrieves
the series over RAD-107 with the ANS sample Accept header — then again, lossy, with the PACS
down, from the warm cache. Also: /health answers, the admin API refuses a caller with no token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from pydicom import dcmread

from drimbox.config import CacheSettings, PscSettings, Settings, TlsSettings
from drimbox.dicom.multipart import MultipartReader, boundary_of
from drimbox.kit.idp import IdpSimulator, Professional, create_app
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.kit.wado.request import ANS_ACCEPT, LOSSY_FIRST_ACCEPT
from drimbox.source.service import SourceService
from e2e.source_env import PUBLIC_BASE, settled, source_settings, study_of
from support.ans_messages import exam_message
from support.servers import serve_asgi

CLIENT_ID, CLIENT_SECRET = "drimbox-source", "kit-secret"
DOCTOR = Professional(national_id="810101234567", given_name="Anne", family_name="MEDECIN")
JPEG_LS, JPEG_EXTENDED = "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.51"
BASE_PATH = "/pacs1/wado-rs"
assert PUBLIC_BASE.endswith(BASE_PATH)


@pytest.fixture(scope="module")
def idp() -> Iterator[tuple[IdpSimulator, str]]:
    sim = IdpSimulator(clients={CLIENT_ID: CLIENT_SECRET})
    with serve_asgi(create_app(sim)) as server:
        yield sim, server.base_url


@pytest.fixture
def full_settings(tmp_path: Path, pacs: PacsSimulator, idp: tuple[IdpSimulator, str]) -> Settings:
    sim, url = idp
    base = source_settings(tmp_path / "source", pacs.port)
    source = base.source.model_copy(
        update={
            "http_enabled": True,
            "http_port": 0,
            "cache": CacheSettings(enabled=True, prefetch_on_kos=True),
        }
    )
    return base.model_copy(
        update={
            "source": source,
            "psc": PscSettings(
                introspection_url=sim.introspection_url(url),
                client_id=CLIENT_ID,
                client_secret=SecretStr(CLIENT_SECRET),
            ),
            "tls": TlsSettings(allow_plain_http=True),
        }
    )


@pytest.fixture
async def source(full_settings: Settings) -> AsyncIterator[SourceService]:
    async with SourceService(full_settings, idle_poll=0.5) as running:
        yield running


def parts(response: httpx.Response) -> list[tuple[str, bytes]]:
    reader = MultipartReader(boundary_of(response.headers["content-type"]))
    found = reader.feed(response.content)
    reader.close()
    return [(p.content_type, p.body) for p in found]


async def test_report_to_kos_to_rad107_cold_then_warm(
    source: SourceService, pacs: PacsSimulator, idp: tuple[IdpSimulator, str]
) -> None:
    from drimbox.hl7.client import send_messages

    [ack] = await send_messages(
        "127.0.0.1", source.mllp_port, [exam_message("CR_C-ORU", "E2E-RAD107-1")]
    )
    assert b"MSA|AA|" in ack
    [record] = [r for r in await source.inbox.list_messages() if r.control_id == "E2E-RAD107-1"]
    assert (await settled(source, record.id)).status == "done"
    [kos] = await source.archive.find_by_study(study_of(103))
    series = await source.archive.series_of(kos.id)
    assert series
    await source.prefetches_done()

    token = idp[0].tokens.mint(DOCTOR, client_id=CLIENT_ID).token
    url = f"{source.http_base_url}{BASE_PATH}/studies/{study_of(103)}"
    async with httpx.AsyncClient(timeout=60) as http:
        for accept, syntax in ((ANS_ACCEPT, None), (LOSSY_FIRST_ACCEPT, JPEG_EXTENDED)):
            for item in series:
                response = await http.get(
                    f"{url}/series/{item.series_instance_uid}",
                    headers={
                        "Authorization": f"Bearer {token}",
                        "KOS-SOPInstanceUID": kos.sop_instance_uid,
                        "Accept": accept,
                    },
                )
                assert response.status_code == 200, response.text
                got = parts(response)
                assert len(got) == item.instance_count
                for content_type, body in got:
                    ds = dcmread(BytesIO(body))
                    assert ds.PatientID == "IPP101"
                    assert ds.SeriesInstanceUID == item.series_instance_uid
                    assert f"transfer-syntax={ds.file_meta.TransferSyntaxUID}" in content_type
                    if syntax:
                        assert ds.file_meta.TransferSyntaxUID == syntax
            pacs.refuse_associations = True  # the second, lossy round is served warm

        health = await http.get(f"{source.http_base_url}/health")
        assert health.headers["content-type"].startswith("application/json")
        assert "database" in health.text
        admin = await http.get(f"{source.http_base_url}/admin/messages")
        assert admin.status_code == 403
