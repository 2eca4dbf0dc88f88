"""Report semantics on every ANS DRIM-M HL7 message (payload rebuilt) and on edge cases.

Expected values come from INDEX.md of the shared ANS data (exam table and flag strings).
"""

from __future__ import annotations

import base64

import pytest

from drimbox.hl7.message import ErrorCode, Hl7ParseError
from drimbox.hl7.report import DmpFlags, EventKind, parse_report_message
from support.ans_messages import ans_messages, build, exam_message, full_c_oru, omi_cancellation

# Exam letter -> NN in the ANS numbering (.4NN document, .1NN study, ACN1NN).
EXAM_NUMBER = {
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G1": 7, "G2": 8, "H": 9, "I": 10, "J": 11,
    "K": 12, "L": 13, "M": 14, "N": 15, "O": 16, "P": 17, "Q": 18, "R": 19, "S": 20, "T": 21,
    "U": 22, "V": 23, "W": 24, "X": 25, "Y": 26, "Z": 27,
}  # fmt: skip
# (OBX 2..11 flag string, PID birth-place county) per message, as in the ANS files.
EXPECTED = {
    "CR_A-MDM": ("NYYNNYNNNN", "63220"), "CR_A-ORU": ("NYYNNYNNNN", "51215"),
    "CR_B-MDM": ("NYYNNYNNNN", "63220"), "CR_B-ORU": ("NYYNNYNNNN", "51215"),
    "CR_C-MDM": ("NYYNNYNNNN", "51215"), "CR_C-ORU": ("NYYNNYNNNN", "51215"),
    "CR_D-MDM": ("NYYNNYNNNN", "51215"), "CR_D-ORU": ("NYNNNYNNNN", "51215"),
    "CR_E-MDM": ("NYYNNYNNNN", "63220"), "CR_E-ORU": ("NYYNNYNNNN", "63220"),
    "CR_F-MDM": ("NYNNNYNNNN", "51215"), "CR_F-ORU": ("NYNNNYNNNN", "51215"),
    "CR_G1-MDM": ("NYYNNYNNNN", "51215"), "CR_G1-ORU": ("NYNNNYNNNN", "51215"),
    "CR_G1_MAJ-MDM": ("NNNNYYNNNN", "63220"), "CR_G1_MAJ-ORU": ("NNNNYYNNNN", "51215"),
    "CR_G2-MDM": ("NYNNNYNNNN", "51215"), "CR_G2-ORU": ("NYNNNYNNNN", "51215"),
    "CR_H-MDM": ("NYYNNYNNNN", "63220"), "CR_H-ORU": ("NYYNNYNNNN", "51215"),
    "CR_I-MDM": ("NYYNNYNNNN", "51215"), "CR_I-ORU": ("NYNNNYNNNN", "51215"),
    "CR_I_Depublication-MDM": ("NYNNNYNNNN", "63220"),
    "CR_I_Depublication-ORU": ("NYYNNYNNNN", "63220"),
    "CR_J-MDM": ("NYNNNYNNNN", "51215"), "CR_J-ORU": ("NYNNNYNNNN", "51215"),
    "CR_K-MDM": ("NYYNNYNNNN", "51215"), "CR_K-ORU": ("NYYNNYNNNN", "51215"),
    "CR_L-MDM": ("NYYNNYNNNN", "51215"), "CR_L-ORU": ("NYYNNYNNNN", "63220"),
    "CR_M-MDM": ("NYNNNYNNNN", "51215"), "CR_M-ORU": ("NYNNNYNNNN", "51215"),
    "CR_N-MDM": ("NYNNNYNNNN", "51215"), "CR_N-ORU": ("NYYNNYNNNN", "51215"),
    "CR_O-MDM": ("NYYNNYNNNN", "63220"), "CR_O-ORU": ("NYYNNYNNNN", "63220"),
    "CR_P-MDM": ("NYYNNYNNNN", "51215"), "CR_P-ORU": ("NYNNNYNNNN", "51215"),
    "CR_Q-MDM": ("NYYNNYNNNN", "63220"), "CR_Q-ORU": ("NYYNNYNNNN", "51215"),
    "CR_R-MDM": ("NYYNNYNNNN", "51215"), "CR_R-ORU": ("NYYNNYNNNN", "51215"),
    "CR_S-MDM": ("NYYNNYNNNN", "51215"), "CR_S-ORU": ("NYYNNYNNNN", "51215"),
    "CR_T-MDM": ("NYNNNYNNNN", "51215"), "CR_T-ORU": ("NYNNNYNNNN", "51215"),
    "CR_U-MDM": ("NYNNNYNNYN", "51215"), "CR_U-ORU": ("NYYNNYNNNN", "51215"),
    "CR_V-MDM": ("NYNNNYNNYN", "51215"), "CR_V-ORU": ("NYYNNYNNNN", "51215"),
    "CR_W-MDM": ("NYYNNYNNNN", "51215"), "CR_W-ORU": ("NYNNNYNNYN", "51215"),
    "CR_X-MDM": ("NYYNNYNNNN", "51215"), "CR_X-ORU": ("NYYNNYNNNN", "51215"),
    "CR_Y-MDM": ("NYYNNYNNNN", "63220"), "CR_Y-ORU": ("NYYNNYNNNN", "63220"),
    "CR_Z-MDM": ("NYYNNYNNNN", "63220"), "CR_Z-ORU": ("NYYNNYNNNN", "63220"),
    "PFI_ORU_R01_K": ("NYNNNYNNNN", "63220"), "PFI_MDM_T02_L": ("NYNNNYNNNN", "63220"),
}  # fmt: skip
EVENTS = {
    "CR_G1_MAJ-ORU": EventKind.REPLACE,
    "CR_I_Depublication-MDM": EventKind.DEPUBLISH,
    "CR_I_Depublication-ORU": EventKind.DEPUBLISH,
}
SENDERS = {"J": "ANS_HL7v2_Application_B", "L": "ANS_HL7v2_Application_B"}
SENDERS |= {"K": "ANS_HL7v2_Application_A", "S": "ANS_HL7v2_Application_A"}


