"""Fixtures: the PACS simulator on a real loopback socket over a small archive, dcmtk peers.

The archive content is described in ``pacs_sim_support``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pacs_sim_support import (
    AETS,
    DCMTK_ENV,
    SOURCE_1_STUDIES,
    SOURCE_2_STUDIES,
    Dcmtk,
    StoreScp,
    require_binary,
    wait_for_port,
    write_study,
)

from drimbox.config import PacsSimulatorSettings
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.kit.peers.common import free_port
from drimbox.store.db import Database, upgrade_schema


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'sim.sqlite3'}"
    upgrade_schema(url)
    db = Database(url)
    yield db
    db.dispose()


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    for study in SOURCE_1_STUDIES:
        write_study(root / "PACS_SOURCE_1", study)
    for study in SOURCE_2_STUDIES:
        write_study(root / "PACS_SOURCE_2", study)
    (root / "PACS_CONSO").mkdir(parents=True)
    return root


@pytest.fixture
def simulator(archive_dir: Path, database: Database) -> Iterator[PacsSimulator]:
    settings = PacsSimulatorSettings(host="127.0.0.1", port=0, ae_titles=AETS)
    sim = PacsSimulator(settings, database, archive_dir=archive_dir)
    report = sim.archive.index(sim.archive.scan())
    assert report.indexed == 13 and not report.skipped
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def dcmtk(simulator: PacsSimulator, tmp_path: Path) -> Dcmtk:
    work = tmp_path / "dcmtk"
    work.mkdir()
    return Dcmtk(simulator.port, work)


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[StoreScp]:
    """dcmtk storescp on a free loopback port, accepting any AE title and common syntaxes."""
    binary = require_binary("storescp")
    folder = tmp_path / "received"
    folder.mkdir()
    port = free_port()
    process = subprocess.Popen(
        [binary, "-aet", "STORESCP", "--promiscuous", "+xa", "-od", str(folder), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=DCMTK_ENV,
    )
    try:
        wait_for_port(port, process)
        yield StoreScp("STORESCP", port, folder, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
