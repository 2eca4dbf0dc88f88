"""parse_kos: round trips, the ANS samples, and a precise error for each kind of bad KOS."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from copy import deepcopy
from io import BytesIO

import pydicom
import pytest
from pydicom.dataset import Dataset

from drimbox.dicom.kos import (
    KosAuthoring,
    KosError,
    KosPatient,
    KosRequest,
    KosSeries,
    build_kin,
    build_kos,
    kos_bytes,
    parse_kos,
)
from support.dicom_xml import load_dicom_xml

from .factories import CT, STUDY_A, ans_file

KOS_OK = "test_a_blanc/Cross-validateur/OK_Cas_Passant/KOS_OK.xml"
KIN_MANIFEST = "informatif/KIN/Manifest_KOS.xml"
KOS_VALIDE = "test_a_blanc/Validateur_DICOM_Standard_Conformance/OK_KOS_Valide/OK_KOS_Valide.xml"


@pytest.fixture
def kos(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
) -> Dataset:
    return build_kos(patient, request_a, two_series, authoring)


def test_round_trip_through_bytes(
    kos: Dataset, patient: KosPatient, request_a: KosRequest, two_series: list[KosSeries]
) -> None:
    parsed = parse_kos(kos_bytes(kos))
    assert parsed.sop_instance_uid == kos.SOPInstanceUID
    assert parsed.series_instance_uid == kos.SeriesInstanceUID
    assert (parsed.series_number, parsed.instance_number) == (59, 1)
    assert parsed.study_instance_uid == STUDY_A
    assert parsed.title.value == "113030"
    assert not parsed.is_key_image_note
    assert (parsed.accession_number, parsed.accession_issuer_oid) == (
        "ACN101",
        "1.2.250.1.213.4.5.2.5",
    )
    assert (parsed.placer_order_number, parsed.placer_order_issuer_oid) == (
        "OPN101",
        "1.2.250.1.213.4.5.2.6",
    )
    assert parsed.requested_procedure_description == "CT Head W contrast IV"
    assert (parsed.study_date, parsed.study_time) == (dt.date(2022, 8, 22), request_a.study_time)
    assert parsed.content_datetime == dt.datetime(
        2024, 8, 28, 16, 23, 26, tzinfo=dt.timezone(dt.timedelta(hours=2))
    )
    who = parsed.patient
    assert (who.ins, who.ins_oid) == (patient.ins, patient.ins_oid)
    assert (who.family_name, who.given_name, who.birth_given_names) == (
        "PAT-TROIS",
        "DOMINIQUE",
        ("DOMINIQUE",),
    )
    assert (who.sex, who.birth_date, who.birth_place_code) == ("F", patient.birth_date, "63220")
    assert who.ipp is not None
    assert (who.ipp.value, who.ipp.issuer_oid) == ("IPP101", "1.2.250.1.213.4.5.2.4")
    assert [s.series_instance_uid for s in parsed.series] == [
        s.series_instance_uid for s in two_series
    ]
    assert [s.retrieve_url for s in parsed.series] == [s.retrieve_url for s in two_series]
    assert [s.instances for s in parsed.series] == [s.instances for s in two_series]
    assert parsed.instance_count == 5
    assert (parsed.institution_name, parsed.institution_id) == (
        "Centre de radiologie Ambroise",
        "101235555",
    )
    assert parsed.description is not None
    assert parsed.description.startswith("Examen : Examen A")
    assert parsed.predecessor is None


def test_key_image_note_round_trip(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
) -> None:
    kin = build_kin(patient, request_a, two_series, authoring, ["1.2.250.1.213.4.5.2.3.101.202.1"])
    parsed = parse_kos(kos_bytes(kin))
    assert parsed.is_key_image_note
    assert [(s.series_instance_uid, len(s.instances)) for s in parsed.series] == [
        ("1.2.250.1.213.4.5.2.2.101.202", 1)
    ]


def test_ans_cross_validator_kos() -> None:
    parsed = parse_kos(load_dicom_xml(ans_file(KOS_OK)))
    study = "1.3.6.1.4.1.5962.99.1.3711725607.829148806.1687338938407.3.18"
    assert parsed.study_instance_uid == study
    assert parsed.sop_instance_uid == (
        "1.2.250.1.59.844.2.1234567890123.1276394488319797597.955.1.1"
    )
    assert (parsed.accession_number, parsed.accession_issuer_oid) == (
        "725229536725008",
        "1.2.840.113619.6.198",
    )
    assert (parsed.placer_order_number, parsed.placer_order_issuer_oid) == (
        "12989855968",
        "2.16.840.1.113883.6.98",
    )
    who = parsed.patient
    assert (who.ins, who.ins_oid, who.issuer_of_patient_id) == (
        "274075176079430",
        "1.2.250.1.213.1.4.10",
        "ASIP-SANTE-INS-NIR",
    )
    assert (who.family_name, who.given_name, who.birth_given_names) == (
        "PAT-HUIT",
        "FRANCOISE",
        ("FRANCOISE",),
    )
    assert (who.sex, who.birth_date, who.birth_place_code) == ("M", dt.date(1996, 1, 13), "63220")
    assert (parsed.institution_name, parsed.institution_id) == ("BCOM", "499700367909006")
    base = "http://79.137.56.229:10368/drim-so/v1/rs"
    prefix = "1.3.6.1.4.1.5962.99.1.3711725607.829148806.1687338938407"
    assert [s.retrieve_url for s in parsed.series] == [
        f"{base}/studies/{study}/series/{prefix}.6.18",
        f"{base}/studies/{study}/series/{prefix}.6.28",
    ]
    assert {s.retrieve_location_uid for s in parsed.series} == {"1.2.3.4"}
    assert [len(s.instances) for s in parsed.series] == [10, 10]
    assert {i.sop_class_uid for s in parsed.series for i in s.instances} == {
        "1.2.840.10008.5.1.4.1.1.4"
    }


def test_ans_informative_manifest_with_its_key_image_note() -> None:
    parsed = parse_kos(load_dicom_xml(ans_file(KIN_MANIFEST)))
    assert parsed.sop_instance_uid == "1.2.250.1.213.4.5.2.3.101.259.31"
    assert (parsed.study_instance_uid, parsed.accession_number) == (STUDY_A, "ACN101")
    assert parsed.patient.ins == "279035121518989"
    assert parsed.patient.used_name == "PAT-TROIS"
    kin_series = parsed.series[-1]
    assert kin_series.series_instance_uid == "1.2.250.1.213.4.5.2.2.101.299"
    assert kin_series.instances[0].sop_class_uid == "1.2.840.10008.5.1.4.1.1.88.59"
    assert kin_series.retrieve_url == (
        f"http://localhost:4200/api/source/studies/{STUDY_A}/series/1.2.250.1.213.4.5.2.2.101.299"
    )


def test_ans_conformance_sample_has_a_text_root_and_is_refused() -> None:
    """OK_KOS_Valide's root content item is TEXT, not CONTAINER (PS3.3 C.17.3): say so."""
    ds = load_dicom_xml(ans_file(KOS_VALIDE))
    for strict in (True, False):
        with pytest.raises(KosError, match="root content item is not a CONTAINER"):
            parse_kos(ds, strict=strict)


