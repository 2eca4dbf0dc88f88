"""HL7 v2 message syntax: segments, separators from MSH-1/MSH-2, charset from MSH-18, escapes.

Deliberately small: the DRIMbox reads a handful of fields from ORU/MDM/OMI messages, and a typed
:class:`Hl7ParseError` carrying an HL7 table 0357 code, the segment and the field is what lets the
ACK tell the sender precisely what is wrong. Values are split on the raw text and unescaped at the
leaf, so an escaped ``\\S\\`` never creates a spurious component.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum

from drimbox.errors import DrimboxError


class ErrorCode(IntEnum):
    """HL7 table 0357 "Message error condition codes" (used in ERR-3)."""

    SEGMENT_SEQUENCE_ERROR = 100
    REQUIRED_FIELD_MISSING = 101
    DATA_TYPE_ERROR = 102
    TABLE_VALUE_NOT_FOUND = 103
    UNSUPPORTED_MESSAGE_TYPE = 200
    UNSUPPORTED_EVENT_CODE = 201
    UNSUPPORTED_PROCESSING_ID = 202
    UNSUPPORTED_VERSION_ID = 203
    APPLICATION_INTERNAL_ERROR = 207

    @property
    def text(self) -> str:
        return _ERROR_TEXT[self]


_ERROR_TEXT = {
    ErrorCode.SEGMENT_SEQUENCE_ERROR: "Segment sequence error",
    ErrorCode.REQUIRED_FIELD_MISSING: "Required field missing",
    ErrorCode.DATA_TYPE_ERROR: "Data type error",
    ErrorCode.TABLE_VALUE_NOT_FOUND: "Table value not found",
    ErrorCode.UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    ErrorCode.UNSUPPORTED_EVENT_CODE: "Unsupported event code",
    ErrorCode.UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
    ErrorCode.UNSUPPORTED_VERSION_ID: "Unsupported version id",
    ErrorCode.APPLICATION_INTERNAL_ERROR: "Application internal error",
}

# Rejections of the message as such (HL7 "AR"); everything else is an application error ("AE").
_REJECT_CODES = frozenset(
    {
        ErrorCode.UNSUPPORTED_MESSAGE_TYPE,
        ErrorCode.UNSUPPORTED_EVENT_CODE,
        ErrorCode.UNSUPPORTED_PROCESSING_ID,
        ErrorCode.UNSUPPORTED_VERSION_ID,
    }
)


class Hl7ParseError(DrimboxError):
    """The message cannot be accepted; says which HL7 error, where, and why (for ERR-8)."""

    http_status = 422

    def __init__(
        self,
        code: ErrorCode,
        reason: str,
        *,
        segment: str | None = None,
        field: int | None = None,
        sequence: int = 1,
        component: int | None = None,
    ) -> None:
        self.code = code
        self.reason = reason
        self.segment = segment
        self.field = field
        self.sequence = sequence
        self.component = component
        super().__init__(f"{self.location or 'message'}: {reason}")

    @property
    def location(self) -> str:
        """Human form of the error location, e.g. ``OBX[1]-5.5``."""
        if self.segment is None:
            return ""
        where = self.segment if self.sequence == 1 else f"{self.segment}[{self.sequence}]"
        if self.field is not None:
            where += f"-{self.field}"
            if self.component is not None:
                where += f".{self.component}"
        return where

    @property
    def ack_code(self) -> str:
        """``AR`` for unsupported message/event/version/processing id, otherwise ``AE``."""
        return "AR" if self.code in _REJECT_CODES else "AE"


@dataclass(frozen=True)
class Encoding:
    """The separators declared in MSH-1 and MSH-2."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    def unescape(self, text: str, charset: str = "ascii") -> str:
        """Resolve HL7 escape sequences (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\ \\.br\\)."""
        esc = self.escape
        if not esc or esc not in text:
            return text
        out: list[str] = []
        pos = 0
        while pos < len(text):
            start = text.find(esc, pos)
            if start < 0:
                out.append(text[pos:])
                break
            end = text.find(esc, start + 1)
            if end < 0:  # lone escape character: keep literally
                out.append(text[pos:])
                break
            out.append(text[pos:start])
            out.append(self._resolve(text[start + 1 : end], charset))
            pos = end + 1
        return "".join(out)

    def _resolve(self, code: str, charset: str) -> str:
        simple = {
            "F": self.field,
            "S": self.component,
            "T": self.subcomponent,
            "R": self.repetition,
            "E": self.escape,
            ".br": "\n",
            "H": "",
            "N": "",
        }
        if code in simple:
            return simple[code]
        if code.startswith("X") and re.fullmatch(r"X(?:[0-9A-Fa-f]{2})+", code):
            return bytes.fromhex(code[1:]).decode(charset, errors="replace")
        return f"{self.escape}{code}{self.escape}"  # unknown (\Cxxyy\, \Zxx\ ...): keep as is

    def escape_text(self, text: str) -> str:
        """Escape separators so free text can be placed in a field."""
        out = text.replace(self.escape, f"{self.escape}E{self.escape}")
        for char, code in (
            (self.field, "F"),
            (self.component, "S"),
            (self.subcomponent, "T"),
            (self.repetition, "R"),
        ):
            out = out.replace(char, f"{self.escape}{code}{self.escape}")
        return (
            out.replace("\r\n", "\n")
            .replace("\r", "\n")
            .replace("\n", f"{self.escape}.br{self.escape}")
        )


