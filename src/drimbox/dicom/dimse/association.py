"""Open and close SCU associations with our timeouts, turning every failure into a typed error.

pynetdicom reports failures as flags and empty status datasets; this module is the one place
that reads them (E207 PacsUnavailable / E208 PacsTimeout, DB.VI-CO.27). An association is
always released, or aborted when release is impossible; the process is never exited.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.pdu import A_ABORT_RQ
from pynetdicom.pdu_primitives import SCP_SCU_RoleSelectionNegotiation
from pynetdicom.presentation import PresentationContext

from drimbox.config import DimseSettings, PacsNode
from drimbox.errors import PacsTimeout, PacsUnavailable

from .tuning import tuning_handler

log = logging.getLogger(__name__)

_message_ids = itertools.count(1)
_message_ids_lock = threading.Lock()


def next_message_id() -> int:
    """A Message ID unique in this process (modulo 65535) so concurrent moves can be told apart.

    Message ID is US (PS3.7 E.1); 0 is avoided because some peers treat it as "absent".
    """
    with _message_ids_lock:
        return (next(_message_ids) - 1) % 0xFFFF + 1


class PeerWatch:
    """Records who ended an association first: a pynetdicom local abort means a timeout."""

    def __init__(self) -> None:
        self.connected = False
        self.accepted = False
        self.peer_gone = False
        self.local_abort = False
        self.cancelled = False

    def handlers(self) -> list[tuple[Any, Callable[..., None]]]:
        return [
            (evt.EVT_CONN_OPEN, self._on_open),
            (evt.EVT_ACCEPTED, self._on_accepted),
            (evt.EVT_CONN_CLOSE, self._on_close),
            (evt.EVT_PDU_RECV, self._on_recv),
            (evt.EVT_PDU_SENT, self._on_sent),
        ]

    def _on_open(self, event: Any) -> None:
        self.connected = True

    def _on_accepted(self, event: Any) -> None:
        self.accepted = True

    def _on_close(self, event: Any) -> None:
        if not self.local_abort:
            self.peer_gone = True

    def _on_recv(self, event: Any) -> None:
        if isinstance(event.pdu, A_ABORT_RQ) and not self.local_abort:
            self.peer_gone = True

    def _on_sent(self, event: Any) -> None:
        if isinstance(event.pdu, A_ABORT_RQ) and not self.peer_gone:
            self.local_abort = True


def no_response_error(node: PacsNode, watch: PeerWatch, operation: str) -> Exception:
    """The error for an empty status dataset: pynetdicom gives one on timeout, abort and close."""
    if watch.local_abort and not watch.cancelled:
        return PacsTimeout(f"no {operation} response within the DIMSE timeout", pacs=node.name)
    return PacsUnavailable(f"association aborted during {operation}", pacs=node.name)


def make_ae(
    settings: DimseSettings,
    calling_ae: str,
    contexts: Sequence[PresentationContext],
) -> AE:
    ae = AE(ae_title=calling_ae)
    ae.connection_timeout = settings.connect_timeout
    ae.acse_timeout = settings.acse_timeout
    ae.dimse_timeout = settings.dimse_timeout
    ae.network_timeout = settings.network_timeout
    ae.maximum_pdu_size = settings.max_pdu
    ae.requested_contexts = list(contexts)
    return ae


@contextmanager
def open_association(
    settings: DimseSettings,
    node: PacsNode,
    contexts: Sequence[PresentationContext],
    *,
    roles: Sequence[SCP_SCU_RoleSelectionNegotiation] = (),
    handlers: Sequence[tuple[Any, Callable[..., Any]]] = (),
    watch: PeerWatch | None = None,
) -> Iterator[tuple[Association, PeerWatch]]:
    """Associate with ``node``; raise PacsUnavailable/PacsTimeout; always release or abort."""
    watch = watch or PeerWatch()
    ae = make_ae(settings, node.calling_ae, contexts)
    assoc = ae.associate(
        node.host,
        node.port,
        ae_title=node.ae_title,
        max_pdu=settings.max_pdu,
        ext_neg=list(roles) or None,
        evt_handlers=[tuning_handler(settings.poll_interval), *watch.handlers(), *handlers],
    )
    if not assoc.is_established:
        raise _association_error(node, assoc, watch)
    try:
        yield assoc, watch
    finally:
        close_association(assoc)


def close_association(assoc: Association) -> None:
    """Release politely; abort when the peer does not answer the release. Never raise."""
    try:
        if assoc.is_established:
            assoc.release()
        if assoc.is_established:
            assoc.abort()
    except Exception:  # pragma: no cover - defensive: never let cleanup kill the caller
        log.exception("error while closing the association; aborting")
        try:
            assoc.abort()
        except Exception:
            log.exception("abort failed too")


def _association_error(node: PacsNode, assoc: Association, watch: PeerWatch) -> Exception:
    where = f"{node.ae_title}@{node.host}:{node.port}"
    if assoc.is_rejected:
        reason = _rejection_reason(assoc)
        return PacsUnavailable(f"association rejected by {where} ({reason})", pacs=node.name)
    if not watch.connected:
        return PacsUnavailable(f"cannot connect to {where} (refused, unreachable)", pacs=node.name)
    if watch.accepted:
        return PacsUnavailable(f"{where} accepted none of our contexts", pacs=node.name)
    if watch.local_abort and not watch.peer_gone:
        return PacsTimeout(f"no association response from {where}", pacs=node.name)
    return PacsUnavailable(f"association with {where} aborted", pacs=node.name)


def _rejection_reason(assoc: Association) -> str:
    primitive = assoc.acceptor.primitive
    if primitive is None:
        return "no detail"
    result = getattr(primitive, "result_str", None) or getattr(primitive, "result", "")
    source = getattr(primitive, "source_str", None) or getattr(primitive, "result_source", "")
    reason = getattr(primitive, "reason_str", None) or getattr(primitive, "diagnostic", "")
    return f"{result}, {source}: {reason}"


def status_of(status: Dataset) -> int | None:
    """The Status of a response dataset, None for pynetdicom's empty 'no response' dataset."""
    value = status.get("Status")
    return None if value is None else int(value)
