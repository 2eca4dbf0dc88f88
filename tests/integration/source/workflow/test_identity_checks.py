"""A report whose accession number or patient is not the PACS exam's publishes nothing, and
says why (issue §4, DB.VI-SO.33)."""

from __future__ import annotations

from crafted import exam_c_oru

from drimbox.hl7.ack import parse_ack
from drimbox.hl7.client import send_messages
from drimbox.source.inbox import FAILED
from drimbox.source.service import SourceService
from e2e.source_env import settled, study_of


async def send_and_settle(service: SourceService, message: bytes) -> tuple[str, str]:
    (ack,) = await send_messages("127.0.0.1", service.mllp_port, [message], timeout=30)
    code, control_id, _ = parse_ack(ack)
    assert code == "AA"
    (record,) = [r for r in await service.inbox.list_messages() if r.control_id == control_id]
    record = await settled(service, record.id)
    assert record.status == FAILED
    assert await service.archive.find_by_study(study_of(103)) == []
    return record.last_error_code, record.last_error


async def test_accession_number_not_the_pacs_one(service: SourceService) -> None:
    message = exam_c_oru("C-ACN", cda_edits={b'extension="ACN103"': b'extension="ACN999"'})
    code, reason = await send_and_settle(service, message)
    assert code == "accession-mismatch"
    assert "'ACN103'" in reason and "ACN999" in reason


async def test_patient_not_the_pacs_one(service: SourceService) -> None:
    message = exam_c_oru("C-IPP", cda_edits={b'extension="IPP101"': b'extension="IPP999"'})
    code, reason = await send_and_settle(service, message)
    assert code == "patient-mismatch"
    assert "'IPP101'" in reason and "IPP999" in reason
