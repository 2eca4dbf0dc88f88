"""HL7 v2 original-mode acknowledgements (ACK) with MSA and ERR.

The ACK answers in the sender's version and charset, swaps sender and receiver, echoes MSH-10 in
MSA-2 and, on error, carries an ERR segment whose ERR-8 is readable by an interface engineer.
It can be built from a message that did not parse (only its MSH is read, best effort), because a
sender waiting for a NACK must get one whatever was wrong.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum

from drimbox.hl7.message import (
    Encoding,
    ErrorCode,
    Hl7ParseError,
    Segment,
    parse_message,
    read_header,
)

_DEFAULT_VERSION = "2.5"
_CHARSET_NAMES = {"utf-8": "UNICODE UTF-8", "iso-8859-1": "8859/1", "iso-8859-15": "8859/15"}


class AckCode(StrEnum):
    """MSA-1 acknowledgment codes (HL7 table 0008, original mode)."""

    ACCEPT = "AA"
    ERROR = "AE"
    REJECT = "AR"


def build_ack(
    received: bytes,
    code: AckCode,
    *,
    error: Hl7ParseError | None = None,
    sending_application: str = "DRIMBOX",
    sending_facility: str = "",
    now: datetime | None = None,
    control_id: str | None = None,
) -> bytes:
    """ACK for ``received`` (raw bytes, parsed or not). ``error`` fills MSA-3 and ERR."""
    header = read_header(received)
    enc = header.encoding if header is not None else Encoding()
    charset = header.charset if header is not None and header.charset != "latin-1" else "utf-8"
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")

    def orig(number: int) -> str:
        return header.raw(number) if header is not None else ""

    trigger = header.get(9, 2) if header is not None else ""
    version = (header.get(12) if header is not None else "") or _DEFAULT_VERSION
    processing = orig(11) or "P"
    receiver_app = orig(3)
    receiver_fac = orig(4)
    esc = enc.escape_text
    f = enc.field
    msh = f.join(
        [
            "MSH",
            f"{enc.component}{enc.repetition}{enc.escape}{enc.subcomponent}",
            esc(sending_application),
            esc(sending_facility),
            receiver_app,
            receiver_fac,
            stamp,
            "",
            f"ACK{enc.component}{esc(trigger)}{enc.component}ACK" if trigger else "ACK",
            esc(control_id or uuid.uuid4().hex[:20]),
            processing,
            esc(version),
            "",
            "",
            "",
            "",
            "",
            _CHARSET_NAMES.get(charset, ""),
        ]
    )
    msa = f.join(["MSA", code.value, orig(10), esc(error.reason) if error else ""])
    segments = [msh.rstrip(f), msa.rstrip(f)]
    if error is not None:
        segments.append(_err_segment(error, enc))
    text = "\r".join(segments) + "\r"
    return text.encode(charset, errors="replace")


def _err_segment(error: Hl7ParseError, enc: Encoding) -> str:
    """ERR (v2.5): ERR-2 location, ERR-3 code^text^HL70357, ERR-4 severity E, ERR-8 message."""
    c = enc.component
    location = ""
    if error.segment:
        location = c.join(
            [
                error.segment,
                str(error.sequence),
                str(error.field) if error.field is not None else "",
                "1" if error.field is not None else "",
                str(error.component) if error.component is not None else "",
            ]
        ).rstrip(c)
    code = ErrorCode(error.code)
    message = f"{error.location}: {error.reason}" if error.location else error.reason
    return enc.field.join(
        [
            "ERR",
            "",
            location,
            c.join([str(code.value), code.text, "HL70357"]),
            "E",
            "",
            "",
            "",
            enc.escape_text(message),
        ]
    )


def parse_ack(data: bytes) -> tuple[str, str, str]:
    """(MSA-1, MSA-2, ERR-8 or MSA-3) of an ACK; used by the client and the tests."""
    message = parse_message(data)
    msa: Segment = message.require("MSA", "an ACK carries MSA")
    err = message.first("ERR")
    text = err.get(8) if err is not None else msa.get(3)
    return msa.get(1), msa.get(2), text
