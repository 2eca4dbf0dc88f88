"""Fixtures: PACS simulator + C-STORE SCP + transcoding pool per module, a Source per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr
from rad107_env import (
    BIG_INSTANCES,
    CLIENT_ID,
    CLIENT_SECRET,
    OUR_AE,
    PACS_AE,
    Source,
    SourceFactory,
    kos_for,
    pacs_node,
    source_app,
)

from drimbox.config import (
    CacheSettings,
    DimseSettings,
    PacsSimulatorSettings,
    PscSettings,
    Settings,
    SourceSettings,
    TlsSettings,
    WadoSettings,
)
from drimbox.dicom.dimse import DimseClient, StoreReceiver
from drimbox.dicom.transcode import TranscodePool
from drimbox.kit.idp import IdpSimulator, create_app
from drimbox.kit.idp.admin import FaultSettings
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.source.archive import KosArchive
from drimbox.source.rad107 import Rad107Service
from drimbox.store.db import Database, upgrade_schema
from drimbox.web.server import BackgroundServer
from support.dicom_factory import SeriesFiles, make_ct_series
from support.servers import serve_asgi

PATIENTS = 20


@pytest.fixture(scope="module")
def dimse_settings() -> DimseSettings:
    return DimseSettings(
        ae_title=OUR_AE, port=0, connect_timeout=5, acse_timeout=10, dimse_timeout=30,
        network_timeout=30,
    )  # fmt: skip


@pytest.fixture(scope="module")
def receiver(dimse_settings: DimseSettings) -> Iterator[StoreReceiver]:
    with StoreReceiver(dimse_settings) as scp:
        yield scp


@pytest.fixture(scope="module")
def patients(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[SeriesFiles]]:
    """20 small patients (2 series x 3 instances) and BIG000 (150 512² images, 75 MB)."""
    root = tmp_path_factory.mktemp("rad107-pacs") / PACS_AE
    series = make_ct_series(root, patients=PATIENTS, series_per_patient=2, instances=3)
    series += make_ct_series(root, patients=1, instances=BIG_INSTANCES, size=512, prefix="BIG")
    by_patient: dict[str, list[SeriesFiles]] = {}
    for s in series:
        by_patient.setdefault(s.patient_id, []).append(s)
    return by_patient


@pytest.fixture(scope="module")
def pacs(
    patients: dict[str, list[SeriesFiles]],
    receiver: StoreReceiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PacsSimulator]:
    first = next(iter(patients.values()))[0]
    archive_dir = first.paths[0].parents[2]
    url = f"sqlite:///{tmp_path_factory.mktemp('rad107-sim') / 'sim.sqlite3'}"
    upgrade_schema(url)
    database = Database(url)
    settings = PacsSimulatorSettings(port=0, ae_titles=[PACS_AE])
    sim = PacsSimulator(
        settings,
        database,
        archive_dir=archive_dir.parent,
        destinations={OUR_AE: f"127.0.0.1:{receiver.port}"},
    )
    report = sim.archive.index(sim.archive.scan())
    assert not report.skipped
    sim.start()
    yield sim
    sim.stop()
    database.dispose()


@pytest.fixture(autouse=True)
def _pacs_healthy(pacs: PacsSimulator) -> Iterator[None]:
    """Every test starts and ends with the fault injection off."""
    pacs.response_delay, pacs.refuse_associations = 0.0, False
    yield
    pacs.response_delay, pacs.refuse_associations = 0.0, False


@pytest.fixture(scope="module")
def pool() -> Iterator[TranscodePool]:
    with TranscodePool(2) as shared:
        yield shared


@pytest.fixture(scope="module")
def idp() -> Iterator[tuple[IdpSimulator, str]]:
    sim = IdpSimulator(clients={CLIENT_ID: CLIENT_SECRET})
    with serve_asgi(create_app(sim)) as server:
        yield sim, server.base_url


@pytest.fixture(autouse=True)
def _idp_healthy(idp: tuple[IdpSimulator, str]) -> Iterator[None]:
    idp[0].faults = FaultSettings()
    yield
    idp[0].faults = FaultSettings()


@pytest.fixture
def make_source(
    tmp_path: Path,
    pacs: PacsSimulator,
    receiver: StoreReceiver,
    dimse_settings: DimseSettings,
    pool: TranscodePool,
    idp: tuple[IdpSimulator, str],
    patients: dict[str, list[SeriesFiles]],
) -> SourceFactory:
    """``async with make_source(wado=…, cache=…, tls=…) as source``: a served Source."""

    @asynccontextmanager
    async def running(
        *,
        wado: WadoSettings | None = None,
        cache: CacheSettings | None = None,
        tls: TlsSettings | None = None,
        archive_kos: bool = True,
    ) -> AsyncIterator[Source]:
        idp_sim, idp_url = idp
        settings = Settings(
            data_dir=tmp_path,
            dimse=dimse_settings,
            pacs=[pacs_node(pacs.port)],
            psc=PscSettings(
                introspection_url=idp_sim.introspection_url(idp_url),
                client_id=CLIENT_ID,
                client_secret=SecretStr(CLIENT_SECRET),
            ),
            source=SourceSettings(
                http_port=0,
                wado=wado or WadoSettings(pacs_timeout=10),
                cache=cache or CacheSettings(),
            ),
            tls=tls or TlsSettings(allow_plain_http=True),
        )
        url = f"sqlite:///{tmp_path / 'source.sqlite3'}"
        upgrade_schema(url)
        database = Database(url)
        service = Rad107Service.create(
            settings, database, DimseClient(dimse_settings, receiver), pool=pool
        )
        server = BackgroundServer(source_app(service), settings)
        await server.start()
        source = Source(
            settings, service, KosArchive(database.async_sessions()), idp_sim,
            server.base_url + "/drimbox/rs", patients,
        )  # fmt: skip
        try:
            if archive_kos:
                for patient, series in patients.items():
                    base = settings.pacs[0].public_base_url or ""
                    source.kos[patient] = await source.archive.add(kos_for(series, base))
            yield source
        finally:
            await server.stop()
            await service.aclose()
            await database.adispose()

    return running


@pytest.fixture
async def source(make_source: SourceFactory) -> AsyncIterator[Source]:
    async with make_source() as running:
        yield running
