"""Minimal asyncio MLLP sender (simulators, tests, the kit's HL7 tool)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from drimbox.errors import DrimboxError
from drimbox.hl7.mllp import DEFAULT_MAX_MESSAGE_BYTES, FrameTooLarge, MllpDecoder, encode_frame


class MllpClientError(DrimboxError):
    """The peer closed the connection, timed out, or answered with an oversized frame."""


async def send_messages(
    host: str,
    port: int,
    messages: Sequence[bytes],
    timeout: float = 30.0,
    *,
    max_ack_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> list[bytes]:
    """Send the messages in order on one connection, waiting for each ACK; return the ACKs."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (TimeoutError, OSError) as exc:
        raise MllpClientError(f"cannot connect to MLLP {host}:{port}: {exc}") from exc
    decoder = MllpDecoder(max_ack_bytes)
    queued: list[bytes] = []
    acks: list[bytes] = []
    try:
        for number, message in enumerate(messages, start=1):
            writer.write(encode_frame(message))
            await writer.drain()
            while not queued:
                try:
                    chunk = await asyncio.wait_for(reader.read(65536), timeout)
                except TimeoutError:
                    raise MllpClientError(
                        f"no ACK for message {number} within {timeout}s"
                    ) from None
                if not chunk:
                    raise MllpClientError(f"connection closed before the ACK of message {number}")
                for item in decoder.feed(chunk):
                    if isinstance(item, FrameTooLarge):
                        raise MllpClientError(f"ACK of message {number} exceeds {item.limit} bytes")
                    queued.append(item)
            acks.append(queued.pop(0))
    except (ConnectionError, OSError) as exc:
        raise MllpClientError(f"MLLP connection to {host}:{port} failed: {exc}") from exc
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    return acks
