"""Where the parts of a response come from: the warm cache, or the PACS through the pool.

:func:`open_parts` makes every decision that can still change the HTTP status (cache lookup,
PACS queries, first instance negotiated and ready) and returns the first part with the rest of
the stream; everything after that is streamed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass

from drimbox.dicom.transfer import AcceptRange, NotAcceptable
from drimbox.source.archive import KosRecord

from .cache import CachedVariant, SeriesCache
from .checks import check_identity
from .errors import NoAcceptableSyntax
from .retrieval import (
    Chooser,
    OutPart,
    SeriesPlan,
    pacs_instances,
    pacs_of,
    plan_series,
    transcoded_parts,
)
from .service import Rad107Service

log = logging.getLogger(__name__)


@dataclass
class OpenedParts:
    """The first part (ready) and the generator of the others."""

    first: OutPart
    rest: AsyncGenerator[OutPart, None]
    origin: str
    """``cache`` or the PACS name, for logs and the audit trail."""
    total: int


def pick_variant(
    cache: SeriesCache,
    study_uid: str,
    series_uid: str,
    wanted: Sequence[str],
    ranges: list[AcceptRange],
    prefer_passthrough: bool,
) -> CachedVariant | None:
    """A cached variant holding every wanted instance in exactly its negotiated syntax.

    Raises NoAcceptableSyntax (406) when the first instance has no acceptable syntax at all.
    """
    found = [cache.variant(study_uid, series_uid, s) for s in cache.variants(study_uid, series_uid)]
    variants = [v for v in found if v is not None]
    if not variants:
        return None
    known = variants[0].by_sop()
    if any(sop not in known for sop in wanted):
        return None
    targets: list[str] = []
    choose = Chooser(ranges, prefer_passthrough)
    for position, sop in enumerate(wanted):
        entry = known[sop]
        choice = choose(entry.stored_syntax, entry.traits)
        if isinstance(choice, NotAcceptable):
            if position == 0:
                raise NoAcceptableSyntax(
                    f"instance {sop} (stored as {entry.stored_syntax}) cannot be sent in any "
                    "transfer syntax the request accepts",
                    choice.supported,
                )
            return None
        targets.append(choice.syntax)
    for variant in variants:
        files = variant.by_sop()
        if all(
            sop in files and files[sop].syntax == t for sop, t in zip(wanted, targets, strict=True)
        ):
            return variant
    return None


READ_AHEAD = 8  # cached files being read while earlier parts are sent (bounded memory)


async def parts_from_cache(
    cache: SeriesCache, variant: CachedVariant, wanted: Sequence[str]
) -> AsyncGenerator[OutPart, None]:
    """Read the wanted files a few ahead of the sender (never the whole series in memory):
    one thread hop per file, waited for in turn, was most of a warm response's time."""
    files = variant.by_sop()
    loop = asyncio.get_running_loop()
    reads: deque[tuple[str, asyncio.Future[bytes]]] = deque()
    todo = iter(wanted)
    with cache.reading(variant):
        try:
            while True:
                while len(reads) < READ_AHEAD and (sop := next(todo, None)) is not None:
                    reads.append((sop, loop.run_in_executor(None, files[sop].path.read_bytes)))
                if not reads:
                    return
                sop, reading = reads.popleft()
                data = await reading
                entry = files[sop]
                yield OutPart(sop, data, entry.syntax, entry.stored_syntax, entry.traits, data)
        finally:
            for _, reading in reads:
                reading.cancel()


async def write_through(
    cache: SeriesCache, plan: SeriesPlan, parts: AsyncGenerator[OutPart, None]
) -> AsyncGenerator[OutPart, None]:
    """Pass the parts on and keep a copy; publish it only if the whole series went through."""
    writer = None
    sent = 0
    try:
        async for part in parts:
            if writer is None:
                writer = cache.writer(plan.study_uid, plan.series_uid, part.syntax)
            yield part
            await asyncio.to_thread(
                writer.add,
                part.sop_instance_uid,
                part.data,
                part.syntax,
                part.stored_syntax,
                part.traits,
            )
            sent += 1
        if writer is not None and sent == len(plan.wanted):
            await asyncio.to_thread(writer.commit, plan.patient_ids)
    finally:
        if writer is not None:
            writer.abort()  # no-op after commit
        with contextlib.suppress(RuntimeError):
            await parts.aclose()


async def _first_of(parts: AsyncGenerator[OutPart, None], origin: str, total: int) -> OpenedParts:
    try:
        first = await anext(parts)
    except BaseException:
        with contextlib.suppress(RuntimeError):
            await parts.aclose()
        raise
    return OpenedParts(first, parts, origin, total)


async def open_parts(
    service: Rad107Service,
    kos: KosRecord,
    series_uid: str,
    ranges: list[AcceptRange],
    *,
    only: str | None = None,
) -> OpenedParts:
    """The instances of the series the KOS grants (or just ``only``), from the cache or else
    the PACS; raises the typed refusal while the status can still change."""
    wado = service.settings.source.wado
    granted = await service.archive.instances_of(kos.id, series_uid)
    if only is not None:
        granted = [r for r in granted if r.sop_instance_uid == only]
    wanted = [r.sop_instance_uid for r in granted]
    cache = service.cache
    if cache is not None:
        variant = pick_variant(
            cache, kos.study_instance_uid, series_uid, wanted, ranges, wado.prefer_passthrough
        )
        if variant is not None:
            check_identity(kos, variant.patient_ids)
            return await _first_of(parts_from_cache(cache, variant, wanted), "cache", len(wanted))
    node = pacs_of(service.settings, kos)
    plan = await plan_series(service.dimse, node, kos, series_uid, granted, wado.pacs_timeout)
    instances = pacs_instances(service.dimse, plan, wado.pacs_timeout, only=wanted)
    parts: AsyncGenerator[OutPart, None] = transcoded_parts(
        instances,
        ranges,
        service.pool,
        prefer_passthrough=wado.prefer_passthrough,
        max_in_flight=wado.max_in_flight or None,
    )
    if cache is not None and only is None:
        parts = write_through(cache, plan, parts)
    return await _first_of(parts, node.name, len(plan.wanted) if only is None else 1)


async def chain(opened: OpenedParts) -> AsyncIterator[OutPart]:
    """The first part then the others."""
    yield opened.first
    async for part in opened.rest:
        yield part
