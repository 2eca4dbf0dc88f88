"""The RAD-107 series URL written as RetrieveURL."""

from __future__ import annotations

import pytest

from drimbox.dicom.kos import KosInputError, series_retrieve_url, split_series_url
from drimbox.dicom.kos.retrieve_url import normalise_base_url

STUDY = "1.2.250.1.213.4.5.2.1.101"
SERIES = "1.2.250.1.213.4.5.2.2.101.201"


def test_series_url_is_base_studies_series() -> None:
    url = series_retrieve_url("https://vi1.999.mesimagesmedicales.fr/rs", STUDY, SERIES)
    assert url == f"https://vi1.999.mesimagesmedicales.fr/rs/studies/{STUDY}/series/{SERIES}"


@pytest.mark.parametrize(
    ("base", "normalised"),
    [
        ("https://h.example/rs/", "https://h.example/rs"),
        ("https://h.example//rs///wado//", "https://h.example/rs/wado"),
        ("HTTPS://h.example:8443", "https://h.example:8443"),
        ("  http://127.0.0.1:8042/dicom-web ", "http://127.0.0.1:8042/dicom-web"),
    ],
)
def test_base_url_is_normalised(base: str, normalised: str) -> None:
    assert normalise_base_url(base) == normalised


@pytest.mark.parametrize(
    ("base", "reason"),
    [
        ("ftp://h.example/rs", "must be http"),
        ("h.example/rs", "must be http"),
        ("https:///rs", "no host"),
        ("https://h.example/rs?x=1", "query or fragment"),
        ("https://h.example/rs#top", "query or fragment"),
        ("https://h.example/r s", "white space"),
    ],
)
def test_bad_base_urls_are_refused(base: str, reason: str) -> None:
    with pytest.raises(KosInputError, match=reason):
        normalise_base_url(base)


def test_bad_uids_are_refused() -> None:
    with pytest.raises(KosInputError, match="SeriesInstanceUID"):
        series_retrieve_url("https://h.example", STUDY, "1.2.x")


def test_split_inverts_series_url() -> None:
    url = series_retrieve_url("https://h.example/a/b", STUDY, SERIES)
    parts = split_series_url(url)
    assert (parts.base_url, parts.study_uid, parts.series_uid) == (
        "https://h.example/a/b",
        STUDY,
        SERIES,
    )


@pytest.mark.parametrize(
    "url",
    [
        f"https://h.example/studies/{STUDY}",
        f"https://h.example/studies/{STUDY}/series/{SERIES}/instances/1.2",
        f"file:///studies/{STUDY}/series/{SERIES}",
    ],
)
def test_split_refuses_non_series_urls(url: str) -> None:
    with pytest.raises(KosInputError):
        split_series_url(url)
