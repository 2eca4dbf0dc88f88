"""A tiny real RAD-107 server for the client simulator tests: known parts, known errors.

It records the headers of every request it receives, so a test can assert what the client
really sent on the wire. Errors carry a DRIM-M E-code in a JSON body (DB.VI-CO.27).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from drimbox.dicom.multipart import (
    Part,
    dicom_part_type,
    new_boundary,
    related_content_type,
    write_multipart,
)
from support.dicom_factory import SeriesFiles

EXPLICIT_LE = "1.2.840.10008.1.2.1"
ERRORS = {
    "deny": (403, "E204", "invalid access token"),
    "unknown-kos": (404, "E205", "KOS not found"),
    "unpublished": (410, "E206", "KOS unpublished"),
    "pacs-down": (502, "E207", "the PACS cannot be reached"),
    "pacs-slow": (504, "E208", "the PACS did not answer in time"),
}


def build_app(series: SeriesFiles, seen: list[dict[str, list[str]]]) -> FastAPI:
    app = FastAPI()
    bodies = {
        uid: Path(p).read_bytes() for uid, p in zip(series.sop_uids, series.paths, strict=True)
    }

    async def parts(uids: list[str], label: str = EXPLICIT_LE) -> AsyncIterator[Part]:
        for uid in uids:
            yield Part(dicom_part_type(label), bodies[uid])

    def record(request: Request) -> None:
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.raw:
            headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        seen.append(headers)

    def multipart(uids: list[str], label: str = EXPLICIT_LE) -> Response:
        boundary = new_boundary()
        return StreamingResponse(
            write_multipart(parts(uids, label), boundary),
            media_type=related_content_type(boundary),
        )

    @app.get("/rs/studies/{study}/series/{series_uid}")
    async def get_series(study: str, series_uid: str, request: Request) -> Response:
        record(request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        kos = request.headers.get("kos-sopinstanceuid", "")
        for key in (token, kos, study):
            if key in ERRORS:
                status, code, message = ERRORS[key]
                return JSONResponse({"code": code, "message": message}, status_code=status)
        if study == "mislabelled":
            return multipart(list(series.sop_uids), "1.2.840.10008.1.2.4.80")
        if study == "truncated":
            return Response(
                b"--abc\r\nContent-Type: application/dicom\r\n\r\nxx",
                media_type='multipart/related; type="application/dicom"; boundary=abc',
            )
        return multipart(list(series.sop_uids))

    @app.get("/rs/studies/{study}/series/{series_uid}/instances/{sop}")
    async def get_instance(study: str, series_uid: str, sop: str, request: Request) -> Response:
        record(request)
        return multipart([sop])

    return app
