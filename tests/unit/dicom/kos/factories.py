"""Constants and small factories shared by the KOS tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from drimbox.dicom.kos import KosInstance, KosSeries, series_retrieve_url
from support.ans_messages import data_root

CT = "1.2.840.10008.5.1.4.1.1.2"
STUDY_A = "1.2.250.1.213.4.5.2.1.101"
BASE_URL = "https://vi1.999.mesimagesmedicales.fr/drimbox/rs"
PARIS_SUMMER = dt.timezone(dt.timedelta(hours=2))


def ans_file(relative: str) -> Path:
    """A file of the ANS DRIM-M test data (skips, or fails under CI=true, when absent)."""
    path = data_root() / relative
    if not path.is_file():
        pytest.fail(f"ANS test file missing: {path}")
    return path


def make_series(index: int, count: int, *, study: str = STUDY_A) -> KosSeries:
    series_uid = f"1.2.250.1.213.4.5.2.2.101.{200 + index}"
    return KosSeries(
        series_instance_uid=series_uid,
        retrieve_url=series_retrieve_url(BASE_URL, study, series_uid),
        instances=tuple(
            KosInstance(CT, f"1.2.250.1.213.4.5.2.3.101.{200 + index}.{n}")
            for n in range(1, count + 1)
        ),
        modality="CT",
        description=f"Serie A{index}",
    )
