"""Reading untrusted DICOM files: every decoder failure becomes the caller's own typed error."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import BytesIO

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

# What pydicom raises on malformed data, besides InvalidDicomError.
DECODE_ERRORS = (ValueError, TypeError, AttributeError, KeyError, IndexError, struct.error)


def read_part10(data: bytes | bytearray, error: Callable[[str], Exception]) -> Dataset:
    """Decode a Part-10 file; a non-DICOM or unreadable input raises ``error(message)``."""
    try:
        return pydicom.dcmread(BytesIO(bytes(data)))
    except InvalidDicomError as exc:
        raise error(f"not a DICOM Part-10 file: {exc}") from exc
    except (ValueError, TypeError, EOFError, OSError, struct.error) as exc:
        raise error(f"unreadable DICOM file: {exc}") from exc


@contextmanager
def malformed_as(error: type[Exception]) -> Iterator[None]:
    """Turn pydicom's errors on malformed values (deferred reads) into ``error``; ``error``
    itself passes through unchanged."""
    try:
        yield
    except error:
        raise
    except DECODE_ERRORS as exc:
        raise error(f"malformed DICOM data: {exc}") from exc
