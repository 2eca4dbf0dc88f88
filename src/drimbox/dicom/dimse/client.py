"""The async face of the DIMSE layer: one object per process, safe to share between requests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Literal, TypeVar

from pynetdicom.presentation import PresentationContext, build_context

from drimbox.config import DimseSettings, PacsNode
from drimbox.errors import PacsFailure

from . import query
from . import status as st
from .association import PeerWatch, next_message_id, no_response_error, open_association, status_of
from .channel import in_thread
from .contexts import store_contexts
from .models import (
    InstanceMatch,
    ReceivedInstance,
    SeriesMatch,
    StoreOutcome,
    StudyMatch,
    StudyTree,
)
from .receiver import StoreReceiver
from .retrieve import SeriesRequest, retrieve_series
from .store import StoreItem, context_pairs, load, send_all
from .uids import VERIFICATION

T = TypeVar("T")


class DimseClient:
    """C-ECHO, C-FIND, C-MOVE/C-GET and C-STORE SCU against configured PACS nodes.

    Blocking pynetdicom calls run in threads; every failure is a PacsError subclass.
    ``receiver`` is required for C-MOVE (it receives the moved instances).
    """

    def __init__(self, settings: DimseSettings, receiver: StoreReceiver | None = None) -> None:
        self.settings = settings
        self.receiver = receiver

    async def _on_association(
        self,
        node: PacsNode,
        contexts: Sequence[PresentationContext],
        work: Callable[..., T],
    ) -> T:
        def run() -> T:
            with open_association(self.settings, node, contexts) as (assoc, watch):
                return work(assoc, watch)

        return await in_thread(run, f"dimse-{node.name}")

    async def echo(self, node: PacsNode) -> None:
        """C-ECHO; returns when the PACS answered success."""

        def work(assoc: object, watch: PeerWatch) -> None:
            status = assoc.send_c_echo(msg_id=next_message_id())  # type: ignore[attr-defined]
            code = status_of(status)
            if code is None:
                raise no_response_error(node, watch, "C-ECHO")
            if code != st.SUCCESS:
                raise PacsFailure("C-ECHO failed", status=code, pacs=node.name)

        await self._on_association(node, [build_context(VERIFICATION)], work)

    async def find_studies(self, node: PacsNode, **match: str) -> list[StudyMatch]:
        """Study-level C-FIND; ``match`` uses DICOM keywords, e.g. PatientID="X*"."""
        return await self._on_association(
            node,
            query.find_contexts(),
            lambda a, w: query.find_studies(a, w, node, match),
        )

    async def find_series(self, node: PacsNode, study_uid: str) -> list[SeriesMatch]:
        return await self._on_association(
            node, query.find_contexts(), lambda a, w: query.find_series(a, w, node, study_uid)
        )

    async def find_instances(
        self, node: PacsNode, study_uid: str, series_uid: str
    ) -> list[InstanceMatch]:
        return await self._on_association(
            node,
            query.find_contexts(),
            lambda a, w: query.find_instances(a, w, node, study_uid, series_uid),
        )

    async def find_study_tree(self, node: PacsNode, study_uid: str) -> StudyTree:
        """Series, then instances per series, on one association (no relational query)."""
        return await self._on_association(
            node, query.find_contexts(), lambda a, w: query.find_study_tree(a, w, node, study_uid)
        )

    def retrieve_series(
        self,
        node: PacsNode,
        study_uid: str,
        series_uid: str,
        expected_sop_uids: Iterable[str] | None = None,
        *,
        sop_class_uids: Iterable[str] | None = None,
        method: Literal["move", "get"] | None = None,
        strict: bool = True,
        only: Iterable[str] = (),
    ) -> AsyncIterator[ReceivedInstance]:
        """Instances of one series as they arrive, by ``node.retrieve_method`` unless given.

        ``expected_sop_uids`` (from a C-FIND) cross-checks routing and completeness; with
        ``strict=False`` they are only what the caller needs (the PACS may send more, which the
        caller filters). ``only``: retrieve just these instances (IMAGE level).
        Stop iterating (``aclose``) to cancel the retrieve.
        """
        request = SeriesRequest(
            study_uid,
            series_uid,
            None if expected_sop_uids is None else frozenset(expected_sop_uids),
            None if sop_class_uids is None else frozenset(sop_class_uids),
            strict=strict,
            instances=tuple(only),
        )
        return retrieve_series(self.settings, node, request, self.receiver, method)

    async def store(self, node: PacsNode, items: Iterable[StoreItem]) -> list[StoreOutcome]:
        """C-STORE Part-10 files or bytes; PacsFailure if any instance was refused."""
        datasets = await in_thread(lambda: [load(item) for item in items])
        if not datasets:
            return []
        contexts = store_contexts(context_pairs(datasets))
        return await self._on_association(
            node, contexts, lambda a, w: send_all(a, w, node, datasets)
        )
