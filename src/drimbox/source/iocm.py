"""IOCM: take rejection notes from the PACS and withdraw the rejected instances from our KOS.

Three parts (docs/source-admin.md):

- :class:`IocmScp`, a C-STORE SCP on ``source.iocm`` (host, port, AE title) that accepts only the
  Key Object Selection Document storage class. A rejection note is parsed, committed as
  ``pending`` and only then acknowledged with Success; anything else is refused with
  0xC000 "cannot understand" and the reason in ErrorComment.
- :class:`IocmProcessor`, which settles pending notes. A KOS changes only when the PACS confirms
  the rejection: a C-FIND at IMAGE level on the KOS's PACS must no longer find the instance.
  Still found → KOS unchanged (``not_applied``, with why). PACS unreachable, timing out or
  failing → nothing changes, the note stays pending and is retried with back-off. Confirmed →
  a new KOS version without those instances supersedes the old one, or the KOS is ``deleted``
  when nothing is left. A note for a study we hold no KOS for is ``ignored`` (and logged).
- :class:`IocmService`, the SCP plus a background worker, for the Source service to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from pydicom.dataset import Dataset
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt

from drimbox.config import PacsNode, Settings
from drimbox.dicom.dimse import DimseClient
from drimbox.dicom.kos import (
    KOS_SOP_CLASS_UID,
    KosAuthoring,
    KosError,
    KosNothingLeft,
    kos_bytes,
    parse_kos,
    remove_instances,
)
from drimbox.errors import ConfigError, PacsError
from drimbox.source.archive import (
    DELETED,
    PENDING,
    PUBLISHED,
    SUPERSEDABLE,
    KosArchive,
    KosArchiveError,
    KosRecord,
)
from drimbox.source.importer import ImportContext, new_kos
from drimbox.source.inbox import RetryPolicy
from drimbox.source.iocm_note import IocmNoteError, RejectedInstance, parse_rejection_note
from drimbox.source.iocm_store import (
    APPLIED,
    FAILED,
    IGNORED,
    NOT_APPLIED,
    IocmRecord,
    IocmStore,
)
from drimbox.source.iocm_store import (
    PENDING as NOTE_PENDING,
)
from drimbox.store.db import Database
from drimbox.store.models import utcnow

log = logging.getLogger(__name__)

VERIFICATION: Final = "1.2.840.10008.1.1"
STATUS_SUCCESS: Final = 0x0000
STATUS_CANNOT_UNDERSTAND: Final = 0xC000
STATUS_OUT_OF_RESOURCES: Final = 0xA700
MAX_NOTES_PER_RUN: Final = 1000


def _status(code: int, comment: str = "") -> Dataset:
    ds = Dataset()
    ds.Status = code
    if comment:
        ds.ErrorComment = comment[:64]
    return ds


class IocmScp:
    """The C-STORE SCP receiving rejection notes (``settings.source.iocm``)."""

    def __init__(self, settings: Settings, store: IocmStore, on_note: Any = None) -> None:
        self.settings = settings
        self.store = store
        self.on_note = on_note
        self._server: Any = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the IOCM SCP is not running")
        return int(self._server.server_address[1])

    def start(self) -> None:
        if self._server is not None:
            return
        iocm, dimse = self.settings.source.iocm, self.settings.dimse
        ae = AE(ae_title=iocm.ae_title)
        ae.require_called_aet = True
        ae.acse_timeout = dimse.acse_timeout
        ae.dimse_timeout = dimse.dimse_timeout
        ae.network_timeout = dimse.network_timeout
        ae.maximum_associations = 8
        ae.add_supported_context(KOS_SOP_CLASS_UID, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(VERIFICATION)
        self._server = ae.start_server(
            (iocm.host, iocm.port), block=False, evt_handlers=[(evt.EVT_C_STORE, self._on_store)]
        )
        log.info("IOCM SCP %s listening on %s:%d", iocm.ae_title, iocm.host, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def _on_store(self, event: Any) -> Dataset:
        requestor = event.assoc.requestor
        calling, peer = str(requestor.ae_title).strip(), f"{requestor.address}:{requestor.port}"
        try:
            raw = event.encoded_dataset(include_meta=True)
            note = parse_rejection_note(raw)
        except IocmNoteError as exc:
            log.warning("IOCM: refused an object from %s (%s): %s", calling, peer, exc)
            return _status(STATUS_CANNOT_UNDERSTAND, str(exc))
        try:
            note_id, duplicate = self.store.add(note, raw, calling_ae=calling, peer=peer)
        except Exception:  # the PACS must retry: never acknowledge what we did not keep
            log.exception("IOCM: note %s from %s not stored", note.sop_instance_uid, calling)
            return _status(STATUS_OUT_OF_RESOURCES, "note not stored, try again")
        log.info(
            "IOCM: note %s (%s) from %s for study %s: %d instance(s)%s as #%d",
            note.sop_instance_uid,
            note.title.meaning,
            calling,
            note.study_instance_uid,
            len(note.instances),
            " already received" if duplicate else " stored",
            note_id,
        )
        if self.on_note is not None:
            self.on_note()
        return _status(STATUS_SUCCESS)


@dataclass(frozen=True, slots=True)
class IocmOutcome:
    note_id: int
    status: str
    detail: str
    kos_ids: tuple[int, ...] = ()


class _Postpone(Exception):
    """The PACS could not confirm: keep the note pending."""


class IocmProcessor:
    """Settles pending notes against the PACS and the KOS archive."""

    def __init__(
        self,
        settings: Settings,
        store: IocmStore,
        archive: KosArchive,
        client: DimseClient,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.archive = archive
        self.client = client
        retry = settings.source.retry
        self.policy = policy or RetryPolicy(
            base=timedelta(seconds=retry.base_seconds),
            cap=timedelta(seconds=max(retry.cap_seconds, retry.base_seconds)),
            factor=retry.factor,
            max_attempts=retry.max_attempts,
        )

    async def process_pending(self, *, now: datetime | None = None) -> list[IocmOutcome]:
        """Process every due pending note once; return what happened to each."""
        outcomes = []
        for _ in range(MAX_NOTES_PER_RUN):
            record = await self.store.claim_next(now=now)
            if record is None:
                break
            outcomes.append(await self.process(record, now=now))
        return outcomes

    async def process(self, note: IocmRecord, *, now: datetime | None = None) -> IocmOutcome:
        now = now or utcnow()
        try:
            status, detail, kos_ids = await self._apply(note, now)
        except _Postpone as exc:
            if self.policy.exhausted(note.attempts):
                detail = f"{exc} (gave up after {note.attempts} attempts)"
                await self.store.settle(note.id, FAILED, detail, now=now)
                log.error("IOCM note #%d failed: %s", note.id, detail)
                return IocmOutcome(note.id, FAILED, detail)
            next_at = now + self.policy.delay(note.attempts)
            detail = f"{exc}; next attempt at {next_at.isoformat()}"
            await self.store.postpone(note.id, detail, next_at, now=now)
            log.warning("IOCM note #%d postponed: %s", note.id, detail)
            return IocmOutcome(note.id, NOTE_PENDING, detail)
        except (KosError, KosArchiveError, ConfigError) as exc:
            status, detail, kos_ids = FAILED, str(exc), ()
        await self.store.settle(note.id, status, detail, kos_ids=kos_ids, now=now)
        (log.info if status in (APPLIED, IGNORED) else log.warning)(
            "IOCM note #%d %s: %s", note.id, status, detail
        )
        return IocmOutcome(note.id, status, detail, kos_ids)

    async def _apply(self, note: IocmRecord, now: datetime) -> tuple[str, str, tuple[int, ...]]:
        by_study: dict[str, list[RejectedInstance]] = defaultdict(list)
        for item in note.rejected:
            by_study[item.study_instance_uid].append(item)
        targets: list[tuple[KosRecord, list[RejectedInstance]]] = []
        for study, rejected in by_study.items():
            wanted = {i.sop_instance_uid for i in rejected}
            current = [
                r for r in await self.archive.find_by_study(study) if r.status in SUPERSEDABLE
            ]
            for record in current:
                referenced = {
                    i.sop_instance_uid for i in await self.archive.instances_of(record.id)
                }
                hit = [i for i in rejected if i.sop_instance_uid in referenced & wanted]
                if hit:
                    targets.append((record, hit))
        if not targets:
            studies = ", ".join(by_study)
            return (
                IGNORED,
                f"no current KOS of study {studies} references the rejected instances",
                (),
            )
        confirmed = [(record, await self._confirm(record, hit)) for record, hit in targets]
        details, kos_ids = [], []
        for record, (gone, still) in confirmed:
            if still:
                details.append(
                    f"PACS {record.pacs_name} still holds {len(still)} rejected instance(s) "
                    f"of KOS #{record.id} (first {still[0]}): kept in the KOS"
                )
            if gone:
                text, new_id = await self._withdraw(record, gone, note, now)
                details.append(text)
                kos_ids.append(new_id)
        status = APPLIED if kos_ids else NOT_APPLIED
        return status, "; ".join(details), tuple(kos_ids)

    async def _confirm(
        self, record: KosRecord, rejected: list[RejectedInstance]
    ) -> tuple[list[str], list[str]]:
        """(gone, still present) according to an IMAGE-level C-FIND on the KOS's PACS."""
        node = self._pacs(record)
        present: set[str] = set()
        for series in dict.fromkeys(i.series_instance_uid for i in rejected):
            try:
                found = await self.client.find_instances(node, record.study_instance_uid, series)
            except PacsError as exc:
                raise _Postpone(f"PACS {node.name} could not confirm the rejection: {exc}") from exc
            present.update(match.sop_instance_uid for match in found)
        gone = [i.sop_instance_uid for i in rejected if i.sop_instance_uid not in present]
        still = [i.sop_instance_uid for i in rejected if i.sop_instance_uid in present]
        return gone, still

    def _pacs(self, record: KosRecord) -> PacsNode:
        if not record.pacs_name:
            raise ConfigError(f"KOS #{record.id} names no PACS: the rejection cannot be confirmed")
        return self.settings.pacs_by_name(record.pacs_name)

    async def _withdraw(
        self, record: KosRecord, gone: list[str], note: IocmRecord, now: datetime
    ) -> tuple[str, int]:
        """Supersede the KOS without ``gone``, or delete it when nothing is left."""
        old_bytes = await self.archive.kos_bytes(record.id)
        try:
            new = remove_instances(old_bytes, gone, self._authoring(old_bytes, now))
        except KosNothingLeft:
            await self.archive.set_status(record.id, DELETED, now=now)
            return f"KOS #{record.id} deleted: every referenced instance was rejected", record.id
        if new is None:  # cannot happen: the instances were found in the KOS
            return f"KOS #{record.id} did not reference the rejected instances", record.id
        data = kos_bytes(new)
        context = ImportContext(
            origin=record.origin,
            cda_document_id=record.cda_document_id,
            cda_set_id=record.cda_set_id,
            dmp_flags={"iocm_note_id": note.id, "dmp_replace_needed": True},
        )
        status = record.status if record.status in (PENDING, PUBLISHED) else PENDING
        row = new_kos(parse_kos(data), data, self._pacs(record), context, status=status)
        added = await self.archive.add(
            replace(row, message_id=record.message_id), replaces=record.id, now=now
        )
        return (
            f"KOS #{record.id} replaced by #{added.id} without {len(gone)} rejected instance(s)",
            added.id,
        )

    def _authoring(self, old_bytes: bytes, now: datetime) -> KosAuthoring:
        old = parse_kos(old_bytes)
        source = self.settings.source
        return KosAuthoring(
            institution_name=old.institution_name or source.institution_fallback or "DRIMbox",
            institution_id=old.institution_id,
            content_datetime=now,
            retrieve_location_uid=source.retrieve_location_uid,
            manufacturer=source.manufacturer,
            org_uid_root=source.uid_root,
        )


