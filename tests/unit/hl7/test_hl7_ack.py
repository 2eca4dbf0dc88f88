"""ACK construction: swapped addresses, MSA-2 = MSH-10, ERR segment, charset and version kept."""

from __future__ import annotations

from datetime import UTC, datetime

from drimbox.hl7.ack import AckCode, build_ack, parse_ack
from drimbox.hl7.message import ErrorCode, Hl7ParseError, parse_message

RAW = (
    b"MSH|^~\\&|RIS|HOSP|DRIMBOX|SRC|20240912||MDM^T02^MDM_T02|CTRL42|P|2.6|||||FRA|UNICODE UTF-8\r"
    b"PID|||1\r"
)
NOW = datetime(2024, 9, 12, 10, 15, tzinfo=UTC)


def test_accept_ack_header() -> None:
    ack = parse_message(build_ack(RAW, AckCode.ACCEPT, now=NOW, control_id="A1"))
    msh = ack.msh
    assert (msh.get(3), msh.get(4), msh.get(5), msh.get(6)) == ("DRIMBOX", "", "RIS", "HOSP")
    assert msh.get(7) == "20240912101500"
    assert (msh.get(9, 1), msh.get(9, 2), msh.get(9, 3)) == ("ACK", "T02", "ACK")
    assert msh.get(10) == "A1" and msh.get(11) == "P" and msh.get(12) == "2.6"
    assert msh.get(18) == "UNICODE UTF-8"
    assert parse_ack(build_ack(RAW, AckCode.ACCEPT)) == ("AA", "CTRL42", "")
    assert ack.first("ERR") is None


def test_error_ack_carries_err_with_code_location_and_readable_text() -> None:
    error = Hl7ParseError(
        ErrorCode.REQUIRED_FIELD_MISSING,
        "TXA-12 unique document number is missing",
        segment="TXA",
        field=12,
    )
    ack = parse_message(build_ack(RAW, AckCode.ERROR, error=error))
    err = ack.first("ERR")
    assert err is not None
    assert err.get(2) == "TXA" and err.get(2, 3) == "12"
    assert (err.get(3, 1), err.get(3, 2), err.get(3, 3)) == (
        "101",
        "Required field missing",
        "HL70357",
    )
    assert err.get(4) == "E"
    assert err.get(8) == "TXA-12: TXA-12 unique document number is missing"
    assert ack.first("MSA").get(1) == "AE"  # type: ignore[union-attr]


def test_special_characters_in_reasons_are_escaped() -> None:
    error = Hl7ParseError(ErrorCode.DATA_TYPE_ERROR, "bad value 'a|b^c' é")
    code, control, text = parse_ack(build_ack(RAW, AckCode.REJECT, error=error))
    assert (code, control, text) == ("AR", "CTRL42", "bad value 'a|b^c' é")


def test_ack_for_unparseable_bytes_is_still_a_valid_hl7_ack() -> None:
    code, control, text = parse_ack(
        build_ack(
            b"not hl7 at all",
            AckCode.ERROR,
            error=Hl7ParseError(ErrorCode.SEGMENT_SEQUENCE_ERROR, "no MSH"),
        )
    )
    assert (code, control, text) == ("AE", "", "no MSH")


def test_latin1_sender_gets_a_latin1_ack() -> None:
    raw = RAW.replace(b"UNICODE UTF-8", b"8859/1")
    error = Hl7ParseError(ErrorCode.DATA_TYPE_ERROR, "donnée invalide")
    ack = build_ack(raw, AckCode.ERROR, error=error)
    assert "donnée".encode("latin-1") in ack
    assert parse_message(ack).msh.get(18) == "8859/1"
