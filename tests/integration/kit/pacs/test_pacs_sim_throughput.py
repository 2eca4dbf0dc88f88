"""Send-path throughput of the simulator (informational: prints MB/s, asserts only counts).

300 CT images of 512x512 16-bit (≈158 MB) retrieved with C-GET (dcmtk getscu, pynetdicom) and
C-MOVE (to dcmtk storescp, to a pynetdicom Storage SCP). Run with ``-m slow -s`` to see figures.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pacs_sim_support import AETS, Dcmtk, StoreScp, StudySpec, make_instance
from pydicom.dataset import Dataset
from pynetdicom import AE, build_role, evt
from pynetdicom.events import Event
from pynetdicom.sop_class import (
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from drimbox.config import PacsSimulatorSettings
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.store.db import Database

pytestmark = [pytest.mark.slow, pytest.mark.dcmtk]
COUNT = 300
PERF = StudySpec(
    "P1",
    "PERF",
    "PERF^TEST",
    "19700101",
    "O",
    "20240101",
    "100000",
    "PERF",
    "ACCP",
    (("CT", COUNT),),
)


def _report(label: str, seconds: float, megabytes: float) -> None:
    print(
        f"{label}: {COUNT} images, {megabytes:.0f} MB in {seconds:.2f} s = "
        f"{megabytes / seconds:.1f} MB/s"
    )


def test_throughput(database: Database, tmp_path: Path, storescp: StoreScp) -> None:
    folder = tmp_path / "perf" / "PACS_SOURCE_1"
    folder.mkdir(parents=True)
    for number in range(1, COUNT + 1):
        make_instance(PERF, 0, number, size=512).save_as(
            folder / f"{number}.dcm", enforce_file_format=True
        )
    megabytes = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    settings = PacsSimulatorSettings(port=0, ae_titles=AETS)
    sim = PacsSimulator(settings, database, archive_dir=tmp_path / "perf")
    sim.archive.index(sim.archive.scan())
    sim.destinations[storescp.ae_title] = ("127.0.0.1", storescp.port)
    sim.start()
    try:
        dcmtk = Dcmtk(sim.port, tmp_path)
        keys = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={PERF.uid}"]
        (tmp_path / "get").mkdir()
        for pdu in ("16384", "131072"):
            start = time.perf_counter()
            done = dcmtk.run("getscu", "-pdu", pdu, "-od", str(tmp_path / "get"), *keys)
            _report(f"getscu (max PDU {pdu})", time.perf_counter() - start, megabytes)
            assert done.returncode == 0, done.stderr
            assert len(list((tmp_path / "get").iterdir())) == COUNT

        start = time.perf_counter()
        done = dcmtk.run("movescu", "-aem", storescp.ae_title, *keys)
        _report("movescu -> storescp", time.perf_counter() - start, megabytes)
        assert done.returncode == 0, done.stderr
        assert len(storescp.wait_for(COUNT)) == COUNT

        start = time.perf_counter()
        assert _pynetdicom_get(sim.port) == COUNT
        _report("pynetdicom C-GET", time.perf_counter() - start, megabytes)

        start = time.perf_counter()
        assert _pynetdicom_move(sim) == COUNT
        _report("pynetdicom C-MOVE -> pynetdicom SCP", time.perf_counter() - start, megabytes)
    finally:
        sim.stop()


def _identifier() -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = PERF.uid
    return ds


def _pynetdicom_get(port: int) -> int:
    received = []

    def on_store(event: Event) -> int:
        received.append(len(event.encoded_dataset(include_meta=False)))
        return 0x0000

    ae = AE(ae_title="PYSCU")
    ae.maximum_pdu_size = 0
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate(
        "127.0.0.1",
        port,
        ae_title="PACS_SOURCE_1",
        max_pdu=0,
        ext_neg=[build_role(CTImageStorage, scp_role=True)],
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    try:
        for _ in assoc.send_c_get(_identifier(), StudyRootQueryRetrieveInformationModelGet):
            pass
    finally:
        assoc.release()
    return len(received)


def _pynetdicom_move(sim: PacsSimulator) -> int:
    received = []

    def on_store(event: Event) -> int:
        received.append(len(event.encoded_dataset(include_meta=False)))
        return 0x0000

    scp = AE(ae_title="PYSCP")
    scp.maximum_pdu_size = 0
    scp.add_supported_context(CTImageStorage)
    server = scp.start_server(
        ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)]
    )
    sim.destinations["PYSCP"] = ("127.0.0.1", server.server_address[1])
    ae = AE(ae_title="PYSCU")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    assoc = ae.associate("127.0.0.1", sim.port, ae_title="PACS_SOURCE_1")
    try:
        for _ in assoc.send_c_move(
            _identifier(), "PYSCP", StudyRootQueryRetrieveInformationModelMove
        ):
            pass
    finally:
        assoc.release()
        server.shutdown()
    return len(received)
