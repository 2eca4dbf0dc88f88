"""What every RAD-107 route shares before it sends anything: the checks in DRIM-M order, the
audit context of the request and the JSON error body."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from drimbox.auth.errors import AccessDenied
from drimbox.auth.introspection import TokenInfo
from drimbox.errors import DrimboxError
from drimbox.source.archive import KosRecord
from drimbox.web.app import error_code

from . import audit as au
from .checks import (
    KOS_HEADER,
    check_kos,
    check_study_kos,
    check_token,
    check_uid,
    kos_uid_from_header,
)
from .errors import NoAcceptableSyntax, Rad107Error
from .service import Rad107Service

log = logging.getLogger(__name__)


def error_response(exc: DrimboxError) -> JSONResponse:
    """``{"status", "code", "message"}``: code = DRIM-M user code (E204…E209) when there is one."""
    code = error_code(exc)
    body: dict[str, Any] = {"status": exc.http_status, "code": code, "message": str(exc)}
    headers: dict[str, str] = {}
    if isinstance(exc, NoAcceptableSyntax):
        body["supported"] = list(exc.supported)
    if isinstance(exc, AccessDenied):  # RFC 6750 §3
        error = f' error="{exc.oauth_error}"' if exc.oauth_error else ""
        headers["WWW-Authenticate"] = f'Bearer realm="drimbox"{error}'
    return JSONResponse(body, status_code=exc.http_status, headers=headers)


class Access:
    """The audit context of one request."""

    def __init__(self, service: Rad107Service, action: str, object_id: str) -> None:
        self.service, self.action, self.object_id = service, action, object_id
        self.actor = au.ANONYMOUS
        self.national_id = ""
        self.kos_uid = ""

    def identify(self, info: TokenInfo) -> None:
        self.actor = info.subject
        self.national_id = info.national_id or ""

    def record(self, outcome: str, detail: str) -> None:
        who = f"PS {self.national_id}; " if self.national_id else ""
        kos = f"KOS {self.kos_uid}; " if self.kos_uid else ""
        self.service.audit.record(
            actor=self.actor,
            action=self.action,
            object_id=self.object_id,
            outcome=outcome,
            detail=f"{who}{kos}{detail}",
        )

    def refused(self, exc: DrimboxError) -> JSONResponse:
        outcome = au.DENIED if 400 <= exc.http_status < 500 else au.FAILURE
        code = error_code(exc)
        self.record(outcome, f"HTTP {exc.http_status} {code}: {exc}")
        if not isinstance(exc, Rad107Error | AccessDenied):
            log.warning("RAD-107 %s %s refused: %s", self.action, self.object_id, exc)
        return error_response(exc)


async def checked_kos(
    service: Rad107Service,
    access: Access,
    request: Request,
    study: str,
    series: str | None,
    sop: str | None = None,
    path_check: Callable[[], object] | None = None,
) -> KosRecord:
    """Token, UIDs, KOS header and KOS record, in the DRIM-M order (``series`` None: the
    study-level request, which the KOS grants as a whole). ``path_check`` validates the rest of
    the path (frame list, bulk tag) with the UIDs: a malformed URL is 400 whatever the KOS."""
    access.identify(await check_token(service.introspector, request.headers.get("authorization")))
    check_uid(study, "StudyInstanceUID")
    if series is not None:
        check_uid(series, "SeriesInstanceUID")
    if sop is not None:
        check_uid(sop, "SOPInstanceUID")
    if path_check is not None:
        path_check()
    access.kos_uid = kos_uid_from_header(request.headers.get(KOS_HEADER))
    if series is None:
        return await check_study_kos(service.archive, access.kos_uid, study)
    return await check_kos(service.archive, access.kos_uid, study, series, sop)
