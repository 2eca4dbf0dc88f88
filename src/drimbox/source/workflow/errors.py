"""Outcomes of processing one inbox message, as the administrator sees them (DB.SO.47 traces).

A workflow step either succeeds (:class:`Outcome`) or raises one of two exceptions:
:class:`Retry` for a transient condition (PACS down or slow, an earlier message for the same
document still pending) and :class:`Reject` for a permanent one (exam not found, identity or
accession mismatch, unusable report). The processor turns them into the inbox statuses
``retry`` and ``failed``; ``code`` is a short stable key, ``reason`` a sentence for a human.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from drimbox.errors import DrimboxError

# Stable error codes written in inbox.last_error_code (documented in docs/source-ingestion.md).
PACS_UNAVAILABLE: Final = "pacs-unavailable"
PACS_TIMEOUT: Final = "pacs-timeout"
PACS_FAILURE: Final = "pacs-failure"
STUDY_NOT_FOUND: Final = "study-not-found"
STUDY_EMPTY: Final = "study-empty"
ACCESSION_MISMATCH: Final = "accession-mismatch"
PATIENT_MISMATCH: Final = "patient-mismatch"
IDENTITY_MISMATCH: Final = "identity-mismatch"
INVALID_MESSAGE: Final = "invalid-message"
INVALID_REPORT: Final = "invalid-report"
CONFIG: Final = "configuration"
WAITING: Final = "waiting-for-earlier-message"
UNKNOWN_DOCUMENT: Final = "unknown-document"
UNKNOWN_STUDY: Final = "unknown-study"
STATUS_CONFLICT: Final = "status-conflict"


class WorkflowError(DrimboxError):
    """Base of the two workflow failures; carries the code and the human reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"[{code}] {reason}")
        self.code = code
        self.reason = reason


class Retry(WorkflowError):
    """Transient: keep the message and try again after the back-off."""


class Reject(WorkflowError):
    """Permanent: the message is set aside as ``failed``; nothing is published."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A processed message: the KOS it created or changed (the last one for multi-study
    reports), and whether it turned out to repeat work already done (``duplicate``)."""

    kos_id: int | None
    duplicate: bool = False
    note: str = ""
