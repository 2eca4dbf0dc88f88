"""Every failure is a typed error, never an empty result (E207/E208).

Peers: dcmqrscp, plain TCP sockets and tiny pynetdicom SCPs whose handlers misbehave on purpose.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from dimse_peers import OUR_AE
from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE, evt

from drimbox.config import DimseSettings, PacsNode
from drimbox.dicom.dimse import DimseClient, StoreReceiver
from drimbox.dicom.dimse.uids import STUDY_ROOT_FIND, STUDY_ROOT_MOVE, VERIFICATION
from drimbox.errors import PacsFailure, PacsTimeout, PacsUnavailable
from drimbox.kit.peers.common import free_port
from support.dicom_factory import SeriesFiles

SLOW = 30.0  # upper bound of a misbehaving handler's wait; released when the test ends


@pytest.fixture
def fast_settings() -> DimseSettings:
    """Generous timeouts except the one a test wants to hit (CI machines can be loaded)."""
    return DimseSettings(ae_title=OUR_AE, port=0, connect_timeout=5, acse_timeout=10)


def short(settings: DimseSettings, **timeouts: float) -> DimseSettings:
    return settings.model_copy(update=timeouts)


def wait_for_retrieve_threads(seconds: float = 30) -> None:
    """A cancelled retrieve finishes in the background; let it end before the next test."""
    for _ in range(int(seconds * 10)):
        if not any(t.name.startswith("dimse-") for t in threading.enumerate()):
            return
        time.sleep(0.1)


def node_at(port: int, ae_title: str = "TESTSCP", **kw: Any) -> PacsNode:
    return PacsNode(name="test", ae_title=ae_title, host="127.0.0.1", port=port, **kw)


@contextmanager
def pynetdicom_scp(
    handlers: list[tuple[Any, Callable[..., Any]]], allowed_callers: list[str] | None = None
) -> Iterator[PacsNode]:
    ae = AE(ae_title="TESTSCP")
    ae.require_calling_aet = allowed_callers or []
    for uid in (VERIFICATION, STUDY_ROOT_FIND, STUDY_ROOT_MOVE):
        ae.add_supported_context(uid)
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
    try:
        yield node_at(server.server_address[1])
    finally:
        server.shutdown()


async def test_connection_refused(fast_settings: DimseSettings) -> None:
    client = DimseClient(fast_settings)
    with pytest.raises(PacsUnavailable, match="cannot connect") as caught:
        await client.echo(node_at(free_port()))
    assert caught.value.user_code == "E207"
    with pytest.raises(PacsUnavailable):
        await client.find_studies(node_at(free_port()))


@pytest.mark.parametrize("method", ["move", "get"])
async def test_retrieve_from_unreachable_pacs(
    dimse_settings: DimseSettings, receiver: StoreReceiver, method: str
) -> None:
    client = DimseClient(dimse_settings, receiver)
    with pytest.raises(PacsUnavailable, match="cannot connect"):
        async for _ in client.retrieve_series(
            node_at(free_port()),
            "1.2.3",
            "1.2.3.4",
            method=method,  # type: ignore[arg-type]
        ):
            pass
    assert len(receiver.routes) == 0


async def test_association_rejected_wrong_called_ae(
    client: DimseClient, dcmqrscp: PacsNode
) -> None:
    wrong = dcmqrscp.model_copy(update={"ae_title": "NOT_THE_PACS"})
    with pytest.raises(PacsUnavailable, match="rejected"):
        await client.echo(wrong)


async def test_association_rejected_by_pynetdicom(fast_settings: DimseSettings) -> None:
    with (
        pynetdicom_scp([], allowed_callers=["SOMEBODY_ELSE"]) as node,
        pytest.raises(PacsUnavailable, match=r"rejected.*Calling AE title not recognised"),
    ):
        await DimseClient(fast_settings).echo(node)


async def test_association_request_unanswered_is_a_timeout(fast_settings: DimseSettings) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts the TCP connection (backlog) and never answers
        node = node_at(silent.getsockname()[1])
        with pytest.raises(PacsTimeout) as caught:
            await DimseClient(short(fast_settings, acse_timeout=0.5)).echo(node)
    assert caught.value.user_code == "E208"


async def test_slow_find_is_a_timeout(fast_settings: DimseSettings) -> None:
    release = threading.Event()

    def slow_find(event: Any) -> Iterator[tuple[int, Dataset | None]]:
        release.wait(SLOW)
        yield 0x0000, None

    with pynetdicom_scp([(evt.EVT_C_FIND, slow_find)]) as node:
        try:
            with pytest.raises(PacsTimeout, match="C-FIND"):
                await DimseClient(short(fast_settings, dimse_timeout=1)).find_studies(node)
        finally:
            release.set()


async def test_slow_echo_is_a_timeout(fast_settings: DimseSettings) -> None:
    release = threading.Event()

    def slow_echo(event: Any) -> int:
        release.wait(SLOW)
        return 0x0000

    with pynetdicom_scp([(evt.EVT_C_ECHO, slow_echo)]) as node:
        try:
            with pytest.raises(PacsTimeout, match="C-ECHO"):
                await DimseClient(short(fast_settings, dimse_timeout=1)).echo(node)
        finally:
            release.set()


async def test_find_failure_status(fast_settings: DimseSettings) -> None:
    def failing_find(event: Any) -> Iterator[tuple[int, Dataset | None]]:
        yield 0xC001, None

    with (
        pynetdicom_scp([(evt.EVT_C_FIND, failing_find)]) as node,
        pytest.raises(PacsFailure) as caught,
    ):
        await DimseClient(fast_settings).find_studies(node)
    assert caught.value.status == 0xC001


async def test_peer_abort_during_find(fast_settings: DimseSettings) -> None:
    def aborting_find(event: Any) -> Iterator[tuple[int, Dataset | None]]:
        event.assoc.abort()
        yield 0xFF00, None

    with (
        pynetdicom_scp([(evt.EVT_C_FIND, aborting_find)]) as node,
        pytest.raises(PacsUnavailable, match="aborted"),
    ):
        await DimseClient(fast_settings).find_studies(node)


@pytest.mark.dcmtk
async def test_move_to_unknown_destination(
    client: DimseClient, dcmqrscp: PacsNode, dataset: list[SeriesFiles]
) -> None:
    series = dataset[0]
    node = dcmqrscp.model_copy(update={"move_destination": "NOBODY"})
    with pytest.raises(PacsFailure) as caught:
        async for _ in client.retrieve_series(node, series.study_uid, series.series_uid):
            pass
    assert caught.value.status == 0xA801


@pytest.mark.dcmtk
async def test_retrieve_of_unknown_series_is_not_silently_empty(
    client: DimseClient, dcmqrscp: PacsNode, dataset: list[SeriesFiles]
) -> None:
    for method in ("move", "get"):
        with pytest.raises(PacsFailure, match="no instance"):
            async for _ in client.retrieve_series(
                dcmqrscp,
                dataset[0].study_uid,
                "1.2.3.4.5.6.7.8.9",
                method=method,  # type: ignore[arg-type]
            ):
                pass


def send_store(receiver: StoreReceiver, path: Any, **originator: Any) -> int:
    ae = AE(ae_title="INTRUDER")
    ds = dcmread(path)
    ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
    assoc = ae.associate("127.0.0.1", receiver.port, ae_title=receiver.ae_title)
    assert assoc.is_established
    try:
        status = assoc.send_c_store(ds, **originator)
        return int(status.Status)
    finally:
        assoc.release()


@pytest.mark.dcmtk
async def test_unsolicited_store_is_refused(
    receiver: StoreReceiver, dataset: list[SeriesFiles]
) -> None:
    before = receiver.refused
    path = dataset[0].paths[0]
    assert send_store(receiver, path) == 0x0124
    assert send_store(receiver, path, originator_aet=OUR_AE, originator_id=4242) == 0x0124
    assert receiver.refused == before + 2


@pytest.mark.dcmtk
async def test_instance_outside_the_expected_set_is_refused(
    receiver: StoreReceiver, dataset: list[SeriesFiles]
) -> None:
    delivered: list[str] = []

    def sink(instance: Any) -> bool:
        delivered.append(instance.sop_instance_uid)
        return True

    route = receiver.register(OUR_AE, 4243, frozenset(dataset[1].sop_uids), sink)
    try:
        stranger = dataset[0].paths[0]
        member = dataset[1].paths[0]
        assert send_store(receiver, stranger, originator_aet=OUR_AE, originator_id=4243) == 0x0124
        assert send_store(receiver, member, originator_aet=OUR_AE, originator_id=4243) == 0x0000
    finally:
        receiver.unregister(route)
    assert delivered == [dataset[1].sop_uids[0]]


@pytest.mark.dcmtk
@pytest.mark.parametrize("method", ["move", "get"])
async def test_consumer_that_stops_cancels_the_retrieve(
    client: DimseClient,
    dcmqrscp: PacsNode,
    dataset: list[SeriesFiles],
    receiver: StoreReceiver,
    method: str,
) -> None:
    series = dataset[4]
    iterator = client.retrieve_series(
        dcmqrscp,
        series.study_uid,
        series.series_uid,
        method=method,  # type: ignore[arg-type]
    )
    first = await anext(iterator)
    assert first.sop_instance_uid in series.sop_uids
    await iterator.aclose()  # type: ignore[attr-defined]
    assert len(receiver.routes) == 0
    # the PACS and our receiver are still usable afterwards
    again = [
        i.sop_instance_uid
        async for i in client.retrieve_series(
            dcmqrscp,
            series.study_uid,
            series.series_uid,
            method=method,  # type: ignore[arg-type]
        )
    ]
    assert sorted(again) == sorted(series.sop_uids)
    wait_for_retrieve_threads()
