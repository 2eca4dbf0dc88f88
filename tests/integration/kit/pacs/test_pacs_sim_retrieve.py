"""C-MOVE, C-GET and C-STORE against the PACS simulator with dcmtk and pynetdicom peers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pacs_sim_support import STUDY_A1, STUDY_B1, STUDY_C1, Dcmtk, StoreScp, make_instance
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ImplicitVRLittleEndian, RLELossless
from pynetdicom import AE, build_role, evt
from pynetdicom.events import Event
from pynetdicom.sop_class import (
    CTImageStorage,
    MRImageStorage,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from drimbox.kit.pacs.server import PacsSimulator

pytestmark = pytest.mark.dcmtk


def move_keys(study_uid: str) -> list[str]:
    return ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}"]


def test_movescu_to_a_storescp_destination(
    simulator: PacsSimulator, dcmtk: Dcmtk, storescp: StoreScp
) -> None:
    simulator.destinations[storescp.ae_title] = ("127.0.0.1", storescp.port)
    done = dcmtk.run("movescu", "-v", "-aem", storescp.ae_title, *move_keys(STUDY_A1.uid))
    assert done.returncode == 0, done.stderr
    files = storescp.wait_for(5)
    uids = sorted(str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in files)
    expected = [STUDY_A1.sop_uid(0, n) for n in (1, 2, 3)] + [
        STUDY_A1.sop_uid(1, n) for n in (1, 2)
    ]
    assert uids == sorted(expected)
    assert "Pending" in done.stderr  # sub-operations reported with pending responses


def test_move_to_unknown_destination_is_a801(simulator: PacsSimulator, dcmtk: Dcmtk) -> None:
    done = dcmtk.run("movescu", "-aem", "NOWHERE", *move_keys(STUDY_A1.uid))
    assert done.returncode != 0
    assert "MoveDestinationUnknown" in done.stderr
    statuses = _pynetdicom_move(simulator, STUDY_A1.uid, "NOWHERE", message_id=3)
    assert [s.Status for s in statuses] == [0xA801]


@dataclass
class Recorder:
    """A pynetdicom Storage SCP that records what each C-STORE request carried."""

    port: int = 0
    requests: list[tuple[str, str | None, int | None, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_store(self, event: Event) -> int:
        req = event.request
        with self.lock:
            self.requests.append(
                (
                    str(req.AffectedSOPInstanceUID),
                    req.MoveOriginatorApplicationEntityTitle,
                    req.MoveOriginatorMessageID,
                    str(event.assoc.requestor.ae_title),
                )
            )
        return 0x0000


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    ae = AE(ae_title="DRIMBOX")
    ae.add_supported_context("1.2.840.10008.1.1")  # Verification
    ae.add_supported_context(CTImageStorage)
    ae.add_supported_context(MRImageStorage)
    rec = Recorder()
    server = ae.start_server(
        ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, rec.on_store)]
    )
    rec.port = server.server_address[1]
    yield rec
    server.shutdown()


def _pynetdicom_move(
    simulator: PacsSimulator, study_uid: str, destination: str, message_id: int
) -> list[Dataset]:
    ae = AE(ae_title="DRIMBOX_SCU")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    assoc = ae.associate("127.0.0.1", simulator.port, ae_title="PACS_SOURCE_1")
    assert assoc.is_established
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = study_uid
    try:
        responses = assoc.send_c_move(
            identifier, destination, StudyRootQueryRetrieveInformationModelMove, msg_id=message_id
        )
        return [status for status, _ in responses]
    finally:
        assoc.release()


def test_move_sub_operations_carry_the_move_originator(
    simulator: PacsSimulator, recorder: Recorder
) -> None:
    """PS3.7 9.1.1: Move Originator AE Title = the C-MOVE SCU, Message ID = its request."""
    simulator.destinations["DRIMBOX"] = ("127.0.0.1", recorder.port)
    statuses = _pynetdicom_move(simulator, STUDY_B1.uid, "DRIMBOX", message_id=4242)
    assert [s.Status for s in statuses] == [0xFF00] * 4 + [0x0000]
    assert [s.NumberOfRemainingSuboperations for s in statuses[:-1]] == [3, 2, 1, 0]
    assert statuses[-1].NumberOfCompletedSuboperations == 4
    assert sorted(r[0] for r in recorder.requests) == sorted(
        STUDY_B1.sop_uid(0, n) for n in (1, 2, 3, 4)
    )
    assert {r[1:] for r in recorder.requests} == {("DRIMBOX_SCU", 4242, "PACS_SOURCE_1")}


def test_getscu_of_a_series(simulator: PacsSimulator, dcmtk: Dcmtk) -> None:
    done = dcmtk.run(
        "getscu",
        "-S",
        "-k",
        "QueryRetrieveLevel=SERIES",
        "-k",
        f"StudyInstanceUID={STUDY_A1.uid}",
        "-k",
        f"SeriesInstanceUID={STUDY_A1.series_uid(0)}",
    )
    assert done.returncode == 0, done.stderr
    files = sorted(dcmtk.workdir.glob("CT.*"))
    assert sorted(p.name for p in files) == sorted(
        f"CT.{STUDY_A1.sop_uid(0, n)}" for n in (1, 2, 3)
    )
    received = dcmread(files[0])
    original = make_instance(STUDY_A1, 0, int(received.InstanceNumber))
    assert received.PixelData == original.PixelData  # sent byte for byte


def test_c_get_to_a_peer_accepting_implicit_vr_only_gets_a_re_encoded_copy(
    simulator: PacsSimulator,
) -> None:
    received: list[tuple[str, bytes]] = []

    def on_store(event: Event) -> int:
        received.append((str(event.context.transfer_syntax), event.dataset.PixelData))
        return 0x0000

    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(CTImageStorage, ImplicitVRLittleEndian)
    assoc = ae.associate(
        "127.0.0.1",
        simulator.port,
        ae_title="PACS_SOURCE_1",
        ext_neg=[build_role(CTImageStorage, scp_role=True)],
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = STUDY_B1.uid
    try:
        statuses = [
            s for s, _ in assoc.send_c_get(identifier, StudyRootQueryRetrieveInformationModelGet)
        ]
    finally:
        assoc.release()
    assert statuses[-1].Status == 0x0000
    assert [syntax for syntax, _ in received] == [ImplicitVRLittleEndian] * 4
    assert received[0][1] == make_instance(STUDY_B1, 0, 1).PixelData


@pytest.fixture
def rle_study(simulator: PacsSimulator, tmp_path: Path) -> str:
    """Study C1's first image stored RLE Lossless under PACS_SOURCE_2 (replacing the original)."""
    ds = make_instance(STUDY_C1, 0, 1)
    ds.compress(RLELossless, generate_instance_uid=False)
    path = tmp_path / "rle.dcm"
    ds.save_as(path, enforce_file_format=True)
    jobs = simulator.archive.load("PACS_SOURCE_2", [path])
    assert simulator.archive.index(jobs).indexed == 1
    return STUDY_C1.uid


