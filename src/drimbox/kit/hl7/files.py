"""Read HL7 message files for sending: segment separators normalised, placeholders filled.

Files written by hand or copied between systems end segments with LF or CRLF; HL7 wants CR.
``personalise`` makes an ANS skeleton sendable more than once: the ``{{…}}`` placeholders of
MSH-3..6 get the given names, an MSH-7 placeholder the current time, and MSH-10 a new unique
control id (the receiver would otherwise see a re-sent message and change nothing).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from drimbox.errors import DrimboxError

_PLACEHOLDER = re.compile(rb"^\{\{[^{}]*\}\}$")


class Hl7FileError(DrimboxError):
    """The file is not an HL7 v2 message we can send."""


@dataclass(frozen=True, slots=True)
class Personalisation:
    sending_application: str = "DRIMBOX_KIT"
    sending_facility: str = "DRIMBOX_KIT"
    receiving_application: str = "DRIMBOX"
    receiving_facility: str = "DRIMBOX_SOURCE"


def normalise(data: bytes) -> bytes:
    """CR LF and LF → CR; trailing blank lines dropped; one final CR."""
    text = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")
    return text.rstrip(b"\r") + b"\r"


def new_control_id() -> str:
    return uuid.uuid4().hex[:20]


def personalise(data: bytes, values: Personalisation, control_id: str | None = None) -> bytes:
    """Fill the MSH placeholders and give the message a new MSH-10."""
    head, sep, rest = data.partition(b"\r")
    if not head.startswith(b"MSH") or len(head) < 8:
        raise Hl7FileError("the message does not start with an MSH segment")
    field_sep = head[3:4]
    fields = head.split(field_sep)
    while len(fields) < 12:
        fields.append(b"")
    names = {
        2: values.sending_application,
        3: values.sending_facility,
        4: values.receiving_application,
        5: values.receiving_facility,
    }
    for index, value in names.items():
        if _PLACEHOLDER.match(fields[index]):
            fields[index] = value.encode("ascii")
    if _PLACEHOLDER.match(fields[6]) or not fields[6]:
        fields[6] = datetime.now(UTC).strftime("%Y%m%d%H%M%S").encode("ascii")
    fields[9] = (control_id or new_control_id()).encode("ascii")
    return field_sep.join(fields) + sep + rest


def read_message(
    path: Path, personalisation: Personalisation | None = None, control_id: str | None = None
) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Hl7FileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    data = normalise(data)
    if not data.startswith(b"MSH"):
        raise Hl7FileError(f"{path}: not an HL7 v2 message (does not start with MSH)")
    if personalisation is not None:
        data = personalise(data, personalisation, control_id)
    return data
