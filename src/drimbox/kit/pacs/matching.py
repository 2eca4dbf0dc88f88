"""DICOM attribute matching for C-FIND (PS3.4 C.2.2.2), on plain string values.

Each function answers "does this stored value match this query value?" for one kind of
matching; :func:`matches` picks the kind from the VR and the query value, as PS3.4 prescribes.
"""

from __future__ import annotations

import re
from functools import lru_cache

_RANGE_VRS = frozenset({"DA", "TM", "DT"})
_NO_WILDCARD_VRS = frozenset({"DA", "TM", "DT", "UI", "SQ", "IS", "DS", "US", "UL", "SS", "SL"})


@lru_cache(maxsize=256)
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def is_universal(query: str) -> bool:
    """Zero-length value or a lone ``*``: matches everything (C.2.2.2.3, C.2.2.2.4)."""
    return query == "" or query == "*"


def match_single(stored: str, query: str, *, ignore_case: bool = False) -> bool:
    """Single value matching; PN may be matched case-insensitively (C.2.2.2.1)."""
    if ignore_case:
        return stored.casefold() == query.casefold()
    return stored == query


def match_wildcard(stored: str, query: str, *, ignore_case: bool = False) -> bool:
    """``*`` matches any run of characters, ``?`` exactly one (C.2.2.2.4)."""
    return _wildcard_regex(query, ignore_case).fullmatch(stored) is not None


def match_uid_list(stored: str, query: str) -> bool:
    """List of UID matching: backslash-separated alternatives (C.2.2.2.2)."""
    return stored in query.split("\\")


def _normalise_time(value: str) -> str:
    """Drop the ':' separators of old-style TM values so that strings compare in order."""
    return value.replace(":", "")


def match_range(stored: str, query: str, vr: str) -> bool:
    """Range matching ``A-B``, ``-B``, ``A-`` for DA/TM/DT (C.2.2.2.5); bounds are inclusive.

    A value-less stored attribute never matches a range. Times compare on the digits given in
    the bound: ``-1200`` includes ``120000.5``.
    """
    if not stored:
        return False
    low, _, high = query.partition("-")
    value = _normalise_time(stored) if vr == "TM" else stored
    low = _normalise_time(low.strip()) if vr == "TM" else low.strip()
    high = _normalise_time(high.strip()) if vr == "TM" else high.strip()
    if low and value[: len(low)] < low:
        return False
    return not (high and value[: len(high)] > high)


def matches(stored: str, query: str, vr: str) -> bool:
    """True when the stored value satisfies the query value under the VR's matching rules."""
    if is_universal(query):
        return True
    if vr in _RANGE_VRS and "-" in query:
        return match_range(stored, query, vr)
    if vr == "UI":
        return match_uid_list(stored, query)
    ignore_case = vr == "PN"
    if vr not in _NO_WILDCARD_VRS and ("*" in query or "?" in query):
        return match_wildcard(stored, query, ignore_case=ignore_case)
    if vr in _RANGE_VRS:
        # A single date or time: equal on the digits the query gives (TM 10 matches 1015).
        value = _normalise_time(stored) if vr == "TM" else stored
        wanted = _normalise_time(query) if vr == "TM" else query
        return value.startswith(wanted) if vr == "TM" else value == wanted
    if vr in {"IS", "US", "UL", "SS", "SL"}:
        try:
            return int(stored) == int(query)
        except ValueError:
            return False
    return match_single(stored.strip(), query.strip(), ignore_case=ignore_case)


def matches_any(stored_values: list[str], query: str, vr: str) -> bool:
    """Multi-valued stored attribute (ModalitiesInStudy, OtherPatientIDs): any value matches.

    A multi-valued query (``CT\\MR``) matches when any stored value matches any query value.
    """
    if is_universal(query):
        return True
    wanted = query.split("\\")
    return any(matches(value, w, vr) for value in stored_values for w in wanted)
