"""Shared inputs for the KOS tests: the ANS exam A identity and a dciodvfy runner."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from drimbox.dicom.kos import KosAuthoring, KosPatient, KosRequest, KosSeries, kos_bytes
from support import kos_samples

from .factories import PARIS_SUMMER, STUDY_A, make_series


@pytest.fixture
def patient() -> KosPatient:
    """PAT-TROIS DOMINIQUE, the INS identity of the ANS exams."""
    return kos_samples.patient()


@pytest.fixture
def request_a() -> KosRequest:
    return KosRequest(
        study_instance_uid=STUDY_A,
        accession_number="ACN101",
        accession_issuer_oid="1.2.250.1.213.4.5.2.5",
        placer_order_number="OPN101",
        placer_order_issuer_oid="1.2.250.1.213.4.5.2.6",
        requested_procedure_description="CT Head W contrast IV",
        study_date=dt.date(2022, 8, 22),
        study_time=dt.time(8, 31, 17, 658000),
        study_description="Examen A",
    )


@pytest.fixture
def two_series() -> list[KosSeries]:
    return [make_series(1, 3), make_series(2, 2)]


@pytest.fixture
def authoring() -> KosAuthoring:
    return KosAuthoring(
        institution_name="Centre de radiologie Ambroise",
        institution_id="101235555",
        content_datetime=dt.datetime(2024, 8, 28, 16, 23, 26, tzinfo=PARIS_SUMMER),
        retrieve_location_uid="1.2.250.1.999.1.1",
        software_versions="drimbox test",
    )


DCIODVFY = "/usr/bin/dciodvfy"


@pytest.fixture
def dciodvfy(tmp_path: Path) -> Callable[[Dataset], list[str]]:
    """Write a KOS to a file, run dciodvfy on it, return its output lines.

    Fails the test on any line starting with "Error"; skips if dciodvfy is absent (fails on CI).
    """
    if shutil.which(DCIODVFY) is None:
        if os.environ.get("CI") == "true":
            pytest.fail("dciodvfy (Debian dicom3tools) is required on CI")
        pytest.skip("dciodvfy not installed (apt-get install dicom3tools)")

    def run(ds: Dataset) -> list[str]:
        path = tmp_path / f"{ds.SOPInstanceUID}.dcm"
        path.write_bytes(kos_bytes(ds))
        done = subprocess.run(
            [DCIODVFY, str(path)], capture_output=True, text=True, timeout=60, check=False
        )
        lines = (done.stdout + done.stderr).splitlines()
        errors = [line for line in lines if line.startswith("Error") or "Error - " in line]
        assert not errors, "dciodvfy reported errors:\n" + "\n".join(lines)
        assert any("KeyObjectSelectionDocument" in line for line in lines), lines
        return lines

    return run
