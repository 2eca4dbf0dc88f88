"""Real DICOM peers for the DIMSE tests: dcmtk dcmqrscp on 127.0.0.1 and our C-STORE SCP.

A missing binary skips with the reason, except under CI=true where it fails.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from dimse_peers import (
    OUR_AE,
    PACS_AE,
    require_binary,
    stop,
    store_with_storescu,
    wait_for_port,
)

from drimbox.config import DimseSettings, PacsNode
from drimbox.dicom.dimse import DimseClient, StoreReceiver
from drimbox.kit.peers.common import free_port
from support.dicom_factory import SeriesFiles, make_ct_series

PATIENTS = 12


@pytest.fixture(scope="session")
def dimse_settings() -> DimseSettings:
    return DimseSettings(
        ae_title=OUR_AE,
        host="127.0.0.1",
        port=0,
        connect_timeout=5,
        acse_timeout=10,
        dimse_timeout=30,
        network_timeout=30,
    )


@pytest.fixture(scope="session")
def receiver(dimse_settings: DimseSettings) -> Iterator[StoreReceiver]:
    with StoreReceiver(dimse_settings) as scp:
        yield scp


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> list[SeriesFiles]:
    """12 patients, one study each with 2 series of 4 instances."""
    root = tmp_path_factory.mktemp("dimse-data")
    return make_ct_series(root, patients=PATIENTS, series_per_patient=2, instances=4)


def write_dcmqrscp_config(folder: Path, port: int, receiver_port: int) -> Path:
    storage = folder / "storage"
    storage.mkdir()
    config = folder / "dcmqrscp.cfg"
    config.write_text(
        f"NetworkTCPPort  = {port}\n"
        "MaxPDUSize      = 65536\n"
        "MaxAssociations = 64\n"
        "HostTable BEGIN\n"
        f"drimbox = ({OUR_AE}, 127.0.0.1, {receiver_port})\n"
        "HostTable END\n"
        "VendorTable BEGIN\n"
        "VendorTable END\n"
        "AETable BEGIN\n"
        f"{PACS_AE} {storage} RW (1000, 2048mb) ANY\n"
        "AETable END\n"
    )
    return config


@pytest.fixture(scope="session")
def dcmqrscp(
    tmp_path_factory: pytest.TempPathFactory, receiver: StoreReceiver, dataset: list[SeriesFiles]
) -> Iterator[PacsNode]:
    binary = require_binary("dcmqrscp")
    folder = tmp_path_factory.mktemp("dcmqrscp")
    port = free_port()
    config = write_dcmqrscp_config(folder, port, receiver.port)
    log = (folder / "dcmqrscp.log").open("wb")
    process = subprocess.Popen(
        [binary, "-c", str(config), str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(port, process)
        store_with_storescu(port, [p for s in dataset for p in s.paths])
        yield PacsNode(
            name="dcmqrscp", ae_title=PACS_AE, host="127.0.0.1", port=port, calling_ae=OUR_AE
        )
    finally:
        stop(process)
        log.close()


@pytest.fixture
def client(dimse_settings: DimseSettings, receiver: StoreReceiver) -> DimseClient:
    return DimseClient(dimse_settings, receiver)
