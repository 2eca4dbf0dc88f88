"""PACS → transcode → parts: what a RAD-107 request sends, instance by instance, as it arrives.

Which PACS: the one the KOS was produced for (its ``pacs_name``, else its ``pacs_index``).
Before anything is sent we query the PACS at study level (one C-FIND answer): this checks that it
is reachable (502 E207 / 504 E208), that the patient is the KOS's (406 E209) and that the study
still exists (410 E206). The retrieve starts right after: the KOS already lists the instances,
so no image-level C-FIND (1300 answers for a CT, most of a second) delays the first part. The
retrieve is series-level (IMAGE level for one instance); whatever else the PACS sends for it is
dropped: only the instances the KOS references are sent ("only what the KOS grants").
A referenced instance the PACS no longer has (deleted before its IOCM note reached us) is
skipped with a warning; when none is left the answer is 410 E206.

Per-instance negotiation: the syntax is chosen for each instance from its stored syntax and
image traits. The first instance is negotiated before the response starts, so "nothing
acceptable" is a real 406. A later instance that cannot be produced in any acceptable syntax,
or whose transcoding fails, is sent in its stored syntax when the client accepts that one (the
part is labelled with its real syntax); otherwise the response is aborted without its closing
delimiter, so the client sees a truncated body rather than a silently shorter series.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from drimbox.config import PacsNode, Settings
from drimbox.dicom.dimse import DimseClient, ReceivedInstance, RetrieveIncomplete
from drimbox.dicom.transcode import TranscodeError, TranscodePool, describe, transcode_stream
from drimbox.dicom.transfer import (
    AcceptRange,
    ImageTraits,
    Negotiated,
    NotAcceptable,
    negotiable,
    negotiate,
)
from drimbox.errors import ConfigError, PacsError, PacsTimeout
from drimbox.source.archive import InstanceRecord, KosRecord

from .checks import check_identity
from .errors import ImagesDeleted, NoAcceptableSyntax

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SeriesPlan:
    """What a request will fetch: decided before the response starts."""

    kos: KosRecord
    node: PacsNode
    study_uid: str
    series_uid: str
    wanted: tuple[str, ...]
    """SOP Instance UIDs to send, in KOS order: those the KOS references."""
    sop_classes: frozenset[str]
    """Their SOP classes (the presentation contexts of a C-GET)."""
    patient_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OutPart:
    """One instance ready to send."""

    sop_instance_uid: str
    data: bytes
    syntax: str
    """The syntax ``data`` is really in (labels the part)."""
    stored_syntax: str
    traits: ImageTraits
    original: bytes
    """The instance as the PACS sent it (for the cache's lossless copy and metadata)."""


def pacs_of(settings: Settings, kos: KosRecord) -> PacsNode:
    """The PACS holding the KOS's images (by name, else by location index)."""
    for node in settings.pacs:
        if kos.pacs_name and node.name == kos.pacs_name:
            return node
    for node in settings.pacs:
        if kos.pacs_index is not None and node.index == kos.pacs_index:
            return node
    if len(settings.pacs) == 1 and not kos.pacs_name:
        return settings.pacs[0]
    raise ConfigError(
        f"KOS {kos.sop_instance_uid} names PACS {kos.pacs_name!r} (index {kos.pacs_index}), "
        "which is not configured"
    )


async def within(seconds: float, work: Awaitable[T], node: PacsNode, what: str) -> T:
    """``work`` or PacsTimeout (504 E208) after ``seconds``."""
    try:
        return await asyncio.wait_for(work, seconds)
    except TimeoutError:
        raise PacsTimeout(f"no {what} answer within {seconds:g} s", pacs=node.name) from None


async def plan_series(
    client: DimseClient,
    node: PacsNode,
    kos: KosRecord,
    series_uid: str,
    kos_instances: Iterable[InstanceRecord],
    timeout: float,
) -> SeriesPlan:
    """Query the PACS (study level) and decide what to send (raises 502/504/406/410)."""
    study_uid = kos.study_instance_uid
    studies = await within(
        timeout, client.find_studies(node, StudyInstanceUID=study_uid), node, "C-FIND"
    )
    if not studies:
        raise ImagesDeleted(f"study {study_uid} is no longer in the PACS")
    patient_ids = tuple(dict.fromkeys(s.patient_id for s in studies if s.patient_id))
    check_identity(kos, patient_ids)
    instances = [i for i in kos_instances if i.series_instance_uid == series_uid]
    if not instances:
        raise ImagesDeleted(f"the KOS references no instance of series {series_uid}")
    wanted = tuple(dict.fromkeys(i.sop_instance_uid for i in instances))
    sop_classes = frozenset(i.sop_class_uid for i in instances)
    return SeriesPlan(kos, node, study_uid, series_uid, wanted, sop_classes, patient_ids)


async def close_quietly(iterator: AsyncIterator[Any]) -> None:
    """``aclose()`` an async generator. One still running inside a cancelled task raises
    RuntimeError here: that cancellation is already closing it."""
    close = getattr(iterator, "aclose", None)
    if close is not None:
        with contextlib.suppress(RuntimeError):
            await close()


async def pacs_instances(
    client: DimseClient, plan: SeriesPlan, idle_timeout: float, only: Iterable[str] | None = None
) -> AsyncGenerator[ReceivedInstance, None]:
    """The wanted instances as the PACS delivers them; closing this cancels the retrieve.

    ``only``: a subset of ``plan.wanted``; one instance is retrieved at IMAGE level, more at
    series level. Anything else the PACS sends is dropped here. After the last wanted instance
    the retrieve is allowed to end normally (its final response is due: completeness check,
    polite release); if the PACS instead sends more (instances the KOS does not reference), it
    is cancelled. A wanted instance the PACS does not have is skipped with a warning; none at
    all raises ImagesDeleted (410 E206, before the first part).
    """
    wanted = set(plan.wanted if only is None else only)
    count = len(wanted)
    image_level = tuple(wanted) if len(wanted) == 1 else ()
    source = client.retrieve_series(
        plan.node,
        plan.study_uid,
        plan.series_uid,
        wanted,
        sop_class_uids=plan.sop_classes,
        strict=False,
        only=image_level,
    )

    async def next_instance() -> ReceivedInstance | None:
        """The next instance, None at the normal end (missing ones are logged)."""
        try:
            return await asyncio.wait_for(anext(source), idle_timeout)
        except StopAsyncIteration:
            return None
        except TimeoutError:
            raise PacsTimeout(
                f"no instance received for {idle_timeout:g} s", pacs=plan.node.name
            ) from None
        except RetrieveIncomplete as exc:
            if exc.failed or not exc.missing:
                raise
            if len(exc.missing) == count:
                raise ImagesDeleted(
                    f"none of the {count} instance(s) of series {plan.series_uid} referenced by "
                    "the KOS is still in the PACS"
                ) from None
            log.warning(
                "%s: %d instance(s) of series %s referenced by KOS %s are no longer in the "
                "PACS; sent without them",
                plan.node.name,
                len(exc.missing),
                plan.series_uid,
                plan.kos.sop_instance_uid,
            )
            return None

    try:
        while wanted:
            instance = await next_instance()
            if instance is None:
                return
            if instance.sop_instance_uid in wanted:
                wanted.discard(instance.sop_instance_uid)
                yield instance
        try:
            await next_instance()  # the final response, or an unreferenced instance: cancel
        except PacsError as exc:  # every referenced instance is out: the response is whole
            log.warning(
                "%s: the retrieve ended badly after the last instance: %s", plan.node.name, exc
            )
    finally:
        await close_quietly(source)


class _RequestPool(TranscodePool):
    """A per-request view of the shared pool: a failed transcode falls back to the stored bytes
    when the client accepts the stored syntax (the part is labelled with its real syntax)."""

    def __init__(self, shared: TranscodePool, fallback_ok: Callable[[bytes], bool]) -> None:
        # No executor of its own: work goes to the shared one.
        self.workers = shared.workers
        self._shared = shared
        self._fallback_ok = fallback_ok

    def submit(self, part10: bytes, target: str) -> asyncio.Future[bytes]:
        inner = self._shared.submit(part10, target)
        outer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        def settle(done: asyncio.Future[bytes]) -> None:
            if outer.done():
                return
            if done.cancelled():
                outer.cancel()
                return
            error = done.exception()
            if error is None:
                outer.set_result(done.result())
            elif isinstance(error, TranscodeError) and self._fallback_ok(part10):
                log.warning(
                    "transcoding to %s failed (%s); sending the stored syntax", target, error
                )
                outer.set_result(part10)
            else:
                outer.set_exception(error)

        def propagate_cancel(done: asyncio.Future[bytes]) -> None:
            if done.cancelled():
                inner.cancel()

        inner.add_done_callback(settle)
        outer.add_done_callback(propagate_cancel)
        return outer

    def close(self) -> None:
        """The shared pool belongs to the service."""


class Chooser:
    """:func:`negotiate` for one request, per instance stored as ``stored`` (see
    :func:`negotiable`), decided once per (stored syntax, image traits): a series has one or
    two kinds of instance, and negotiating each of 1,300 cost 70 ms before the first part."""

    def __init__(self, ranges: list[AcceptRange], prefer_passthrough: bool) -> None:
        self._ranges = ranges
        self._prefer_passthrough = prefer_passthrough
        self._decided: dict[tuple[str, ImageTraits], Negotiated | NotAcceptable] = {}

    def __call__(self, stored: str, traits: ImageTraits) -> Negotiated | NotAcceptable:
        key = (stored, traits)
        if key not in self._decided:
            self._decided[key] = negotiate(
                self._ranges,
                negotiable(stored),
                traits,
                prefer_passthrough=self._prefer_passthrough,
            )
        return self._decided[key]


def _stored_acceptable(ranges: list[AcceptRange], part10: bytes) -> bool:
    stored, traits = describe(part10)
    if stored != negotiable(stored):
        return False
    choice = negotiate(ranges, stored, traits, prefer_passthrough=True)
    return isinstance(choice, Negotiated) and choice.passthrough


async def transcoded_parts(
    instances: AsyncGenerator[ReceivedInstance, None],
    ranges: list[AcceptRange],
    pool: TranscodePool,
    *,
    prefer_passthrough: bool = False,
    max_in_flight: int | None = None,
) -> AsyncGenerator[OutPart, None]:
    """Negotiate and transcode each instance (in the pool), yielding parts in arrival order."""
    arrived: deque[ReceivedInstance] = deque()
    described: deque[tuple[ReceivedInstance, str, ImageTraits]] = deque()

    async def payloads() -> AsyncGenerator[bytes, None]:
        async for instance in instances:
            arrived.append(instance)
            yield instance.data

    choose = Chooser(ranges, prefer_passthrough)

    def target_for(data: bytes) -> str:
        instance = arrived.popleft()
        stored, traits = describe(data)
        choice = choose(stored, traits)
        if isinstance(choice, NotAcceptable):
            raise NoAcceptableSyntax(
                f"instance {instance.sop_instance_uid} (stored as {stored}) cannot be sent in "
                "any transfer syntax the request accepts",
                choice.supported,
            )
        described.append((instance, stored, traits))
        return choice.syntax

    source = payloads()
    stream = transcode_stream(
        source,
        target_for,
        _RequestPool(pool, lambda data: _stored_acceptable(ranges, data)),
        max_in_flight=max_in_flight,
    )
    try:
        async for part in stream:
            instance, stored, traits = described.popleft()
            real = stored if part.data is instance.data else part.transfer_syntax
            yield OutPart(instance.sop_instance_uid, part.data, real, stored, traits, instance.data)
    finally:
        await close_quietly(stream)
        await close_quietly(source)
        await close_quietly(instances)
