"""Transfer-syntax catalogue and RAD-107 ``Accept`` negotiation (RFC 9110 §12.5.1, PS3.18 §8.7.3).

The negotiation is per instance: what we can *produce* depends on the stored syntax and on the
image (bit depth, colour).

Policy for 8-bit JPEG Baseline (.50) on images deeper than 8 bits: we **refuse** it (the instance
falls back to the client's next acceptable syntax, else 406). Squeezing a 12-16-bit CT into 8 bits
would apply a window irreversibly (HU outside it lost), and the CT/MR IODs require Bits Allocated
16, so the result is not a valid CT image (dciodvfy flags it; Orthanc's .50 fails on such data).
JPEG Extended (.51) is produced instead for deep greyscale images: values are shifted (and, only
if their span exceeds 4096, scaled) into 12 bits with Rescale Slope/Intercept (or the window)
adjusted so that modality values are kept; see :mod:`drimbox.dicom.transcode`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pydicom.dataset import Dataset

from drimbox.errors import DrimboxError

EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
IMPLICIT_VR_LE = "1.2.840.10008.1.2"
BIG_ENDIAN = "1.2.840.10008.1.2.2"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
DICOM_MEDIA = "application/dicom"


class AcceptHeaderError(DrimboxError):
    """The ``Accept`` header is not valid RFC 9110 syntax (answered with HTTP 400)."""

    http_status = 400


@dataclass(frozen=True)
class TransferSyntax:
    """One transfer syntax as we handle it.

    ``max_bits`` is the deepest Bits Stored the syntax carries *as we produce it*; ``cost`` ranks
    the work to produce it (measured, per frame: HTJ2K ≈2 ms, JPEG ≈4 ms, JPEG-LS ≈7 ms, OpenJPEG
    ≈30 ms); pass-through costs nothing and always wins a tie.
    """

    uid: str
    name: str
    encapsulated: bool
    lossy: bool
    max_bits: int
    cost: int
    produced: bool
    method: str | None = None  # LossyImageCompressionMethod (0028,2114) when lossy


_P = "1.2.840.10008.1.2"
# fmt: off
_TABLE: tuple[TransferSyntax, ...] = (
    #              uid             name                          encaps lossy  bits cost produced
    TransferSyntax(_P,             "Implicit VR Little Endian",  False, False, 16,  1,   False),
    TransferSyntax(EXPLICIT_VR_LE, "Explicit VR Little Endian",  False, False, 16,  1,   True),
    TransferSyntax(_P + ".1.99",   "Deflated Explicit VR LE",    False, False, 16,  2,   False),
    TransferSyntax(BIG_ENDIAN,     "Explicit VR Big Endian",     False, False, 16,  1,   False),
    TransferSyntax(_P + ".4.50",   "JPEG Baseline (Process 1)",  True,  True,  8,   4,   True,
                   "ISO_10918_1"),
    TransferSyntax(_P + ".4.51",   "JPEG Extended (Process 2 & 4)", True, True, 16, 4,   True,
                   "ISO_10918_1"),
    TransferSyntax(_P + ".4.57",   "JPEG Lossless (Process 14)", True,  False, 16,  5,   False),
    TransferSyntax(_P + ".4.70",   "JPEG Lossless SV1",          True,  False, 16,  5,   True),
    TransferSyntax(_P + ".4.80",   "JPEG-LS Lossless",           True,  False, 16,  6,   True),
    TransferSyntax(_P + ".4.81",   "JPEG-LS Near-Lossless",      True,  True,  16,  6,   False,
                   "ISO_14495_1"),
    TransferSyntax(_P + ".4.90",   "JPEG 2000 Lossless",         True,  False, 16,  9,   True),
    # .91 permits lossy coding; we code it reversibly so that a lossless-first client listing
    # .91 never receives degraded pixels.
    TransferSyntax(_P + ".4.91",   "JPEG 2000",                  True,  False, 16,  9,   True),
    TransferSyntax(_P + ".4.201",  "HTJ2K Lossless",             True,  False, 16,  3,   True),
    TransferSyntax(_P + ".4.202",  "HTJ2K Lossless RPCL",        True,  False, 16,  3,   False),
    TransferSyntax(_P + ".4.203",  "HTJ2K",                      True,  True,  16,  3,   True,
                   "ISO_15444_15"),
    TransferSyntax(_P + ".5",      "RLE Lossless",               True,  False, 16,  2,   False),
)
# fmt: on
CATALOGUE: Mapping[str, TransferSyntax] = MappingProxyType({ts.uid: ts for ts in _TABLE})
PRODUCED: tuple[str, ...] = tuple(uid for uid, ts in CATALOGUE.items() if ts.produced)


@dataclass(frozen=True)
class ImageTraits:
    """What of an instance decides which syntaxes can carry it (``has_pixels`` False: non-image)."""

    has_pixels: bool
    samples_per_pixel: int = 1
    bits_allocated: int = 16
    bits_stored: int = 16
    photometric: str = "MONOCHROME2"
    signed: bool = False

    @classmethod
    def of(cls, ds: Dataset) -> ImageTraits:
        """Read the traits from a dataset (pixel data need not be loaded)."""
        if "PixelData" not in ds:
            return cls(has_pixels=False)
        return cls(
            has_pixels=True,
            samples_per_pixel=int(ds.get("SamplesPerPixel", 1)),
            bits_allocated=int(ds.get("BitsAllocated", 16)),
            bits_stored=int(ds.get("BitsStored", ds.get("BitsAllocated", 16))),
            photometric=str(ds.get("PhotometricInterpretation", "MONOCHROME2")),
            signed=int(ds.get("PixelRepresentation", 0)) == 1,
        )


def can_produce(target: str, stored: str, traits: ImageTraits) -> bool:
    """True when we can send an instance stored as ``stored`` in syntax ``target``."""
    if target == stored:
        return True
    ts = CATALOGUE.get(target)
    if ts is None or not ts.produced:
        return False
    if not traits.has_pixels:
        return target == EXPLICIT_VR_LE  # PS3.18 §8.7.3.5: non-image objects go as Explicit VR LE
    if stored not in CATALOGUE or stored == BIG_ENDIAN:
        # MPEG video: we cannot decode it. Big Endian (retired): pydicom cannot rewrite its raw
        # binary values in little endian. Both only pass through.
        return False
    if traits.bits_allocated not in (8, 16):
        # 1-bit or 32-bit pixels: only a native-to-native rewrite, no pixel coding
        return target == EXPLICIT_VR_LE and not CATALOGUE[stored].encapsulated
    if ts.lossy and traits.photometric == "PALETTE COLOR":
        return False  # lossy coding of palette indices makes colour noise
    if target == JPEG_BASELINE:
        return traits.bits_stored <= 8 and traits.bits_allocated == 8
    if target == JPEG_EXTENDED and traits.samples_per_pixel > 1:
        return traits.bits_stored <= 8
    return traits.bits_stored <= ts.max_bits


# --- Accept parsing -------------------------------------------------------------------------

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QVALUE = re.compile(r"(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)\Z")
_MEDIA = re.compile(rf"({_TOKEN})/({_TOKEN})\Z")
_PARAM_NAME = re.compile(rf"{_TOKEN}\Z")
_BCHARS = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]\Z")


@dataclass(frozen=True)
class AcceptRange:
    """One media range of ``Accept`` with its parameters (names lower-cased, values unquoted).

    ``media_type`` is ``""`` for the parameter-only form some DRIM-M clients send
    (``Accept: transfer-syntax=…;q=0.9``); we read it as multipart/related DICOM.
    """

    media_type: str
    params: Mapping[str, str] = field(default_factory=dict)
    q: float = 1.0

    @property
    def transfer_syntax(self) -> str | None:
        return self.params.get("transfer-syntax")

    @property
    def boundary(self) -> str | None:
        """The client's ``boundary`` if it is a valid RFC 2046 boundary (``**`` is not)."""
        value = self.params.get("boundary")
        return value if value is not None and _BCHARS.match(value) else None

    def is_dicom_multipart(self) -> bool:
        """Does this range cover ``multipart/related; type="application/dicom"``?"""
        if self.media_type in ("", "*/*", "multipart/*"):
            return True
        if self.media_type != "multipart/related":
            return False
        return self.params.get("type", DICOM_MEDIA).lower() == DICOM_MEDIA


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside quoted strings (RFC 9110 §5.6.4, backslash escapes)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == sep and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted:
        raise AcceptHeaderError(f"unterminated quoted string in Accept: {text!r}")
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _parse_range(element: str) -> AcceptRange:
    pieces = [p.strip() for p in _split(element, ";")]
    head = pieces[0]
    if "=" in head:  # parameter-only form: no media type at all
        media, param_pieces = "", pieces
    else:
        if not _MEDIA.match(head):
            raise AcceptHeaderError(f"invalid media range {head!r} in Accept")
        media, param_pieces = head.lower(), pieces[1:]
    params: dict[str, str] = {}
    q = 1.0
    for piece in param_pieces:
        if not piece:
            continue  # tolerate ";;" and a trailing ";"
        name, eq, value = piece.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not eq or not _PARAM_NAME.match(name) or not value:
            raise AcceptHeaderError(f"invalid parameter {piece!r} in Accept range {element!r}")
        if name == "q":
            if not _QVALUE.match(value):
                raise AcceptHeaderError(
                    f"invalid q-value {value!r} in Accept range {element!r} "
                    "(RFC 9110 §12.4.2: 0 to 1 with at most three decimals)"
                )
            q = float(value)
        else:
            params[name] = _unquote(value)
    return AcceptRange(media, MappingProxyType(params), q)


