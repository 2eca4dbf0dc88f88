"""Input checks of the KOS model: a bad value is named when it enters."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from drimbox.dicom.kos import (
    KosAuthoring,
    KosError,
    KosInputError,
    KosInstance,
    KosPatient,
    KosRequest,
    KosSeries,
)
from drimbox.dicom.kos.model import check_ins

from .factories import BASE_URL, CT, STUDY_A


@pytest.mark.parametrize("ins", ["279035121518989", "274075176079430", "248039263001064"])
def test_ans_ins_values_have_valid_keys(ins: str) -> None:
    assert check_ins(ins) == ins


def test_corsican_ins_key_uses_19_and_18() -> None:
    body = "185022A123456"
    key = 97 - int(body.replace("2A", "19")) % 97
    assert check_ins(f"{body}{key:02d}")


@pytest.mark.parametrize(
    ("ins", "reason"),
    [
        ("279035121518988", "wrong control key"),
        ("27903512151898", "15 characters"),
        ("A79035121518989", "15 characters"),
    ],
)
def test_bad_ins_is_refused(ins: str, reason: str) -> None:
    with pytest.raises(KosInputError, match=reason):
        check_ins(ins)


def test_input_errors_are_kos_errors() -> None:
    assert issubclass(KosInputError, KosError)
    assert KosError.http_status == 422


def test_patient_checks(patient: KosPatient) -> None:
    with pytest.raises(KosInputError, match="sex"):
        dataclasses.replace(patient, sex="U")
    with pytest.raises(KosInputError, match="given names is empty"):
        dataclasses.replace(patient, given_names=())
    with pytest.raises(KosInputError, match="'\\^'"):
        dataclasses.replace(patient, birth_name="PAT^TROIS")
    with pytest.raises(KosInputError, match="INSEE"):
        dataclasses.replace(patient, birth_place_code="6322")
    with pytest.raises(KosInputError, match="IPP needs the OID"):
        dataclasses.replace(patient, ipp_issuer_oid=None)
    with pytest.raises(KosInputError, match="assigning authority OID"):
        dataclasses.replace(patient, ins_oid="INS-NIR")


def test_request_checks(request_a: KosRequest) -> None:
    with pytest.raises(KosInputError, match="longer than 16"):
        dataclasses.replace(request_a, accession_number="A" * 17)
    with pytest.raises(KosInputError, match="go together"):
        dataclasses.replace(request_a, placer_order_issuer_oid=None)
    with pytest.raises(KosInputError, match="StudyInstanceUID"):
        dataclasses.replace(request_a, study_instance_uid="1.2.3.")
    with pytest.raises(KosInputError, match="accession number is empty"):
        dataclasses.replace(request_a, accession_number=" ")


def test_series_url_must_name_the_series() -> None:
    url = f"{BASE_URL}/studies/{STUDY_A}/series/1.2.3"
    with pytest.raises(KosInputError, match=r"does not name series 1\.2\.4"):
        KosSeries("1.2.4", url, (KosInstance(CT, "1.2.5"),))
    with pytest.raises(KosInputError, match="references no instance"):
        KosSeries("1.2.3", url, ())


def test_authoring_needs_an_aware_datetime(authoring: KosAuthoring) -> None:
    with pytest.raises(KosInputError, match="timezone-aware"):
        dataclasses.replace(authoring, content_datetime=dt.datetime(2024, 1, 1, 12, 0))
    with pytest.raises(KosInputError, match="'\\^'"):
        dataclasses.replace(authoring, institution_name="A^B")