# --- one precise error per defect ---------------------------------------------------------


def _broken(kos: Dataset, change: Callable[[Dataset], None]) -> Dataset:
    copy = deepcopy(kos)
    change(copy)
    return copy


def _series_item(ds: Dataset, index: int = 0) -> Dataset:
    item: Dataset = ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[index]
    return item


def test_not_dicom_bytes() -> None:
    with pytest.raises(KosError, match="not a DICOM Part-10 file"):
        parse_kos(b"%PDF-1.7 not a KOS")


@pytest.mark.parametrize("cut", [100, 300, 700, 2000, 3])
def test_truncated_file(kos: Dataset, cut: int) -> None:
    """A file cut anywhere, even 3 bytes short, is refused, never half-read."""
    data = kos_bytes(kos)
    with pytest.raises(KosError):
        parse_kos(data[:cut] if cut > 3 else data[:-cut])


def test_evidence_instance_missing_from_content(kos: Dataset) -> None:
    ds = _broken(kos, lambda d: d.ContentSequence.pop())
    with pytest.raises(KosError, match=r"1 instance.* not in the content tree, first 1\.2\.250"):
        parse_kos(ds)


def test_unknown_value_type(kos: Dataset) -> None:
    def odd(ds: Dataset) -> None:
        ds.ContentSequence[1].ValueType = "IMA"

    with pytest.raises(KosError, match=r"ContentSequence\[2\]: unknown content item value"):
        parse_kos(_broken(kos, odd))


