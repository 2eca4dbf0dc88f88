"""C-STORE SCU: send Part-10 files or bytes to a PACS (export to the local PACS)."""

from __future__ import annotations

from collections.abc import Iterable
from io import BytesIO
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pynetdicom.association import Association

from drimbox.config import PacsNode
from drimbox.errors import DicomDataError, PacsFailure

from . import status as st
from .association import PeerWatch, next_message_id, no_response_error, status_of
from .models import StoreOutcome

StoreItem = Path | bytes


def load(item: StoreItem) -> Dataset:
    """Read one Part-10 object; the pixel data stays encoded as stored."""
    try:
        source = BytesIO(item) if isinstance(item, bytes) else item
        ds = dcmread(source)
    except (InvalidDicomError, OSError, ValueError) as exc:
        name = "bytes" if isinstance(item, bytes) else str(item)
        raise DicomDataError(f"not a DICOM Part-10 object ({name}): {exc}") from exc
    meta = getattr(ds, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta or "SOPInstanceUID" not in ds:
        raise DicomDataError("a DICOM object to store needs file meta and SOP Instance UID")
    return ds


def context_pairs(datasets: Iterable[Dataset]) -> list[tuple[str, str]]:
    return [(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)) for ds in datasets]


def send_all(
    assoc: Association, watch: PeerWatch, node: PacsNode, datasets: Iterable[Dataset]
) -> list[StoreOutcome]:
    """C-STORE each dataset; raise PacsFailure after the batch if any instance failed."""
    outcomes: list[StoreOutcome] = []
    for ds in datasets:
        status = assoc.send_c_store(ds, msg_id=next_message_id())
        code = status_of(status)
        if code is None:
            raise no_response_error(node, watch, "C-STORE")
        outcomes.append(StoreOutcome(str(ds.SOPInstanceUID), code))
    failed = [o for o in outcomes if st.category(o.status) is st.Category.FAILURE]
    if failed:
        first = failed[0]
        raise PacsFailure(
            f"C-STORE of {len(failed)}/{len(outcomes)} instance(s) failed, first "
            f"{first.sop_instance_uid}: {st.describe(first.status)}",
            status=first.status,
            pacs=node.name,
        )
    return outcomes