class IocmService:
    """The IOCM SCP and its worker; ``process_pending`` may also be called directly."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        client: DimseClient | None = None,
        poll_seconds: float = 30.0,
    ) -> None:
        self.settings = settings
        self.store = IocmStore(database)
        self.archive = KosArchive(database.async_sessions())
        self.processor = IocmProcessor(
            settings, self.store, self.archive, client or DimseClient(settings.dimse)
        )
        self.scp = IocmScp(settings, self.store, on_note=self._wake)
        self.poll_seconds = poll_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return self.scp.port

    async def start(self, *, worker: bool = True) -> None:
        """Listen for notes; with ``worker``, settle them in the background as they come.

        With ``source.iocm.enabled = false`` no SCP listens; stored notes are still settled.
        """
        if self.settings.source.iocm.enabled:
            self.scp.start()
        else:
            log.info("IOCM SCP disabled (source.iocm.enabled = false)")
        if worker and self._task is None:
            self._loop = asyncio.get_running_loop()
            self._event = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="iocm-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self.scp.stop)

    async def process_pending(self, *, now: datetime | None = None) -> list[IocmOutcome]:
        return await self.processor.process_pending(now=now)

    def _wake(self) -> None:
        """Called from the SCP thread when a note was stored."""
        if self._loop is not None and self._event is not None:
            self._loop.call_soon_threadsafe(self._event.set)

    async def _run(self) -> None:
        assert self._event is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=self.poll_seconds)
            self._event.clear()
            try:
                await self.process_pending()
            except Exception:  # keep the worker alive; the note stays pending
                log.exception("IOCM worker: processing failed, will retry")
