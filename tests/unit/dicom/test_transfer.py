"""Accept parsing and transfer-syntax negotiation (RAD-107), driven by the ANS dry-run samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from drimbox.dicom.transfer import (
    EXPLICIT_VR_LE,
    PRODUCED,
    AcceptHeaderError,
    AcceptRange,
    ImageTraits,
    Negotiated,
    NotAcceptable,
    can_produce,
    negotiate,
    parse_accept,
    quality_of,
)

DATA = Path("/work/shared/drim-m-data")
TS = "1.2.840.10008.1.2.4."
JLS = TS + "80"
CT16 = ImageTraits(has_pixels=True, bits_allocated=16, bits_stored=16, signed=True)
CT12 = ImageTraits(has_pixels=True, bits_allocated=16, bits_stored=12)
MONO8 = ImageTraits(has_pixels=True, bits_allocated=8, bits_stored=8)
RGB8 = ImageTraits(True, samples_per_pixel=3, bits_allocated=8, bits_stored=8, photometric="RGB")
PDF = ImageTraits(has_pixels=False)


def accept_lines(sample: Path) -> list[str]:
    """The ``Accept`` header values of an ANS request sample (header names are case-insensitive)."""
    lines = sample.read_text(encoding="utf-8").splitlines()
    return [line.split(":", 1)[1] for line in lines[1:] if line.lower().startswith("accept:")]


def ans_samples() -> list[Path]:
    found = sorted((DATA / "test_a_blanc").glob("Simulateur_client_wadoRS/*.txt"))
    found += sorted((DATA / "test_a_blanc/Validateur_de_requete-reponses").glob("*/OK_*.txt"))
    found += sorted((DATA / "Echantillons_validateurs/Validateur_WADO-RS").glob("Requete_*/*.txt"))
    return found


def expected(sample: Path, traits: ImageTraits) -> str:
    """What the samples' q-orderings must give for a JPEG-LS-stored image (from INDEX.md)."""
    name = sample.name
    if "QParameterMinMax" in name and "Simulateur" in str(sample):
        return JLS  # .70 and .80 at q=1.0: the tie goes to pass-through
    if "QParameterMinMax" in name:  # .70 q=1 and .1.2.1 q=1.0 tie, .50/.51 at q=0 / 0.0
        return EXPLICIT_VR_LE  # the cheapest to produce
    if "Lossy" in name or "SwitchHeaders" in name or "Instances_v" in name:
        return TS + "51" if traits.bits_stored > 8 else TS + "50"
    if "Lossless" in name or "Requete_WADO-RS" in name:
        return TS + "70"
    return JLS  # all at q=0.5: pass-through wins the tie


