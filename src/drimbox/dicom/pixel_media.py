"""Media types of pixel data and bulk data (PS3.18 §8.7.3, Tables 8.7.3-2 to 8.7.3-5) and the
``Accept`` negotiation of frame / bulk-data resources.

A frame or a Pixel Data value goes out either *native* (``application/octet-stream``, little
endian, labelled Explicit VR Little Endian) or *compressed* as the bitstream of one frame in the
media type of its transfer syntax. The table is PS3.18's: image/jpeg (.50 default, .51, .57,
.70), image/jls (.80 default, .81), image/jp2 (.90 default, .91), image/jpx (.92 default, .93),
image/jphc (HTJ2K .201 default, .202, .203), image/dicom-rle (.5). image/jp2 is what PS3.18
names for the raw JPEG 2000 codestream of DICOM fragments (no JP2 box wrapper is added).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from drimbox.dicom.transfer import (
    CATALOGUE,
    EXPLICIT_VR_LE,
    PRODUCED,
    AcceptRange,
    ImageTraits,
    can_produce,
)

OCTET_STREAM = "application/octet-stream"
_P = "1.2.840.10008.1.2"

# fmt: off
_MEDIA: tuple[tuple[str, tuple[str, ...]], ...] = (
    # media type            transfer syntaxes, the default one first (PS3.18 Table 8.7.3-5)
    ("image/jpeg",          (_P + ".4.50", _P + ".4.51", _P + ".4.57", _P + ".4.70")),
    ("image/jls",           (_P + ".4.80", _P + ".4.81")),
    ("image/jp2",           (_P + ".4.90", _P + ".4.91")),
    ("image/jpx",           (_P + ".4.92", _P + ".4.93")),
    ("image/jphc",          (_P + ".4.201", _P + ".4.202", _P + ".4.203")),
    ("image/dicom-rle",     (_P + ".5",)),
)
# fmt: on
PIXEL_MEDIA: Mapping[str, str] = MappingProxyType(
    {syntax: media for media, syntaxes in _MEDIA for syntax in syntaxes}
)
"""Compressed transfer syntax → media type of its frames."""
DEFAULT_SYNTAX: Mapping[str, str] = MappingProxyType(
    {OCTET_STREAM: EXPLICIT_VR_LE} | {media: syntaxes[0] for media, syntaxes in _MEDIA}
)
"""Media type → the transfer syntax meant when ``Accept`` names none (PS3.18 §8.7.3.5.2)."""

NATIVE_SYNTAXES = frozenset(uid for uid, ts in CATALOGUE.items() if not ts.encapsulated)
"""Syntaxes whose pixel data goes out as native little-endian octets."""


def media_type_of(syntax: str) -> str | None:
    """The media type frames in ``syntax`` are sent as; None when PS3.18 names none (MPEG…)."""
    if syntax in NATIVE_SYNTAXES:
        return OCTET_STREAM
    return PIXEL_MEDIA.get(syntax)


def label_of(syntax: str) -> str:
    """The ``transfer-syntax`` a part is labelled with: native data is always sent little
    endian, so it is labelled Explicit VR Little Endian whatever it was stored as."""
    return EXPLICIT_VR_LE if syntax in NATIVE_SYNTAXES else syntax


@dataclass(frozen=True)
class PixelChoice:
    """What to send: ``syntax`` to produce the frames in (the stored one for pass-through)."""

    media_type: str
    syntax: str
    q: float
    passthrough: bool

    @property
    def native(self) -> bool:
        return self.media_type == OCTET_STREAM


def _range_quality(r: AcceptRange, media: str, syntax: str) -> int | None:
    """How specifically range ``r`` matches (media, syntax): 2 exact syntax, 1 wildcard, 0 any
    media; None when it does not match."""
    wanted_syntax = r.transfer_syntax
    if r.media_type in ("", "*/*", "multipart/*"):  # "": ``transfer-syntax=…`` alone
        wanted_type = "*/*"
    elif r.media_type == "multipart/related":
        wanted_type = r.params.get("type", OCTET_STREAM).lower()
    else:
        return None
    if wanted_type == "*/*":
        type_ok = True
    elif wanted_type.endswith("/*"):
        type_ok = media.startswith(wanted_type[:-1])
    else:
        type_ok = wanted_type == media
    if not type_ok:
        return None
    if wanted_syntax is None:
        if wanted_type == "*/*" or wanted_type.endswith("/*"):
            return 0
        return 2 if DEFAULT_SYNTAX.get(media) == syntax else None
    if wanted_syntax == "*":
        return 1
    return 2 if wanted_syntax == syntax else None


def quality(ranges: Iterable[AcceptRange], media: str, syntax: str) -> float | None:
    """q of (media, syntax) under the most specific matching range (RFC 9110 §12.5.1)."""
    best: tuple[int, float] | None = None
    for r in ranges:
        rank = _range_quality(r, media, label_of(syntax))
        if rank is None:
            continue
        if best is None or rank > best[0] or (rank == best[0] and r.q > best[1]):
            best = (rank, r.q)
    return None if best is None else best[1]


def offered(stored: str, traits: ImageTraits) -> list[str]:
    """Syntaxes the pixel data of an instance stored as ``stored`` can be sent in."""
    syntaxes = [stored] if media_type_of(stored) is not None else []
    for uid in (EXPLICIT_VR_LE, *PRODUCED):
        if uid not in syntaxes and media_type_of(uid) and can_produce(uid, stored, traits):
            syntaxes.append(uid)
    if stored in NATIVE_SYNTAXES:  # native already: the decoded form is the stored one
        syntaxes = [s for s in syntaxes if s == stored or s not in NATIVE_SYNTAXES]
    return syntaxes


def negotiate_pixels(
    ranges: list[AcceptRange], stored: str, traits: ImageTraits
) -> PixelChoice | None:
    """The acceptable representation with the highest q; ties go to pass-through, then to the
    native form (no coding), then to the cheapest coding. None: nothing acceptable (406)."""
    candidates: list[tuple[float, int, int, int, str]] = []
    for position, uid in enumerate(offered(stored, traits)):
        media = media_type_of(uid)
        assert media is not None
        q = quality(ranges, media, uid)
        if q is None or q <= 0.0:
            continue
        passthrough = uid == stored
        cost = 0 if passthrough or uid in NATIVE_SYNTAXES else CATALOGUE[uid].cost
        candidates.append((-q, int(not passthrough), cost, position, uid))
    if not candidates:
        return None
    best = min(candidates)
    uid = best[4]
    media = media_type_of(uid)
    assert media is not None
    return PixelChoice(media, uid, -best[0], uid == stored)


def supported(stored: str, traits: ImageTraits) -> list[str]:
    """What a 406 lists: ``<media type>; transfer-syntax=<uid>`` for every offered form."""
    return [
        f"{media_type_of(uid)}; transfer-syntax={label_of(uid)}" for uid in offered(stored, traits)
    ]


def octet_stream_acceptable(ranges: Iterable[AcceptRange]) -> bool:
    """For non-pixel bulk data, the only representation is native ``application/octet-stream``."""
    q = quality(ranges, OCTET_STREAM, EXPLICIT_VR_LE)
    return q is not None and q > 0.0
