"""MLLP server and client over real loopback sockets.

The handler used here is the validation half of the real intake (parse, interpret, ACK); the
lead's pipeline adds "store in the inbox" before answering AA.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from drimbox.hl7.ack import AckCode, build_ack, parse_ack
from drimbox.hl7.client import MllpClientError, send_messages
from drimbox.hl7.message import Hl7ParseError
from drimbox.hl7.mllp import MllpDecoder, encode_frame
from drimbox.hl7.report import parse_report_message
from drimbox.hl7.server import MllpServer
from support.ans_messages import exam_message, omi_cancellation

FIXTURES = Path(__file__).parents[2] / "fixtures" / "hl7"
VALID = (FIXTURES / "valid_oru.hl7").read_bytes()
HOST = "127.0.0.1"


async def validating_handler(raw: bytes) -> bytes:
    try:
        parse_report_message(raw)
    except Hl7ParseError as error:
        return build_ack(raw, AckCode(error.ack_code), error=error)
    return build_ack(raw, AckCode.ACCEPT)


def with_control_id(raw: bytes, control_id: str) -> bytes:
    return raw.replace(b"|CTRL-ORU|", f"|{control_id}|".encode(), 1)


@pytest.fixture
async def server() -> AsyncIterator[MllpServer]:
    async with MllpServer(
        validating_handler, HOST, 0, max_message_bytes=16 * 1024 * 1024
    ) as running:
        yield running


async def _read_acks(reader: asyncio.StreamReader, count: int) -> list[bytes]:
    decoder = MllpDecoder()
    acks: list[bytes] = []
    while len(acks) < count:
        chunk = await asyncio.wait_for(reader.read(65536), 30)
        assert chunk, "server closed the connection before answering"
        acks += [a for a in decoder.feed(chunk) if isinstance(a, bytes)]
    return acks


async def test_several_ans_messages_on_one_connection(server: MllpServer) -> None:
    messages = [
        exam_message("CR_C-ORU", "C1"),
        exam_message("CR_F-MDM", "F1"),
        exam_message("CR_G1_MAJ-ORU", "G1MAJ"),
        exam_message("CR_I_Depublication-MDM", "I-DEP"),
        omi_cancellation(),  # its MSH-10 is a literal "001"
    ]
    acks = await send_messages(HOST, server.port, messages, timeout=30)
    assert [parse_ack(a)[:2] for a in acks] == [
        ("AA", "C1"),
        ("AA", "F1"),
        ("AA", "G1MAJ"),
        ("AA", "I-DEP"),
        ("AA", "001"),
    ]


async def test_fifty_concurrent_connections(server: MllpServer) -> None:
    async def one(index: int) -> list[tuple[str, str, str]]:
        batch = [with_control_id(VALID, f"N{index}-{k}") for k in range(3)]
        return [parse_ack(a) for a in await send_messages(HOST, server.port, batch, timeout=60)]

    results = await asyncio.gather(*(one(i) for i in range(50)))
    for index, acks in enumerate(results):
        assert [(code, control) for code, control, _ in acks] == [
            ("AA", f"N{index}-{k}") for k in range(3)
        ]
    assert server.messages_handled == 150


async def test_five_megabyte_message(server: MllpServer) -> None:
    cda = (
        (FIXTURES / "minimal_cda.xml")
        .read_bytes()
        .replace(b"Q1IgZGUgdGVzdA==", base64.b64encode(os.urandom(3_700_000)))
    )
    raw = VALID.replace(VALID.split(b"^Base64^")[1].split(b"|")[0], base64.b64encode(cda))
    assert len(raw) > 5_000_000
    (ack,) = await send_messages(HOST, server.port, [raw], timeout=120)
    assert parse_ack(ack)[0] == "AA"


async def test_byte_by_byte_writes(server: MllpServer) -> None:
    reader, writer = await asyncio.open_connection(HOST, server.port)
    try:
        for byte in encode_frame(with_control_id(VALID, "SLOW")):
            writer.write(bytes([byte]))
            await writer.drain()
        (ack,) = await _read_acks(reader, 1)
        assert parse_ack(ack)[:2] == ("AA", "SLOW")
    finally:
        writer.close()
        await writer.wait_closed()


async def test_truncated_frame_then_good_one_on_a_new_connection(server: MllpServer) -> None:
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write((FIXTURES / "truncated_frame.mllp").read_bytes())
    await writer.drain()
    writer.write_eof()
    assert await asyncio.wait_for(reader.read(), 30) == b""  # closed, nothing to acknowledge
    writer.close()
    await writer.wait_closed()
    (ack,) = await send_messages(HOST, server.port, [with_control_id(VALID, "AFTER")], timeout=30)
    assert parse_ack(ack)[:2] == ("AA", "AFTER")
    assert server.truncated_at_eof == 1


async def test_garbage_between_frames_is_ignored(server: MllpServer) -> None:
    reader, writer = await asyncio.open_connection(HOST, server.port)
    try:
        writer.write(
            b"\r\n garbage \x00\xff"
            + encode_frame(with_control_id(VALID, "G1"))
            + b"\n\n more garbage "
            + encode_frame(with_control_id(VALID, "G2"))
        )
        await writer.drain()
        acks = await _read_acks(reader, 2)
        assert [parse_ack(a)[:2] for a in acks] == [("AA", "G1"), ("AA", "G2")]
    finally:
        writer.close()
        await writer.wait_closed()


async def test_handler_exception_gives_ae_and_connection_survives() -> None:
    calls = 0

    async def flaky(raw: bytes) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database down")
        return build_ack(raw, AckCode.ACCEPT)

    async with MllpServer(flaky, HOST, 0) as running:
        acks = await send_messages(
            HOST, running.port, [with_control_id(VALID, "X1"), with_control_id(VALID, "X2")]
        )
    first, second = (parse_ack(a) for a in acks)
    assert first[:2] == ("AE", "X1") and "RuntimeError" in first[2] and "resend" in first[2]
    assert second[:2] == ("AA", "X2")


async def test_oversize_message_rejected_and_next_accepted() -> None:
    async with MllpServer(validating_handler, HOST, 0, max_message_bytes=4096) as running:
        big = with_control_id(VALID, "BIG") + b"OBX|9|ST|X||" + b"x" * 10_000 + b"\r"
        acks = await send_messages(HOST, running.port, [big, with_control_id(VALID, "OK")])
    code, control, text = parse_ack(acks[0])
    assert (code, control) == ("AR", "BIG") and "4096-byte limit" in text
    assert parse_ack(acks[1])[:2] == ("AA", "OK")


async def test_client_reports_refused_connection() -> None:
    async with MllpServer(validating_handler, HOST, 0) as running:
        port = running.port
    with pytest.raises(MllpClientError, match="cannot connect"):
        await send_messages(HOST, port, [VALID], timeout=5)