@dataclass(frozen=True)
class Segment:
    """One segment; ``fields[n]`` is the raw (still escaped) text of field n (MSH-n for MSH)."""

    name: str
    fields: tuple[str, ...]
    encoding: Encoding
    charset: str
    sequence: int = 1
    """1-based occurrence of this segment name in the message (OBX[3] has sequence 3)."""

    def raw(self, number: int) -> str:
        """Raw text of field ``number`` ('' when absent)."""
        return self.fields[number] if 0 < number < len(self.fields) else ""

    def repetition_count(self, number: int) -> int:
        raw = self.raw(number)
        if not raw or (self.name == "MSH" and number <= 2):
            return 1 if raw else 0
        return len(raw.split(self.encoding.repetition))

    def get(
        self,
        number: int,
        component: int = 1,
        *,
        repetition: int = 1,
        subcomponent: int | None = None,
    ) -> str:
        """Unescaped value of FIELD-number[repetition].component[.subcomponent] ('' when absent).

        Without ``subcomponent`` the whole component is returned with its ``&`` kept, which is what
        callers want for a value that is not split further.
        """
        raw = self.raw(number)
        if self.name == "MSH" and number <= 2:
            return raw
        enc = self.encoding
        reps = raw.split(enc.repetition)
        if not 0 < repetition <= len(reps):
            return ""
        comps = reps[repetition - 1].split(enc.component)
        if not 0 < component <= len(comps):
            return ""
        value = comps[component - 1]
        if subcomponent is not None:
            subs = value.split(enc.subcomponent)
            if not 0 < subcomponent <= len(subs):
                return ""
            value = subs[subcomponent - 1]
        return enc.unescape(value, self.charset)

    def error(
        self, code: ErrorCode, reason: str, number: int, component: int | None = None
    ) -> Hl7ParseError:
        """An error located at this segment's field (helper for validators)."""
        return Hl7ParseError(
            code,
            reason,
            segment=self.name,
            field=number,
            sequence=self.sequence,
            component=component,
        )

    def require(self, number: int, component: int = 1, *, what: str, repetition: int = 1) -> str:
        """Like :meth:`get` but a missing value raises a 101 "Required field missing" error."""
        value = self.get(number, component, repetition=repetition)
        if not value.strip():
            raise self.error(
                ErrorCode.REQUIRED_FIELD_MISSING, f"{what} is missing", number, component
            )
        return value.strip()


