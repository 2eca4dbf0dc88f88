"""DICOM JSON metadata (PS3.18 §F.2) of instances, computed once when an instance arrives.

Pixel data is never inlined: it becomes a ``BulkDataURI``; other binary values above the threshold
too (``InlineBinary`` below it), which keeps series metadata small enough to send at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from io import BytesIO
from typing import Any

from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from drimbox.errors import DicomDataError

BULK_THRESHOLD = 1024  # bytes; PS3.18 leaves it to the origin server
_PIXEL_TAGS = ("7FE00008", "7FE00009", "7FE00010")

BulkUri = Callable[[str], str]
"""Maps an attribute path to its BulkDataURI: a top-level tag (8 upper-case hex digits, e.g.
``7FE00010``) or, inside sequences, ``SSSSSSSS/item/TTTTTTTT`` (items 0-based), so that a nested
value (an icon's Pixel Data) never gets the URI of a top-level one."""


def bulk_under(instance_url: str) -> BulkUri:
    """BulkDataURIs of the form ``{instance_url}/bulk/{path}``."""
    return lambda path: f"{instance_url.rstrip('/')}/bulk/{path}"


def instance_metadata(
    part10: bytes, bulk_uri: BulkUri, *, threshold: int = BULK_THRESHOLD
) -> dict[str, Any]:
    """The DICOM JSON object of one instance (no file meta group, pixel data as BulkDataURI)."""
    try:
        ds = dcmread(BytesIO(part10))
    except (InvalidDicomError, EOFError, ValueError) as exc:
        raise DicomDataError(f"cannot read instance for metadata: {exc}") from exc
    pixel_vrs = {}
    for tag in _PIXEL_TAGS:
        element = ds.get(int(tag, 16))
        if element is not None:
            pixel_vrs[tag] = element.VR
            del ds[int(tag, 16)]

    try:
        result = _dataset_json(ds, "", bulk_uri, threshold)
    except (TypeError, ValueError) as exc:
        raise DicomDataError(f"cannot convert instance to DICOM JSON: {exc}") from exc
    for tag, vr in pixel_vrs.items():
        result[tag] = {"vr": vr, "BulkDataURI": bulk_uri(tag)}
    return dict(sorted(result.items()))


def _dataset_json(ds: Dataset, prefix: str, bulk_uri: BulkUri, threshold: int) -> dict[str, Any]:
    """``Dataset.to_json_dict`` with the element's path (not only its tag) given to the
    BulkDataURI builder: pydicom's own recursion into sequences loses the path."""
    result: dict[str, Any] = {}
    for element in ds:
        path = f"{prefix}{int(element.tag):08X}"
        if element.VR == "SQ":
            items = [
                _dataset_json(item, f"{path}/{index}/", bulk_uri, threshold)
                for index, item in enumerate(element.value)
            ]
            result[path[-8:]] = {"vr": "SQ", "Value": items} if items else {"vr": "SQ"}
            continue

        def handler(_: DataElement, at: str = path) -> str:
            return bulk_uri(at)

        result[path[-8:]] = element.to_json_dict(handler, threshold)
    return result


def series_metadata(instances: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Series-level metadata: the list of instance objects, in the given order."""
    return list(instances)


def dumps(metadata: dict[str, Any] | list[dict[str, Any]]) -> bytes:
    """Compact UTF-8 JSON for ``application/dicom+json`` responses and the metadata cache."""
    return json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
