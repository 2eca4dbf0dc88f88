"""Our C-STORE SCP: one long-lived server that hands moved instances to the request that moved them.

Routing (DESIGN §4, no cross-request mixing): each pending C-MOVE registers a :class:`Route`
keyed by (Move Originator AE title, Move Originator Message ID), the two fields the PACS copies
from our C-MOVE request into its C-STORE sub-operations (PS3.7 9.1.1.1). The SOP Instance UIDs
expected from the preceding C-FIND are a cross-check, and the only key when a PACS omits the
originator fields. An instance that matches no pending request is refused with a failure status
and logged: it is never delivered to somebody else. Only the DIMSE command is read for routing;
the dataset stays encoded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.presentation import AllStoragePresentationContexts

from drimbox.config import DimseSettings

from . import status as st
from .contexts import prefer_requestor_syntaxes
from .models import ReceivedInstance
from .tuning import tuning_handler
from .uids import VERIFICATION

log = logging.getLogger(__name__)

MAX_ASSOCIATIONS = 64  # concurrent inbound C-STORE associations (one per running C-MOVE)

Sink = Callable[[ReceivedInstance], bool]
"""Takes an instance; returns False when its consumer has gone (the instance is then refused)."""


@dataclass(eq=False)
class Route:
    originator_ae: str
    message_id: int
    expected: frozenset[str] | None
    sink: Sink
    strict: bool = True
    """False: with the originator fields, instances outside ``expected`` are accepted too."""
    delivered: int = 0
    refused: list[str] = field(default_factory=list)


class RoutingTable:
    """Pending retrieves; thread-safe, because pynetdicom calls us from association threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, int], Route] = {}

    def add(self, route: Route) -> None:
        key = (route.originator_ae, route.message_id)
        with self._lock:
            if key in self._by_key:
                raise ValueError(f"a retrieve is already pending for {key}")
            self._by_key[key] = route

    def remove(self, route: Route) -> None:
        with self._lock:
            if self._by_key.get((route.originator_ae, route.message_id)) is route:
                del self._by_key[(route.originator_ae, route.message_id)]

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_key)

    def match(
        self, originator_ae: str | None, message_id: int | None, sop_uid: str
    ) -> Route | None:
        """The single pending request this instance belongs to, or None."""
        with self._lock:
            if originator_ae and message_id is not None:
                route = self._by_key.get((originator_ae.strip(), message_id))
                if route is None:
                    return None
                if route.strict and route.expected is not None and sop_uid not in route.expected:
                    return None
                return route
            candidates = [
                r for r in self._by_key.values() if r.expected is not None and sop_uid in r.expected
            ]
            return candidates[0] if len(candidates) == 1 else None


class StoreReceiver:
    """The C-STORE SCP on ``settings.host:settings.port`` (port 0 picks a free port)."""

    def __init__(self, settings: DimseSettings) -> None:
        self.settings = settings
        self.routes = RoutingTable()
        self._server: Any = None
        self.refused = 0  # instances refused since start (for logs and tests)

    @property
    def ae_title(self) -> str:
        return self.settings.ae_title

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the C-STORE SCP is not running")
        return int(self._server.server_address[1])

    def start(self) -> None:
        if self._server is not None:
            return
        ae = AE(ae_title=self.settings.ae_title)
        ae.require_called_aet = True
        ae.maximum_associations = MAX_ASSOCIATIONS
        ae.maximum_pdu_size = self.settings.max_pdu
        ae.acse_timeout = self.settings.acse_timeout
        ae.dimse_timeout = self.settings.dimse_timeout
        ae.network_timeout = self.settings.network_timeout
        for context in AllStoragePresentationContexts:
            if context.abstract_syntax is not None:
                ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(VERIFICATION)
        self._server = ae.start_server(
            (self.settings.host, self.settings.port),
            block=False,
            evt_handlers=[
                tuning_handler(self.settings.poll_interval),
                (evt.EVT_REQUESTED, self._on_requested),
                (evt.EVT_C_STORE, self._on_store),
            ],
        )
        log.info("C-STORE SCP %s listening on %s:%d", self.ae_title, self.settings.host, self.port)

    @staticmethod
    def _on_requested(event: Any) -> None:
        # Take the PACS's preferred (usually the stored, compressed) syntax: never force it to
        # decompress, and keep the raw bytes that RAD-107 passes through untouched.
        request = event.assoc.requestor.primitive
        if request is not None:
            prefer_requestor_syntaxes(event.assoc, request.presentation_context_definition_list)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def __enter__(self) -> StoreReceiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def register(
        self,
        originator_ae: str,
        message_id: int,
        expected: frozenset[str] | None,
        sink: Sink,
        *,
        strict: bool = True,
    ) -> Route:
        route = Route(originator_ae.strip(), message_id, expected, sink, strict)
        self.routes.add(route)
        return route

    def unregister(self, route: Route) -> None:
        self.routes.remove(route)

    def _on_store(self, event: Any) -> int:
        request = event.request
        sop_uid = str(request.AffectedSOPInstanceUID)
        originator = request.MoveOriginatorApplicationEntityTitle
        message_id = request.MoveOriginatorMessageID
        route = self.routes.match(
            originator if isinstance(originator, str) else None, message_id, sop_uid
        )
        if route is None:
            self.refused += 1
            log.warning(
                "refused unsolicited C-STORE of %s from %s (originator %r, message id %r)",
                sop_uid,
                event.assoc.requestor.ae_title,
                originator,
                message_id,
            )
            return st.REFUSED_NOT_AUTHORIZED
        instance = ReceivedInstance(
            sop_class_uid=str(request.AffectedSOPClassUID),
            sop_instance_uid=sop_uid,
            transfer_syntax_uid=str(event.context.transfer_syntax),
            data=event.encoded_dataset(include_meta=True),
        )
        if not route.sink(instance):
            route.refused.append(sop_uid)
            return st.OUT_OF_RESOURCES
        route.delivered += 1
        return st.SUCCESS
