"""The Source ingestion service: MLLP listener, inbox workers and their PACS client, together.

``async with SourceService(settings) as service:`` migrates the schema, starts everything and
stops it cleanly on exit; ``drimbox source serve`` runs one until SIGINT/SIGTERM. The C-STORE
receiver runs when a PACS is retrieved by C-MOVE (it is shared with RAD-107 retrieval).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from types import TracebackType

from drimbox.config import RetrySettings, Settings
from drimbox.dicom.dimse import DimseClient, StoreReceiver
from drimbox.hl7.server import MllpServer
from drimbox.source.archive import KosArchive
from drimbox.source.inbox import ClaimedMessage, Inbox, RetryPolicy
from drimbox.source.intake import Intake
from drimbox.source.processor import Processor
from drimbox.source.workflow import Outcome, WorkflowContext, process
from drimbox.store.db import Database, upgrade_schema

log = logging.getLogger(__name__)


def retry_policy(settings: RetrySettings) -> RetryPolicy:
    return RetryPolicy(
        base=timedelta(seconds=settings.base_seconds),
        cap=timedelta(seconds=max(settings.cap_seconds, settings.base_seconds)),
        factor=settings.factor,
        max_attempts=settings.max_attempts,
    )


class SourceService:
    """One running Source ingestion pipeline; see the module docstring."""

    def __init__(self, settings: Settings, *, idle_poll: float = 5.0) -> None:
        self.settings = settings
        self.database = Database(settings.effective_database_url)
        sessions = self.database.async_sessions()
        self.inbox = Inbox(sessions, retry_policy(settings.source.retry))
        self.archive = KosArchive(sessions)
        uses_move = any(node.retrieve_method == "move" for node in settings.pacs)
        self.receiver = StoreReceiver(settings.dimse) if uses_move else None
        self.dimse = DimseClient(settings.dimse, self.receiver)
        self.context = WorkflowContext(settings, self.archive, self.inbox, self.dimse)
        self.processor = Processor(
            self.inbox, self._run, workers=settings.source.workers, idle_poll=idle_poll
        )
        self.intake = Intake(self.inbox, settings.source.mllp, self.processor.wake)
        mllp = settings.source.mllp
        self.mllp = MllpServer(self.intake.handle, mllp.host, mllp.port, mllp.max_message_bytes)
        self._started = False

    async def _run(self, claim: ClaimedMessage) -> Outcome:
        return await process(self.context, claim)

    @property
    def mllp_port(self) -> int:
        return self.mllp.port

    async def start(self) -> None:
        url = self.settings.effective_database_url
        await asyncio.to_thread(upgrade_schema, url)
        if self.receiver is not None:
            await asyncio.to_thread(self.receiver.start)
        await self.processor.start()
        await self.mllp.start()
        self._started = True
        log.info(
            "DRIMbox Source ingestion running: MLLP %s:%d, %d worker(s), %d PACS",
            self.settings.source.mllp.host,
            self.mllp_port,
            self.settings.source.workers,
            len(self.settings.pacs),
        )

    async def stop(self) -> None:
        """Stop accepting, let the messages in hand finish, release sockets and connections."""
        await self.mllp.stop()
        await self.processor.stop()
        if self.receiver is not None:
            await asyncio.to_thread(self.receiver.stop)
        await self.database.adispose()
        if self._started:
            log.info("DRIMbox Source ingestion stopped")
        self._started = False

    async def run_until(self, stop: asyncio.Event) -> None:
        """Start, wait for ``stop`` to be set, then stop (``drimbox source serve``)."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def __aenter__(self) -> SourceService:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
