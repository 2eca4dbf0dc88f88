"""The admin HTTP API: token checks, inbox listing, KOS upload, archive lookup, JSON errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from admin_support import TOKEN

from drimbox.config import Settings
from drimbox.source.inbox import Inbox, MessageMeta
from drimbox.store.audit import audit_events
from drimbox.store.db import Database, upgrade_schema
from drimbox.web.app import create_app
from support.kos_samples import OTHER_BASE_URL, settings_for, simple_kos
from support.servers import serve_asgi

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path, admin_token=TOKEN)


@pytest.fixture
async def api_database(api_settings: Settings) -> AsyncIterator[Database]:
    upgrade_schema(api_settings.effective_database_url)
    db = Database(api_settings.effective_database_url)
    yield db
    await db.adispose()


@pytest.fixture
async def client(
    api_settings: Settings, api_database: Database
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api_settings, database=api_database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as c:
        yield c


async def test_token_is_required_and_refusals_are_audited(
    client: httpx.AsyncClient, api_database: Database
) -> None:
    missing = await client.get("/admin/messages")
    assert missing.status_code == 403 and missing.json()["code"] == "forbidden"
    wrong = await client.get("/admin/messages", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    basic = await client.get("/admin/messages", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 403
    with api_database.session() as session:
        denied = audit_events(session, outcome="denied")
        assert len(denied) == 3 and denied[0].action == "admin GET /admin/messages"


async def test_disabled_without_a_configured_token(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    upgrade_schema(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    try:
        transport = httpx.ASGITransport(app=create_app(settings, database=db))
        async with httpx.AsyncClient(transport=transport, base_url="http://a.test") as c:
            answer = await c.get("/admin/messages", headers=AUTH)
        assert answer.status_code == 403
        assert answer.json()["code"] == "admin_disabled" and "disabled" in answer.json()["message"]
    finally:
        await db.adispose()


async def test_messages_list_and_requeue(client: httpx.AsyncClient, api_database: Database) -> None:
    inbox = Inbox(api_database.async_sessions())
    stored = await inbox.store(b"MSH|^~\\&|RIS||DRIMBOX||...", MessageMeta(control_id="M1"))
    claim = await inbox.claim_next()
    assert claim is not None
    await inbox.mark_failed(claim, "E209", "identity mismatch")
    listed = await client.get("/admin/messages", params={"status": "failed"}, headers=AUTH)
    assert listed.status_code == 200
    [message] = listed.json()
    assert message == (await inbox.get(stored.id)).as_json()
    assert message["last_error_code"] == "E209"
    requeued = await client.post(f"/admin/messages/{stored.id}/requeue", headers=AUTH)
    assert requeued.status_code == 200 and requeued.json()["status"] == "received"
    again = await client.post(f"/admin/messages/{stored.id}/requeue", headers=AUTH)
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    unknown = await client.post("/admin/messages/999/requeue", headers=AUTH)
    assert unknown.status_code == 404
    bad = await client.get("/admin/messages", params={"limit": 0}, headers=AUTH)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"
    assert "limit" in bad.json()["message"]
    odd = await client.get("/admin/messages", params={"status": "weird"}, headers=AUTH)
    assert odd.status_code == 400 and "weird" in odd.json()["message"]


async def test_upload_import_and_lookup(client: httpx.AsyncClient) -> None:
    files = [
        ("files", ("good.dcm", simple_kos(21), "application/dicom")),
        ("files", ("elsewhere.dcm", simple_kos(22, base_url=OTHER_BASE_URL), "application/dicom")),
        ("files", ("junk.bin", b"\x00" * 200, "application/octet-stream")),
    ]
    answer = await client.post("/admin/kos/import", files=files, headers=AUTH)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["counts"] == {"imported": 1, "already_present": 0, "invalid": 2}
    assert [r["outcome"] for r in body["results"]] == ["imported", "invalid", "invalid"]
    study = body["results"][0]["study_instance_uid"]
    found = await client.get("/admin/kos", params={"study": study}, headers=AUTH)
    [kos] = found.json()["kos"]
    assert kos["origin"] == "imported_kos" and kos["status"] == "published"
    assert [s["instance_count"] for s in kos["series"]] == [2, 1]
    bad_uid = await client.get("/admin/kos", params={"study": "x.y"}, headers=AUTH)
    assert bad_uid.status_code == 400 and "not a valid DICOM UID" in bad_uid.json()["message"]


async def test_malformed_multipart_is_a_400_with_a_body(client: httpx.AsyncClient) -> None:
    headers = {**AUTH, "Content-Type": "multipart/form-data; boundary=XYZ"}
    broken = await client.post("/admin/kos/import", content=b"--XYZ\r\nnonsense", headers=headers)
    assert broken.status_code == 400 and broken.json()["code"] == "bad_request"
    text_only = b'--XYZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--XYZ--\r\n'
    empty = await client.post("/admin/kos/import", content=text_only, headers=headers)
    assert empty.status_code == 400 and "no file part" in empty.json()["message"]
    not_form = await client.post("/admin/kos/import", content=b"{}", headers=AUTH)
    assert not_form.status_code == 400 and "multipart" in not_form.json()["message"]


async def test_real_http_socket(api_settings: Settings, api_database: Database) -> None:
    app = create_app(api_settings, database=api_database)
    with serve_asgi(app) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as c:
            refused = await c.get("/admin/iocm")
            assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
            files = {"files": ("k.dcm", simple_kos(23), "application/dicom")}
            imported = await c.post("/admin/kos/import", files=files, headers=AUTH)
            assert imported.json()["counts"]["imported"] == 1
            notes = await c.get("/admin/iocm", headers=AUTH)
            assert notes.status_code == 200 and notes.json() == []