def test_compressed_instance_fails_when_peer_lacks_its_syntax(rle_study: str, dcmtk: Dcmtk) -> None:
    keys = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={rle_study}"]
    refused = dcmtk.run("getscu", "-v", *keys, aet="PACS_SOURCE_2")
    assert "Failed" in refused.stderr or "Warning" in refused.stderr, refused.stderr
    assert sorted(p.name for p in dcmtk.workdir.glob("CT.*")) == [f"CT.{STUDY_C1.sop_uid(0, 2)}"]

    accepted = dcmtk.run("getscu", "+xr", *keys, aet="PACS_SOURCE_2")
    assert accepted.returncode == 0, accepted.stderr
    rle = dcmread(dcmtk.workdir / f"CT.{STUDY_C1.sop_uid(0, 1)}")
    assert rle.file_meta.TransferSyntaxUID == RLELossless


def test_storescu_into_pacs_conso_then_visible_to_findscu(
    simulator: PacsSimulator, dcmtk: Dcmtk, tmp_path: Path
) -> None:
    path = tmp_path / "export.dcm"
    make_instance(STUDY_B1, 0, 1).save_as(path, enforce_file_format=True)
    done = dcmtk.run("storescu", aet="PACS_CONSO", files=[str(path)])
    assert done.returncode == 0, done.stderr
    again = dcmtk.run("storescu", aet="PACS_CONSO", files=[str(path)])  # a duplicate replaces
    assert again.returncode == 0, again.stderr
    out = dcmtk.workdir / "found"
    out.mkdir()
    keys = ["-k", "QueryRetrieveLevel=IMAGE", "-k", f"StudyInstanceUID={STUDY_B1.uid}"]
    found = dcmtk.run("findscu", "-S", "-X", "-od", str(out), *keys, aet="PACS_CONSO")
    assert found.returncode == 0, found.stderr
    responses = [dcmread(p) for p in out.glob("rsp*.dcm")]
    assert [r.SOPInstanceUID for r in responses] == [STUDY_B1.sop_uid(0, 1)]
    stored = list((simulator.archive.ae_dir("PACS_CONSO") / "received").glob("*.dcm"))
    assert len(stored) == 1


