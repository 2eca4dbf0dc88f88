"""IOCM over real sockets: rejection notes sent by dcmtk storescu / pynetdicom to our SCP."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from admin_support import Study, forget
from pynetdicom import AE

from drimbox.config import Settings
from drimbox.dicom.kos import KOS_SOP_CLASS_UID, parse_kos
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.source.archive import DELETED, PUBLISHED, REPLACED, KosArchive
from drimbox.source.iocm import IocmService
from drimbox.source.iocm_note import IocmNoteError
from drimbox.store.db import Database
from support.kos_samples import rejection_note, simple_kos


@pytest.fixture
async def service(settings: Settings, database: Database) -> AsyncIterator[IocmService]:
    svc = IocmService(settings, database)
    await svc.start(worker=False)
    yield svc
    await svc.stop()


def send(port: int, data: bytes, tmp_path: Path) -> int:
    """C-STORE a note with pynetdicom; return the DIMSE status."""
    path = tmp_path / "note.dcm"
    path.write_bytes(data)
    ae = AE(ae_title="PACS_SOURCE_1")
    ae.add_requested_context(KOS_SOP_CLASS_UID)
    assoc = ae.associate("127.0.0.1", port, ae_title="DRIMBOX_IOCM")
    assert assoc.is_established
    try:
        status = assoc.send_c_store(path)
        return int(status.Status)
    finally:
        assoc.release()


def storescu(port: int, data: bytes, tmp_path: Path) -> None:
    binary = shutil.which("storescu")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("storescu (dcmtk) is required on CI")
        pytest.skip("storescu not installed (apt-get install dcmtk)")
    path = tmp_path / "note-dcmtk.dcm"
    path.write_bytes(data)
    peer = ["-aet", "PACS_SOURCE_1", "-aec", "DRIMBOX_IOCM", "127.0.0.1", str(port)]
    done = subprocess.run(
        [binary, *peer, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def dciodvfy_clean(data: bytes, tmp_path: Path) -> None:
    binary = shutil.which("dciodvfy")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("dciodvfy (dicom3tools) is required on CI")
        return
    path = tmp_path / "new-kos.dcm"
    path.write_bytes(data)
    done = subprocess.run([binary, str(path)], capture_output=True, text=True, timeout=60)
    errors = [line for line in (done.stdout + done.stderr).splitlines() if "Error" in line]
    assert not errors, errors


async def test_confirmed_rejection_supersedes_the_kos(
    tmp_path: Path,
    service: IocmService,
    pacs: PacsSimulator,
    study: Study,
    archived: int,
) -> None:
    rejected = study.all_sops[:2]
    forget(pacs, {sop for _, sop in rejected})
    storescu(service.port, rejection_note(study.uid, rejected), tmp_path)
    outcomes = await service.process_pending()
    assert [o.status for o in outcomes] == ["applied"], outcomes
    archive = service.archive
    old = await archive.get(archived)
    assert old.status == REPLACED and old.replaced_by_id is not None
    new = await archive.get(old.replaced_by_id)
    assert new.status == PUBLISHED and new.version == 2 and new.pacs_name == "pacs1"
    kept = {i.sop_instance_uid for i in await archive.instances_of(new.id)}
    assert kept == {sop for _, sop in study.all_sops[2:]}
    data = await archive.kos_bytes(new.id)
    assert parse_kos(data).predecessor is not None
    dciodvfy_clean(data, tmp_path)


async def test_everything_rejected_deletes_the_kos(
    tmp_path: Path, service: IocmService, pacs: PacsSimulator, study: Study, archived: int
) -> None:
    forget(pacs, {sop for _, sop in study.all_sops})
    assert send(service.port, rejection_note(study.uid, study.all_sops), tmp_path) == 0
    outcomes = await service.process_pending()
    assert outcomes[0].status == "applied" and "deleted" in outcomes[0].detail
    assert (await service.archive.get(archived)).status == DELETED


async def test_pacs_still_holding_the_instances_leaves_the_kos(
    tmp_path: Path, service: IocmService, study: Study, archived: int
) -> None:
    assert send(service.port, rejection_note(study.uid, study.all_sops[:1]), tmp_path) == 0
    outcomes = await service.process_pending()
    assert outcomes[0].status == "not_applied" and "still holds" in outcomes[0].detail
    assert (await service.archive.get(archived)).status == PUBLISHED
    notes = await service.store.list_notes("not_applied")
    assert notes[0].outcome == outcomes[0].detail


async def test_pacs_down_keeps_the_note_pending_until_it_is_back(
    tmp_path: Path, service: IocmService, pacs: PacsSimulator, study: Study, archived: int
) -> None:
    rejected = study.all_sops[:1]
    forget(pacs, {sop for _, sop in rejected})
    pacs.refuse_associations = True
    assert send(service.port, rejection_note(study.uid, rejected), tmp_path) == 0
    first = await service.process_pending()
    assert first[0].status == "pending" and "could not confirm" in first[0].detail
    assert (await service.archive.get(archived)).status == PUBLISHED
    assert await service.process_pending() == []  # not due yet (back-off)
    pacs.refuse_associations = False
    note = (await service.store.list_notes("pending"))[0]
    assert note.next_attempt_at is not None
    second = await service.process_pending(now=note.next_attempt_at)
    assert second[0].status == "applied"
    assert (await service.archive.get(archived)).status == REPLACED


async def test_unknown_study_is_ignored_and_a_manifest_is_refused(
    tmp_path: Path, service: IocmService, study: Study, archived: int
) -> None:
    unknown = "1.2.826.0.1.3680043.8.498.1234"
    assert (
        send(service.port, rejection_note(unknown, [(f"{unknown}.1", f"{unknown}.1.1")]), tmp_path)
        == 0
    )
    outcomes = await service.process_pending()
    assert outcomes[0].status == "ignored" and unknown in outcomes[0].detail
    assert send(service.port, simple_kos(1), tmp_path) == 0xC000
    assert len(await service.store.list_notes()) == 1


async def test_worker_applies_a_note_as_it_arrives(
    tmp_path: Path, settings: Settings, database: Database, pacs: PacsSimulator,
    study: Study, archived: int,
) -> None:  # fmt: skip
    import asyncio

    svc = IocmService(settings, database, poll_seconds=60)
    await svc.start()
    try:
        rejected = study.all_sops[-1:]
        forget(pacs, {sop for _, sop in rejected})
        status = await asyncio.to_thread(
            send, svc.port, rejection_note(study.uid, rejected), tmp_path
        )
        assert status == 0
        archive = KosArchive(database.async_sessions())
        for _ in range(200):  # bounded: the worker wakes on the note
            if (await archive.get(archived)).status == REPLACED:
                break
            await asyncio.sleep(0.05)
        assert (await archive.get(archived)).status == REPLACED
    finally:
        await svc.stop()


def test_note_parser_refuses_a_manifest() -> None:
    from drimbox.source.iocm_note import parse_rejection_note

    with pytest.raises(IocmNoteError, match="not an IOCM rejection reason"):
        parse_rejection_note(simple_kos(2))