@pytest.mark.skipif(not DATA.is_dir(), reason="ANS data set /work/shared/drim-m-data absent")
@pytest.mark.parametrize("sample", ans_samples(), ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("traits", [CT16, CT12], ids=["ct16", "ct12"])
def test_every_ans_sample_negotiates(sample: Path, traits: ImageTraits) -> None:
    ranges = parse_accept(accept_lines(sample))
    assert ranges and all(r.is_dicom_multipart() for r in ranges)
    result = negotiate(ranges, JLS, traits)
    assert isinstance(result, Negotiated)
    assert result.syntax == expected(sample, traits)
    assert result.passthrough == (result.syntax == JLS)


def test_ans_samples_are_all_found() -> None:
    if not DATA.is_dir():
        pytest.skip("ANS data set absent")
    assert len(ans_samples()) == 19


def test_lossy_first_for_8_bit_gives_baseline() -> None:
    header = [
        f'multipart/related; type="application/dicom";transfer-syntax={TS}50;q=0.9;boundary=**,'
        f'multipart/related; type="application/dicom";transfer-syntax={TS}51;q=0.9;boundary=**,'
    ]
    result = negotiate(parse_accept(header), EXPLICIT_VR_LE, MONO8)
    assert isinstance(result, Negotiated) and result.syntax == TS + "50"
    assert result.boundary is None  # "**" is not a valid RFC 2046 boundary


def test_q_zero_excludes_and_absent_q_is_one() -> None:
    ranges = parse_accept(
        [
            f'multipart/related; type="application/dicom"; transfer-syntax={TS}70; q=0',
            f'multipart/related; type="application/dicom"; transfer-syntax={TS}90',
            f'multipart/related; type="application/dicom"; transfer-syntax={TS}80; q=0.000',
        ]
    )
    assert [r.q for r in ranges] == [0.0, 1.0, 0.0]
    result = negotiate(ranges, JLS, CT12)
    assert isinstance(result, Negotiated) and result.syntax == TS + "90" and result.q == 1.0


def test_ties_go_to_the_cheapest() -> None:
    header = ", ".join(
        f'multipart/related;type="application/dicom";transfer-syntax={TS}{s};q=0.7'
        for s in ("90", "80", "201", "70")
    )
    result = negotiate(parse_accept([header]), EXPLICIT_VR_LE, CT12)
    assert isinstance(result, Negotiated) and result.syntax == TS + "201"


def test_prefer_passthrough_setting() -> None:
    header = [
        f'multipart/related; type="application/dicom"; transfer-syntax={TS}51; q=0.9',
        f'multipart/related; type="application/dicom"; transfer-syntax={JLS}; q=0.1',
    ]
    ranges = parse_accept(header)
    plain = negotiate(ranges, JLS, CT16)
    preferred = negotiate(ranges, JLS, CT16, prefer_passthrough=True)
    assert isinstance(plain, Negotiated) and plain.syntax == TS + "51"
    assert isinstance(preferred, Negotiated) and preferred.syntax == JLS and preferred.passthrough


def test_wildcard_transfer_syntax_passes_through() -> None:
    header = ['multipart/related; type="application/dicom"; transfer-syntax=*']
    result = negotiate(parse_accept(header), TS + "91", CT16)
    assert isinstance(result, Negotiated) and result.syntax == TS + "91" and result.passthrough


def test_specific_range_overrides_wildcard() -> None:
    header = [
        'multipart/related; type="application/dicom"; transfer-syntax=*; q=0.9, '
        f'multipart/related; type="application/dicom"; transfer-syntax={JLS}; q=0'
    ]
    result = negotiate(parse_accept(header), JLS, CT16)
    assert isinstance(result, Negotiated) and result.syntax != JLS and result.q == 0.9


def test_no_transfer_syntax_means_explicit_little_endian() -> None:
    for header in ('multipart/related; type="application/dicom"', "*/*", "multipart/*"):
        result = negotiate(parse_accept([header]), JLS, CT16)
        assert isinstance(result, Negotiated) and result.syntax == EXPLICIT_VR_LE


def test_no_accept_header_means_anything() -> None:
    assert parse_accept([]) == [AcceptRange("*/*")]


def test_not_acceptable_lists_what_we_support() -> None:
    header = [
        f'multipart/related; type="application/dicom"; transfer-syntax={TS}100',
        'multipart/related; type="application/octet-stream"',
        "application/json",
    ]
    result = negotiate(parse_accept(header), JLS, CT16)
    assert isinstance(result, NotAcceptable)
    assert EXPLICIT_VR_LE in result.supported and TS + "50" not in result.supported


def test_baseline_refused_for_deep_images_falls_back() -> None:
    """Policy: .50 is never produced from >8-bit data; the next acceptable syntax is used."""
    only_50 = [f'multipart/related; type="application/dicom"; transfer-syntax={TS}50']
    assert isinstance(negotiate(parse_accept(only_50), JLS, CT12), NotAcceptable)
    with_le = [
        *only_50,
        f'multipart/related; type="application/dicom"; transfer-syntax={EXPLICIT_VR_LE}; q=0.1',
    ]
    result = negotiate(parse_accept(with_le), JLS, CT12)
    assert isinstance(result, Negotiated) and result.syntax == EXPLICIT_VR_LE


def test_non_image_objects_only_go_as_explicit_le() -> None:
    header = [f'multipart/related; type="application/dicom"; transfer-syntax={TS}70']
    assert isinstance(negotiate(parse_accept(header), "1.2.840.10008.1.2", PDF), NotAcceptable)
    assert [u for u in PRODUCED if can_produce(u, "1.2.840.10008.1.2", PDF)] == [EXPLICIT_VR_LE]


def test_capabilities() -> None:
    assert can_produce(TS + "50", EXPLICIT_VR_LE, RGB8)
    assert can_produce(TS + "51", EXPLICIT_VR_LE, RGB8)
    assert not can_produce(TS + "51", EXPLICIT_VR_LE, ImageTraits(True, 3, 16, 12, "RGB"))
    assert can_produce(TS + "51", JLS, CT16)  # shifted/scaled into 12 bits (transcode policy)
    palette = ImageTraits(True, 1, 8, 8, "PALETTE COLOR")
    assert not can_produce(TS + "50", EXPLICIT_VR_LE, palette)
    assert can_produce(TS + "80", EXPLICIT_VR_LE, palette)
    assert not can_produce(TS + "70", TS + "100", CT16)  # MPEG: pass-through only
    assert not can_produce(EXPLICIT_VR_LE, "1.2.840.10008.1.2.2", CT16)  # Big Endian: same
    assert can_produce(TS + "100", TS + "100", CT16)


def test_parsing_tolerates_case_space_quotes_and_empty_elements() -> None:
    ranges = parse_accept(
        [
            ' MultiPart/Related ; TYPE = "application/dicom" ; '
            'Transfer-Syntax="1.2.840.10008.1.2.1" ; Q=0.95 ; boundary="my boundary" ,, ',
            "application/json;q=0.5",
        ]
    )
    assert len(ranges) == 2
    assert ranges[0].media_type == "multipart/related" and ranges[0].q == 0.95
    assert ranges[0].transfer_syntax == EXPLICIT_VR_LE and ranges[0].boundary == "my boundary"
    assert quality_of(ranges, "application/json") == 0.5
    assert quality_of(parse_accept(["*/*;q=0.3"]), "application/json") == 0.3
    assert quality_of(ranges, "text/html") == 0.0


def test_healthcheck_and_other_media_parse() -> None:
    sample = DATA / "test_a_blanc/Simulateur_client_healthcheck/OK_Healthcheck_Request.txt"
    if not sample.exists():
        pytest.skip("ANS data set absent")
    ranges = parse_accept(accept_lines(sample))
    assert quality_of(ranges, "application/json") == 1.0 and not ranges[0].is_dicom_multipart()


def test_parameter_only_form_is_dicom_multipart() -> None:
    (r,) = parse_accept([f"transfer-syntax={TS}51;q=0.9;boundary=myboundary"])
    assert r.media_type == "" and r.is_dicom_multipart() and r.boundary == "myboundary"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("application/dicom;q=1.5", "invalid q-value '1.5'"),
        ("application/dicom;q=0.1234", "invalid q-value '0.1234'"),
        ("application/dicom;q=abc", "invalid q-value 'abc'"),
        ("application/dicom;q=-0", "invalid q-value '-0'"),
        ("application/dicom;q=", "invalid parameter 'q='"),
        ("application dicom", "invalid media range"),
        ('multipart/related; type="application/dicom', "unterminated quoted string"),
        ("multipart/related; novalue", "invalid parameter 'novalue'"),
    ],
)
def test_invalid_accept_is_a_precise_error(header: str, message: str) -> None:
    with pytest.raises(AcceptHeaderError, match=message.replace("(", r"\(")) as info:
        parse_accept([header])
    assert info.value.http_status == 400


def test_implicit_vr_is_negotiated_as_explicit_vr() -> None:
    """PS3.18 §8.7.3.5.2: Implicit VR Little Endian is never sent over DICOMweb."""
    from drimbox.dicom.transfer import EXPLICIT_VR_LE, IMPLICIT_VR_LE, negotiable

    assert negotiable(IMPLICIT_VR_LE) == EXPLICIT_VR_LE
    assert negotiable("1.2.840.10008.1.2.4.80") == "1.2.840.10008.1.2.4.80"