def test_store_of_garbage_gets_a_failure_status(simulator: PacsSimulator) -> None:
    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", simulator.port, ae_title="PACS_CONSO")
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = "1.2.3.4"  # no Study/Series UIDs: cannot be indexed
    ds.set_original_encoding(True, True)
    ds.file_meta = Dataset()  # type: ignore[assignment]
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2"
    try:
        status = assoc.send_c_store(ds)
    finally:
        assoc.release()
    assert status.Status == 0xC000


def test_refused_associations_then_accepted_again(simulator: PacsSimulator, dcmtk: Dcmtk) -> None:
    simulator.refuse_associations = True
    refused = dcmtk.run("echoscu")
    assert refused.returncode != 0
    assert "Association Rejected" in refused.stderr
    simulator.refuse_associations = False
    assert dcmtk.run("echoscu").returncode == 0


def test_response_delay_is_applied(simulator: PacsSimulator, dcmtk: Dcmtk) -> None:
    """A 1 s DIMSE timeout expires while the simulator waits 3 s; a 20 s one gets the answer."""
    simulator.response_delay = 3
    keys = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={STUDY_B1.uid}"]
    short = dcmtk.run("findscu", "-v", "-td", "1", *keys)
    assert "Final Find Response" not in short.stderr
    assert "DIMSE No data available (timeout" in short.stderr
    patient = dcmtk.run("findscu", "-v", "-td", "20", *keys)
    assert patient.returncode == 0, patient.stderr
    assert "Final Find Response (Success)" in patient.stderr


def test_retrieve_without_the_level_unique_key_fails_with_a900(
    simulator: PacsSimulator, recorder: Recorder
) -> None:
    simulator.destinations["DRIMBOX"] = ("127.0.0.1", recorder.port)
    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    assoc = ae.associate("127.0.0.1", simulator.port, ae_title="PACS_SOURCE_1")
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "SERIES"
    identifier.StudyInstanceUID = STUDY_A1.uid  # SeriesInstanceUID missing
    try:
        moved = [
            s
            for s, _ in assoc.send_c_move(
                identifier, "DRIMBOX", StudyRootQueryRetrieveInformationModelMove
            )
        ]
        got = [
            s for s, _ in assoc.send_c_get(identifier, StudyRootQueryRetrieveInformationModelGet)
        ]
    finally:
        assoc.release()
    for statuses in (moved, got):
        assert statuses[-1].Status == 0xA900
        assert "SeriesInstanceUID required" in statuses[-1].ErrorComment
    assert recorder.requests == []
