"""CDA parsing: every ANS report skeleton (PDF re-inserted), mandatory elements, XXE refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from drimbox.cda import CdaError, parse_imaging_report
from support.ans_messages import cda_skeletons, complete_cda, data_root

MINIMAL = (Path(__file__).parents[2] / "fixtures" / "hl7" / "minimal_cda.xml").read_bytes()


def _skeleton(relative: str) -> bytes:
    return complete_cda(data_root() / "Referencement_DRIMBox/Jeux_de_donnees/CDA" / relative)


def test_all_ans_skeletons_parse() -> None:
    paths = cda_skeletons()
    assert len(paths) == 29
    for path in paths:
        report = parse_imaging_report(complete_cda(path))
        assert report.patient.ins is not None, path
        assert report.patient.ins.extension == "279035121518989"
        assert report.document_code.code == "18748-4"
        assert report.body_media_type == "application/pdf"
        assert report.author.rpps == "801234560801"
        assert report.study_instance_uids and report.accession_numbers, path


def test_exam_c_header() -> None:
    report = parse_imaging_report(_skeleton("Examen_C/CR_C.skeleton.xml"))
    assert str(report.document_id) == "1.2.250.1.213.4.5.4.403"
    assert str(report.set_id) == "D52DE737-001D-4031-B571-0A0ED7C42300"
    assert report.version_number == 1
    assert report.study_instance_uids == ("1.2.250.1.213.4.5.2.1.103",)
    (order,) = report.orders
    assert (
        order.placer_order is not None and str(order.placer_order) == "1.2.250.1.213.4.5.2.6^OPN103"
    )
    assert order.accession is not None
    assert (order.accession.extension, order.accession.root) == (
        "ACN103",
        "1.2.250.1.925.994044785528.27",
    )
    patient = report.patient
    assert patient.ipp is not None and str(patient.ipp) == "1.2.250.1.213.4.5.2.4^IPP101"
    assert patient.ins is not None and patient.ins.root == "1.2.250.1.213.1.4.10"
    identity = patient.identity
    assert (identity.birth_name, identity.first_given_name, identity.given_names) == (
        "PAT-TROIS",
        "DOMINIQUE",
        "DOMINIQUE",
    )
    assert (identity.sex, identity.birth_date, identity.birth_place_code) == (
        "F",
        "19790328",
        "51215",
    )
    assert report.author.organization is not None
    assert report.author.organization.id is not None
    assert report.author.organization.id.extension == "101235555"
    assert report.author.organization.name == "Centre de radiologie Ambroise"
    assert (
        report.legal_authenticator is not None and report.legal_authenticator.rpps == "801234560801"
    )
    assert report.confidentiality.code == "N"
    assert report.service_event_code is not None and report.service_event_code.code == "24727-0"
    assert report.modalities == ("CT",)
    assert (report.service_start, report.service_stop) == (
        "20210108102500+0100",
        "20210108111700+0100",
    )
    assert report.facility_type is not None and report.facility_type.code == "SA08"
    assert report.practice_setting is not None and report.practice_setting.code == "AMBULATOIRE"
    assert report.related_documents == () and report.replaced_document is None


def test_exam_g1_maj_replaces_407() -> None:
    report = parse_imaging_report(_skeleton("Examen_G/CR_G1_MAJ.skeleton.xml"))
    assert str(report.document_id) == "1.2.250.1.213.4.5.4.4072" and report.version_number == 2
    assert [(r.type_code, str(r.parent_id)) for r in report.related_documents] == [
        ("RPLC", "1.2.250.1.213.4.5.4.407")
    ]
    assert report.accession_numbers[0].root == "1.2.250.1.925.994044.27"


def test_exam_f_two_studies_two_orders() -> None:
    report = parse_imaging_report(_skeleton("Examen_F/CR_F.skeleton.xml"))
    assert report.study_instance_uids == ("1.2.250.1.213.4.5.2.1.106", "1.2.250.1.213.4.5.2.1.107")
    assert [a.extension for a in report.accession_numbers] == ["ACN106", "ACN107"]


def test_2023_11_reference_header() -> None:
    path = data_root() / "informatif/CDA/IMG_CR_IMG_2023.11_CDA-R2-Niveau-1.skeleton.xml"
    report = parse_imaging_report(complete_cda(path))
    assert str(report.document_id) == "1.2.250.1.213.1.1.1.45.2"
    assert report.version_number == 2
    assert [c.code for c in report.exam_codes] == ["24727-0", "36235-0", "24979-7"]
    assert report.study_instance_uids == ("1.2.250.1.3.152.235.2.12.187636474",)
    (order,) = report.orders
    assert order.accession is not None and order.accession.extension == "105234751"
    assert (
        order.placer_order is not None
        and str(order.placer_order) == "1.2.250.1.748.12345678.12^984375862"
    )
    assert report.patient.ipp is not None and report.patient.ipp.root == "1.2.3.4.567.8.9.10"
    assert report.facility_type is None  # componentOf is beyond the part kept in the copy


def test_minimal_document() -> None:
    report = parse_imaging_report(MINIMAL)
    assert str(report.document_id) == "1.2.250.1.999.4.900"
    assert report.legal_authenticator is None and report.warnings == ()


@pytest.mark.parametrize(
    ("remove", "xpath"),
    [
        (b'<id root="1.2.250.1.999.4.900"/>', "/ClinicalDocument/id/@root"),
        (
            b'<effectiveTime value="20240912101500+0200"/>\n',
            "/ClinicalDocument/effectiveTime/@value",
        ),
        (
            b'<confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>',
            "/ClinicalDocument/confidentialityCode/@code",
        ),
        (
            b'<id root="1.2.250.1.999.2.1.900"/>',
            "/ClinicalDocument/documentationOf/serviceEvent/id/@root",
        ),
        (
            b'<id root="1.2.250.1.71.4.2.1" extension="801234560801"/>',
            "/ClinicalDocument/author/assignedAuthor/id/@root",
        ),
        (
            b'<birthTime value="19790328"/>',
            "/ClinicalDocument/recordTarget/patientRole/patient/birthTime/@value",
        ),
        (
            b'<administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>',
            "/ClinicalDocument/recordTarget/patientRole/patient/administrativeGenderCode/@code",
        ),
        (
            b'<family qualifier="BR">PAT-TROIS</family>',
            "/ClinicalDocument/recordTarget/patientRole/patient/name/family",
        ),
    ],
)
def test_missing_mandatory_element_names_its_xpath(remove: bytes, xpath: str) -> None:
    assert remove in MINIMAL
    with pytest.raises(CdaError) as caught:
        parse_imaging_report(MINIMAL.replace(remove, b""))
    assert caught.value.xpath == xpath
    assert "mandatory" in caught.value.reason


def test_patient_without_any_id() -> None:
    data = MINIMAL.replace(b'<id root="1.2.250.1.213.1.4.10" extension="279035121518989"/>', b"")
    data = data.replace(b'<id root="1.2.250.1.999.2.4" extension="IPP900"/>', b"")
    with pytest.raises(CdaError) as caught:
        parse_imaging_report(data)
    assert caught.value.xpath == "/ClinicalDocument/recordTarget/patientRole/id"


def test_null_flavored_study_uid_counts_as_missing() -> None:
    data = MINIMAL.replace(b'<id root="1.2.250.1.999.2.1.900"/>', b'<id nullFlavor="UNK"/>')
    with pytest.raises(CdaError, match="study instance UID"):
        parse_imaging_report(data)


def test_invalid_study_uid_is_refused() -> None:
    data = MINIMAL.replace(b"1.2.250.1.999.2.1.900", b"1.2.250.01.x")
    with pytest.raises(CdaError, match="not a valid DICOM UID"):
        parse_imaging_report(data)


def test_missing_accession_is_only_a_warning() -> None:
    data = MINIMAL.replace(
        b'<ps3-20:accessionNumber root="1.2.250.1.999.2.5" extension="ACN900"/>', b""
    )
    report = parse_imaging_report(data)
    assert report.accession_numbers == () and any("accession" in w for w in report.warnings)


def test_related_document_without_parent_id() -> None:
    data = MINIMAL.replace(b"<component>", b'<relatedDocument typeCode="RPLC"/><component>')
    with pytest.raises(CdaError) as caught:
        parse_imaging_report(data)
    assert caught.value.xpath == "/ClinicalDocument/relatedDocument"


def test_not_xml_and_wrong_root() -> None:
    with pytest.raises(CdaError, match="not well-formed"):
        parse_imaging_report(b"<ClinicalDocument><unclosed>")
    with pytest.raises(CdaError, match="expected ClinicalDocument"):
        parse_imaging_report(b"<ClinicalDocument/>")  # no HL7 v3 namespace


def test_double_utf8_text_is_reported() -> None:
    data = MINIMAL.replace("médicale".encode(), "médicale".encode().decode("latin-1").encode())
    report = parse_imaging_report(data)
    assert any("double-encoded" in w for w in report.warnings)


def test_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    data = MINIMAL.replace(
        b"<ClinicalDocument ",
        b'<!DOCTYPE ClinicalDocument [<!ENTITY s SYSTEM "file://' + str(secret).encode() + b'">]>\n'
        b"<ClinicalDocument ",
    ).replace(b"Compte rendu de scanner", b"&s;")
    with pytest.raises(CdaError) as caught:
        parse_imaging_report(data)
    assert "entities" in str(caught.value)
    assert "TOP-SECRET" not in str(caught.value)


def test_entity_expansion_bomb_is_refused() -> None:
    bomb = b'<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
    data = MINIMAL.replace(b"<ClinicalDocument ", bomb + b"<ClinicalDocument ").replace(
        b"Compte rendu de scanner", b"&b;"
    )
    with pytest.raises(CdaError, match="entities"):
        parse_imaging_report(data)


def test_external_dtd_is_not_loaded(tmp_path: Path) -> None:
    # A DOCTYPE without entities is tolerated, but its external DTD must not be fetched.
    data = MINIMAL.replace(
        b"<ClinicalDocument ",
        b'<!DOCTYPE ClinicalDocument SYSTEM "'
        + str(tmp_path / "absent.dtd").encode()
        + b'">\n<ClinicalDocument ',
    )
    assert str(parse_imaging_report(data).document_id) == "1.2.250.1.999.4.900"
