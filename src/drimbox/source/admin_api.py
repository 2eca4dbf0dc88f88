"""The Source admin HTTP API, under ``/admin`` (docs/source-admin.md has curl examples).

Every call needs ``Authorization: Bearer <source.admin_token>`` (compared in constant time);
with no token configured the API is disabled and answers 403. Every call, refused ones
included, is written to the audit trail (who, what, outcome).

- ``GET /admin/messages``: the HL7 inbox, same JSON as ``drimbox source messages --json``.
- ``POST /admin/messages/{id}/requeue``: process a failed or retrying message again.
- ``POST /admin/kos/import``: multipart/form-data upload of KOS files → one result per file.
- ``GET /admin/kos?study=<StudyInstanceUID>``: the archived KOS versions of a study.
- ``GET /admin/iocm``: the IOCM rejection notes and what became of them.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Annotated, Any, Final, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from starlette.datastructures import UploadFile

from drimbox.config import Settings
from drimbox.dicom.kos import is_valid_uid
from drimbox.dicom.kos.files import MAX_KOS_BYTES
from drimbox.errors import DrimboxError
from drimbox.source.archive import KosArchive, KosRecord
from drimbox.source.importer import INVALID, ImportResult, import_kos_bytes
from drimbox.source.inbox import Inbox, InboxError, InboxStateError
from drimbox.source.iocm_store import IocmStore, IocmStoreError
from drimbox.store.audit import DENIED, FAILURE, SUCCESS, record_audit
from drimbox.store.db import Database

STATE_KEY: Final = "source_admin"
MAX_UPLOAD_FILES: Final = 1000
T = TypeVar("T")


class AdminError(DrimboxError):
    """An admin request that cannot be honoured; ``code`` is the JSON error code."""

    http_status = 400
    code = "bad_request"


class AdminForbidden(AdminError):
    http_status = 403
    code = "forbidden"


class AdminDisabled(AdminForbidden):
    code = "admin_disabled"


class AdminNotFound(AdminError):
    http_status = 404
    code = "not_found"


class AdminConflict(AdminError):
    http_status = 409
    code = "conflict"


@dataclass(frozen=True, slots=True)
class AdminContext:
    """What the endpoints work on; stored on ``app.state`` by :func:`install`."""

    settings: Settings
    database: Database
    inbox: Inbox
    archive: KosArchive
    iocm: IocmStore


def install(app: FastAPI, settings: Settings, database: Database) -> None:
    """Give the admin endpoints of ``app`` their settings and database."""
    sessions = database.async_sessions()
    context = AdminContext(
        settings, database, Inbox(sessions), KosArchive(sessions), IocmStore(database)
    )
    setattr(app.state, STATE_KEY, context)


def _context(request: Request) -> AdminContext:
    context = getattr(request.app.state, STATE_KEY, None)
    if not isinstance(context, AdminContext):
        raise RuntimeError("admin API used without drimbox.source.admin_api.install()")
    return context


async def _audit(
    context: AdminContext, actor: str, action: str, object_id: str, outcome: str, detail: str = ""
) -> None:
    async with context.database.async_sessions().begin() as session:
        await session.run_sync(
            lambda s: record_audit(
                s,
                actor=actor[:256],
                action=action,
                object_id=object_id[:256],
                outcome=outcome,
                detail=detail,
            )
        )


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated administrator call: who, and the context to work on."""

    actor: str
    context: AdminContext
    action: str


async def _authorised(request: Request) -> Caller:
    """Check the bearer token (constant time); audit and refuse anything else with 403."""
    context = _context(request)
    client = request.client.host if request.client else "unknown"
    actor = f"admin@{client}"
    route_path = getattr(request.scope.get("route"), "path", request.url.path)
    action = f"admin {request.method} {route_path}"[:64]
    configured = context.settings.source.admin_token
    if configured is None:
        await _audit(context, actor, action, request.url.path, DENIED, "admin API disabled")
        raise AdminDisabled("the admin API is disabled: set source.admin_token to enable it")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = configured.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        await _audit(context, actor, action, request.url.path, DENIED, "missing or wrong token")
        raise AdminForbidden("missing or invalid admin bearer token")
    return Caller(actor, context, action)


Authorised = Annotated[Caller, Depends(_authorised)]