def _exam(name: str) -> str:
    stem = name.removeprefix("PFI_").split("-")[0].removeprefix("CR_")
    if stem.startswith(("ORU_R01_", "MDM_T02_")):
        return stem[-1]
    return stem.removesuffix("_MAJ").removesuffix("_Depublication")


def test_every_ans_message_is_covered() -> None:
    names = {m.name for m in ans_messages()}
    assert set(EXPECTED) | {"HL7_OK"} == names


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ans_message(name: str) -> None:
    report = parse_report_message(exam_message(name, control_id=f"CTRL-{name}"))
    flags, county = EXPECTED[name]
    exam = _exam(name)
    number = EXAM_NUMBER[exam]
    study = 108 if exam == "G1" else 100 + number  # G1 and G2 (.407/.408) share exam G (.108)
    # The PFI samples keep literal MSH values ("Sending Application", MSH-10 "id").
    assert report.control_id == ("id" if name.startswith("PFI_") else f"CTRL-{name}")
    assert report.message_type == ("MDM" if "MDM" in name else "ORU")
    assert report.event == EVENTS.get(name, EventKind.NEW)
    assert report.flags.as_string() == flags
    assert report.patient.birth_place_code == county
    assert report.patient.ins is not None and report.patient.ins.value == "279035121518989"
    assert report.patient.ins.oid == "1.2.250.1.213.1.4.10"
    if name.startswith("PFI_"):
        assert report.patient.ipp is None  # the PFI samples carry no IPP
    else:
        assert report.patient.ipp is not None and report.patient.ipp.value == "IPP101"
        assert report.patient.ipp.oid == "1.2.250.1.213.4.5.2.4"
    if name.startswith("PFI_"):
        assert report.sending_application == "Sending Application"
    else:
        assert report.sending_application == SENDERS.get(exam, "ANS_RIS")
    document = report.document
    assert document is not None and report.cda is not None
    assert document.document_id.root.startswith(f"1.2.250.1.213.4.5.4.4{number:02d}")
    if exam != "G2":
        assert f"1.2.250.1.213.4.5.2.1.{study}" in document.study_instance_uids
    accessions = [a.extension for a in document.accession_numbers]
    assert f"ACN{108 if exam == 'G2' else study}" in accessions
    if report.message_type == "MDM":
        assert report.document_unique_id is not None
    else:
        assert report.accession is not None and report.accession.value == "09011600123"
        assert report.placer_order is not None and report.placer_order.value == "984375862"


