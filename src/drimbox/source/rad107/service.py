"""The RAD-107 service: the long-lived objects every request shares (one per process)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from drimbox.auth.introspection import TokenIntrospector
from drimbox.config import Settings
from drimbox.dicom.dimse import DimseClient
from drimbox.dicom.transcode import TranscodePool
from drimbox.source.archive import KosArchive
from drimbox.store.db import Database

from .audit import AccessAudit
from .cache import SeriesCache


@dataclass
class Rad107Service:
    """Settings, KOS archive, token introspection, DIMSE client, transcoding pool, cache, audit.

    Build it with :meth:`create`; close it with :meth:`aclose` (it owns the process pool).
    """

    settings: Settings
    archive: KosArchive
    introspector: TokenIntrospector
    dimse: DimseClient
    pool: TranscodePool
    audit: AccessAudit
    cache: SeriesCache | None = None
    owns_pool: bool = True

    @classmethod
    def create(
        cls,
        settings: Settings,
        database: Database,
        dimse: DimseClient,
        *,
        introspector: TokenIntrospector | None = None,
        pool: TranscodePool | None = None,
    ) -> Rad107Service:
        """Wire it from the settings (``dimse`` needs a running receiver for C-MOVE)."""
        sessions = database.async_sessions()
        cache_settings = settings.source.cache
        cache = None
        if cache_settings.enabled:
            root = cache_settings.dir or Path(settings.data_dir) / "rad107-cache"
            cache = SeriesCache(root, cache_settings.max_bytes)
        workers = settings.source.wado.transcode_workers or None
        return cls(
            settings=settings,
            archive=KosArchive(sessions),
            introspector=introspector or TokenIntrospector.from_settings(settings.psc),
            dimse=dimse,
            pool=pool or TranscodePool(workers),
            audit=AccessAudit(sessions),
            cache=cache,
            owns_pool=pool is None,
        )

    async def aclose(self) -> None:
        """Write the pending audit rows, stop the pool (if ours) and the introspection client."""
        await self.audit.drain()
        if self.owns_pool:
            await asyncio.to_thread(self.pool.close)
        await self.introspector.aclose()
