"""The project's exception hierarchy.

Each failure a caller must tell apart has its own type; the mapping to HTTP statuses and the
DRIM-M user error codes (DB.VI-CO.27) lives on the class so that it is decided in one place.
"""

from __future__ import annotations


class DrimboxError(Exception):
    """Base of every error the DRIMbox raises on purpose."""

    http_status: int = 500
    user_code: str | None = None


class ConfigError(DrimboxError):
    """The configuration is invalid; the message names the key and the problem."""


class PacsError(DrimboxError):
    """A DICOM peer did not do what we asked."""

    def __init__(self, message: str, *, pacs: str | None = None) -> None:
        super().__init__(message if pacs is None else f"{pacs}: {message}")
        self.pacs = pacs


class PacsUnavailable(PacsError):
    """Connection refused, association rejected or aborted (E207)."""

    http_status = 502
    user_code = "E207"


class PacsTimeout(PacsError):
    """The PACS did not answer in time (E208)."""

    http_status = 504
    user_code = "E208"


class PacsFailure(PacsError):
    """The PACS answered with a DIMSE failure status."""

    http_status = 502
    user_code = "E207"

    def __init__(self, message: str, *, status: int, pacs: str | None = None) -> None:
        super().__init__(f"{message} (status 0x{status:04X})", pacs=pacs)
        self.status = status


class DicomDataError(DrimboxError):
    """A DICOM object is malformed or lacks an attribute we need."""

    http_status = 422
