"""The simulator's C-STORE send path (C-GET and C-MOVE sub-operations, ``push``).

Files are sent in their stored transfer syntax, streamed from disk: :func:`load_for_send` gives
an :class:`ArchivedFile` (the UIDs from the index, nothing read), and :class:`StoreSender` hands
pynetdicom the file's path, whose dataset bytes go out as they are (pynetdicom's chunked mode).
Re-encoding the dataset instead cost ≈0.6 ms per 512×512 CT file, a tenth of a C-GET of the perf
series. Compressed data is never transcoded: when the peer did not accept the stored syntax for
the SOP class, that sub-operation fails with a logged reason and the instance is listed in
FailedSOPInstanceUIDList. Uncompressed data is read and re-encoded between explicit and
implicit VR little endian when that is all the peer accepted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import _config as pynetdicom_config
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext, build_context

LOG = logging.getLogger(__name__)
MAX_REQUESTED_CONTEXTS = 128  # PS3.8: presentation context IDs are odd numbers 1..255
_UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)


class StoredInstance(Protocol):
    """What the send path needs to know about an archived instance."""

    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str
    path: str


class ArchivedFile(Dataset):
    """An archived instance as the Q/R service sees it: its UIDs and stored syntax (from the
    index) and ``path``; :class:`StoreSender` sends the file itself."""

    path: str


def load_for_send(instance: StoredInstance) -> ArchivedFile:
    """The instance, ready for pynetdicom's Q/R service and :class:`StoreSender` (nothing read
    yet: an unreadable file fails its own sub-operation when it is sent)."""
    ds = ArchivedFile()
    ds.SOPClassUID = instance.sop_class_uid
    ds.SOPInstanceUID = instance.sop_instance_uid
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(instance.transfer_syntax_uid)
    ds.path = instance.path
    return ds


def read_whole(ds: ArchivedFile) -> Dataset:
    """The file decoded (for a syntax conversion); ValueError names the file when unreadable."""
    try:
        return dcmread(ds.path)
    except Exception as exc:  # any read failure is one failed sub-operation
        raise ValueError(f"cannot read {ds.path}: {exc}") from exc


def storage_contexts(instances: Iterable[StoredInstance]) -> list[PresentationContext]:
    """One presentation context per (SOP class, stored syntax) to propose for sending.

    Uncompressed syntaxes are offered with both little-endian encodings so that any Storage SCP
    can accept them. Beyond 128 pairs the extra ones are dropped (their sub-operations fail).
    """
    pairs: dict[tuple[str, str], None] = {}
    for item in instances:
        pairs[(item.sop_class_uid, item.transfer_syntax_uid)] = None
    contexts = []
    for sop_class, syntax in pairs:
        syntaxes = [syntax]
        if UID(syntax) in _UNCOMPRESSED:
            syntaxes += [s for s in _UNCOMPRESSED if s != syntax]
        contexts.append(build_context(sop_class, syntaxes))
    if len(contexts) > MAX_REQUESTED_CONTEXTS:
        LOG.warning("%d SOP class/syntax pairs: only the first 128 are proposed", len(contexts))
    return contexts[:MAX_REQUESTED_CONTEXTS]


def accepted_syntax(assoc: Association, sop_class: str, syntax: str) -> UID | None:
    """The syntax of an accepted context where we may send ``sop_class`` stored in ``syntax``:
    that syntax itself when accepted, else another uncompressed one; None when there is none."""
    wanted = UID(syntax)
    convertible = None
    for cx in assoc.accepted_contexts:
        if cx.abstract_syntax != sop_class or not cx.as_scu:
            continue
        accepted = UID(cx.transfer_syntax[0])
        if accepted == wanted:
            return accepted
        if accepted in _UNCOMPRESSED and wanted in _UNCOMPRESSED:
            convertible = accepted
    return convertible


def can_send(assoc: Association, sop_class: str, syntax: str) -> bool:
    """True when ``assoc`` has an accepted context where we may send ``sop_class`` in ``syntax``."""
    return accepted_syntax(assoc, sop_class, syntax) is not None


class StoreSender:
    """Replaces ``send_c_store`` on one association (C-GET's own, or C-MOVE's sub-association).

    pynetdicom's Q/R service class sends the yielded datasets itself; this wrapper gives each
    sub-operation a clear failure reason when the peer lacks the stored syntax, and for C-MOVE
    sets the Move Originator AE Title to the AE that sent the C-MOVE (PS3.7 9.1.1.1): pynetdicom
    3.0 puts its own AE title there, which breaks routing at the receiving DRIMbox.
    """

    def __init__(self, assoc: Association, move_originator: str | None = None) -> None:
        self._assoc = assoc
        self._send = assoc.send_c_store
        self._originator = move_originator

    @classmethod
    def install(cls, assoc: Association, move_originator: str | None = None) -> None:
        if not isinstance(assoc.__dict__.get("send_c_store"), StoreSender):
            assoc.send_c_store = cls(assoc, move_originator)  # type: ignore[method-assign, assignment]

    def __call__(self, dataset: Any, msg_id: int = 1, priority: int = 2, **kwargs: Any) -> Any:
        if self._originator is not None and kwargs.get("originator_id") is not None:
            kwargs["originator_aet"] = self._originator
        if not isinstance(dataset, ArchivedFile):
            return self._send(dataset, msg_id=msg_id, priority=priority, **kwargs)
        syntax = str(dataset.file_meta.TransferSyntaxUID)
        sop_class = str(dataset.SOPClassUID)
        accepted = accepted_syntax(self._assoc, sop_class, syntax)
        if accepted is None:
            peer = self._assoc.acceptor if self._assoc.is_requestor else self._assoc.requestor
            reason = (
                f"peer {peer.ae_title} accepted no context for {UID(sop_class).name} "
                f"in {UID(syntax).name}"
            )
            LOG.warning("%s: sub-operation for %s fails", reason, dataset.SOPInstanceUID)
            raise ValueError(reason)
        if accepted != syntax:
            return self._send(read_whole(dataset), msg_id=msg_id, priority=priority, **kwargs)
        with _chunked_mode():  # pynetdicom streams the file's dataset as it is
            return self._send(Path(dataset.path), msg_id=msg_id, priority=priority, **kwargs)


_chunked_lock = threading.Lock()
_chunked_senders = 0


@contextmanager
def _chunked_mode() -> Iterator[None]:
    """pynetdicom's chunked mode (a path is streamed, not decoded) while we send.

    It is a process-wide pynetdicom setting, read when ``send_c_store`` starts: it is on only
    while some simulator send is running, then back to pynetdicom's default, so other code in
    the same process (tests) sending a path keeps pynetdicom's usual behaviour.
    """
    global _chunked_senders
    with _chunked_lock:
        _chunked_senders += 1
        pynetdicom_config.STORE_SEND_CHUNKED_DATASET = True
    try:
        yield
    finally:
        with _chunked_lock:
            _chunked_senders -= 1
            if _chunked_senders == 0:
                pynetdicom_config.STORE_SEND_CHUNKED_DATASET = False
