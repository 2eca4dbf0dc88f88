"""MLLP framing: partial frames, several frames per chunk, junk, truncation, size limit."""

from __future__ import annotations

from drimbox.hl7.mllp import FrameTooLarge, MllpDecoder, encode_frame

MSG = b"MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5\rPID|||1\r"


def test_encode_wraps_in_start_and_end_blocks() -> None:
    assert encode_frame(b"X") == b"\x0bX\x1c\x0d"


def test_byte_by_byte_feed_yields_one_message() -> None:
    decoder = MllpDecoder()
    out: list[bytes | FrameTooLarge] = []
    for byte in encode_frame(MSG):
        out += decoder.feed(bytes([byte]))
    assert out == [MSG]
    assert decoder.pending_bytes == 0


def test_several_frames_in_one_chunk_and_junk_between() -> None:
    decoder = MllpDecoder()
    data = b"junk\r\n" + encode_frame(b"one") + b"\n" + encode_frame(b"two") + encode_frame(b"3")
    assert decoder.feed(data) == [b"one", b"two", b"3"]
    assert decoder.discarded_bytes == len(b"junk\r\n") + 1


def test_end_block_split_across_chunks() -> None:
    decoder = MllpDecoder()
    assert decoder.feed(b"\x0babc\x1c") == []
    assert decoder.feed(b"\x0d\x0bdef") == [b"abc"]
    assert decoder.pending_bytes == 3
    assert decoder.feed(b"\x1c\x0d") == [b"def"]


def test_lone_end_block_without_cr_is_tolerated() -> None:
    decoder = MllpDecoder()
    assert decoder.feed(b"\x0babc\x1c\x0bdef\x1c\x0d") == [b"abc", b"def"]


def test_new_start_block_inside_frame_drops_the_truncated_one() -> None:
    decoder = MllpDecoder()
    assert decoder.feed(b"\x0bhalf a mess" + encode_frame(b"good")) == [b"good"]
    assert decoder.truncated_frames == 1


def test_oversize_frame_is_reported_once_and_stream_resyncs() -> None:
    decoder = MllpDecoder(max_message_bytes=100)
    big = b"MSH|^~\\&|A" + b"x" * 500
    out = decoder.feed(encode_frame(big)[:300])
    out += decoder.feed(encode_frame(big)[300:] + encode_frame(b"small"))
    assert len(out) == 2
    assert isinstance(out[0], FrameTooLarge)
    assert out[0].head.startswith(b"MSH|^~\\&|A") and out[0].limit == 100
    assert out[1] == b"small"


def test_incomplete_frame_is_pending() -> None:
    decoder = MllpDecoder()
    assert decoder.feed(b"\x0bMSH|partial") == []
    assert decoder.pending_bytes == len(b"MSH|partial")
