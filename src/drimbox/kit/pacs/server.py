"""The PACS simulator's DICOM node: one pynetdicom server, several AE titles (TE.SIM-PACS).

Each configured AE title is a separate view of the archive (index rows carry the AE title); an
association to any other called AE title is rejected with A-ASSOCIATE-RJ "called AE title not
recognised" (PS3.8 9.3.4). Services: Verification, Patient/Study Root C-FIND, C-MOVE, C-GET,
and the Storage SCP (for every storage SOP class and transfer syntax).

Fault injection, adjustable while running: :attr:`PacsSimulator.response_delay` (seconds slept
before answering C-FIND/C-MOVE/C-GET) and :attr:`PacsSimulator.refuse_associations` (reject
every association, transient, "no reason given").
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.ae import ApplicationEntity
from pynetdicom.events import Event
from pynetdicom.presentation import build_context
from pynetdicom.transport import ThreadedAssociationServer

from drimbox.config import PacsSimulatorSettings
from drimbox.dicom.dimse.contexts import prefer_requestor_syntaxes
from drimbox.dicom.dimse.tuning import tuning_handler
from drimbox.errors import DicomDataError
from drimbox.kit.pacs.archive import Archive
from drimbox.kit.pacs.query import (
    STATUS_UNABLE_TO_PROCESS,
    IdentifierError,
    Model,
    find,
    parse_find,
    parse_retrieve,
    select_for_retrieve,
)
from drimbox.kit.pacs.sending import StoreSender, load_for_send, storage_contexts
from drimbox.store.db import Database
from drimbox.store.models import SimInstance

LOG = logging.getLogger(__name__)

STATUS_PENDING = 0xFF00
STATUS_CANCEL = 0xFE00
STATUS_MOVE_DESTINATION_UNKNOWN = 0xA801
STATUS_OUT_OF_RESOURCES = 0xA700
STATUS_STORE_CANNOT_UNDERSTAND = 0xC000

VERIFICATION = "1.2.840.10008.1.1"
# PS3.4 C.6: Patient Root (…2.1.x) and Study Root (…2.2.x) FIND / MOVE / GET SOP classes.
_MODELS = {
    "1.2.840.10008.5.1.4.1.2.1.1": Model.PATIENT_ROOT,
    "1.2.840.10008.5.1.4.1.2.1.2": Model.PATIENT_ROOT,
    "1.2.840.10008.5.1.4.1.2.1.3": Model.PATIENT_ROOT,
    "1.2.840.10008.5.1.4.1.2.2.1": Model.STUDY_ROOT,
    "1.2.840.10008.5.1.4.1.2.2.2": Model.STUDY_ROOT,
    "1.2.840.10008.5.1.4.1.2.2.3": Model.STUDY_ROOT,
}

_called = threading.local()


class _MultiTitleAE(ApplicationEntity):
    """An AE whose own title, seen from a handler thread, is the AE title the peer called.

    pynetdicom opens the C-MOVE sub-association with ``ae.ae_title`` as calling AE title; the
    simulator must present the AE title the C-MOVE was sent to (PACS_SOURCE_1, …).
    """

    @property
    def ae_title(self) -> str:
        override: str | None = getattr(_called, "ae_title", None)
        return override or str(self._ae_title)

    @ae_title.setter
    def ae_title(self, value: str) -> None:
        parent: Any = ApplicationEntity.__dict__["ae_title"]
        parent.fset(self, value)


def parse_destination(address: str) -> tuple[str, int]:
    """``host:port`` → (host, port); ValueError otherwise."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {address!r}")
    return host, int(port)


