"""HL7 syntax: separators, segment endings, charset from MSH-18, escapes, typed errors."""

from __future__ import annotations

import pytest

from drimbox.hl7.message import Encoding, ErrorCode, Hl7ParseError, parse_message, read_header

HEAD = "MSH|^~\\&|RIS|HOSP|DRIMBOX|SRC|20240912||ORU^R01^ORU_R01|C1|P|2.5|||||FRA|{cs}"


def _msg(*segments: str, cs: str = "UNICODE UTF-8", sep: str = "\r") -> bytes:
    return sep.join([HEAD.format(cs=cs), *segments]).encode("utf-8") + sep.encode()


@pytest.mark.parametrize("sep", ["\r", "\n", "\r\n"])
def test_segments_split_on_cr_lf_crlf(sep: str) -> None:
    message = parse_message(_msg("PID|||1", "OBX|1|ST|X||v", sep=sep))
    assert [s.name for s in message.segments] == ["MSH", "PID", "OBX"]
    assert message.message_type == "ORU" and message.trigger_event == "R01"
    assert message.control_id == "C1" and message.version == "2.5"
    assert message.charset == "utf-8"


def test_msh_field_numbering_counts_the_separator_as_msh_1() -> None:
    msh = parse_message(_msg()).msh
    assert msh.get(1) == "|" and msh.get(2) == "^~\\&" and msh.get(3) == "RIS"
    assert msh.get(9, 3) == "ORU_R01" and msh.get(18) == "UNICODE UTF-8"


def test_components_repetitions_subcomponents() -> None:
    pid = parse_message(_msg("PID|||A^^^AUTH&1.2.3&ISO^INS~B^^^X^PI")).all("PID")[0]
    assert pid.repetition_count(3) == 2
    assert pid.get(3, 1, repetition=2) == "B"
    assert pid.get(3, 4, subcomponent=2) == "1.2.3"
    assert pid.get(3, 9) == "" and pid.get(40) == ""


def test_escape_sequences_are_resolved_at_the_leaf() -> None:
    obx = parse_message(_msg("OBX|1|ST|X||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g\\X41C3A9\\")).all(
        "OBX"
    )[0]
    assert obx.get(5) == "a|b^c&d~e\\f\ngAé"


def test_escape_text_round_trips() -> None:
    enc = Encoding()
    text = "a|b^c&d~e\\f\nz"
    assert enc.unescape(enc.escape_text(text)) == text


def test_custom_encoding_characters() -> None:
    raw = b"MSH#$%*@#RIS#H#D#S#2024##ORU$R01#C9#P#2.5\rPID###A$$$X@1.2$PI\r"
    message = parse_message(raw)
    assert message.message_type == "ORU" and message.control_id == "C9"
    assert message.all("PID")[0].get(3, 4, subcomponent=2) == "1.2"


def test_8859_1_is_decoded() -> None:
    raw = _msg(cs="8859/1").replace(b"HOSP", "HÔP".encode("latin-1"))
    assert parse_message(raw).msh.get(4) == "HÔP"


def test_utf8_declared_with_latin1_bytes_is_a_data_type_error() -> None:
    raw = _msg("PID|||1||NOM").replace(b"NOM", "NÉ".encode("latin-1"))
    with pytest.raises(Hl7ParseError) as caught:
        parse_message(raw)
    assert caught.value.code == ErrorCode.DATA_TYPE_ERROR
    assert caught.value.location == "MSH-18" and "not valid utf-8" in caught.value.reason


def test_8859_declared_with_utf8_bytes_is_detected() -> None:
    raw = _msg("PID|||1||NÉ", cs="8859/1")
    with pytest.raises(Hl7ParseError, match="control code"):
        parse_message(raw)


def test_missing_charset_falls_back_to_utf8_with_a_warning() -> None:
    message = parse_message(_msg("OBX|1|ST|X||médicale", cs=""))
    assert message.all("OBX")[0].get(5) == "médicale"
    assert any("UTF-8" in w for w in message.warnings)


def test_unknown_charset_is_a_table_error() -> None:
    with pytest.raises(Hl7ParseError) as caught:
        parse_message(_msg(cs="KOI8-R"))
    assert caught.value.code == ErrorCode.TABLE_VALUE_NOT_FOUND and caught.value.field == 18


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "does not start with an MSH"),
        (b"PID|||1\r", "does not start with an MSH"),
        (b"MSH|^~|A|B|C\r", "invalid separators"),
        (_msg("pid|x"), "invalid segment"),
        (_msg("MSH|^~\\&|X"), "more than one MSH"),
    ],
)
def test_structural_errors(raw: bytes, fragment: str) -> None:
    with pytest.raises(Hl7ParseError, match=fragment):
        parse_message(raw)


def test_segment_sequence_numbers_locate_errors() -> None:
    message = parse_message(_msg("OBX|1|ST|A", "OBX|2|ST|B"))
    second = message.all("OBX")[1]
    assert second.sequence == 2
    error = second.error(ErrorCode.DATA_TYPE_ERROR, "bad", 5, 5)
    assert error.location == "OBX[2]-5.5" and error.ack_code == "AE"


def test_read_header_survives_an_undecodable_body() -> None:
    raw = _msg("PID|||1||\xff").replace("\xff".encode(), b"\xff")
    header = read_header(raw)
    assert header is not None and header.get(10) == "C1" and header.get(3) == "RIS"
    assert read_header(b"garbage") is None