async def _audited(caller: Caller, object_id: str, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work``; audit success or failure (with the reason) either way."""
    try:
        result = await work()
    except DrimboxError as exc:
        await _audit(caller.context, caller.actor, caller.action, object_id, FAILURE, str(exc))
        raise
    await _audit(caller.context, caller.actor, caller.action, object_id, SUCCESS)
    return result


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def kos_json(record: KosRecord) -> dict[str, Any]:
    """A KOS record as JSON (ISO 8601 dates)."""
    data = asdict(record)
    data["dmp_flags"] = dict(record.dmp_flags)
    return {key: _json_value(value) for key, value in data.items()}


router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/messages", summary="List received HL7 messages (newest first)")
async def list_messages(
    caller: Authorised,
    status: Annotated[list[str] | None, Query(description="Only these statuses")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """The inbox with each message's status and last error, as `drimbox source messages --json`."""

    async def work() -> list[dict[str, Any]]:
        try:
            records = await caller.context.inbox.list_messages(status, limit=limit, offset=offset)
        except InboxError as exc:
            raise AdminError(str(exc)) from exc
        return [record.as_json() for record in records]

    return await _audited(caller, "inbox", work)


@router.post("/messages/{message_id}/requeue", summary="Process a failed message again")
async def requeue_message(caller: Authorised, message_id: int) -> dict[str, Any]:
    """Put a `failed` or `retry` message back in the queue, attempts reset (409 otherwise)."""

    async def work() -> dict[str, Any]:
        try:
            return (await caller.context.inbox.requeue(message_id)).as_json()
        except InboxStateError as exc:
            raise AdminConflict(str(exc)) from exc
        except InboxError as exc:
            raise AdminNotFound(str(exc)) from exc

    return await _audited(caller, f"inbox:{message_id}", work)


async def _uploaded_files(request: Request) -> list[UploadFile]:
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise AdminError("expected a multipart/form-data body with one or more KOS files")
    try:
        form = await request.form(max_files=MAX_UPLOAD_FILES, max_fields=100)
    except Exception as exc:  # Starlette's MultiPartException and parser errors alike
        raise AdminError(f"malformed multipart/form-data body: {exc}") from exc
    files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
    if not files:
        raise AdminError("the multipart body holds no file part")
    return files


async def _import_upload(upload: UploadFile, context: AdminContext) -> ImportResult:
    name = upload.filename or "(unnamed part)"
    data = await upload.read(MAX_KOS_BYTES + 1)
    if len(data) > MAX_KOS_BYTES:
        return ImportResult(name, INVALID, f"larger than {MAX_KOS_BYTES} bytes: not a KOS")
    return await import_kos_bytes(name, data, context.archive, context.settings)


@router.post(
    "/kos/import",
    summary="Import KOS files (TE.KOS-LOAD)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "files": {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                            }
                        },
                    }
                }
            },
        }
    },
)
async def import_kos(caller: Authorised, request: Request) -> dict[str, Any]:
    """Upload DICOM KOS files (any part names); each is validated and archived on its own."""

    async def work() -> dict[str, Any]:
        files = await _uploaded_files(request)
        results = []
        try:
            for upload in files:
                results.append(await _import_upload(upload, caller.context))
        finally:
            for upload in files:
                await upload.close()
        counts = {name: 0 for name in ("imported", "already_present", "invalid")}
        for result in results:
            counts[result.outcome] += 1
        return {"results": [r.as_json() for r in results], "counts": counts}

    return await _audited(caller, "kos:import", work)


@router.get("/kos", summary="The archived KOS of a study")
async def find_kos(
    caller: Authorised,
    study: Annotated[str, Query(description="StudyInstanceUID", max_length=64)],
) -> dict[str, Any]:
    """Every KOS version of the study, oldest first, with its referenced series."""

    async def work() -> dict[str, Any]:
        if not is_valid_uid(study):
            raise AdminError(f"study is not a valid DICOM UID: {study!r}")
        archive = caller.context.archive
        found = []
        for record in await archive.find_by_study(study):
            entry = kos_json(record)
            entry["series"] = [asdict(s) for s in await archive.series_of(record.id)]
            found.append(entry)
        return {"study": study, "kos": found}

    return await _audited(caller, f"study:{study}", work)


@router.get("/iocm", summary="IOCM rejection notes (newest first)")
async def list_iocm_notes(
    caller: Authorised,
    status: Annotated[str | None, Query(description="Only this status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Each received note, its status (pending, applied, not_applied, ignored, failed) and why."""

    async def work() -> list[dict[str, Any]]:
        try:
            notes = await caller.context.iocm.list_notes(status, limit=limit, offset=offset)
        except IocmStoreError as exc:
            raise AdminError(str(exc)) from exc
        return [note.as_json() for note in notes]

    return await _audited(caller, "iocm", work)
