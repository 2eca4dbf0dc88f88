"""PACS → transcode → parts: what a RAD-107 request sends, instance by instance, as it arrives.

Which PACS: the one the KOS was produced for (its ``pacs_name``, else its ``pacs_index``).
Before anything is sent we query the PACS (C-FIND study, then image level): this checks that it
is reachable (502 E207 / 504 E208), that the patient is the KOS's (406 E209), that the series
still exists (410 E206), and gives the SOP Instance UIDs that route the C-MOVE/C-GET. Only the
instances the KOS references are sent ("only what the KOS grants").

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
from drimbox.dicom.dimse import DimseClient, ReceivedInstance
from drimbox.dicom.transcode import TranscodeError, TranscodePool, describe, transcode_stream
from drimbox.dicom.transfer import (
    EXPLICIT_VR_LE,
    AcceptRange,
    ImageTraits,
    Negotiated,
    NotAcceptable,
    negotiate,
)
from drimbox.errors import ConfigError, PacsTimeout, PacsUnavailable
from drimbox.source.archive import KosRecord

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
    """SOP Instance UIDs to send: referenced by the KOS and present in the PACS."""
    pacs_sops: frozenset[str]
    """Every instance the PACS holds in the series (routes and cross-checks the retrieve)."""
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
    kos_sops: Iterable[str],
    timeout: float,
) -> SeriesPlan:
    """Query the PACS and decide what to send (raises 502/504/406/410)."""
    study_uid = kos.study_instance_uid
    studies = await within(
        timeout, client.find_studies(node, StudyInstanceUID=study_uid), node, "C-FIND"
    )
    if not studies:
        raise ImagesDeleted(f"study {study_uid} is no longer in the PACS")
    patient_ids = tuple(dict.fromkeys(s.patient_id for s in studies if s.patient_id))
    check_identity(kos, patient_ids)
    found = await within(
        timeout, client.find_instances(node, study_uid, series_uid), node, "C-FIND"
    )
    pacs_sops = frozenset(i.sop_instance_uid for i in found)
    wanted = tuple(sop for sop in kos_sops if sop in pacs_sops)
    if not wanted:
        raise ImagesDeleted(
            f"the instances of series {series_uid} referenced by the KOS are no longer in the PACS"
        )
    return SeriesPlan(kos, node, study_uid, series_uid, wanted, pacs_sops, patient_ids)


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

    The retrieve is series-level (what every PACS supports); instances the KOS does not grant
    are dropped here, and the retrieve is cancelled (C-CANCEL) as soon as all wanted ones have
    arrived, unless they are the whole series.
    """
    wanted = set(plan.wanted if only is None else only)
    wanted_all = wanted >= plan.pacs_sops
    remaining = len(wanted)
    source = client.retrieve_series(plan.node, plan.study_uid, plan.series_uid, plan.pacs_sops)
    try:
        while remaining:
            try:
                instance = await asyncio.wait_for(anext(source), idle_timeout)
            except StopAsyncIteration:
                raise PacsUnavailable(
                    f"the retrieve ended with {remaining} referenced instance(s) missing",
                    pacs=plan.node.name,
                ) from None
            except TimeoutError:
                raise PacsTimeout(
                    f"no instance received for {idle_timeout:g} s", pacs=plan.node.name
                ) from None
            if instance.sop_instance_uid in wanted:
                wanted.discard(instance.sop_instance_uid)
                remaining -= 1
                yield instance
        if wanted_all:
            # Everything the PACS holds was wanted: its final response is due, so let the
            # retrieve end normally (completeness check, polite release) rather than cancel it.
            with contextlib.suppress(StopAsyncIteration, TimeoutError):
                for _ in range(len(plan.pacs_sops) + 1):  # bounded: no more instances can come
                    await asyncio.wait_for(anext(source), idle_timeout)
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


IMPLICIT_VR_LE = "1.2.840.10008.1.2"


def negotiable(stored: str) -> str:
    """The syntax negotiation starts from: Implicit VR Little Endian is never sent over DICOMweb
    (PS3.18 §8.7.3.5.2), so such an instance is offered as Explicit VR Little Endian, a lossless
    rewrite of the same values (our C-STORE SCP may well receive implicit VR from a PACS)."""
    return EXPLICIT_VR_LE if stored == IMPLICIT_VR_LE else stored


def choose(
    ranges: list[AcceptRange], stored: str, traits: ImageTraits, prefer_passthrough: bool
) -> Negotiated | NotAcceptable:
    """:func:`negotiate` from the :func:`negotiable` syntax."""
    return negotiate(ranges, negotiable(stored), traits, prefer_passthrough=prefer_passthrough)


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

    def target_for(data: bytes) -> str:
        instance = arrived.popleft()
        stored, traits = describe(data)
        choice = choose(ranges, stored, traits, prefer_passthrough)
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
