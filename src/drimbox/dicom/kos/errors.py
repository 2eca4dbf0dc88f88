"""Errors of the KOS package: one type per thing a caller must tell apart."""

from __future__ import annotations

from drimbox.errors import DicomDataError, DrimboxError


class KosError(DicomDataError):
    """A KOS (or the data given to build one) is malformed or is not a DRIM-M KOS.

    `where` names the attribute path (e.g. ``CurrentRequestedProcedureEvidenceSequence[1]``)
    so that an import report can point at the exact spot.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message if where is None else f"{where}: {message}")
        self.where = where
        self.reason = message


class KosInputError(KosError):
    """The values handed to the builder break a DICOM or DRIM-M rule (bad UID, bad INS...)."""


class KosNothingLeft(DrimboxError):
    """An update removed every referenced instance: there is no KOS to publish any more.

    The caller must withdraw (unpublish) the previous KOS instead of publishing an empty one,
    which DICOM forbids (the evidence sequence needs at least one instance).
    """

    http_status = 410
    user_code = "E206"

    def __init__(self, previous_sop_instance_uid: str) -> None:
        super().__init__(
            f"no referenced instance left in KOS {previous_sop_instance_uid}: withdraw it"
        )
        self.previous_sop_instance_uid = previous_sop_instance_uid
