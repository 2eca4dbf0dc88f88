"""PACS trouble never loses a report nor treats the exam as deleted (issue §4): the message
waits in ``retry`` with the reason and is processed once the PACS answers again."""

from __future__ import annotations

from drimbox.hl7.ack import parse_ack
from drimbox.hl7.client import send_messages
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.source.inbox import DONE, RETRY
from drimbox.source.service import SourceService
from e2e.source_env import settled, study_of
from support.ans_messages import exam_message


async def send(service: SourceService, message: bytes) -> int:
    (ack,) = await send_messages("127.0.0.1", service.mllp_port, [message], timeout=30)
    assert parse_ack(ack)[0] == "AA"
    (record,) = [
        r for r in await service.inbox.list_messages() if r.control_id == parse_ack(ack)[1]
    ]
    return record.id


async def test_pacs_refusing_associations_means_retry_then_done(
    service: SourceService, pacs: PacsSimulator
) -> None:
    pacs.refuse_associations = True
    message_id = await send(service, exam_message("CR_C-ORU", "C-DOWN"))
    record = await settled(service, message_id, (RETRY,))
    assert record.last_error_code == "pacs-unavailable"
    assert "pacs1" in record.last_error
    assert await service.archive.find_by_study(study_of(103)) == []
    pacs.refuse_associations = False
    record = await settled(service, message_id, (DONE,))
    assert record.attempts >= 2
    (kos,) = await service.archive.find_by_study(study_of(103))
    assert record.kos_id == kos.id


async def test_pacs_slower_than_the_dimse_timeout_means_retry(
    service: SourceService, pacs: PacsSimulator
) -> None:
    pacs.response_delay = service.settings.dimse.dimse_timeout + 2
    message_id = await send(service, exam_message("CR_E-ORU", "E-SLOW"))
    record = await settled(service, message_id, (RETRY,))
    assert record.last_error_code in ("pacs-timeout", "pacs-unavailable"), record
    assert await service.archive.find_by_study(study_of(105)) == []
    pacs.response_delay = 0.0
    assert (await settled(service, message_id, (DONE,))).kos_id is not None


async def test_replacement_waits_for_its_pending_original(
    service: SourceService, pacs: PacsSimulator
) -> None:
    """G1 is stuck in retry (PACS down) when its replacement G1_MAJ arrives: the replacement
    waits instead of failing, and ends as version 2 of G1's KOS."""
    pacs.refuse_associations = True
    original = await send(service, exam_message("CR_G1-ORU", "G1"))
    await settled(service, original, (RETRY,))
    replacement = await send(service, exam_message("CR_G1_MAJ-ORU", "G1-MAJ"))
    record = await settled(service, replacement, (RETRY,))
    assert record.last_error_code in ("waiting-for-earlier-message", "pacs-unavailable")
    pacs.refuse_associations = False
    await settled(service, original, (DONE,))
    await settled(service, replacement, (DONE,))
    old, new = await service.archive.find_by_study(study_of(108))
    assert (old.status, new.version, new.replaces_id) == ("replaced", 2, old.id)
