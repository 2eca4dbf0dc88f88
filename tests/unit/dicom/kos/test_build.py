"""The KOS we build: golden fields against the ANS samples, VRs, KIN, size, charset, dciodvfy."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from io import BytesIO

import pydicom
import pytest
from pydicom.dataset import Dataset

from drimbox.dicom.kos import (
    KOS_SOP_CLASS_UID,
    KosAuthoring,
    KosIdentity,
    KosInputError,
    KosInstance,
    KosPatient,
    KosRequest,
    KosSeries,
    build_kin,
    build_kos,
    kos_bytes,
    series_retrieve_url,
)
from support.dicom_xml import load_dicom_xml

from .factories import BASE_URL, CT, STUDY_A, ans_file, make_series

Run = Callable[[Dataset], list[str]]


def _reread(ds: Dataset) -> Dataset:
    return pydicom.dcmread(BytesIO(kos_bytes(ds)))


def test_manifest_golden_fields(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
) -> None:
    ds = _reread(
        build_kos(
            patient,
            request_a,
            two_series,
            authoring,
            identity=KosIdentity(sop_instance_uid="1.2.3.4.5", series_instance_uid="1.2.3.4.6"),
        )
    )
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert ds.file_meta.MediaStorageSOPInstanceUID == "1.2.3.4.5"
    assert ds.SOPClassUID == KOS_SOP_CLASS_UID
    assert (ds.SOPInstanceUID, ds.SeriesInstanceUID) == ("1.2.3.4.5", "1.2.3.4.6")
    assert (ds.Modality, ds.SeriesNumber, ds.InstanceNumber) == ("KO", 59, 1)
    assert (ds.ContentDate, ds.ContentTime, ds.TimezoneOffsetFromUTC) == (
        "20240828",
        "162326",
        "+0200",
    )
    assert (ds.StudyDate, ds.StudyTime, ds.StudyDescription) == (
        "20220822",
        "083117.658000",
        "Examen A",
    )
    # patient: INS as PatientID with the ANS issuer and qualifiers, traits as ANS carries them
    assert str(ds.PatientName) == "PAT-TROIS^DOMINIQUE"
    assert (ds.PatientID, ds.IssuerOfPatientID) == ("279035121518989", "ASIP-SANTE-INS-NIR")
    qualifier = ds.IssuerOfPatientIDQualifiersSequence[0]
    assert (qualifier.UniversalEntityID, qualifier.UniversalEntityIDType) == (
        "1.2.250.1.213.1.4.10",
        "ISO",
    )
    assert (ds.PatientBirthDate, ds.PatientSex, ds.PatientComments) == ("19790328", "F", "63220")
    ins_item, ipp_item = ds.OtherPatientIDsSequence
    assert (ins_item.PatientID, ins_item.TypeOfPatientID) == ("279035121518989", "TEXT")
    assert ins_item.IssuerOfPatientIDQualifiersSequence[0].UniversalEntityID == (
        "1.2.250.1.213.1.4.10"
    )
    assert (ipp_item.PatientID, ipp_item.TypeOfPatientID) == ("IPP101", "TEXT")
    assert ipp_item.IssuerOfPatientIDQualifiersSequence[0].UniversalEntityID == (
        "1.2.250.1.213.4.5.2.4"
    )
    assert ds.InstitutionName == "Centre de radiologie Ambroise^^^^^^^^^101235555"
    # the order
    assert ds.AccessionNumber == "ACN101"
    request = ds.ReferencedRequestSequence[0]
    assert (request.StudyInstanceUID, request.AccessionNumber) == (STUDY_A, "ACN101")
    assert request.IssuerOfAccessionNumberSequence[0].UniversalEntityID == "1.2.250.1.213.4.5.2.5"
    assert request.PlacerOrderNumberImagingServiceRequest == "OPN101"
    assert request.OrderPlacerIdentifierSequence[0].UniversalEntityID == "1.2.250.1.213.4.5.2.6"
    assert request.RequestedProcedureDescription == "CT Head W contrast IV"
    # evidence: one item per series, exact RAD-107 URL
    (study,) = ds.CurrentRequestedProcedureEvidenceSequence
    assert study.StudyInstanceUID == STUDY_A
    assert [s.SeriesInstanceUID for s in study.ReferencedSeriesSequence] == [
        s.series_instance_uid for s in two_series
    ]
    first = study.ReferencedSeriesSequence[0]
    assert first.RetrieveURL == (
        f"{BASE_URL}/studies/{STUDY_A}/series/1.2.250.1.213.4.5.2.2.101.201"
    )
    assert first.RetrieveLocationUID == "1.2.250.1.999.1.1"
    assert [r.ReferencedSOPInstanceUID for r in first.ReferencedSOPSequence] == [
        f"1.2.250.1.213.4.5.2.3.101.201.{n}" for n in (1, 2, 3)
    ]
    # content tree: TID 2010 manifest, description first, then one IMAGE item per instance
    assert ds.ValueType == "CONTAINER"
    title = ds.ConceptNameCodeSequence[0]
    assert (title.CodeValue, title.CodingSchemeDesignator, title.CodeMeaning) == (
        "113030",
        "DCM",
        "Manifest",
    )
    assert ds.ContinuityOfContent == "SEPARATE"
    template = ds.ContentTemplateSequence[0]
    assert (template.MappingResource, template.TemplateIdentifier) == ("DCMR", "2010")
    text, *images = ds.ContentSequence
    assert (text.RelationshipType, text.ValueType) == ("CONTAINS", "TEXT")
    assert text.ConceptNameCodeSequence[0].CodeValue == "113012"
    assert text.TextValue == (
        "Examen : Examen A\r\nActe = CT Head W contrast IV\r\n"
        "Série-1.2.250.1.213.4.5.2.2.101.201 : CT @ : Serie A1\r\n"
        "Série-1.2.250.1.213.4.5.2.2.101.202 : CT @ : Serie A2\r\n"
    )
    assert len(images) == 5
    assert {(i.RelationshipType, i.ValueType) for i in images} == {("CONTAINS", "IMAGE")}
    assert [i.ReferencedSOPSequence[0].ReferencedSOPClassUID for i in images] == [CT] * 5


def test_vrs_are_the_dictionary_ones(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
) -> None:
    """Explicit VR on the wire: each element carries its standard VR."""
    ds = _reread(build_kos(patient, request_a, two_series, authoring))
    series_item = ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert series_item["RetrieveURL"].VR == "UR"
    assert series_item["RetrieveLocationUID"].VR == "UI"
    assert ds.IssuerOfPatientIDQualifiersSequence[0]["UniversalEntityID"].VR == "UT"
    assert ds["PatientComments"].VR == "LT"
    assert ds["OtherPatientNames"].VR == "PN"
    assert ds["TimezoneOffsetFromUTC"].VR == "SH"
    assert ds.ContentSequence[0]["TextValue"].VR == "UT"
    assert ds["InstanceNumber"].VR == "IS"


def test_manifest_has_every_attribute_of_the_ans_kos(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
) -> None:
    """Our KOS carries at least what the ANS cross-validator sample carries, at each level."""
    ans = load_dicom_xml(ans_file("test_a_blanc/Cross-validateur/OK_Cas_Passant/KOS_OK.xml"))
    ours = build_kos(patient, request_a, two_series, authoring)
    assert set(ans.dir()) <= set(ours.dir())
    assert set(ans.ReferencedRequestSequence[0].dir()) <= set(
        ours.ReferencedRequestSequence[0].dir()
    )
    ans_series = ans.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    our_series = ours.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert set(ans_series.dir()) <= set(our_series.dir())


def _skeleton_other_names(case: str) -> list[str]:
    path = ans_file(
        f"test_a_blanc/Cross-validateur/OK_CDA_KOS_OtherPatientName_{case}/kos_OK_{case}.skeleton.xml"
    )
    match = re.search(r'name="OtherPatientNames">([^<]*)<', path.read_text(encoding="utf-8"))
    assert match is not None
    return match.group(1).split("\\")


@pytest.mark.parametrize(
    ("case", "used_name", "used_given_name"),
    [
        ("Absent", None, None),
        ("Nom", "PAT-TROIS", None),
        ("Prenom", None, "DOMINIQUE"),
        ("Nom_Prenom", "PAT-TROIS", "DOMINIQUE"),
    ],
)
def test_other_patient_names_follow_the_ans_cases(
    case: str,
    used_name: str | None,
    used_given_name: str | None,
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
) -> None:
    """Birth given names, then used name^used given name, as in the ANS cross-validator KOS."""
    who = dataclasses.replace(patient, used_name=used_name, used_given_name=used_given_name)
    ds = _reread(build_kos(who, request_a, two_series, authoring))
    ours = ds["OtherPatientNames"].value
    values = [str(v) for v in ours] if ds["OtherPatientNames"].VM > 1 else [str(ours)]
    assert values == _skeleton_other_names(case)


def test_several_birth_given_names_share_one_component(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
) -> None:
    who = dataclasses.replace(patient, given_names=("MARIE", "DOMINIQUE", "LOUISE"))
    ds = build_kos(who, request_a, two_series, authoring)
    assert str(ds.PatientName) == "PAT-TROIS^MARIE"
    assert str(ds.OtherPatientNames) == "^MARIE DOMINIQUE LOUISE"


def test_manifest_passes_dciodvfy(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
    dciodvfy: Run,
) -> None:
    dciodvfy(build_kos(patient, request_a, two_series, authoring))


def test_minimal_inputs_pass_dciodvfy(
    request_a: KosRequest, authoring: KosAuthoring, dciodvfy: Run
) -> None:
    """No IPP, no birth place, no placer order, no study date: type 2 stays empty, no error."""
    who = KosPatient(
        ins="274075176079430",
        ins_oid="1.2.250.1.213.1.4.10",
        birth_name="PAT-HUIT",
        given_names=("FRANCOISE",),
        sex="M",
        birth_date=dt.date(1996, 1, 13),
    )
    bare = KosRequest(
        study_instance_uid=STUDY_A,
        accession_number="725229536725008",
        accession_issuer_oid="1.2.840.113619.6.198",
    )
    ds = build_kos(who, bare, [make_series(1, 1)], authoring)
    assert "PatientComments" not in ds
    assert ds.StudyDate == ""
    assert ds.ReferencedRequestSequence[0].PlacerOrderNumberImagingServiceRequest == ""
    dciodvfy(ds)


def test_key_image_note_references_only_key_images(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
    dciodvfy: Run,
) -> None:
    keys = ["1.2.250.1.213.4.5.2.3.101.202.2", "1.2.250.1.213.4.5.2.3.101.201.3"]
    manifest = build_kos(patient, request_a, two_series, authoring)
    kin = build_kin(patient, request_a, two_series, authoring, keys)
    title = kin.ConceptNameCodeSequence[0]
    assert (title.CodeValue, title.CodingSchemeDesignator, title.CodeMeaning) == (
        "113000",
        "DCM",
        "Of Interest",
    )
    assert kin.SeriesNumber == 60
    assert kin.SeriesInstanceUID != manifest.SeriesInstanceUID
    evidence = kin.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence
    referenced = [r.ReferencedSOPInstanceUID for s in evidence for r in s.ReferencedSOPSequence]
    assert sorted(referenced) == sorted(keys)
    content = [
        i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        for i in kin.ContentSequence
        if i.ValueType == "IMAGE"
    ]
    assert sorted(content) == sorted(keys)
    dciodvfy(kin)


def test_manifest_can_reference_its_key_image_note_as_composite(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
    dciodvfy: Run,
) -> None:
    """As in the ANS informative KIN sample: the KIN series is one more evidence series."""
    kin = build_kin(patient, request_a, two_series, authoring, ["1.2.250.1.213.4.5.2.3.101.201.1"])
    kin_series = KosSeries(
        series_instance_uid=kin.SeriesInstanceUID,
        retrieve_url=series_retrieve_url(BASE_URL, STUDY_A, kin.SeriesInstanceUID),
        instances=(KosInstance(KOS_SOP_CLASS_UID, kin.SOPInstanceUID),),
        modality="KO",
    )
    manifest = build_kos(patient, request_a, [*two_series, kin_series], authoring)
    last = manifest.ContentSequence[-1]
    assert last.ValueType == "COMPOSITE"
    assert last.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == kin.SOPInstanceUID
    dciodvfy(manifest)


def test_key_images_must_exist(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
) -> None:
    with pytest.raises(KosInputError, match=r"key images not in the given series: 9\.9"):
        build_kin(patient, request_a, two_series, authoring, ["9.9"])
    with pytest.raises(KosInputError, match="at least one key image"):
        build_kin(patient, request_a, two_series, authoring, [])


def test_three_hundred_images(
    patient: KosPatient,
    request_a: KosRequest,
    authoring: KosAuthoring,
    dciodvfy: Run,
) -> None:
    series = [make_series(1, 150), make_series(2, 100), make_series(3, 50)]
    ds = _reread(build_kos(patient, request_a, series, authoring))
    evidence = ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence
    assert [len(s.ReferencedSOPSequence) for s in evidence] == [150, 100, 50]
    assert len(ds.ContentSequence) == 301
    dciodvfy(ds)


def test_non_ascii_names_are_utf8(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
    dciodvfy: Run,
) -> None:
    who = dataclasses.replace(
        patient,
        birth_name="ŒUVRARD-MÜLLER",
        given_names=("ÉLODIE", "ZOÉ"),
        used_name="LÆTITIA-ÇA",
    )
    where = dataclasses.replace(authoring, institution_name="Hôpital Saint-Éloi")
    raw = kos_bytes(build_kos(who, request_a, two_series, where))
    assert "ŒUVRARD-MÜLLER^ÉLODIE".encode() in raw
    ds = pydicom.dcmread(BytesIO(raw))
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert str(ds.PatientName) == "ŒUVRARD-MÜLLER^ÉLODIE"
    assert [str(v) for v in ds.OtherPatientNames] == ["^ÉLODIE ZOÉ", "LÆTITIA-ÇA"]
    assert ds.InstitutionName == "Hôpital Saint-Éloi^^^^^^^^^101235555"
    dciodvfy(ds)


def test_long_institution_name_is_cut_but_keeps_its_id(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
) -> None:
    where = dataclasses.replace(authoring, institution_name="Centre hospitalier " * 6)
    ds = build_kos(patient, request_a, two_series, where)
    assert len(ds.InstitutionName.encode()) == 64  # LO: 64 bytes of UTF-8
    assert ds.InstitutionName.endswith("…^^^^^^^^^101235555")


def test_generated_uids_are_under_the_org_root(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
) -> None:
    rooted = dataclasses.replace(authoring, org_uid_root="1.2.250.1.999.77")
    one = build_kos(patient, request_a, two_series, rooted)
    two = build_kos(patient, request_a, two_series, rooted)
    assert one.SOPInstanceUID.startswith("1.2.250.1.999.77.")
    assert one.SeriesInstanceUID.startswith("1.2.250.1.999.77.")
    assert one.SOPInstanceUID != two.SOPInstanceUID
    default = build_kos(patient, request_a, two_series, authoring)
    assert default.SOPInstanceUID.startswith("2.25.")


@pytest.mark.parametrize(
    ("series", "reason"),
    [
        ([], "at least one series"),
        ([make_series(1, 2), make_series(1, 2)], "given twice"),
        ([make_series(1, 2, study="1.2.3")], "names study 1.2.3"),
    ],
)
def test_inconsistent_series_are_refused(
    series: list[KosSeries],
    reason: str,
    patient: KosPatient,
    request_a: KosRequest,
    authoring: KosAuthoring,
) -> None:
    with pytest.raises(KosInputError, match=reason):
        build_kos(patient, request_a, series, authoring)


def test_same_instance_in_two_series_is_refused(
    patient: KosPatient, request_a: KosRequest, authoring: KosAuthoring
) -> None:
    one, two = make_series(1, 1), make_series(2, 1)
    two = dataclasses.replace(two, instances=one.instances)
    with pytest.raises(KosInputError, match="given twice"):
        build_kos(patient, request_a, [one, two], authoring)


def test_long_accented_description_is_cut_in_bytes_and_passes_dciodvfy(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
    dciodvfy: Run,
) -> None:
    """LO holds 64 bytes, not characters: the ANS G1_MAJ act (90 accented characters) once
    produced a KOS that dciodvfy rejected."""
    act = "Coronarographie diagnostique par voie artérielle périphérique avec ventriculographie"
    request = dataclasses.replace(request_a, requested_procedure_description=act)
    ds = build_kos(patient, request, two_series, authoring)
    [item] = ds.ReferencedRequestSequence
    text = str(item.RequestedProcedureDescription)
    assert len(text.encode()) <= 64 and text.endswith("…")
    assert act.startswith(text[:-1].rstrip())
    dciodvfy(ds)
