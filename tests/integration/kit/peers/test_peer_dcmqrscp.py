"""The reusable dcmqrscp runner really starts, stores, answers C-ECHO and serves C-MOVE/C-GET."""

from __future__ import annotations

from pathlib import Path

import pytest
from peer_support import unavailable

from drimbox.config import DimseSettings
from drimbox.dicom.dimse import DimseClient, StoreReceiver
from drimbox.kit.peers import Dcmqrscp, PeerUnavailable
from support.dicom_factory import make_ct_series

JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"

pytestmark = pytest.mark.dcmtk


@pytest.fixture
def settings() -> DimseSettings:
    return DimseSettings(ae_title="DRIMBOX", port=0, connect_timeout=5, dimse_timeout=30)


async def test_dcmqrscp_echo_move_and_get(tmp_path: Path, settings: DimseSettings) -> None:
    [series] = make_ct_series(tmp_path / "data", instances=3, prefix="PEERQR")
    with StoreReceiver(settings) as receiver:
        try:
            peer = Dcmqrscp(
                destinations={"DRIMBOX": ("127.0.0.1", receiver.port)}, workdir=tmp_path / "qr"
            )
        except PeerUnavailable as exc:
            unavailable(str(exc))
        with peer:
            assert peer.load(series.paths) == 3
            client = DimseClient(settings, receiver)
            node = peer.node()
            await client.echo(node)
            for method in ("move", "get"):
                got = [
                    i.sop_instance_uid
                    async for i in client.retrieve_series(
                        node, series.study_uid, series.series_uid, series.sop_uids, method=method
                    )
                ]
                assert sorted(got) == sorted(series.sop_uids), method
        assert peer.config_path.read_text().count("DRIMBOX") == 1


def test_dcmqrscp_stops_and_reports_a_bad_start(tmp_path: Path) -> None:
    try:
        first = Dcmqrscp(workdir=tmp_path / "a")
    except PeerUnavailable as exc:
        unavailable(str(exc))
    with first:
        clash = Dcmqrscp(port=first.port, workdir=tmp_path / "b")
        with pytest.raises(Exception, match="dcmqrscp"):
            clash.start()
    assert first._process is None


async def test_move_keeps_the_stored_compressed_syntax(
    tmp_path: Path, settings: DimseSettings
) -> None:
    """Our C-STORE SCP takes the PACS's preferred syntax: JPEG-LS arrives as JPEG-LS.

    Before, pynetdicom's own order (Implicit VR first) made dcmqrscp fail every sub-operation
    (0xA702) because it cannot decompress.
    """
    from drimbox.kit.dataset.api import generate

    manifest = generate("perf", tmp_path / "perf", count=4)
    paths = sorted((tmp_path / "perf").rglob("*.dcm"))
    assert len(paths) == 4
    first = manifest.files[0]
    with StoreReceiver(settings) as receiver:
        try:
            peer = Dcmqrscp(
                destinations={"DRIMBOX": ("127.0.0.1", receiver.port)},
                workdir=tmp_path / "qr",
                syntax=JPEG_LS_LOSSLESS,
            )
        except PeerUnavailable as exc:
            unavailable(str(exc))
        with peer:
            assert peer.load(paths) == 4
            client = DimseClient(settings, receiver)
            received = [
                i
                async for i in client.retrieve_series(
                    peer.node(), first.study_instance_uid, first.series_instance_uid, method="move"
                )
            ]
    assert len(received) == 4
    assert {i.transfer_syntax_uid for i in received} == {JPEG_LS_LOSSLESS}
