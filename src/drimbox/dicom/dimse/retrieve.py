"""C-MOVE and C-GET SCU delivering each instance to the caller as it arrives.

pynetdicom is thread-based: every retrieve runs in its own thread (not the default executor,
whose few workers would serialise concurrent moves) and hands instances to the asyncio consumer
through a bounded :class:`Channel`. A consumer that stops iterating cancels the retrieve
(C-CANCEL, PS3.7 9.3.2.3/9.3.3.3), frees its routing entry and refuses what still arrives.
Streaming from the first instance is what makes the first-image budget (DB.VI-SO.37/38) reachable.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.presentation import build_context

from drimbox.config import DimseSettings, PacsNode
from drimbox.errors import PacsFailure

from . import status as st
from .association import PeerWatch, next_message_id, no_response_error, open_association, status_of
from .channel import Channel
from .contexts import get_storage_contexts
from .models import ReceivedInstance
from .receiver import Route, StoreReceiver
from .uids import STUDY_ROOT_GET, STUDY_ROOT_MOVE

log = logging.getLogger(__name__)

MOVE_MODEL = STUDY_ROOT_MOVE
GET_MODEL = STUDY_ROOT_GET
QUEUE_SIZE = 16  # instances buffered between the PACS and a slow consumer


class RetrieveIncomplete(PacsFailure):
    """The retrieve ended without every instance: sub-operations failed, or nothing matched."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        delivered: int,
        pacs: str | None,
        failed: int = 0,
        missing: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(f"{message}; {delivered} instance(s) delivered", status=status, pacs=pacs)
        self.delivered = delivered
        self.failed = failed
        """Sub-operations the PACS reported as failed (or warning)."""
        self.missing = missing
        """Expected SOP Instance UIDs never received although no sub-operation failed."""


@dataclass(frozen=True, slots=True)
class SeriesRequest:
    study_uid: str
    series_uid: str
    expected: frozenset[str] | None = None
    """SOP Instance UIDs expected (from a C-FIND, or a KOS): routing cross-check, completeness."""
    sop_classes: frozenset[str] | None = None  # for C-GET contexts, from the C-FIND
    strict: bool = True
    """False: ``expected`` is what we need, not all the PACS may send. An instance routed by
    Move Originator (or arriving on our C-GET association) is accepted even when unexpected,
    and only expected instances count for completeness. The caller filters."""
    instances: tuple[str, ...] = ()
    """Non-empty: an IMAGE-level retrieve of just these instances (PS3.4 C.4.2.2.1)."""

    def identifier(self) -> Dataset:
        ds = Dataset()
        ds.QueryRetrieveLevel = "IMAGE" if self.instances else "SERIES"
        ds.StudyInstanceUID = self.study_uid
        ds.SeriesInstanceUID = self.series_uid
        if self.instances:
            ds.SOPInstanceUID = (
                list(self.instances) if len(self.instances) > 1 else self.instances[0]
            )
        return ds


@dataclass(frozen=True, slots=True)
class _End:
    error: BaseException | None = None


@dataclass(slots=True)
class _Outcome:
    status: int
    failed: int