def parse_accept(header_values: Iterable[str]) -> list[AcceptRange]:
    """Parse every ``Accept`` line (each a comma list; empty elements are allowed and skipped).

    No header at all means ``*/*``, per RFC 9110 §12.5.1.
    """
    ranges: list[AcceptRange] = []
    seen_header = False
    for value in header_values:
        seen_header = True
        for element in _split(value, ","):
            if element.strip():
                ranges.append(_parse_range(element.strip()))
    if not seen_header:
        return [AcceptRange("*/*")]
    return ranges


def parse_media_type(value: str) -> tuple[str, Mapping[str, str]]:
    """Split a ``Content-Type`` value into its lower-cased type and its unquoted parameters."""
    parsed = _parse_range(value.strip())
    return parsed.media_type, parsed.params


def quality_of(ranges: Iterable[AcceptRange], media_type: str) -> float:
    """q for a plain media type (e.g. ``application/json`` for the health check), 0 if refused."""
    major = media_type.split("/")[0].lower()
    best: tuple[int, float] = (-1, 0.0)
    for r in ranges:
        if r.media_type == media_type.lower():
            rank = 2
        elif r.media_type == f"{major}/*":
            rank = 1
        elif r.media_type == "*/*":
            rank = 0
        else:
            continue
        if rank > best[0] or (rank == best[0] and r.q > best[1]):
            best = (rank, r.q)
    return best[1]


