"""MLLP framing (HL7 v2 Minimal Lower Layer Protocol, HL7 v2.5 appendix C.4).

A frame is ``0x0B <message bytes> 0x1C 0x0D``. The decoder is incremental: it is fed whatever the
socket returned (one byte or several frames) and yields the complete messages. Bytes outside a
frame are counted and dropped (senders sometimes put a newline between frames). A frame growing
past ``max_message_bytes`` is reported once as :class:`FrameTooLarge` and its remaining bytes are
skipped, so one huge message cannot exhaust memory nor desynchronise the stream.
"""

from __future__ import annotations

from dataclasses import dataclass

START_BLOCK = 0x0B
END_BLOCK = 0x1C
CARRIAGE_RETURN = 0x0D
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
_HEAD_KEPT = 4096


def encode_frame(message: bytes) -> bytes:
    """Wrap one HL7 message in MLLP start/end blocks."""
    return bytes([START_BLOCK]) + message + bytes([END_BLOCK, CARRIAGE_RETURN])


@dataclass(frozen=True)
class FrameTooLarge:
    """A frame exceeded the limit; ``head`` keeps its first bytes so a NACK can quote MSH."""

    head: bytes
    limit: int


class MllpDecoder:
    """Incremental MLLP frame decoder (one per connection)."""

    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        if max_message_bytes <= 0:
            raise ValueError("max_message_bytes must be positive")
        self.max_message_bytes = max_message_bytes
        self.discarded_bytes = 0
        """Bytes seen outside any frame (junk before 0x0B, between frames)."""
        self.truncated_frames = 0
        """Frames abandoned because a new 0x0B arrived before their 0x1C 0x0D."""
        self._buffer = bytearray()
        self._in_frame = False
        self._skipping = False  # inside an oversized frame: drop until its end block
        self._end_seen = False  # last byte of the frame so far was 0x1C

    @property
    def pending_bytes(self) -> int:
        """Size of the incomplete frame being assembled (0 when between frames)."""
        return len(self._buffer) if self._in_frame else 0

    def feed(self, data: bytes) -> list[bytes | FrameTooLarge]:
        """Consume bytes; return the messages (and oversize reports) completed by them."""
        out: list[bytes | FrameTooLarge] = []
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            if not self._in_frame:
                start = data.find(START_BLOCK, pos)
                if start < 0:
                    self.discarded_bytes += len(view) - pos
                    break
                self.discarded_bytes += start - pos
                self._begin()
                pos = start + 1
                continue
            pos = self._consume_frame_bytes(data, pos, out)
        return out

    def _begin(self) -> None:
        self._in_frame = True
        self._skipping = False
        self._end_seen = False
        self._buffer.clear()

    def _consume_frame_bytes(self, data: bytes, pos: int, out: list[bytes | FrameTooLarge]) -> int:
        """Advance inside a frame; return the new position in ``data``."""
        if self._end_seen:
            self._end_seen = False
            # 0x1C then 0x0D closes the frame; a lone 0x1C is tolerated as a terminator too.
            self._finish(out)
            return pos + 1 if data[pos] == CARRIAGE_RETURN else pos
        end = data.find(END_BLOCK, pos)
        restart = data.find(START_BLOCK, pos)
        stop = len(data) if end < 0 else end
        if 0 <= restart < stop:
            # A new frame starts before this one ended: the current one was truncated.
            self.truncated_frames += 1
            self._append(data[pos:restart])
            self._begin()
            return restart + 1
        self._append(data[pos:stop])
        if end < 0:
            return len(data)
        self._end_seen = True
        if end + 1 < len(data):
            return self._consume_frame_bytes(data, end + 1, out)
        return end + 1

    def _append(self, chunk: bytes) -> None:
        if self._skipping:
            return
        if len(self._buffer) + len(chunk) > self.max_message_bytes:
            # Keep only the head (for the NACK's MSH) and free the rest at once.
            self._buffer += chunk[: max(0, _HEAD_KEPT - len(self._buffer))]
            del self._buffer[_HEAD_KEPT:]
            self._skipping = True
            return
        self._buffer += chunk

    def _finish(self, out: list[bytes | FrameTooLarge]) -> None:
        if self._skipping:
            out.append(
                FrameTooLarge(head=bytes(self._buffer[:_HEAD_KEPT]), limit=self.max_message_bytes)
            )
        else:
            out.append(bytes(self._buffer))
        self._in_frame = False
        self._skipping = False
        self._buffer.clear()