class _RetrieveJob:
    """One C-MOVE or C-GET, run in its own thread."""

    def __init__(
        self,
        settings: DimseSettings,
        node: PacsNode,
        request: SeriesRequest,
        channel: Channel[ReceivedInstance | _End],
        receiver: StoreReceiver | None,
        method: Literal["move", "get"],
    ) -> None:
        self.settings = settings
        self.node = node
        self.request = request
        self.channel = channel
        self.receiver = receiver
        self.method = method
        self.watch = PeerWatch()
        self.delivered = 0
        self.received: set[str] = set()
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._assoc: Association | None = None
        self._message_id = next_message_id()
        self._route: Route | None = None

    # -- consumer side -------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop the retrieve: free the route, send C-CANCEL; never blocks the event loop."""
        self._cancelled.set()
        self.watch.cancelled = True
        self.channel.close()
        with self._lock:
            if self._route is not None and self.receiver is not None:
                self.receiver.unregister(self._route)
            assoc = self._assoc
        if assoc is not None and assoc.is_established:
            model = MOVE_MODEL if self.method == "move" else GET_MODEL
            try:
                assoc.send_c_cancel(self._message_id, query_model=model)
            except Exception:  # the association may have just ended; nothing left to cancel
                log.debug("C-CANCEL not sent", exc_info=True)

    # -- worker side ---------------------------------------------------------------------
    def run(self) -> None:
        try:
            if self.method == "move":
                self._move()
            else:
                self._get()
        except BaseException as exc:  # handed to the consumer, re-raised there
            self.channel.put(_End(exc))
            return
        self.channel.put(_End())

    def _deliver(self, instance: ReceivedInstance) -> bool:
        if self._cancelled.is_set() or not self.channel.put(instance):
            return False
        self.delivered += 1
        self.received.add(instance.sop_instance_uid)
        return True

    def _move(self) -> None:
        if self.receiver is None:
            raise ValueError("C-MOVE needs a running StoreReceiver")
        destination = self.node.move_destination or self.receiver.ae_title
        route = self.receiver.register(
            self.node.calling_ae,
            self._message_id,
            self.request.expected,
            self._deliver,
            strict=self.request.strict,
        )
        with self._lock:
            self._route = route
        try:
            contexts = [build_context(MOVE_MODEL)]
            with open_association(self.settings, self.node, contexts, watch=self.watch) as (
                assoc,
                _,
            ):
                self._attach(assoc)
                responses = assoc.send_c_move(
                    self.request.identifier(), destination, MOVE_MODEL, msg_id=self._message_id
                )
                outcome = self._drive(responses, "C-MOVE")
        finally:
            self.receiver.unregister(route)
        self._check(outcome)

    def _get(self) -> None:
        contexts, roles = get_storage_contexts(self.request.sop_classes)
        contexts.insert(0, build_context(GET_MODEL))
        handlers = [(evt.EVT_C_STORE, self._on_get_store)]
        with open_association(
            self.settings, self.node, contexts, roles=roles, handlers=handlers, watch=self.watch
        ) as (assoc, _):
            self._attach(assoc)
            responses = assoc.send_c_get(
                self.request.identifier(), GET_MODEL, msg_id=self._message_id
            )
            outcome = self._drive(responses, "C-GET")
        self._check(outcome)

    def _attach(self, assoc: Association) -> None:
        with self._lock:
            self._assoc = assoc
        if self._cancelled.is_set():
            raise asyncio.CancelledError

    def _on_get_store(self, event: Any) -> int:
        request = event.request
        sop_uid = str(request.AffectedSOPInstanceUID)
        expected = self.request.expected
        if self.request.strict and expected is not None and sop_uid not in expected:
            log.warning("%s: refused C-GET instance %s not in the request", self.node.name, sop_uid)
            return st.REFUSED_NOT_AUTHORIZED
        instance = ReceivedInstance(
            sop_class_uid=str(request.AffectedSOPClassUID),
            sop_instance_uid=sop_uid,
            transfer_syntax_uid=str(event.context.transfer_syntax),
            data=event.encoded_dataset(include_meta=True),
        )
        return st.SUCCESS if self._deliver(instance) else st.OUT_OF_RESOURCES

    def _drive(self, responses: Iterator[tuple[Dataset, Dataset | None]], op: str) -> _Outcome:
        for status, _identifier in responses:
            code = status_of(status)
            if code is None:
                if self._cancelled.is_set():
                    raise asyncio.CancelledError
                raise no_response_error(self.node, self.watch, op)
            kind = st.category(code)
            if kind is st.Category.PENDING:
                continue
            failed = int(status.get("NumberOfFailedSuboperations", 0) or 0)
            if kind in (st.Category.SUCCESS, st.Category.WARNING):
                return _Outcome(code, failed)
            if kind is st.Category.CANCEL and self._cancelled.is_set():
                raise asyncio.CancelledError
            raise PacsFailure(f"{op} failed: {st.describe(code)}", status=code, pacs=self.node.name)
        raise no_response_error(self.node, self.watch, op)

    def _check(self, outcome: _Outcome) -> None:
        """Never a silent partial or empty result."""
        expected = self.request.expected
        missing = frozenset() if expected is None else expected - self.received
        if outcome.failed or st.category(outcome.status) is st.Category.WARNING:
            raise RetrieveIncomplete(
                f"{outcome.failed} sub-operation(s) failed ({st.describe(outcome.status)})",
                status=outcome.status,
                delivered=self.delivered,
                pacs=self.node.name,
                failed=max(outcome.failed, 1),
            )
        if missing:
            raise RetrieveIncomplete(
                f"{len(missing)} expected instance(s) not received",
                status=outcome.status,
                delivered=self.delivered,
                pacs=self.node.name,
                missing=missing,
            )
        if self.delivered == 0:
            raise RetrieveIncomplete(
                "no instance matched the series",
                status=outcome.status,
                delivered=0,
                pacs=self.node.name,
            )


async def retrieve_series(
    settings: DimseSettings,
    node: PacsNode,
    request: SeriesRequest,
    receiver: StoreReceiver | None,
    method: Literal["move", "get"] | None = None,
) -> AsyncIterator[ReceivedInstance]:
    """Yield the series' instances as they arrive; raise a PacsError at the end if it failed."""
    loop = asyncio.get_running_loop()
    channel: Channel[ReceivedInstance | _End] = Channel(loop, QUEUE_SIZE)
    job = _RetrieveJob(settings, node, request, channel, receiver, method or node.retrieve_method)
    thread = threading.Thread(target=job.run, name=f"dimse-{job.method}-{node.name}", daemon=True)
    thread.start()
    finished = False
    try:
        while True:
            item = await channel.get()
            if isinstance(item, _End):
                finished = True
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        if not finished:
            job.cancel()
        channel.close()