@dataclass(frozen=True)
class Message:
    """A parsed HL7 v2 message."""

    segments: tuple[Segment, ...]
    encoding: Encoding
    charset: str
    """Python codec used to decode the bytes (from MSH-18)."""
    warnings: tuple[str, ...] = field(default=())

    @property
    def msh(self) -> Segment:
        return self.segments[0]

    @property
    def message_type(self) -> str:
        return self.msh.get(9, 1).strip().upper()

    @property
    def trigger_event(self) -> str:
        return self.msh.get(9, 2).strip().upper()

    @property
    def control_id(self) -> str:
        return self.msh.get(10).strip()

    @property
    def version(self) -> str:
        return self.msh.get(12).strip()

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]

    def first(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def require(self, name: str, why: str) -> Segment:
        """The first ``name`` segment, or a 100 "Segment sequence error" naming what needs it."""
        found = self.first(name)
        if found is None:
            raise Hl7ParseError(
                ErrorCode.SEGMENT_SEQUENCE_ERROR,
                f"required segment {name} is missing ({why})",
                segment=name,
            )
        return found


_CHARSETS = {
    "": "ascii",
    "ASCII": "ascii",
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "8859/1": "iso-8859-1",
    "8859/15": "iso-8859-15",
}
_SEGMENT_NAME = re.compile(r"[A-Z][A-Z0-9]{2}")
_C1_CONTROLS = re.compile(r"[\x80-\x9f]")


def _header_fields(data: bytes) -> tuple[Encoding, list[str]]:
    """MSH fields read before decoding (separators and MSH-18 are ASCII by definition)."""
    stripped = data.lstrip(b"\r\n \t")
    if not stripped.startswith(b"MSH") or len(stripped) < 8:
        raise Hl7ParseError(
            ErrorCode.SEGMENT_SEQUENCE_ERROR,
            "message does not start with an MSH segment",
            segment="MSH",
        )
    first = re.split(rb"\r\n|\r|\n", stripped, maxsplit=1)[0].decode("latin-1")
    sep = first[3]
    chars = first[4:].split(sep, 1)[0]
    if sep.isalnum() or len(chars) < 4 or len(set(sep + chars[:4])) != 5:
        raise Hl7ParseError(
            ErrorCode.DATA_TYPE_ERROR,
            f"invalid separators in MSH-1/MSH-2: {first[3:9]!r}",
            segment="MSH",
            field=2,
        )
    enc = Encoding(sep, chars[0], chars[1], chars[2], chars[3])
    parts = first.split(sep)
    fields = ["MSH", sep, *parts[1:]]
    return enc, fields


def charset_of(data: bytes) -> str:
    """Python codec named by MSH-18 (ASCII when empty); unknown names raise a 103 error."""
    enc, fields = _header_fields(data)
    declared = (
        fields[18].split(enc.repetition)[0].split(enc.component)[0].strip()
        if len(fields) > 18
        else ""
    )
    try:
        return _CHARSETS[declared.upper()]
    except KeyError:
        raise Hl7ParseError(
            ErrorCode.TABLE_VALUE_NOT_FOUND,
            f"unsupported character set {declared!r} in MSH-18 "
            "(accepted: UNICODE UTF-8, 8859/1, 8859/15, ASCII)",
            segment="MSH",
            field=18,
        ) from None


def _decode(data: bytes, charset: str, warnings: list[str]) -> str:
    try:
        text = data.decode(charset)
    except UnicodeDecodeError as exc:
        if charset == "ascii":
            # No MSH-18 means ASCII, but real senders put UTF-8 there (ANS OMI^O23 sample).
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                warnings.append(
                    "MSH-18 is empty (ASCII) but the message contains UTF-8 text; read as UTF-8"
                )
                return text
        raise Hl7ParseError(
            ErrorCode.DATA_TYPE_ERROR,
            f"bytes at offset {exc.start} are not valid {charset} as declared in MSH-18",
            segment="MSH",
            field=18,
        ) from None
    if charset.startswith("iso-8859"):
        bad = _C1_CONTROLS.search(text)
        if bad:
            raise Hl7ParseError(
                ErrorCode.DATA_TYPE_ERROR,
                f"byte 0x{ord(bad.group()):02X} at offset {bad.start()} is a control code, "
                f"not {charset} text (is the message really UTF-8?)",
                segment="MSH",
                field=18,
            )
    return text


def parse_message(data: bytes) -> Message:
    """Parse raw HL7 bytes (segments separated by CR, LF or CRLF) into a :class:`Message`."""
    enc, _ = _header_fields(data)
    charset = charset_of(data)
    warnings: list[str] = []
    text = _decode(data, charset, warnings)
    segments: list[Segment] = []
    counts: dict[str, int] = {}
    for line in re.split(r"\r\n|\r|\n", text.strip("\r\n \t")):
        if not line.strip():
            continue
        name = line[:3]
        if not _SEGMENT_NAME.fullmatch(name) or (len(line) > 3 and line[3] != enc.field):
            raise Hl7ParseError(
                ErrorCode.SEGMENT_SEQUENCE_ERROR,
                f"invalid segment after {segments[-1].name if segments else 'MSH'}: {line[:20]!r}",
                segment=name if _SEGMENT_NAME.fullmatch(name) else None,
            )
        parts = line.split(enc.field)
        fields = ("MSH", enc.field, *parts[1:]) if name == "MSH" else tuple(parts)
        counts[name] = counts.get(name, 0) + 1
        segments.append(Segment(name, tuple(fields), enc, charset, counts[name]))
    if not segments or segments[0].name != "MSH":
        raise Hl7ParseError(
            ErrorCode.SEGMENT_SEQUENCE_ERROR,
            "message does not start with an MSH segment",
            segment="MSH",
        )
    if counts["MSH"] > 1:
        raise Hl7ParseError(
            ErrorCode.SEGMENT_SEQUENCE_ERROR,
            "more than one MSH segment: batches must be sent as separate MLLP frames",
            segment="MSH",
            sequence=2,
        )
    return Message(tuple(segments), enc, charset, tuple(warnings))


def read_header(data: bytes) -> Segment | None:
    """Best-effort MSH of bytes that may not parse at all (to address a NACK); None if no MSH."""
    try:
        enc, fields = _header_fields(data)
    except Hl7ParseError:
        return None
    try:
        charset = charset_of(data)
    except Hl7ParseError:
        charset = "latin-1"
    if charset != "latin-1":
        # Re-read with the declared charset so non-ASCII application names survive.
        first = re.split(rb"\r\n|\r|\n", data.lstrip(b"\r\n \t"), maxsplit=1)[0]
        parts = first.decode(charset, errors="replace").split(enc.field)
        fields = ["MSH", enc.field, *parts[1:]]
    return Segment("MSH", tuple(fields), enc, charset)
