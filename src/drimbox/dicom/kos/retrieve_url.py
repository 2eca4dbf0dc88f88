"""The RAD-107 (WADO-RS) series URL written as RetrieveURL (0008,1190) in each KOS series item.

The Consommatrice calls exactly this URL, so it must be the public URL this Source serves for
the PACS that holds the series: ``<base>/studies/{study}/series/{series}``, with the base taken
from the PACS ``<location>`` in the configuration (DB.VI-SO.07, DB.VI-SO.127).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from drimbox.dicom.kos.errors import KosInputError
from drimbox.dicom.kos.uids import check_uid

_SERIES_TAIL = re.compile(r"/studies/(?P<study>[0-9.]+)/series/(?P<series>[0-9.]+)")


def normalise_base_url(base_url: str) -> str:
    """Check a public WADO-RS base URL and return it without trailing or doubled slashes.

    Only absolute http(s) URLs without query or fragment are accepted: anything else could not
    be followed by a Consommatrice.
    """
    text = base_url.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise KosInputError(f"RAD-107 base URL must be http(s): {base_url!r}")
    if not parts.hostname:
        raise KosInputError(f"RAD-107 base URL has no host: {base_url!r}")
    if parts.query or parts.fragment:
        raise KosInputError(f"RAD-107 base URL must not carry a query or fragment: {base_url!r}")
    if any(ch.isspace() for ch in text):
        raise KosInputError(f"RAD-107 base URL contains white space: {base_url!r}")
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


def series_retrieve_url(base_url: str, study_uid: str, series_uid: str) -> str:
    """The exact RAD-107 series URL for `series_uid` of `study_uid` under `base_url`."""
    check_uid(study_uid, "StudyInstanceUID")
    check_uid(series_uid, "SeriesInstanceUID")
    return f"{normalise_base_url(base_url)}/studies/{study_uid}/series/{series_uid}"


@dataclass(frozen=True, slots=True)
class SeriesUrl:
    """A RetrieveURL split into its base and the two UIDs it names."""

    base_url: str
    study_uid: str
    series_uid: str


def split_series_url(url: str) -> SeriesUrl:
    """Split a RAD-107 series URL; raise `KosInputError` if it is not one."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise KosInputError(f"RetrieveURL is not an absolute http(s) URL: {url!r}")
    match = _SERIES_TAIL.search(parts.path)
    if match is None or match.end() != len(parts.path.rstrip("/")):
        raise KosInputError(
            f"RetrieveURL does not end in /studies/{{study}}/series/{{series}}: {url!r}"
        )
    base_path = parts.path[: match.start()]
    return SeriesUrl(
        base_url=urlunsplit((parts.scheme.lower(), parts.netloc, base_path, "", "")),
        study_uid=match["study"],
        series_uid=match["series"],
    )
