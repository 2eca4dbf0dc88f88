"""The malformed-input corpus (tests/fixtures/hl7) sent to a live MLLP server.

Each entry gets its NACK with the HL7 error code and a readable reason, and the service keeps
answering afterwards (acceptance criterion of the Source ingestion issue).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from drimbox.hl7.ack import AckCode, build_ack, parse_ack
from drimbox.hl7.client import send_messages
from drimbox.hl7.message import Hl7ParseError, parse_message
from drimbox.hl7.report import parse_report_message
from drimbox.hl7.server import MllpServer

FIXTURES = Path(__file__).parents[2] / "fixtures" / "hl7"
HOST = "127.0.0.1"

# file -> (MSA-1, ERR-3 code, text expected in ERR-8)
EXPECTED = {
    "valid_oru.hl7": ("AA", None, ""),
    "charset_8859_but_utf8.hl7": ("AE", "102", "MSH-18: byte 0x89 at offset"),
    "charset_utf8_but_latin1.hl7": ("AE", "102", "not valid utf-8 as declared in MSH-18"),
    "unknown_charset.hl7": ("AE", "103", "unsupported character set 'KOI8-R'"),
    "missing_pid.hl7": ("AE", "100", "required segment PID is missing"),
    "missing_obx.hl7": ("AE", "100", "no OBX with value type ED carrying the CDA"),
    "mdm_without_txa.hl7": ("AE", "100", "required segment TXA is missing"),
    "invalid_base64.hl7": ("AE", "102", "OBX-5.5: OBX-5.5 is not valid base64"),
    "cda_without_study_uid.hl7": (
        "AE",
        "102",
        "mandatory study instance UID is missing "
        "(/ClinicalDocument/documentationOf/serviceEvent/id/@root)",
    ),
    "cda_external_entity.hl7": ("AE", "102", "external entities are not allowed"),
    "adt_a01.hl7": ("AR", "200", "message type ADT^A01 is not accepted"),
    "omi_new_order.hl7": ("AE", "103", "ORC-1 NW is not handled"),
}


async def handler(raw: bytes) -> bytes:
    try:
        parse_report_message(raw)
    except Hl7ParseError as error:
        return build_ack(raw, AckCode(error.ack_code), error=error)
    return build_ack(raw, AckCode.ACCEPT)


def test_corpus_is_complete() -> None:
    on_disk = {p.name for p in FIXTURES.glob("*.hl7")}
    assert on_disk == set(EXPECTED)


async def test_each_entry_gets_its_nack_and_the_service_keeps_running() -> None:
    names = sorted(EXPECTED)
    async with MllpServer(handler, HOST, 0) as server:
        # The truncated frame first, on its own connection: no ACK is possible for it.
        reader, writer = await asyncio.open_connection(HOST, server.port)
        writer.write((FIXTURES / "truncated_frame.mllp").read_bytes())
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 30) == b""
        writer.close()
        await writer.wait_closed()

        messages = [(FIXTURES / name).read_bytes() for name in names]
        acks = await send_messages(HOST, server.port, messages, timeout=30)
        assert server.truncated_at_eof == 1
    for name, raw, ack in zip(names, messages, acks, strict=True):
        code, err, text = EXPECTED[name]
        got_code, control, got_text = parse_ack(ack)
        assert got_code == code, (name, got_text)
        assert control == parse_message(raw).control_id if code == "AA" else control
        assert text in got_text, (name, got_text)
        err_segment = parse_message(ack).first("ERR")
        if err is None:
            assert err_segment is None
        else:
            assert err_segment is not None and err_segment.get(3, 1) == err, name
            assert err_segment.get(3, 3) == "HL70357"


@pytest.mark.parametrize("name", ["cda_external_entity.hl7"])
def test_external_entity_content_never_leaks(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    with pytest.raises(Hl7ParseError) as caught:
        parse_report_message(raw)
    assert "root:" not in str(caught.value)  # /etc/passwd was not read into the message
