"""IOCM and admin API over real sockets: PACS simulator, IOCM SCP, uvicorn on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from admin_support import TOKEN, Study

from drimbox.config import PacsSimulatorSettings, Settings
from drimbox.dicom.kos import kos_bytes
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.source.archive import KosArchive
from drimbox.source.importer import import_kos_bytes
from drimbox.store.db import Database, upgrade_schema
from support.dicom_factory import make_ct_series
from support.kos_samples import default_pacs, make_kos, settings_for


@pytest.fixture
def sim_database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'sim.sqlite3'}"
    upgrade_schema(url)
    db = Database(url)
    yield db
    db.dispose()


@pytest.fixture
def study(tmp_path: Path) -> Study:
    return Study(make_ct_series(tmp_path / "images", series_per_patient=2, instances=3))


@pytest.fixture
def pacs(tmp_path: Path, sim_database: Database, study: Study) -> Iterator[PacsSimulator]:
    sim_settings = PacsSimulatorSettings(host="127.0.0.1", port=0, ae_titles=["PACS_SOURCE_1"])
    sim = PacsSimulator(sim_settings, sim_database, archive_dir=tmp_path / "pacs")
    sim.archive.index(sim.archive.load("PACS_SOURCE_1", [tmp_path / "images"]))
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def settings(tmp_path: Path, pacs: PacsSimulator) -> Settings:
    return settings_for(tmp_path, pacs=[default_pacs(pacs.port)], admin_token=TOKEN)


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    upgrade_schema(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    yield db
    await db.adispose()


@pytest.fixture
async def archived(study: Study, database: Database, settings: Settings) -> int:
    """The study's KOS, imported (published, served by pacs1); returns its id."""
    series = [(s.series_uid, list(s.sop_uids)) for s in study.series]
    data = kos_bytes(make_kos(study.uid, series))
    result = await import_kos_bytes("kos", data, KosArchive(database.async_sessions()), settings)
    assert result.kos_id is not None, result.reason
    return result.kos_id
