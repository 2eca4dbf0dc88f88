"""Our DIMSE client against our own PACS simulator (TE.SIM-PACS), over real loopback sockets.

Each half is already proven against dcmtk and Orthanc; this closes the loop so that the Source's
tests can use the simulator as their PACS with confidence: the simulator's C-MOVE carries the
Move Originator fields our receiver routes on, and fault injection surfaces as typed errors.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator

import pydicom
import pytest

from drimbox.config import DimseSettings, PacsNode, PacsSimulatorSettings
from drimbox.dicom.dimse import DimseClient, StoreReceiver
from drimbox.dicom.dimse.retrieve import RetrieveIncomplete
from drimbox.errors import PacsTimeout, PacsUnavailable
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.store.db import Database, upgrade_schema
from support.dicom_factory import SeriesFiles, make_ct_series

OUR_AE = "DRIMBOX_TEST"
PATIENTS = 10


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> list[SeriesFiles]:
    root = tmp_path_factory.mktemp("archive") / "PACS_SOURCE_1"
    return make_ct_series(root, patients=PATIENTS, instances=4, size=32, prefix="SIM")


@pytest.fixture(scope="module")
def receiver() -> Iterator[StoreReceiver]:
    settings = DimseSettings(ae_title=OUR_AE, host="127.0.0.1", port=0, dimse_timeout=20)
    with StoreReceiver(settings) as scp:
        yield scp


@pytest.fixture(scope="module")
def simulator(
    series: list[SeriesFiles], receiver: StoreReceiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PacsSimulator]:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'sim.sqlite3'}"
    upgrade_schema(url)
    database = Database(url)
    settings = PacsSimulatorSettings(host="127.0.0.1", port=0)
    archive = series[0].paths[0].parents[2]
    sim = PacsSimulator(
        settings,
        database,
        archive_dir=archive.parent,
        destinations={OUR_AE: f"127.0.0.1:{receiver.port}"},
    )
    sim.archive.index(sim.archive.scan())
    sim.start()
    yield sim
    sim.stop()
    database.dispose()


def node(sim: PacsSimulator, method: str = "move") -> PacsNode:
    return PacsNode(
        name="sim",
        ae_title="PACS_SOURCE_1",
        host="127.0.0.1",
        port=sim.port,
        calling_ae=OUR_AE,
        retrieve_method=method,  # type: ignore[arg-type]
    )


@pytest.fixture
async def client(receiver: StoreReceiver, simulator: PacsSimulator) -> AsyncIterator[DimseClient]:
    simulator.response_delay = 0.0
    simulator.refuse_associations = False
    settings = DimseSettings(
        ae_title=OUR_AE, host="127.0.0.1", port=0, dimse_timeout=5, acse_timeout=5
    )
    yield DimseClient(settings, receiver)


async def test_echo_and_study_tree(
    client: DimseClient, simulator: PacsSimulator, series: list[SeriesFiles]
) -> None:
    await client.echo(node(simulator))
    tree = await client.find_study_tree(node(simulator), series[0].study_uid)
    assert tree.sop_instance_uids == frozenset(series[0].sop_uids)


@pytest.mark.parametrize("method", ["move", "get"])
async def test_concurrent_retrieves_never_mix_patients(
    client: DimseClient, simulator: PacsSimulator, series: list[SeriesFiles], method: str
) -> None:
    async def fetch(item: SeriesFiles) -> list[pydicom.Dataset]:
        received = client.retrieve_series(
            node(simulator, method), item.study_uid, item.series_uid, item.sop_uids
        )
        return [pydicom.dcmread(io.BytesIO(r.data)) async for r in received]

    results = await asyncio.gather(*(fetch(item) for item in series))
    assert len(results) == PATIENTS
    for item, datasets in zip(series, results, strict=True):
        assert sorted(ds.SOPInstanceUID for ds in datasets) == sorted(item.sop_uids)
        assert {ds.PatientID for ds in datasets} == {item.patient_id}


async def test_refused_association_is_pacs_unavailable(
    client: DimseClient, simulator: PacsSimulator
) -> None:
    simulator.refuse_associations = True
    with pytest.raises(PacsUnavailable):
        await client.echo(node(simulator))


async def test_slow_pacs_is_pacs_timeout(
    client: DimseClient, simulator: PacsSimulator, series: list[SeriesFiles]
) -> None:
    simulator.response_delay = 8.0  # beyond the client's 5 s DIMSE timeout
    with pytest.raises(PacsTimeout):
        await client.find_series(node(simulator), series[0].study_uid)


async def test_unknown_series_is_an_error_not_an_empty_result(
    client: DimseClient, simulator: PacsSimulator, series: list[SeriesFiles]
) -> None:
    with pytest.raises(RetrieveIncomplete):
        async for _ in client.retrieve_series(node(simulator), series[0].study_uid, "1.2.3.999"):
            pass