def test_other_sop_class(kos: Dataset) -> None:
    image = _broken(kos, lambda d: setattr(d, "SOPClassUID", CT))
    with pytest.raises(KosError, match=f"SOPClassUID is {CT}"):
        parse_kos(image)


def test_title_outside_drim_m(kos: Dataset) -> None:
    def rejected(ds: Dataset) -> None:
        ds.ConceptNameCodeSequence[0].CodeValue = "113001"

    ds = _broken(kos, rejected)
    with pytest.raises(KosError, match=r"113001.*neither"):
        parse_kos(ds)
    assert parse_kos(ds, strict=False).title.value == "113001"


def test_missing_retrieve_url(kos: Dataset) -> None:
    ds = _broken(kos, lambda d: delattr(_series_item(d, 1), "RetrieveURL"))
    with pytest.raises(KosError) as caught:
        parse_kos(ds)
    assert caught.value.where == (
        "CurrentRequestedProcedureEvidenceSequence[1].ReferencedSeriesSequence[2]"
    )
    assert "RetrieveURL (0008,1190) is missing" in str(caught.value)
    assert parse_kos(ds, strict=False).series[1].retrieve_url is None


def test_retrieve_url_of_another_series(kos: Dataset) -> None:
    def swap(ds: Dataset) -> None:
        _series_item(ds, 0).RetrieveURL = _series_item(ds, 1).RetrieveURL

    with pytest.raises(
        KosError, match=r"does not point at series 1\.2\.250\.1\.213\.4\.5\.2\.2\.101\.201"
    ):
        parse_kos(_broken(kos, swap))


def test_retrieve_url_not_http(kos: Dataset) -> None:
    def ftp(ds: Dataset) -> None:
        _series_item(ds).RetrieveURL = "ftp://h/studies/1.2/series/1.3"

    with pytest.raises(KosError, match="not an absolute http"):
        parse_kos(_broken(kos, ftp))


def test_content_item_not_in_evidence(kos: Dataset) -> None:
    def stray(ds: Dataset) -> None:
        ds.ContentSequence[-1].ReferencedSOPSequence[0].ReferencedSOPInstanceUID = "1.2.3.999"

    with pytest.raises(KosError) as caught:
        parse_kos(_broken(kos, stray))
    assert caught.value.where == "ContentSequence[6]"
    assert "1.2.3.999 is not in CurrentRequestedProcedureEvidenceSequence" in str(caught.value)


def test_instance_listed_twice(kos: Dataset) -> None:
    def twice(ds: Dataset) -> None:
        first = _series_item(ds, 0).ReferencedSOPSequence[0]
        _series_item(ds, 1).ReferencedSOPSequence.append(deepcopy(first))

    with pytest.raises(KosError, match="referenced twice"):
        parse_kos(_broken(kos, twice))


def test_evidence_of_another_study(kos: Dataset) -> None:
    def other(ds: Dataset) -> None:
        ds.CurrentRequestedProcedureEvidenceSequence[0].StudyInstanceUID = "1.2.3"

    with pytest.raises(KosError, match=r"references study 1\.2\.3, not the KOS's study"):
        parse_kos(_broken(kos, other))


