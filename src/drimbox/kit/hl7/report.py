"""Build an imaging-report HL7 message (ORU^R01 v2.5 + CDA R2) for an exam of the ``ans`` data set.

The shape follows the ANS DRIM-M samples (docs/hl7-interface.md): MSH-18 ``UNICODE UTF-8``, PID
with the INS (``^INS``, OID 1.2.250.1.213.1.4.10) and the IPP (``^PI``) and the INS traits, ORC,
OBR (OBR-18 = accession), OBX 1 = the CDA (``ED``, base64), OBX 2..11 = the DMP/MSSanté flags.
The CDA is a CI-SIS "CR d'imagerie médicale" level 1 document (LOINC 18748-4) whose body is a tiny
PDF. Values come from the baked exam table (:mod:`drimbox.kit.dataset.ans_exams`), so a RIS
simulator, the demo and tests can feed the Source without the ANS folder.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any, Literal

from lxml import etree

from drimbox.kit.dataset.ans_exams import INS_OID, INSTITUTION, PLACER_ISSUER_OID, Exam
from drimbox.kit.dataset.common import Patient
from drimbox.kit.pdf import tiny_pdf

Event = Literal["new", "replace", "depublish"]

HL7 = "urn:hl7-org:v3"
PS320 = "urn:dicom-org:ps3-20"
LOINC = "2.16.840.1.113883.6.1"
DCM = "1.2.840.10008.2.16.4"
RPPS_OID = "1.2.250.1.71.4.2.1"
FINESS_OID = "1.2.250.1.71.4.2.2"
INS_NAMESPACE = "ASIP-SANTE-INS-NIR"
IPP_NAMESPACE = "AUT-AFFECTATION"
REPORT_TIME = "20210108111700+0100"
BIRTH_PLACE = "51215"

_AUTHOR = {"rpps": "801234560801", "given": "Jacques", "family": "BIDEAULT", "prefix": "M"}
_ORG = {"id": "101235555", "name": INSTITUTION}
_SPECIALTY = ("G15_10/SM44", "Médecin - Radio-diagnostic (SM)", "1.2.250.1.213.1.1.4.5")
_PRACTICE = ("AMBULATOIRE", "Ambulatoire", "1.2.250.1.213.1.1.4.9")
_SET_NAMESPACE = uuid.UUID("0b4c5a55-1d9e-4d77-9a3b-2f0e6c1b8d21")
#: ORC-1 and OBX-11 of each event (docs/hl7-interface.md "event" table).
_EVENT_CODES: dict[str, tuple[str, str]] = {
    "new": ("NW", "F"),
    "replace": ("XO", "C"),
    "depublish": ("CA", "D"),
}
#: OBX 2..11 publication flags (code, label, value), in the ANS order.
DEFAULT_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("MASQUE_PS", "Masqué aux professionnels de Santé", "N"),
    ("INVISIBLE_PATIENT", "Document Non Visible par le patient", "N"),
    ("INVISIBLE_REP_LEGAUX", "Non visible par les représentants Légaux du patient", "N"),
    ("CONNEXION_SECRETE", "Connexion Secrete", "N"),
    ("MODIF_CONF_CODE", "Modification Confidentiality Code", "N"),
    ("DESTDMP", "Destinataire DMP", "Y"),
    (
        "DESTMSSANTEPS",
        "Destinataire (Professionnel de Santé, organisation ou BAL applicative)",
        "N",
    ),
    ("DESTMSSANTEPAT", "Destinataire Patient", "N"),
    ("ACK_RECEPTION", "Accusé de réception", "N"),
    ("ACK_LECTURE_MSS", "Accusé de lecture", "N"),
)


def _names(patient: Patient) -> tuple[str, str]:
    """(birth name, first given name) from the DICOM PN ``FAMILY^GIVEN``."""
    family, _, given = patient.name.partition("^")
    return family, given.split("^")[0]


def _ins(patient: Patient) -> str | None:
    return next((o.value for o in patient.other_ids if o.issuer_oid == INS_OID), None)


def _sub(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
    element = etree.SubElement(parent, f"{{{HL7}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _person(parent: Any, role: str, time: str) -> None:
    """author/assignedAuthor or legalAuthenticator/assignedEntity: RPPS, name, organisation."""
    _sub(parent, "time", value=time)
    if parent.tag.endswith("legalAuthenticator"):
        _sub(parent, "signatureCode", code="S")
    entity = _sub(parent, role)
    _sub(entity, "id", root=RPPS_OID, extension=_AUTHOR["rpps"])
    code, display, system = _SPECIALTY
    _sub(entity, "code", code=code, displayName=display, codeSystem=system)
    name = _sub(_sub(entity, "assignedPerson"), "name")
    _sub(name, "prefix", _AUTHOR["prefix"])
    _sub(name, "given", _AUTHOR["given"])
    _sub(name, "family", _AUTHOR["family"])
    org = _sub(entity, "representedOrganization")
    _sub(org, "id", root=FINESS_OID, extension=_ORG["id"])
    _sub(org, "name", _ORG["name"])
    code, display, system = _PRACTICE
    _sub(org, "standardIndustryClassCode", code=code, displayName=display, codeSystem=system)


def build_cda(exam: Exam, *, document_id: str | None = None, parent_id: str | None = None) -> bytes:
    """The CDA R2 imaging report of ``exam`` (UTF-8 bytes); ``parent_id`` makes it an RPLC."""
    patient = exam.patient
    root = etree.Element(f"{{{HL7}}}ClinicalDocument", nsmap={None: HL7, "ps3-20": PS320})
    _sub(root, "realmCode", code="FR")
    _sub(root, "typeId", root="2.16.840.1.113883.1.3", extension="POCD_HD000040")
    for template in (
        "2.16.840.1.113883.2.8.2.1",
        "1.2.250.1.213.1.1.1.1",
        "1.3.6.1.4.1.19376.1.2.20",
    ):
        _sub(root, "templateId", root=template)
    _sub(root, "id", root=document_id or exam.document_id)
    code = _sub(
        root,
        "code",
        code="18748-4",
        displayName="CR d'imagerie médicale",
        codeSystem=LOINC,
        codeSystemName="LOINC",
    )
    _sub(code, "translation", code=exam.exam_code, displayName=exam.exam_label, codeSystem=LOINC)
    _sub(root, "title", "CR d'imagerie médicale")
    _sub(root, "effectiveTime", value=REPORT_TIME)
    _sub(
        root,
        "confidentialityCode",
        code="N",
        displayName="Normal",
        codeSystem="2.16.840.1.113883.5.25",
    )
    _sub(root, "languageCode", code="fr-FR")
    _sub(root, "setId", root=str(uuid.uuid5(_SET_NAMESPACE, exam.letter)).upper())
    _sub(root, "versionNumber", value="2" if parent_id else "1")

    role = _sub(_sub(root, "recordTarget"), "patientRole")
    ins = _ins(patient)
    if ins:
        _sub(role, "id", root=INS_OID, extension=ins)
    _sub(role, "id", root=patient.issuer_oid, extension=patient.patient_id)
    person = _sub(role, "patient", classCode="PSN")
    family, given = _names(patient)
    name = _sub(person, "name")
    _sub(name, "family", family, qualifier="BR")
    _sub(name, "given", given, qualifier="BR")
    _sub(name, "given", given)
    _sub(person, "administrativeGenderCode", code=patient.sex, codeSystem="2.16.840.1.113883.5.1")
    _sub(person, "birthTime", value=patient.birth_date)
    place = _sub(_sub(_sub(person, "birthplace"), "place"), "addr")
    _sub(place, "county", BIRTH_PLACE)

    _person(_sub(root, "author"), "assignedAuthor", REPORT_TIME)
    custodian = _sub(
        _sub(_sub(root, "custodian"), "assignedCustodian"), "representedCustodianOrganization"
    )
    _sub(custodian, "id", root=FINESS_OID, extension=_ORG["id"])
    _sub(custodian, "name", _ORG["name"])
    _person(_sub(root, "legalAuthenticator"), "assignedEntity", REPORT_TIME)

    for accession in exam.accessions:
        order = _sub(_sub(root, "inFulfillmentOf"), "order")
        _sub(order, "id", root=PLACER_ISSUER_OID, extension=exam.placer_order)
        etree.SubElement(
            order, f"{{{PS320}}}accessionNumber", root=exam.accession_issuer, extension=accession
        )
    event = _sub(_sub(root, "documentationOf"), "serviceEvent", classCode="ACT")
    for study in exam.study_uids:
        _sub(event, "id", root=study)
    code = _sub(
        event,
        "code",
        code=exam.exam_code,
        displayName=exam.exam_label,
        codeSystem=LOINC,
        codeSystemName="LOINC",
    )
    _sub(code, "translation", code=exam.modality, codeSystem=DCM, codeSystemName="DCM")
    when = _sub(event, "effectiveTime")
    _sub(when, "low", value=REPORT_TIME)
    if parent_id:
        related = _sub(root, "relatedDocument", typeCode="RPLC")
        _sub(_sub(related, "parentDocument"), "id", root=parent_id)
    body = _sub(_sub(root, "component"), "nonXMLBody")
    pdf = tiny_pdf(f"DRIMbox demo report - exam {exam.letter} - {exam.modality}")
    _sub(
        body,
        "text",
        base64.b64encode(pdf).decode("ascii"),
        mediaType="application/pdf",
        representation="B64",
    )
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


def _escape(value: str) -> str:
    """HL7 v2 escape sequences for the default delimiters (HL7 v2.5 2.7.4)."""
    out = value.replace("\\", "\\E\\")
    for char, code in (("|", "F"), ("^", "S"), ("&", "T"), ("~", "R")):
        out = out.replace(char, f"\\{code}\\")
    return out


def build_report_message(
    exam: Exam,
    *,
    control_id: str,
    document_id: str | None = None,
    event: Event = "new",
    timestamp: str = "20240912101500",
    sending_application: str = "DRIMBOX_KIT",
    sending_facility: str = "DRIMBOX_KIT",
) -> bytes:
    """An ORU^R01 v2.5 carrying the CDA report of ``exam`` (segments separated by CR).

    ``event``: ``new`` (ORC NW, OBX-11 F), ``replace`` (ORC XO, OBX-11 C, CDA RPLC of the
    exam's original document id; pass a new ``document_id``) or ``depublish`` (ORC CA, OBX-11 D).
    """
    if event not in _EVENT_CODES:
        raise ValueError(f"unknown event {event!r} (new, replace, depublish)")
    order_control, status = _EVENT_CODES[event]
    if event == "replace" and document_id in (None, exam.document_id):
        document_id = f"{exam.document_id}.2"
    parent = exam.document_id if event == "replace" else None
    cda = build_cda(exam, document_id=document_id, parent_id=parent)
    patient = exam.patient
    family, given = _names(patient)
    ins = _ins(patient)
    ids = [f"{patient.patient_id}^^^{IPP_NAMESPACE}&{patient.issuer_oid}&ISO^PI"]
    if ins:
        ids.insert(0, f"{ins}^^^{INS_NAMESPACE}&{INS_OID}&ISO^INS")
    accession = exam.accessions[0]
    segments = [
        f"MSH|^~\\&|{sending_application}|{sending_facility}|DRIMBOX|DRIMBOX_SOURCE|{timestamp}||"
        f"ORU^R01^ORU_R01|{control_id}|P|2.5|||||FRA|UNICODE UTF-8|||2.1^CISIS_CDA_HL7_V2",
        f"PID|||{'~'.join(ids)}||{family}^{given}^{given}^^^^L||{patient.birth_date}|"
        f"{patient.sex}|||^^^^^^BDL^^{BIRTH_PLACE}||||||||||||||||||||N|VALI",
        f"ORC|{order_control}|{exam.placer_order}^RIS|{accession}^RIS",
        f"OBR|1|{exam.placer_order}^RIS|{accession}^RIS|18748-4^CR d'imagerie médicale^LN"
        f"|||{timestamp}|||||||||{_AUTHOR['rpps']}^{_AUTHOR['family']}^{_AUTHOR['given']}"
        f"^^^^^^RPPS||{accession}^^{exam.accession_issuer}|||||||{status}",
        f"OBX|1|ED|18748-4^CR d'imagerie médicale^LN||^TEXT^XML^Base64^"
        f"{base64.b64encode(cda).decode('ascii')}||||||{status}|",
    ]
    for number, (code, label, value) in enumerate(DEFAULT_FLAGS, start=2):
        segments.append(
            f"OBX|{number}|CE|{code}^{_escape(label)}^MetaDMPMSS||{value}^^expandedYes-NoIndicator"
            "||||||F|"
        )
    return ("\r".join(segments) + "\r").encode("utf-8")
