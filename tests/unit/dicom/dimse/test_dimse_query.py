"""C-FIND identifiers: return keys empty, matching keys set, unknown keys refused."""

import pytest

from drimbox.dicom.dimse.query import SERIES_KEYS, STUDY_KEYS, build_identifier


def test_study_identifier_has_every_return_key() -> None:
    ds = build_identifier("STUDY", STUDY_KEYS, {"PatientID": "P1"})
    assert ds.QueryRetrieveLevel == "STUDY"
    assert ds.PatientID == "P1"
    assert all(keyword in ds for keyword in STUDY_KEYS)
    assert ds.StudyInstanceUID == ""


def test_unknown_matching_key_is_refused() -> None:
    with pytest.raises(ValueError, match="not a SERIES key: PatientID"):
        build_identifier("SERIES", SERIES_KEYS, {"PatientID": "P1"})
