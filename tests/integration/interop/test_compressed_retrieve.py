"""Compressed instances cross our DIMSE layer in their stored syntax (no forced decompression).

Regression: pynetdicom negotiates per SOP class by the acceptor's list, so a C-GET proposing an
uncompressed and a compressed context for CT received nothing for JPEG-LS files (0xA702).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drimbox.config import DimseSettings, PacsNode, PacsSimulatorSettings
from drimbox.dicom.dimse import DimseClient, StoreReceiver
from drimbox.kit.dataset.api import generate
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.store.db import Database, upgrade_schema

JPEG_LS = "1.2.840.10008.1.2.4.80"
OUR_AE = "DRIMBOX_TEST"


@pytest.mark.parametrize("method", ["get", "move"])
async def test_jpeg_ls_series_arrives_as_jpeg_ls(tmp_path: Path, method: str) -> None:
    manifest = generate("perf", tmp_path / "perf", count=3)
    first = manifest.files[0]
    url = f"sqlite:///{tmp_path / 'sim.sqlite3'}"
    upgrade_schema(url)
    database = Database(url)
    settings = DimseSettings(ae_title=OUR_AE, host="127.0.0.1", port=0, dimse_timeout=20)
    with StoreReceiver(settings) as receiver:
        sim = PacsSimulator(
            PacsSimulatorSettings(host="127.0.0.1", port=0),
            database,
            archive_dir=tmp_path / "archive",
            destinations={OUR_AE: f"127.0.0.1:{receiver.port}"},
        )
        sim.archive.index(sim.archive.load("PACS_SOURCE_1", [tmp_path / "perf"]))
        with sim:
            node = PacsNode(
                name="sim",
                ae_title="PACS_SOURCE_1",
                port=sim.port,
                calling_ae=OUR_AE,
                retrieve_method=method,  # type: ignore[arg-type]
            )
            client = DimseClient(settings, receiver)
            received = [
                i
                async for i in client.retrieve_series(
                    node, first.study_instance_uid, first.series_instance_uid
                )
            ]
    database.dispose()
    assert len(received) == 3
    assert {i.transfer_syntax_uid for i in received} == {JPEG_LS}
