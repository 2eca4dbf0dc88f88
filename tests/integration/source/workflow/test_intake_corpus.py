"""The malformed-input corpus against the live Source (issue §1 ACK rules, acceptance).

Each refused frame gets its NACK (AE/AR with ERR) and is *not* stored in the inbox (the sender
must correct and resend it); the service keeps answering; a valid message is stored and ``AA``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from drimbox.hl7.ack import parse_ack
from drimbox.hl7.client import send_messages
from drimbox.hl7.message import parse_message
from drimbox.source.service import SourceService

FIXTURES = Path(__file__).parents[3] / "fixtures" / "hl7"
REFUSED = {
    "charset_8859_but_utf8.hl7": ("AE", "102"),
    "charset_utf8_but_latin1.hl7": ("AE", "102"),
    "unknown_charset.hl7": ("AE", "103"),
    "missing_pid.hl7": ("AE", "100"),
    "missing_obx.hl7": ("AE", "100"),
    "mdm_without_txa.hl7": ("AE", "100"),
    "invalid_base64.hl7": ("AE", "102"),
    "cda_without_study_uid.hl7": ("AE", "102"),
    "cda_external_entity.hl7": ("AE", "102"),
    "adt_a01.hl7": ("AR", "200"),
    "omi_new_order.hl7": ("AE", "103"),
}


async def test_refused_frames_get_their_nack_and_are_not_stored(service: SourceService) -> None:
    port = service.mllp_port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((FIXTURES / "truncated_frame.mllp").read_bytes())
    writer.write_eof()
    assert await asyncio.wait_for(reader.read(), 30) == b""  # no ACK possible, none sent
    writer.close()
    await writer.wait_closed()

    names = sorted(REFUSED)
    acks = await send_messages(
        "127.0.0.1", port, [(FIXTURES / n).read_bytes() for n in names], timeout=30
    )
    for name, ack in zip(names, acks, strict=True):
        code, _, reason = parse_ack(ack)
        err = parse_message(ack).first("ERR")
        assert (code, err.get(3, 1) if err else None) == REFUSED[name], (name, reason)
        assert reason, name
    assert await service.inbox.list_messages() == []

    # Still serving: a valid message on a new connection is stored and acknowledged.
    (ack,) = await send_messages("127.0.0.1", port, [(FIXTURES / "valid_oru.hl7").read_bytes()])
    assert parse_ack(ack)[:2] == ("AA", "CTRL-ORU")
    (stored,) = await service.inbox.list_messages()
    assert stored.control_id == "CTRL-ORU"
