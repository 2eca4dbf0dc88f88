"""Typed, forgiving reads of dataset attributes for the KOS parser.

Absent and empty values read as None; a value that is present but malformed raises a
`KosError` naming the attribute.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from drimbox.dicom.kos.errors import KosError
from drimbox.dicom.kos.uids import is_valid_uid


def items(ds: Dataset | None, keyword: str) -> list[Dataset]:
    """The items of a sequence; [] when it is absent or empty."""
    if ds is None:
        return []
    value = ds.get(keyword)
    return list(value) if value else []


def first_item(ds: Dataset | None, keyword: str) -> Dataset | None:
    found = items(ds, keyword)
    return found[0] if found else None


def text(ds: Dataset | None, keyword: str) -> str | None:
    """The attribute as stripped text; None when absent or empty."""
    if ds is None:
        return None
    value: Any = ds.get(keyword)
    if value is None:
        return None
    stripped = str(value).strip()
    return stripped or None


def uid(ds: Dataset, keyword: str, where: str | None = None) -> str:
    value = text(ds, keyword)
    at = f"{where}.{keyword}" if where else keyword
    if value is None:
        raise KosError("missing", where=at)
    if not is_valid_uid(value):
        raise KosError(f"not a valid UID: {value!r}", where=at)
    return value


def entity_id(ds: Dataset | None, keyword: str) -> str | None:
    return text(first_item(ds, keyword), "UniversalEntityID")


def integer(ds: Dataset, keyword: str) -> int | None:
    raw = text(ds, keyword)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise KosError(f"not an integer: {raw!r}", where=keyword) from exc


def date(ds: Dataset, keyword: str) -> dt.date | None:
    raw = text(ds, keyword)
    if raw is None:
        return None
    try:
        return dt.datetime.strptime(raw, "%Y%m%d").date()
    except ValueError as exc:
        raise KosError(f"not a DICOM date (YYYYMMDD): {raw!r}", where=keyword) from exc


def time(ds: Dataset, keyword: str) -> dt.time | None:
    raw = text(ds, keyword)
    if raw is None:
        return None
    match = re.fullmatch(r"([0-9]{2})([0-9]{2})?([0-9]{2})?(?:\.([0-9]{1,6}))?", raw)
    if match is None:
        raise KosError(f"not a DICOM time (HHMMSS.FFFFFF): {raw!r}", where=keyword)
    hour, minute, second, fraction = match.groups()
    try:
        return dt.time(
            int(hour), int(minute or 0), int(second or 0), int((fraction or "0").ljust(6, "0"))
        )
    except ValueError as exc:
        raise KosError(f"not a valid time: {raw!r}", where=keyword) from exc


def person_names(ds: Dataset, keyword: str) -> list[PersonName]:
    value: Any = ds.get(keyword)
    if value is None or value == "":
        return []
    values = list(value) if isinstance(value, MultiValue) else [value]
    return [v if isinstance(v, PersonName) else PersonName(str(v)) for v in values]
