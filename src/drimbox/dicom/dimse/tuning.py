"""Per-connection tuning of pynetdicom associations, installed as an ``EVT_CONN_OPEN`` handler.

Two latencies dominate a C-STORE round trip on a fast link (one per instance in C-GET/C-MOVE,
which pynetdicom runs one at a time), measured on the 1300-image perf CT (bench/RESULTS.md):

- Nagle's algorithm: each small PDU waits for the peer's delayed ACK (≈40 ms with dcmtk peers);
  ``TCP_NODELAY`` removes it.
- pynetdicom's DUL reactor sleeps 1 ms whenever it finds nothing to do, on both ends, several
  times per round trip. Polling every ``poll_interval`` (default 0.1 ms) while an association is
  open took a C-GET of the series from 7.1 s to 5.0 s. The cost is a little CPU on idle open
  associations; ours live only as long as one query or retrieve.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

from pynetdicom import evt

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 0.0001  # seconds; pynetdicom's own default is 0.001


def tune(assoc: Any, poll_interval: float = DEFAULT_POLL_INTERVAL) -> None:
    """TCP_NODELAY on the association's socket and a shorter reactor poll interval."""
    dul = getattr(assoc, "dul", None)
    sock = getattr(getattr(dul, "socket", None), "socket", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # not a TCP socket (or already closed): nothing to tune
            log.debug("TCP_NODELAY not set", exc_info=True)
    if dul is not None and hasattr(dul, "_run_loop_delay"):
        # pynetdicom reads this private attribute on every idle loop of its reactor.
        dul._run_loop_delay = poll_interval


def tuning_handler(
    poll_interval: float = DEFAULT_POLL_INTERVAL,
) -> tuple[Any, Callable[[Any], None]]:
    """The ``(EVT_CONN_OPEN, handler)`` pair applying :func:`tune` to every new connection."""

    def on_open(event: Any) -> None:
        tune(event.assoc, poll_interval)

    return (evt.EVT_CONN_OPEN, on_open)
