"""DIMSE status codes as data (PS3.7 Annex C, PS3.4 Annexes B and C).

Only the categories matter to the callers: a pending response carries a match or progress, a
failure must become a :class:`~drimbox.errors.PacsFailure` with its code.
"""

from __future__ import annotations

from enum import Enum


class Category(Enum):
    SUCCESS = "success"
    PENDING = "pending"
    WARNING = "warning"
    CANCEL = "cancel"
    FAILURE = "failure"


SUCCESS = 0x0000
PENDING = 0xFF00
PENDING_WITH_WARNINGS = 0xFF01  # C-FIND: optional keys not supported
CANCEL = 0xFE00
SUB_OPERATIONS_FAILED = 0xB000  # C-MOVE/C-GET warning: some sub-operations failed
REFUSED_NOT_AUTHORIZED = 0x0124  # PS3.7 C.4: our answer to an unsolicited C-STORE
OUT_OF_RESOURCES = 0xA700  # PS3.4 B.2.3: our answer when the retrieve was abandoned
MOVE_DESTINATION_UNKNOWN = 0xA801

_WARNINGS = frozenset({0x0001, 0x0107, 0x0116})

DESCRIPTIONS: dict[int, str] = {
    SUCCESS: "success",
    PENDING: "pending",
    PENDING_WITH_WARNINGS: "pending, optional keys not supported",
    CANCEL: "cancelled",
    SUB_OPERATIONS_FAILED: "one or more sub-operations failed",
    REFUSED_NOT_AUTHORIZED: "refused: not authorized",
    0x0110: "processing failure",
    0x0122: "SOP class not supported",
    0xA700: "refused: out of resources",
    0xA701: "refused: out of resources, unable to calculate number of matches",
    0xA702: "refused: out of resources, unable to perform sub-operations",
    MOVE_DESTINATION_UNKNOWN: "refused: move destination unknown",
    0xA900: "identifier does not match SOP class",
    0xC000: "unable to process",
}


def category(status: int) -> Category:
    """Classify a status code the way PS3.7 Annex C groups them."""
    if status == SUCCESS:
        return Category.SUCCESS
    if status in (PENDING, PENDING_WITH_WARNINGS):
        return Category.PENDING
    if status == CANCEL:
        return Category.CANCEL
    if status in _WARNINGS or 0xB000 <= status <= 0xBFFF:
        return Category.WARNING
    return Category.FAILURE


def describe(status: int) -> str:
    """A short human text for logs and error messages."""
    text = DESCRIPTIONS.get(status)
    if text is None and 0xC000 <= status <= 0xCFFF:
        text = "unable to process"
    if text is None and 0xA900 <= status <= 0xA9FF:
        text = "identifier does not match SOP class"
    return text or category(status).value
