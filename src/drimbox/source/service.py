"""The DRIMbox Source: MLLP listener, inbox workers, IOCM SCP and the HTTP server, together.

``async with SourceService(settings) as service:`` migrates the schema, starts everything and
stops it cleanly on exit; ``drimbox source serve`` runs one until SIGINT/SIGTERM. The C-STORE
receiver runs when a PACS is retrieved by C-MOVE; it is shared by ingestion, IOCM and RAD-107.
The HTTP server (``source.http_enabled``) serves /health and /admin, and RAD-107 under each
PACS public base path when ``[psc]`` is configured: without token introspection no image is
ever served. Each archived KOS warms the RAD-107 cache when ``source.cache`` asks for it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from types import TracebackType

from drimbox.config import RetrySettings, Settings
from drimbox.dicom.dimse import DimseClient, StoreReceiver
from drimbox.hl7.server import MllpServer
from drimbox.source.archive import KosArchive, KosRecord
from drimbox.source.inbox import ClaimedMessage, Inbox, RetryPolicy
from drimbox.source.intake import Intake
from drimbox.source.iocm import IocmService
from drimbox.source.processor import Processor
from drimbox.source.rad107 import Rad107Service, prefetch
from drimbox.source.workflow import Outcome, WorkflowContext, process
from drimbox.store.db import Database, upgrade_schema
from drimbox.web.app import create_app
from drimbox.web.server import BackgroundServer

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
        self.context = WorkflowContext(
            settings, self.archive, self.inbox, self.dimse, on_archived=self._archived
        )
        self.processor = Processor(
            self.inbox, self._run, workers=settings.source.workers, idle_poll=idle_poll
        )
        self.intake = Intake(self.inbox, settings.source.mllp, self.processor.wake)
        mllp = settings.source.mllp
        self.mllp = MllpServer(self.intake.handle, mllp.host, mllp.port, mllp.max_message_bytes)
        self.iocm = (
            IocmService(settings, self.database, client=self.dimse)
            if settings.source.iocm.enabled
            else None
        )
        self.rad107: Rad107Service | None = None
        self.web: BackgroundServer | None = None
        self._prefetches: set[asyncio.Task[object]] = set()
        self._started = False

    def _archived(self, kos: KosRecord) -> None:
        cache = self.settings.source.cache
        if self.rad107 is None or not (cache.enabled and cache.prefetch_on_kos):
            return
        task: asyncio.Task[object] = asyncio.create_task(prefetch(self.rad107, kos))
        self._prefetches.add(task)
        task.add_done_callback(self._prefetches.discard)

    async def prefetches_done(self) -> None:
        """Wait for the cache warm-ups scheduled so far (tests, benchmarks, orderly stops)."""
        await asyncio.gather(*self._prefetches, return_exceptions=True)

    async def _start_web(self) -> None:
        if self.settings.psc.introspection_url:
            self.rad107 = Rad107Service.create(self.settings, self.database, self.dimse)
            await asyncio.to_thread(self.rad107.pool.warm_up)
        else:
            log.warning("RAD-107 disabled: no [psc] introspection configured, no image served")
        app = create_app(self.settings, database=self.database, rad107=self.rad107)
        self.web = BackgroundServer(app, self.settings)
        await self.web.start()

    @property
    def http_base_url(self) -> str:
        if self.web is None:
            raise RuntimeError("the HTTP server is not running (source.http_enabled)")
        return self.web.base_url

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
        if self.settings.source.http_enabled:
            await self._start_web()
        if self.iocm is not None:
            await self.iocm.start()
        await self.processor.start()
        await self.mllp.start()
        self._started = True
        log.info(
            "DRIMbox Source running: MLLP %s:%d, HTTP %s, %d worker(s), %d PACS",
            self.settings.source.mllp.host,
            self.mllp_port,
            self.web.base_url if self.web else "off",
            self.settings.source.workers,
            len(self.settings.pacs),
        )

    async def stop(self) -> None:
        """Stop accepting, let the messages in hand finish, release sockets and connections."""
        await self.mllp.stop()
        await self.processor.stop()
        for task in list(self._prefetches):
            task.cancel()
        await asyncio.gather(*self._prefetches, return_exceptions=True)
        if self.iocm is not None:
            await self.iocm.stop()
        if self.web is not None:
            await self.web.stop()
            self.web = None
        if self.rad107 is not None:
            await self.rad107.aclose()
            self.rad107 = None
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