def test_exam_c_values() -> None:
    report = parse_report_message(exam_message("CR_C-ORU"))
    document = report.document
    assert document is not None
    assert str(document.document_id) == "1.2.250.1.213.4.5.4.403"
    assert document.study_instance_uids == ("1.2.250.1.213.4.5.2.1.103",)
    (order,) = document.orders
    assert order.accession is not None
    assert (order.accession.extension, order.accession.root) == (
        "ACN103",
        "1.2.250.1.925.994044785528.27",
    )
    assert report.patient.birth_name == "PAT-TROIS" and report.patient.used_name == "PAT-TROIS"
    assert report.patient.first_given_name == "DOMINIQUE" and report.patient.sex == "F"
    assert report.patient.birth_date == "19790328" and report.patient.identity_reliability == "VALI"
    assert report.flags == DmpFlags(
        masque_ps=False, invisible_patient=True, invisible_rep_legaux=True,
        connexion_secrete=False, modif_conf_code=False, destdmp=True, destmssanteps=False,
        destmssantepat=False, ack_reception=False, ack_lecture_mss=False,
    )  # fmt: skip


def test_exam_g1_maj_oru_replaces_407() -> None:
    report = parse_report_message(exam_message("CR_G1_MAJ-ORU"))
    assert report.event == EventKind.REPLACE
    assert report.order_control == "RO" and report.result_status == "C"
    assert report.document is not None
    assert str(report.document.document_id) == "1.2.250.1.213.4.5.4.4072"
    assert report.document.version_number == 2
    assert report.document.replaced_document is not None
    assert report.document.replaced_document.root == "1.2.250.1.213.4.5.4.407"
    assert report.flags.modif_conf_code is True


def test_exam_f_reports_two_studies() -> None:
    report = parse_report_message(exam_message("CR_F-MDM"))
    assert report.document is not None
    assert report.document.study_instance_uids == (
        "1.2.250.1.213.4.5.2.1.106",
        "1.2.250.1.213.4.5.2.1.107",
    )
    assert [a.extension for a in report.document.accession_numbers] == ["ACN106", "ACN107"]


def test_exam_i_depublication() -> None:
    mdm = parse_report_message(exam_message("CR_I_Depublication-MDM"))
    assert (mdm.trigger_event, mdm.order_control, mdm.event) == ("T04", "CA", EventKind.DEPUBLISH)
    assert mdm.document_unique_id == "1.2.250.1.213.4.5.4.410"
    oru = parse_report_message(exam_message("CR_I_Depublication-ORU"))
    assert (oru.result_status, oru.event) == ("D", EventKind.DEPUBLISH)


def test_exam_w_omi_cancellation() -> None:
    report = parse_report_message(omi_cancellation("OMI-1"))
    assert report.event == EventKind.CANCEL_EXAM
    assert report.accession is not None and report.accession.value == "ACN124"
    assert report.study_instance_uid == "1.2.250.1.213.4.5.2.1.124"
    assert report.version == "2.5.1" and report.cda is None
    assert report.patient.birth_place_code == "63220"
    assert any("UTF-8" in w for w in report.warnings)  # no MSH-18 but UTF-8 'médicale'


def test_pfi_mdm_txa12_mismatch_is_reported() -> None:
    report = parse_report_message(exam_message("PFI_MDM_T02_L"))
    assert report.document_unique_id == "1.2.250.1.213.4.5.4.1.41"
    assert report.document is not None
    assert str(report.document.document_id) == "1.2.250.1.213.4.5.4.413"
    assert any("TXA-12" in w for w in report.warnings)


