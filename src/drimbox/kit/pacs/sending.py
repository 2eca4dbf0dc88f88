"""The simulator's C-STORE send path (C-GET and C-MOVE sub-operations, ``push``).

Files are sent in their stored transfer syntax: :func:`load_for_send` reads a file without
decoding element values or pixel data (pydicom keeps raw elements, which pynetdicom writes back
byte for byte; measured ≈0.25 ms per 512×512 CT file). Compressed data is never transcoded: when
the peer did not accept the stored syntax for the SOP class, that sub-operation fails with a
logged reason and the instance is listed in FailedSOPInstanceUIDList. Uncompressed data may be
re-encoded between explicit and implicit VR little endian when that is all the peer accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
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


def load_for_send(instance: StoredInstance) -> Dataset:
    """The instance as a lazily parsed Dataset, ready for pynetdicom to send.

    An unreadable file gives a Dataset without file meta: pynetdicom then fails that
    sub-operation and reports the SOP Instance UID as failed.
    """
    try:
        return dcmread(instance.path)
    except Exception as exc:  # any read failure is one failed sub-operation
        LOG.error("cannot read %s (%s): sub-operation fails", instance.path, exc)
        ds = Dataset()
        ds.SOPClassUID = instance.sop_class_uid
        ds.SOPInstanceUID = instance.sop_instance_uid
        return ds


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


def can_send(assoc: Association, sop_class: str, syntax: str) -> bool:
    """True when ``assoc`` has an accepted context where we may send ``sop_class`` in ``syntax``."""
    wanted = UID(syntax)
    for cx in assoc.accepted_contexts:
        if cx.abstract_syntax != sop_class or not cx.as_scu:
            continue
        accepted = UID(cx.transfer_syntax[0])
        if accepted == wanted or (accepted in _UNCOMPRESSED and wanted in _UNCOMPRESSED):
            return True
    return False


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
        if isinstance(dataset, Dataset) and "file_meta" in dataset.__dict__:
            syntax = str(dataset.file_meta.get("TransferSyntaxUID", ""))
            sop_class = str(dataset.get("SOPClassUID", ""))
            if not can_send(self._assoc, sop_class, syntax):
                peer = self._assoc.acceptor if self._assoc.is_requestor else self._assoc.requestor
                reason = (
                    f"peer {peer.ae_title} accepted no context for {UID(sop_class).name} "
                    f"in {UID(syntax).name}"
                )
                LOG.warning("%s: sub-operation for %s fails", reason, dataset.get("SOPInstanceUID"))
                raise ValueError(reason)
        if self._originator is not None and kwargs.get("originator_id") is not None:
            kwargs["originator_aet"] = self._originator
        return self._send(dataset, msg_id=msg_id, priority=priority, **kwargs)
