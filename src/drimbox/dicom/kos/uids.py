"""DICOM UID syntax checks and generation (PS3.5 §9.1, §B.2).

By default new UIDs are UUID-derived (``2.25.<uuid4 as integer>``), which needs no registered
root and cannot collide. A site with its own OID root may configure it: the suffix is then a
large random integer, as wide as the 64-character limit allows (at least 24 digits, so about
2^79 values: collisions are out of reach for any realistic number of documents).
"""

from __future__ import annotations

import re
import secrets
import uuid

from drimbox.dicom.kos.errors import KosInputError

UID_MAX_LENGTH = 64
_UID_RE = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_UUID_ROOT = "2.25"
_MIN_SUFFIX_DIGITS = 24
_MAX_SUFFIX_DIGITS = 39  # 2^128 has 39 decimal digits: more adds nothing


def is_valid_uid(value: str) -> bool:
    """True if `value` is a syntactically valid UID: digits and dots, no leading zero, ≤ 64."""
    return len(value) <= UID_MAX_LENGTH and _UID_RE.fullmatch(value) is not None


def check_uid(value: str, what: str) -> str:
    """Return `value` if it is a valid UID, else raise a `KosInputError` naming `what`."""
    if not isinstance(value, str) or not is_valid_uid(value):
        raise KosInputError(f"{what} is not a valid DICOM UID: {value!r}")
    return value


class UidFactory:
    """Makes new UIDs, under a configured organisation root or as ``2.25.`` UUID UIDs."""

    def __init__(self, org_root: str | None = None) -> None:
        if org_root is not None:
            root = org_root.rstrip(".")
            check_uid(root, "org UID root")
            room = UID_MAX_LENGTH - len(root) - 1
            if room < _MIN_SUFFIX_DIGITS:
                raise KosInputError(
                    f"org UID root {root!r} is too long: it leaves {room} digits for a unique "
                    f"suffix, {_MIN_SUFFIX_DIGITS} are needed (root of at most "
                    f"{UID_MAX_LENGTH - 1 - _MIN_SUFFIX_DIGITS} characters)"
                )
            self._root: str | None = root
            self._digits = min(room, _MAX_SUFFIX_DIGITS)
        else:
            self._root = None
            self._digits = 0

    @property
    def org_root(self) -> str | None:
        return self._root

    def new(self) -> str:
        """A fresh UID; never the same twice."""
        if self._root is None:
            return f"{_UUID_ROOT}.{uuid.uuid4().int}"
        low = 10 ** (self._digits - 1)  # no leading zero in a UID component
        return f"{self._root}.{low + secrets.randbelow(9 * low)}"
