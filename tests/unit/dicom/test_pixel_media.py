"""Pixel-data media types (PS3.18 Table 8.7.3-5) and the frame / bulk-data Accept negotiation."""

from __future__ import annotations

import pytest

from drimbox.dicom.pixel_media import (
    DEFAULT_SYNTAX,
    OCTET_STREAM,
    label_of,
    media_type_of,
    negotiate_pixels,
    octet_stream_acceptable,
    supported,
)
from drimbox.dicom.transfer import EXPLICIT_VR_LE, ImageTraits, parse_accept

P = "1.2.840.10008.1.2"
CT = ImageTraits(has_pixels=True, bits_allocated=16, bits_stored=12)
ONE_BIT = ImageTraits(has_pixels=True, bits_allocated=1, bits_stored=1)


@pytest.mark.parametrize(
    ("syntax", "media"),
    [
        (P, OCTET_STREAM),
        (P + ".1", OCTET_STREAM),
        (P + ".1.99", OCTET_STREAM),
        (P + ".2", OCTET_STREAM),
        (P + ".4.50", "image/jpeg"),
        (P + ".4.51", "image/jpeg"),
        (P + ".4.57", "image/jpeg"),
        (P + ".4.70", "image/jpeg"),
        (P + ".4.80", "image/jls"),
        (P + ".4.81", "image/jls"),
        (P + ".4.90", "image/jp2"),
        (P + ".4.91", "image/jp2"),
        (P + ".4.92", "image/jpx"),
        (P + ".4.93", "image/jpx"),
        (P + ".4.201", "image/jphc"),
        (P + ".4.202", "image/jphc"),
        (P + ".4.203", "image/jphc"),
        (P + ".5", "image/dicom-rle"),
        (P + ".4.100", None),  # MPEG2: video, not frames
    ],
)
def test_media_type_of_each_syntax(syntax: str, media: str | None) -> None:
    assert media_type_of(syntax) == media


def test_default_syntax_of_each_media_type() -> None:
    assert DEFAULT_SYNTAX[OCTET_STREAM] == EXPLICIT_VR_LE
    assert DEFAULT_SYNTAX["image/jpeg"] == P + ".4.50"
    assert DEFAULT_SYNTAX["image/jls"] == P + ".4.80"
    assert DEFAULT_SYNTAX["image/jp2"] == P + ".4.90"
    assert DEFAULT_SYNTAX["image/jphc"] == P + ".4.201"


def test_native_is_labelled_explicit_little_endian() -> None:
    assert label_of(P) == label_of(P + ".2") == EXPLICIT_VR_LE
    assert label_of(P + ".4.80") == P + ".4.80"


def choice(accept: str | None, stored: str, traits: ImageTraits = CT) -> tuple[str, str] | None:
    ranges = parse_accept([] if accept is None else [accept])
    chosen = negotiate_pixels(ranges, stored, traits)
    return None if chosen is None else (chosen.media_type, chosen.syntax)


def test_no_accept_or_wildcards_pass_the_stored_frames_through() -> None:
    for accept in (None, "*/*", "multipart/*", 'multipart/related; type="*/*"'):
        assert choice(accept, P + ".4.80") == ("image/jls", P + ".4.80")
        assert choice(accept, EXPLICIT_VR_LE) == (OCTET_STREAM, EXPLICIT_VR_LE)


def test_octet_stream_decodes_compressed_frames() -> None:
    accept = 'multipart/related; type="application/octet-stream"'
    assert choice(accept, P + ".4.80") == (OCTET_STREAM, EXPLICIT_VR_LE)
    assert choice(accept + "; transfer-syntax=*", P + ".4.90") == (OCTET_STREAM, EXPLICIT_VR_LE)
    assert choice("multipart/related", P + ".4.90") == (OCTET_STREAM, EXPLICIT_VR_LE)


def test_named_media_type_means_its_default_syntax_unless_one_is_given() -> None:
    # stored near-lossless .81: the default .80 is produced (lossless re-coding of its values)
    assert choice('multipart/related; type="image/jls"', P + ".4.81") == ("image/jls", P + ".4.80")
    assert choice('multipart/related; type="image/jls"; transfer-syntax=*', P + ".4.81") == (
        "image/jls",
        P + ".4.81",
    )
    assert choice('multipart/related; type="image/jp2"', EXPLICIT_VR_LE) == (
        "image/jp2",
        P + ".4.90",
    )


def test_8_bit_jpeg_is_never_offered_for_deep_images() -> None:
    assert choice('multipart/related; type="image/jpeg"', EXPLICIT_VR_LE) is None
    jpeg_ls = f'multipart/related; type="image/jpeg"; transfer-syntax={P}.4.70'
    assert choice(jpeg_ls, EXPLICIT_VR_LE) == ("image/jpeg", P + ".4.70")


def test_q_values_rank_and_q_zero_excludes() -> None:
    accept = (
        'multipart/related; type="image/jls"; q=0.5, '
        'multipart/related; type="application/octet-stream"; q=0.9'
    )
    assert choice(accept, P + ".4.80") == (OCTET_STREAM, EXPLICIT_VR_LE)
    refuse = 'multipart/related; type="application/octet-stream"; q=0, */*'
    # native refused: */* takes the cheapest coding we produce (HTJ2K lossless)
    assert choice(refuse, EXPLICIT_VR_LE) == ("image/jphc", P + ".4.201")


def test_dicom_media_type_is_not_a_frame_representation() -> None:
    assert choice('multipart/related; type="application/dicom"', EXPLICIT_VR_LE) is None
    assert choice("application/octet-stream", EXPLICIT_VR_LE) is None  # single part: not served


def test_one_bit_frames_stay_native() -> None:
    assert choice('multipart/related; type="image/jls"', EXPLICIT_VR_LE, ONE_BIT) is None
    assert supported(EXPLICIT_VR_LE, ONE_BIT) == [
        f"{OCTET_STREAM}; transfer-syntax={EXPLICIT_VR_LE}"
    ]


def test_octet_stream_acceptable_for_other_bulk_data() -> None:
    assert octet_stream_acceptable(parse_accept([]))
    assert octet_stream_acceptable(
        parse_accept(['multipart/related; type="application/octet-stream"'])
    )
    assert not octet_stream_acceptable(parse_accept(['multipart/related; type="image/jls"']))
    assert not octet_stream_acceptable(
        parse_accept(['multipart/related; type="application/dicom"'])
    )