def test_request_of_another_study(kos: Dataset) -> None:
    def other(ds: Dataset) -> None:
        ds.ReferencedRequestSequence[0].StudyInstanceUID = "1.2.3"

    with pytest.raises(KosError, match=r"ReferencedRequestSequence\[1\]: StudyInstanceUID 1.2.3"):
        parse_kos(_broken(kos, other))


def test_no_accession_number(kos: Dataset) -> None:
    def drop(ds: Dataset) -> None:
        ds.ReferencedRequestSequence[0].AccessionNumber = ""
        ds.AccessionNumber = ""

    ds = _broken(kos, drop)
    with pytest.raises(KosError, match="no accession number"):
        parse_kos(ds)
    assert parse_kos(ds, strict=False).accession_number is None


def test_no_accession_issuer(kos: Dataset) -> None:
    def drop(ds: Dataset) -> None:
        del ds.ReferencedRequestSequence[0].IssuerOfAccessionNumberSequence
        del ds.IssuerOfAccessionNumberSequence

    with pytest.raises(KosError, match="no issuer of the accession number"):
        parse_kos(_broken(kos, drop))


def test_patient_without_ins(kos: Dataset) -> None:
    def local_only(ds: Dataset) -> None:
        ds.PatientID = "IPP101"
        ds.IssuerOfPatientIDQualifiersSequence[0].UniversalEntityID = "1.2.250.1.213.4.5.2.4"
        del ds.OtherPatientIDsSequence[0]

    ds = _broken(kos, local_only)
    with pytest.raises(KosError, match="no INS identity"):
        parse_kos(ds)
    lenient = parse_kos(ds, strict=False)
    assert (lenient.patient.ins, lenient.patient.patient_id) == (None, "IPP101")


def test_ins_with_a_wrong_key(kos: Dataset) -> None:
    ds = _broken(kos, lambda d: setattr(d, "PatientID", "279035121518988"))
    with pytest.raises(KosError, match=r"PatientID: INS matricule .* wrong control key"):
        parse_kos(ds)


def test_invalid_uid(kos: Dataset) -> None:
    def bad(ds: Dataset) -> None:
        _series_item(ds).ReferencedSOPSequence[1].ReferencedSOPInstanceUID = "1.2.03"

    with pytest.warns(UserWarning, match="Invalid value for VR UI"):
        ds = _broken(kos, bad)
    with pytest.raises(KosError) as caught:
        parse_kos(ds)
    assert caught.value.where == (
        "CurrentRequestedProcedureEvidenceSequence[1].ReferencedSeriesSequence[1]"
        ".ReferencedSOPSequence[2].ReferencedSOPInstanceUID"
    )


def test_bad_dates_are_named(kos: Dataset) -> None:
    with pytest.warns(UserWarning, match="Invalid value for VR DA"):
        ds = _broken(kos, lambda d: setattr(d, "PatientBirthDate", "1979-03-28"))
    with pytest.raises(KosError, match="PatientBirthDate: not a DICOM date"):
        parse_kos(ds)


def test_empty_evidence(kos: Dataset) -> None:
    ds = _broken(kos, lambda d: setattr(d, "CurrentRequestedProcedureEvidenceSequence", []))
    with pytest.raises(KosError, match="CurrentRequestedProcedureEvidenceSequence: no referenced"):
        parse_kos(ds)


def test_parse_accepts_a_file_read_by_pydicom(kos: Dataset) -> None:
    read = pydicom.dcmread(BytesIO(kos_bytes(kos)))
    assert parse_kos(read).sop_instance_uid == kos.SOPInstanceUID


def test_parse_of_a_patient_with_used_names(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
) -> None:
    who = dataclasses.replace(
        patient, given_names=("MARIE", "DOMINIQUE"), used_name="DUPONT", used_given_name="MARIE"
    )
    parsed = parse_kos(kos_bytes(build_kos(who, request_a, two_series, authoring)))
    assert parsed.patient.birth_given_names == ("MARIE", "DOMINIQUE")
    assert (parsed.patient.used_name, parsed.patient.used_given_name) == ("DUPONT", "MARIE")