def test_cross_validator_sample_with_tilde_lookalike_and_13_obx() -> None:
    (message,) = [m for m in ans_messages() if m.name == "HL7_OK"]
    report = parse_report_message(build(message))
    assert report.patient.ins is not None and report.patient.ins.value == "274075176079430"
    assert report.patient.ipp is not None and report.patient.ipp.value == "62702897707386938"
    assert any("U+02DC" in w for w in report.warnings)
    # Flags found by identifier although shifted to OBX 3..13 around an ED OBX-11.
    assert report.flags.as_string() == "NNNNNYYYYY"
    assert report.flags.other == ()
    assert any("differs from the CDA" in w for w in report.warnings)  # CR_A stands in for its CDA


def test_full_original_exam_c_message() -> None:
    report = parse_report_message(full_c_oru())
    assert report.document is not None
    assert str(report.document.document_id) == "1.2.250.1.213.4.5.4.403"
    assert report.document.study_instance_uids == ("1.2.250.1.213.4.5.2.1.103",)
    assert report.document.body_media_type == "application/pdf"
    assert report.cda is not None and len(report.cda) > 200_000
    assert report.flags.as_string() == "NYNNNYNNNN"


def _valid(segments: list[str]) -> bytes:
    return "\r".join(segments).encode() + b"\r"


def _oru_with(obx5: str, *, obx11: str = "F", extra: str = "") -> bytes:
    return _valid(
        [
            "MSH|^~\\&|RIS|H|D|S|2024||ORU^R01^ORU_R01|X1|P|2.5|||||FRA|UNICODE UTF-8",
            "PID|||IPP9^^^H&1.2.3&ISO^PI",
            "ORC|NW",
            "OBR|1|P1|F1|18748-4^CR^LN",
            f"OBX|1|ED|18748-4^CR^LN||{obx5}||||||{obx11}",
            *([extra] if extra else []),
        ]
    )


def test_encoding_other_than_base64_is_refused() -> None:
    with pytest.raises(Hl7ParseError) as caught:
        parse_report_message(_oru_with("^TEXT^XML^A^PD94"))
    assert caught.value.location == "OBX-5.4" and caught.value.code == ErrorCode.DATA_TYPE_ERROR


def test_bad_flag_value_is_refused() -> None:
    cda = base64.b64encode(b"<x/>").decode()
    raw = _oru_with(f"^TEXT^XML^Base64^{cda}", extra="OBX|2|CE|DESTDMP^D^MetaDMPMSS||MAYBE")
    with pytest.raises(Hl7ParseError) as caught:
        parse_report_message(raw)
    # the CDA is checked first: '<x/>' is not a ClinicalDocument
    assert caught.value.location == "OBX-5.5" and "ClinicalDocument" in caught.value.reason


def test_unsupported_trigger_is_rejected_with_201() -> None:
    raw = _oru_with("^TEXT^XML^Base64^AAAA").replace(b"ORU^R01^ORU_R01", b"ORU^R30^ORU_R30")
    with pytest.raises(Hl7ParseError) as caught:
        parse_report_message(raw)
    assert caught.value.code == ErrorCode.UNSUPPORTED_EVENT_CODE and caught.value.ack_code == "AR"


def test_pid_and_cda_differences_are_reported_not_fatal() -> None:
    # Exam H: the ORU's PID says birth place 51215, the CR_H.xml file says 63220 (INDEX.md).
    report = parse_report_message(exam_message("CR_H-ORU"))
    assert "PID birth place code '51215' differs from the CDA's '63220'" in report.warnings


def test_missing_obr_is_a_segment_error() -> None:
    raw = _oru_with("^TEXT^XML^Base64^AAAA").replace(b"OBR|1|P1|F1|18748-4^CR^LN\r", b"")
    with pytest.raises(Hl7ParseError) as caught:
        parse_report_message(raw)
    assert caught.value.code == ErrorCode.SEGMENT_SEQUENCE_ERROR and caught.value.segment == "OBR"


def test_pid_without_ins_nor_ipp() -> None:
    raw = _oru_with("^TEXT^XML^Base64^AAAA").replace(b"IPP9^^^H&1.2.3&ISO^PI", b"X^^^H^MR")
    with pytest.raises(Hl7ParseError) as caught:
        parse_report_message(raw)
    assert caught.value.location == "PID-3" and "no INS" in caught.value.reason
