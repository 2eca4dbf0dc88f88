"""Pre-fetch and pre-transcode a KOS's series into the warm cache ("warm by design", DESIGN §5).

Call it once a KOS is archived (the ingestion pipeline, after ``KosArchive.add``)::

    if settings.source.cache.enabled and settings.source.cache.prefetch_on_kos:
        asyncio.create_task(prefetch(service, kos_record))   # keep a reference to the task

Each referenced series is retrieved once from the PACS; every instance is kept in the default
lossy syntax (``source.wado.default_lossy_syntax``; instances that cannot carry it stay in their
stored syntax), in its stored syntax as well when ``source.cache.keep_lossless`` is set, and its
DICOM JSON metadata is computed on arrival. A failure is logged and reported, never raised: the
Source still serves the series cold.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from drimbox.dicom.transfer import negotiable, parse_accept
from drimbox.errors import DrimboxError
from drimbox.source.archive import InstanceRecord, KosRecord

from .cache import SeriesCache, VariantWriter
from .metadata import cache_document, instance_json
from .retrieval import (
    SeriesPlan,
    pacs_instances,
    pacs_of,
    plan_series,
    transcoded_parts,
)
from .service import Rad107Service

log = logging.getLogger(__name__)


@dataclass
class PrefetchReport:
    kos_sop_instance_uid: str
    cached: dict[str, int] = field(default_factory=dict)
    """Series UID → instances cached."""
    failed: dict[str, str] = field(default_factory=dict)
    """Series UID → why it was not cached."""


def lossy_accept(syntax: str) -> list[str]:
    """The Accept we pre-transcode for: the lossy default, else whatever the instance is in."""
    dicom = 'multipart/related; type="application/dicom"'
    return [f"{dicom}; transfer-syntax={syntax}, {dicom}; transfer-syntax=*; q=0.1"]


async def prefetch(service: Rad107Service, kos: KosRecord) -> PrefetchReport:
    """Warm the cache for every series of ``kos``; a no-op report when the cache is off."""
    report = PrefetchReport(kos.sop_instance_uid)
    cache = service.cache
    if cache is None:
        return report
    for series in await service.archive.series_of(kos.id):
        uid = series.series_instance_uid
        instances = await service.archive.instances_of(kos.id, uid)
        try:
            report.cached[uid] = await _prefetch_series(service, cache, kos, uid, instances)
        except (DrimboxError, OSError) as exc:
            log.warning(
                "pre-fetch of series %s (KOS %s) failed: %s", uid, kos.sop_instance_uid, exc
            )
            report.failed[uid] = str(exc)
    return report


async def _prefetch_series(
    service: Rad107Service,
    cache: SeriesCache,
    kos: KosRecord,
    series_uid: str,
    instances: list[InstanceRecord],
) -> int:
    settings = service.settings.source
    timeout = settings.wado.pacs_timeout
    node = pacs_of(service.settings, kos)
    plan = await plan_series(service.dimse, node, kos, series_uid, instances, timeout)
    ranges = parse_accept(lossy_accept(settings.wado.default_lossy_syntax))
    lossy: VariantWriter | None = None
    lossless: VariantWriter | None = None
    metadata: list[dict[str, Any]] = []
    try:
        parts = transcoded_parts(pacs_instances(service.dimse, plan, timeout), ranges, service.pool)
        async for part in parts:
            if lossy is None:
                lossy = cache.writer(plan.study_uid, series_uid, part.syntax)
                kept = negotiable(part.stored_syntax)
                if settings.cache.keep_lossless and kept != part.syntax:
                    lossless = cache.writer(plan.study_uid, series_uid, kept)
            await asyncio.to_thread(
                lossy.add,
                part.sop_instance_uid,
                part.data,
                part.syntax,
                part.stored_syntax,
                part.traits,
            )
            if lossless is not None:
                syntax = negotiable(part.stored_syntax)  # implicit VR is kept as explicit
                data = part.original
                if syntax != part.stored_syntax:
                    data = await service.pool.submit(part.original, syntax)
                await asyncio.to_thread(
                    lossless.add,
                    part.sop_instance_uid,
                    data,
                    syntax,
                    part.stored_syntax,
                    part.traits,
                )
            metadata.append(
                await asyncio.to_thread(instance_json, part.original, part.sop_instance_uid)
            )
        await _publish(cache, plan, lossy, lossless, metadata)
    finally:
        for writer in (lossy, lossless):
            if writer is not None:
                writer.abort()  # no-op once committed
    return len(metadata)


async def _publish(
    cache: SeriesCache,
    plan: SeriesPlan,
    lossy: VariantWriter | None,
    lossless: VariantWriter | None,
    metadata: list[dict[str, Any]],
) -> None:
    document = cache_document(plan.patient_ids, metadata)
    await asyncio.to_thread(cache.put_metadata, plan.study_uid, plan.series_uid, document)
    for writer in (lossless, lossy):  # lossy last: it is the one most likely to be kept (LRU)
        if writer is not None:
            await asyncio.to_thread(writer.commit, plan.patient_ids)
