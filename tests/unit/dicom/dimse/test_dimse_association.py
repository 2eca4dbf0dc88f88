"""Message IDs and the mapping of pynetdicom's silent failures to typed errors."""

import threading

from drimbox.config import PacsNode
from drimbox.dicom.dimse import association
from drimbox.dicom.dimse.association import PeerWatch, next_message_id, no_response_error
from drimbox.errors import PacsTimeout, PacsUnavailable

NODE = PacsNode(name="pacs", ae_title="PACS", port=104)


def test_message_ids_are_unique_across_threads() -> None:
    ids: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        mine = [next_message_id() for _ in range(500)]
        with lock:
            ids.extend(mine)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == len(ids) == 4000
    assert all(1 <= i <= 0xFFFF for i in ids)


def test_message_ids_wrap_within_us_range(monkeypatch: object) -> None:
    import itertools

    monkeypatch.setattr(association, "_message_ids", itertools.count(0xFFFF))  # type: ignore[attr-defined]
    assert [next_message_id() for _ in range(3)] == [0xFFFF, 1, 2]


def test_local_abort_means_timeout() -> None:
    watch = PeerWatch()
    watch.local_abort = True
    assert isinstance(no_response_error(NODE, watch, "C-FIND"), PacsTimeout)


def test_peer_abort_or_our_cancel_means_unavailable() -> None:
    watch = PeerWatch()
    watch.peer_gone = True
    assert isinstance(no_response_error(NODE, watch, "C-FIND"), PacsUnavailable)
    cancelled = PeerWatch()
    cancelled.local_abort = cancelled.cancelled = True
    assert isinstance(no_response_error(NODE, cancelled, "C-MOVE"), PacsUnavailable)