class PacsSimulator:
    """The simulator, usable in-process: ``start()`` returns at once; ``port`` is the bound port."""

    def __init__(
        self,
        settings: PacsSimulatorSettings,
        database: Database,
        *,
        archive_dir: Path | None = None,
        destinations: dict[str, str] | None = None,
    ) -> None:
        root = archive_dir or settings.archive_dir
        if root is None:
            raise ValueError("the PACS simulator needs an archive folder (archive_dir)")
        self.settings = settings
        self.archive = Archive(root, database, settings.ae_titles)
        self.database = database
        self.response_delay: float = settings.response_delay
        self.refuse_associations: bool = settings.refuse_associations
        self.destinations: dict[str, tuple[str, int]] = {
            ae: parse_destination(a)
            for ae, a in {**settings.move_destinations, **(destinations or {})}.items()
        }
        self._stopping = threading.Event()
        self._server: ThreadedAssociationServer | None = None
        self._ae = self._build_ae()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def ae_titles(self) -> list[str]:
        return list(self.settings.ae_titles)

    @property
    def host(self) -> str:
        return self.settings.host

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``); the configured one before start."""
        if self._server is None:
            return self.settings.port
        return int(self._server.server_address[1])

    def _build_ae(self) -> ApplicationEntity:
        ae = _MultiTitleAE(ae_title=self.settings.ae_titles[0])
        ae.require_called_aet = False  # checked per AE title in _on_requested
        ae.maximum_pdu_size = 0  # receive any PDU size
        ae.maximum_associations = 32
        ae.network_timeout = 120
        ae.dimse_timeout = 120
        ae.add_supported_context(VERIFICATION)
        for uid in _MODELS:
            ae.add_supported_context(uid)
        for cx in AllStoragePresentationContexts:
            if cx.abstract_syntax is not None:
                ae.add_supported_context(
                    cx.abstract_syntax, ALL_TRANSFER_SYNTAXES, scu_role=True, scp_role=True
                )
        return ae

    def start(self) -> None:
        """Start serving in background threads."""
        if self._server is not None:
            return
        self._stopping.clear()
        handlers: list[Any] = [
            tuning_handler(),
            (evt.EVT_REQUESTED, self._on_requested),
            (evt.EVT_C_ECHO, self._on_echo),
            (evt.EVT_C_FIND, self._on_find),
            (evt.EVT_C_GET, self._on_get),
            (evt.EVT_C_MOVE, self._on_move),
            (evt.EVT_C_STORE, self._on_store),
        ]
        self._server = self._ae.start_server(
            (self.settings.host, self.settings.port), block=False, evt_handlers=handlers
        )
        LOG.info("PACS simulator %s listening on %s:%d", self.ae_titles, self.host, self.port)

    def stop(self) -> None:
        """Stop accepting, abort running associations, close the socket."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def __enter__(self) -> PacsSimulator:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- association control ---------------------------------------------------------------

    def _on_requested(self, event: Event) -> None:
        assoc = event.assoc
        request = assoc.requestor.primitive
        called = "" if request is None else str(request.called_ae_title).strip()
        if self.refuse_associations:
            LOG.info("refusing association to %s (fault injection)", called)
            assoc.acse.send_reject(0x02, 0x01, 0x01)  # transient, service-user, no reason given
        elif called not in self.settings.ae_titles:
            LOG.info("rejecting association: called AE title %r is not served", called)
            assoc.acse.send_reject(0x01, 0x01, 0x07)  # permanent, called AE not recognised
        else:
            assoc.acceptor.ae_title = called
            if request is not None:
                prefer_requestor_syntaxes(assoc, request.presentation_context_definition_list)
            return
        assoc.kill()  # waits until the A-ASSOCIATE-RJ is sent and the peer has closed

    def _delay(self) -> None:
        if self.response_delay > 0:
            self._stopping.wait(self.response_delay)

    @staticmethod
    def _called_aet(event: Event) -> str:
        return str(event.assoc.acceptor.ae_title).strip()

    # -- services --------------------------------------------------------------------------

    def _on_echo(self, event: Event) -> int:
        return 0x0000

    def _on_find(self, event: Event) -> Iterator[tuple[int | Dataset, Dataset | None]]:
        aet = self._called_aet(event)
        model = _MODELS[str(event.request.AffectedSOPClassUID)]
        self._delay()
        try:
            query = parse_find(event.identifier, model)
            with self.database.session() as session:
                results = list(find(session, aet, query, lambda: event.is_cancelled))
        except IdentifierError as exc:
            LOG.info("C-FIND to %s refused: %s", aet, exc.comment)
            yield exc.status_dataset(), None
            return
        except Exception as exc:  # reported as a DIMSE failure, never a traceback
            LOG.exception("C-FIND to %s failed", aet)
            yield (
                IdentifierError(
                    STATUS_UNABLE_TO_PROCESS, f"cannot process: {exc}"
                ).status_dataset(),
                None,
            )
            return
        for identifier in results:
            if event.is_cancelled:
                yield STATUS_CANCEL, None
                return
            yield STATUS_PENDING, identifier

    def _retrieve_rows(self, event: Event, model: Model) -> list[SimInstance]:
        query = parse_retrieve(event.identifier, model)
        with self.database.session() as session:
            return select_for_retrieve(session, self._called_aet(event), query)

    def _sub_operations(
        self, event: Event, rows: list[SimInstance]
    ) -> Iterator[tuple[int, Dataset | None]]:
        for row in rows:
            if event.is_cancelled:
                yield STATUS_CANCEL, None
                return
            yield STATUS_PENDING, load_for_send(row)

    def _on_get(self, event: Event) -> Iterator[Any]:
        model = _MODELS[str(event.request.AffectedSOPClassUID)]
        self._delay()
        try:
            rows = self._retrieve_rows(event, model)
        except IdentifierError as exc:
            yield 1
            yield exc.status_dataset(), None
            return
        StoreSender.install(event.assoc)
        yield len(rows)
        yield from self._sub_operations(event, rows)

    def _on_move(self, event: Event) -> Iterator[Any]:
        aet = self._called_aet(event)
        model = _MODELS[str(event.request.AffectedSOPClassUID)]
        destination = str(event.move_destination or "").strip()
        address = self.destinations.get(destination)
        if address is None:
            LOG.info("C-MOVE to %s: unknown destination %r", aet, destination)
            yield None, None  # pynetdicom answers 0xA801 Move destination unknown
            return
        self._delay()
        rows: list[SimInstance] = []
        error: IdentifierError | None = None
        try:
            rows = self._retrieve_rows(event, model)
        except IdentifierError as exc:
            error = exc
        originator = str(event.assoc.requestor.ae_title).strip()

        def _install(accepted: Event) -> None:
            StoreSender.install(accepted.assoc, move_originator=originator)

        _called.ae_title = aet  # calling AE title of the sub-association
        try:
            yield (
                address[0],
                address[1],
                {
                    "contexts": storage_contexts(rows) or [build_context(VERIFICATION)],
                    "max_pdu": 0,
                    "evt_handlers": [tuning_handler(), (evt.EVT_ACCEPTED, _install)],
                },
            )
            if error is not None:
                yield 1
                yield error.status_dataset(), None
                return
            yield len(rows)
            yield from self._sub_operations(event, rows)
        finally:
            _called.ae_title = None

    def _on_store(self, event: Event) -> int:
        aet = self._called_aet(event)
        try:
            self.archive.store(aet, event.encoded_dataset(include_meta=True))
        except DicomDataError as exc:
            LOG.warning("C-STORE to %s refused: %s", aet, exc)
            return STATUS_STORE_CANNOT_UNDERSTAND
        except OSError as exc:
            LOG.error("C-STORE to %s: cannot write (%s)", aet, exc)
            return STATUS_OUT_OF_RESOURCES
        return 0x0000
