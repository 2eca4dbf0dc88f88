"""One exception type per RAD-107 refusal, each carrying its HTTP status and DRIM-M user code.

The statuses and codes are those of DB.VI-CO.27 (E204…E209); the Consommatrice maps the HTTP
status back to the message it shows, so every outcome must be distinct and stable. Token and
PACS failures reuse :mod:`drimbox.auth.errors` and :mod:`drimbox.errors` (E204, E207, E208).
"""

from __future__ import annotations

from collections.abc import Sequence

from drimbox.errors import DrimboxError


class Rad107Error(DrimboxError):
    """Base of the refusals raised by the RAD-107 checks."""

    code: str | None = None
    """The JSON error ``code``: the DRIM-M user code when there is one, else a stable name."""


class KosHeaderMissing(Rad107Error):
    """The request has no ``KOS-SOPInstanceUID`` header (or an empty / invalid one)."""

    http_status = 400
    code = "KOS_HEADER_MISSING"


class BadRequest(Rad107Error):
    """A malformed request (Accept syntax, UID syntax)."""

    http_status = 400
    code = "BAD_REQUEST"


class KosNotFound(Rad107Error):
    """E205: unknown KOS, KOS of another study, or series/instance not referenced by it."""

    http_status = 404
    user_code = code = "E205"


class KosUnknown(KosNotFound):
    """No KOS with this SOP Instance UID in the archive."""


class KosOtherStudy(KosNotFound):
    """The KOS exists but is the manifest of another study."""


class SeriesNotInKos(KosNotFound):
    """The KOS does not reference the requested series."""


class InstanceNotInKos(KosNotFound):
    """The KOS does not reference the requested instance in that series."""


class KosGone(Rad107Error):
    """E206: the KOS was replaced, unpublished or deleted, or the images are gone."""

    http_status = 410
    user_code = code = "E206"


class KosWithdrawn(KosGone):
    """The KOS is replaced, unpublished or deleted in the archive."""


class ImagesDeleted(KosGone):
    """The PACS no longer holds the exam/series (or the referenced instances) of the KOS."""


class PatientMismatch(Rad107Error):
    """E209: the patient identifier in the PACS differs from the one in the KOS archive."""

    http_status = 406
    user_code = code = "E209"


class NoAcceptableSyntax(Rad107Error):
    """HTTP 406: none of the transfer syntaxes the client accepts can carry the instances."""

    http_status = 406
    code = "NO_ACCEPTABLE_TRANSFER_SYNTAX"

    def __init__(self, message: str, supported: Sequence[str]) -> None:
        super().__init__(message)
        self.supported = tuple(supported)


class FrameNotFound(Rad107Error):
    """A frame number beyond Number of Frames, or frames of an instance without pixel data.

    PS3.18 §10.4.1.1.2 makes such a request an error without naming the status; we answer 404,
    because the target resource (that frame) does not exist, while the request is well formed.
    """

    http_status = 404
    code = "FRAME_NOT_FOUND"


class BulkDataNotFound(Rad107Error):
    """The instance has no bulk data element at that tag (path)."""

    http_status = 404
    code = "BULKDATA_NOT_FOUND"