# --- negotiation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Negotiated:
    """The syntax to send; ``boundary`` is the client's (valid) one, informational only: the
    writer keeps its random boundary, because a fixed one may occur inside the binary parts."""

    syntax: str
    q: float
    passthrough: bool
    boundary: str | None = None


@dataclass(frozen=True)
class NotAcceptable:
    """No acceptable syntax (HTTP 406); ``supported`` lists what we could have sent."""

    supported: tuple[str, ...]


def _syntax_quality(ranges: list[AcceptRange], uid: str) -> tuple[float, AcceptRange] | None:
    """q of ``uid`` under the most specific matching range (RFC 9110: specific overrides ``*``).

    A DICOM range without ``transfer-syntax`` means Explicit VR Little Endian (PS3.18 §8.7.3.5.2).
    """
    best: tuple[int, float, AcceptRange] | None = None
    for r in ranges:
        if not r.is_dicom_multipart():
            continue
        ts = r.transfer_syntax or EXPLICIT_VR_LE
        if ts == uid:
            rank = 1
        elif ts == "*":
            rank = 0
        else:
            continue
        if best is None or rank > best[0] or (rank == best[0] and r.q > best[1]):
            best = (rank, r.q, r)
    return None if best is None else (best[1], best[2])


def negotiable(stored: str) -> str:
    """The syntax negotiation starts from: Implicit VR Little Endian is never sent over DICOMweb
    (PS3.18 §8.7.3.5.2), so such an instance is offered as Explicit VR Little Endian, a lossless
    rewrite of the same values (a C-STORE SCP may well receive implicit VR from a PACS)."""
    return EXPLICIT_VR_LE if stored == IMPLICIT_VR_LE else stored


def negotiate(
    ranges: list[AcceptRange],
    stored_syntax: str,
    traits: ImageTraits,
    *,
    prefer_passthrough: bool = False,
) -> Negotiated | NotAcceptable:
    """Choose the highest-q syntax we can produce for this instance.

    Ties go to pass-through, then to the cheapest to produce. With ``prefer_passthrough`` (a site
    setting) the stored syntax wins whenever the client accepts it at all (q > 0).
    """
    candidates: list[tuple[float, int, int, str, AcceptRange]] = []
    for uid in dict.fromkeys((stored_syntax, *PRODUCED)):
        if not can_produce(uid, stored_syntax, traits):
            continue
        found = _syntax_quality(ranges, uid)
        if found is None or found[0] <= 0.0:
            continue
        passthrough = uid == stored_syntax
        q = 2.0 if passthrough and prefer_passthrough else found[0]
        cost = 0 if passthrough else CATALOGUE[uid].cost
        candidates.append((-q, int(not passthrough), cost, uid, found[1]))
    if not candidates:
        supported = tuple(u for u in PRODUCED if can_produce(u, stored_syntax, traits))
        return NotAcceptable(supported)
    _, not_passthrough, _, uid, chosen = min(candidates, key=lambda c: c[:4])
    found = _syntax_quality(ranges, uid)
    return Negotiated(uid, found[0] if found else 0.0, not not_passthrough, chosen.boundary)
