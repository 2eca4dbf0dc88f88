"""Errors raised while reading a CDA document."""

from __future__ import annotations

from drimbox.errors import DrimboxError


class CdaError(DrimboxError):
    """The CDA is malformed, unsafe, or lacks a mandatory element (``xpath`` says which)."""

    http_status = 422

    def __init__(self, reason: str, *, xpath: str | None = None) -> None:
        self.reason = reason
        self.xpath = xpath
        super().__init__(f"{reason} ({xpath})" if xpath else reason)
