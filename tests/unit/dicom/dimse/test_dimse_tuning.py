"""Per-connection tuning: TCP_NODELAY and pynetdicom's reactor poll interval."""

import socket
from types import SimpleNamespace

from drimbox.dicom.dimse.tuning import DEFAULT_POLL_INTERVAL, tune, tuning_handler


def test_tune_sets_nodelay_and_the_poll_interval() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        dul = SimpleNamespace(socket=SimpleNamespace(socket=sock), _run_loop_delay=0.001)
        tune(SimpleNamespace(dul=dul), 0.0002)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert dul._run_loop_delay == 0.0002


def test_the_handler_applies_the_default_to_each_new_connection() -> None:
    event_type, handler = tuning_handler()
    dul = SimpleNamespace(socket=None, _run_loop_delay=0.001)  # no socket yet: only the poll
    handler(SimpleNamespace(assoc=SimpleNamespace(dul=dul)))
    assert dul._run_loop_delay == DEFAULT_POLL_INTERVAL
    assert "CONN_OPEN" in str(event_type)
