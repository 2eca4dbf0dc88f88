"""multipart/related writer and streaming reader (RFC 2046 framing)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from drimbox.dicom.multipart import (
    MultipartError,
    MultipartReader,
    Part,
    boundary_of,
    dicom_part_type,
    new_boundary,
    read_multipart,
    related_content_type,
    write_multipart,
)

BOUNDARY = "drimbox-test"


async def aiter_of(items: list[Part]) -> AsyncIterator[Part]:
    for item in items:
        yield item


async def encode(parts: list[Part], boundary: str = BOUNDARY) -> bytes:
    return b"".join([chunk async for chunk in write_multipart(aiter_of(parts), boundary)])


TRICKY = [
    Part(dicom_part_type("1.2.840.10008.1.2.4.80"), b"DICM\r\n--drimbox-tes\r\n\r\n--\x00\xff"),
    Part(dicom_part_type("1.2.840.10008.1.2.1"), b"--drimbox-test at start, no CRLF before\r\n"),
    Part("application/dicom", b"", {"Content-Location": "/studies/1"}),
    Part(dicom_part_type("1.2.840.10008.1.2.4.50"), bytes(range(256)) * 40 + b"\r\n"),
]


async def test_golden_encoding() -> None:
    body = await encode([Part("application/dicom", b"AB\r\n"), Part("text/plain", b"C")], "b1")
    assert body == (
        b"--b1\r\nContent-Type: application/dicom\r\n\r\nAB\r\n"
        b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\nC"
        b"\r\n--b1--\r\n"
    )


async def test_writer_streams_one_part_at_a_time() -> None:
    chunks = [c async for c in write_multipart(aiter_of(TRICKY), BOUNDARY)]
    assert len(chunks) == 2 * len(TRICKY) + 1
    assert chunks[1] is TRICKY[0].body  # bodies are passed through, not copied


@pytest.mark.parametrize("chunk_size", [1, 2, 7, 64, 100_000])
async def test_round_trip_any_chunking(chunk_size: int) -> None:
    body = await encode(TRICKY)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), chunk_size):
            yield body[i : i + chunk_size]

    content_type = related_content_type(BOUNDARY)
    parts = [p async for p in read_multipart(chunks(), content_type)]
    assert [p.body for p in parts] == [p.body for p in TRICKY]
    assert [p.content_type for p in parts] == [p.content_type for p in TRICKY]
    assert parts[0].transfer_syntax == "1.2.840.10008.1.2.4.80"
    assert parts[2].headers == {"content-location": "/studies/1"}


def test_reader_yields_each_part_as_soon_as_complete() -> None:
    reader = MultipartReader("b")
    assert reader.feed(b"preamble\r\n--b\r\nContent-Type: a/b\r\n\r\nONE") == []
    (first,) = reader.feed(b"\r\n--b\r\n\r\nTWO")
    assert first.body == b"ONE" and first.content_type == "a/b"
    (second,) = reader.feed(b"\r\n--b--\r\nepilogue")
    assert second.body == b"TWO" and second.content_type == "text/plain"  # RFC 2046 default
    reader.close()


def test_transport_padding_after_delimiter() -> None:
    reader = MultipartReader("b")
    parts = reader.feed(b"--b \t\r\n\r\nX\r\n--b--")
    assert [p.body for p in parts] == [b"X"]
    reader.close()


def test_boundaries() -> None:
    assert boundary_of('multipart/related; type="application/dicom"; boundary="a b"') == "a b"
    assert boundary_of(related_content_type(b := new_boundary())) == b
    with pytest.raises(MultipartError, match="has no boundary"):
        boundary_of('multipart/related; type="application/dicom"')
    with pytest.raises(MultipartError, match="not multipart"):
        boundary_of("application/dicom; boundary=x")
    with pytest.raises(MultipartError, match="invalid multipart boundary"):
        boundary_of("multipart/related; boundary=**")
    with pytest.raises(MultipartError, match="invalid multipart boundary"):
        related_content_type("x" * 71)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"no delimiter at all", "no multipart delimiter found"),
        (b"--b\r\n\r\npart without end", "ended without its close delimiter"),
        (b"--b\r\nContent-Type: a/b\r\n", "ended without its close delimiter"),
        (b"--b\r\nBad Header\r\n\r\nX\r\n--b--", "bad part header line"),
        (b"--b\r\n folded: x\r\n\r\nX\r\n--b--", "bad part header line"),
        (b"--bX\r\n\r\nX\r\n--b--", "unexpected bytes after a boundary delimiter"),
    ],
)
def test_malformed_bodies_are_precise_errors(body: bytes, message: str) -> None:
    reader = MultipartReader("b")
    with pytest.raises(MultipartError, match=message):
        for i in range(len(body)):
            reader.feed(body[i : i + 1])
        reader.close()


def test_part_size_limit() -> None:
    reader = MultipartReader("b", max_part_size=10)
    with pytest.raises(MultipartError, match="larger than 10 bytes"):
        reader.feed(b"--b\r\n\r\n" + b"x" * 100)


async def test_empty_stream_is_just_the_close_delimiter() -> None:
    assert await encode([]) == b"--drimbox-test--\r\n"


async def test_header_injection_is_refused() -> None:
    with pytest.raises(MultipartError, match="line break"):
        await encode([Part("application/dicom\r\nX-Evil: 1", b"")])


def test_part_type_matches_ps318_form() -> None:
    assert dicom_part_type("1.2.840.10008.1.2.1") == (
        "application/dicom; transfer-syntax=1.2.840.10008.1.2.1"
    )
