"""What an imaging-report HL7 message means for the DRIMbox Source (ANS DRIM-M usage).

Accepted: ORU^R01 and MDM^T02/T04/T10 carrying a CDA imaging report in OBX-5 (ED, base64), and
OMI^O23 cancelling an exam (ORC-1 ``CA`` with IPC). The event is derived from ORC-1, the result
status (OBX-11) of the document OBX, the trigger event, TXA-13 and the CDA ``relatedDocument``:

* NEW         ORC ``NW`` / OBX-11 ``F`` (ORU), MDM^T02 with ORC ``NW``
* REPLACE     ORC ``RO`` or ``XO`` / OBX-11 ``C``; MDM^T10; MDM with TXA-13 or a CDA ``RPLC``
* DEPUBLISH   ORC ``CA`` / OBX-11 ``D`` (ORU or MDM); MDM^T04 (ANS usage)
* CANCEL_EXAM OMI^O23 with ORC ``CA``

OBX 2..n carry the DMP/MSSanté publication flags, matched by observation identifier (OBX-3.1), not
by position (the ANS cross-validation sample shifts them by one).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field, fields
from enum import StrEnum

from drimbox.cda import CdaError, ImagingReport, parse_imaging_report
from drimbox.hl7.message import ErrorCode, Hl7ParseError, Message, Segment, parse_message

REPORT_LOINC = "18748-4"
_SUPPORTED = {"ORU": {"R01"}, "MDM": {"T02", "T04", "T10"}, "OMI": {"O23"}}
_INS_TYPES = {"INS", "INS-NIR", "INS-NIA", "NH"}


class EventKind(StrEnum):
    NEW = "NEW"
    REPLACE = "REPLACE"
    DEPUBLISH = "DEPUBLISH"
    CANCEL_EXAM = "CANCEL_EXAM"


@dataclass(frozen=True)
class HierarchicId:
    """A CX/EI-like identifier: value + assigning authority namespace and OID."""

    value: str
    namespace: str | None = None
    oid: str | None = None


@dataclass(frozen=True)
class Hl7Patient:
    """PID as sent: identifiers and INS traits (PID-5 rep ``L`` = birth name, ``D`` = used)."""

    ins: HierarchicId | None
    ipp: HierarchicId | None
    birth_name: str | None
    first_given_name: str | None
    given_names: str | None
    used_name: str | None
    sex: str | None
    birth_date: str | None
    birth_place_code: str | None
    identity_reliability: str | None
    """PID-32 (VALI = validated INS identity)."""


@dataclass(frozen=True)
class DmpFlags:
    """OBX 2..n ``Y/N^^expandedYes-NoIndicator`` publication flags (None when not sent)."""

    masque_ps: bool | None = None
    invisible_patient: bool | None = None
    invisible_rep_legaux: bool | None = None
    connexion_secrete: bool | None = None
    modif_conf_code: bool | None = None
    destdmp: bool | None = None
    destmssanteps: bool | None = None
    destmssantepat: bool | None = None
    ack_reception: bool | None = None
    ack_lecture_mss: bool | None = None
    other: tuple[tuple[str, str], ...] = ()
    """Coded observations with other identifiers (code, value), kept for publication."""

    def as_string(self) -> str:
        """``NYYNN...`` in the ANS order (``-`` for an absent flag), for logs and tests."""
        out = []
        for f in fields(self)[:10]:
            value = getattr(self, f.name)
            out.append("-" if value is None else "Y" if value else "N")
        return "".join(out)


_FLAG_CODES = {f.name.upper(): f.name for f in fields(DmpFlags) if f.name != "other"}


@dataclass(frozen=True)
class ImagingReportMessage:
    message_type: str
    trigger_event: str
    control_id: str
    version: str
    sending_application: str
    sending_facility: str
    event: EventKind
    patient: Hl7Patient
    placer_order: HierarchicId | None
    filler_order: HierarchicId | None
    accession: HierarchicId | None
    """OBR-18 (IHE SWF) for ORU/MDM, IPC-1 for OMI."""
    study_instance_uid: str | None
    """IPC-3 (OMI only); for reports the study UIDs are in the CDA."""
    cda: bytes | None
    document: ImagingReport | None
    document_unique_id: str | None
    """TXA-12 (MDM)."""
    parent_document_id: str | None
    """TXA-13 (MDM replacement)."""
    result_status: str | None
    """OBX-11 of the document OBX."""
    order_control: str | None
    flags: DmpFlags
    warnings: tuple[str, ...] = field(default=())


def parse_report_message(data: bytes) -> ImagingReportMessage:
    """Parse and interpret raw HL7 bytes (raises :class:`Hl7ParseError` with code and location)."""
    return interpret(parse_message(data))


def interpret(message: Message) -> ImagingReportMessage:
    kind, trigger = message.message_type, message.trigger_event
    if not kind:
        raise message.msh.error(ErrorCode.REQUIRED_FIELD_MISSING, "message type is missing", 9, 1)
    if kind not in _SUPPORTED:
        raise message.msh.error(
            ErrorCode.UNSUPPORTED_MESSAGE_TYPE,
            f"message type {kind}^{trigger} is not accepted (ORU^R01, MDM^T02/T04/T10, OMI^O23)",
            9,
            1,
        )
    if trigger not in _SUPPORTED[kind]:
        raise message.msh.error(
            ErrorCode.UNSUPPORTED_EVENT_CODE,
            f"trigger event {kind}^{trigger} is not accepted "
            f"({kind}^{'/'.join(sorted(_SUPPORTED[kind]))})",
            9,
            2,
        )
    warnings = list(message.warnings)
    pid = message.require("PID", f"{kind} needs the patient")
    patient = _patient(pid)
    if "\u02dc" in "".join(pid.fields):
        warnings.append(
            "PID contains '\u02dc' (U+02DC) where the repetition separator '~' was probably meant; "
            "the fields after it were read as one repetition"
        )
    orc = message.first("ORC")
    order_control = orc.get(1).strip().upper() if orc is not None else None
    if kind == "OMI":
        return _cancellation(message, patient, order_control, warnings)

    obr = message.require("OBR", f"{kind} needs the order")
    txa = message.require("TXA", "MDM needs the document header") if kind == "MDM" else None
    obx = _document_obx(message)
    cda = _cda_bytes(obx)
    try:
        document = parse_imaging_report(cda)
    except CdaError as exc:
        raise obx.error(
            ErrorCode.DATA_TYPE_ERROR, f"embedded CDA is invalid: {exc}", 5, 5
        ) from None
    warnings.extend(f"CDA: {w}" for w in document.warnings)
    warnings.extend(_cross_check(patient, document))
    unique_id = parent_id = None
    if txa is not None:
        unique_id = txa.get(12).strip() or None
        parent_id = txa.get(13).strip() or None
        if unique_id is None:
            raise txa.error(
                ErrorCode.REQUIRED_FIELD_MISSING, "TXA-12 unique document number is missing", 12
            )
        if unique_id not in {document.document_id.root, str(document.document_id)}:
            warnings.append(
                f"TXA-12 {unique_id} differs from the embedded CDA id {document.document_id}; "
                "the CDA id is used"
            )
    status = obx.get(11).strip().upper() or None
    event = _report_event(kind, trigger, order_control, status, parent_id, document)
    return ImagingReportMessage(
        message_type=kind,
        trigger_event=trigger,
        control_id=message.control_id,
        version=message.version,
        sending_application=message.msh.get(3),
        sending_facility=message.msh.get(4),
        event=event,
        patient=patient,
        placer_order=_ei(obr, 2) or (_ei(orc, 2) if orc is not None else None),
        filler_order=_ei(obr, 3) or (_ei(orc, 3) if orc is not None else None),
        accession=_ei(obr, 18),
        study_instance_uid=None,
        cda=cda,
        document=document,
        document_unique_id=unique_id,
        parent_document_id=parent_id,
        result_status=status,
        order_control=order_control,
        flags=_flags(message),
        warnings=tuple(warnings),
    )


def _cross_check(patient: Hl7Patient, document: ImagingReport) -> list[str]:
    """Differences between PID and the CDA's recordTarget, reported (not fatal) for review."""
    cda = document.patient
    pairs = [
        ("INS", patient.ins.value if patient.ins else None, cda.ins.extension if cda.ins else None),
        ("birth name", patient.birth_name, cda.identity.birth_name),
        ("first given name", patient.first_given_name, cda.identity.first_given_name),
        ("sex", patient.sex, cda.identity.sex),
        ("birth date", patient.birth_date, cda.identity.birth_date),
        ("birth place code", patient.birth_place_code, cda.identity.birth_place_code),
    ]
    return [
        f"PID {label} {hl7!r} differs from the CDA's {doc!r}"
        for label, hl7, doc in pairs
        if hl7 and doc and hl7.upper() != doc.upper()
    ]


def _report_event(
    kind: str,
    trigger: str,
    order_control: str | None,
    status: str | None,
    parent_id: str | None,
    document: ImagingReport,
) -> EventKind:
    if order_control == "CA" or status == "D" or (kind == "MDM" and trigger == "T04"):
        return EventKind.DEPUBLISH
    if (
        order_control in {"RO", "XO"}
        or status == "C"
        or trigger == "T10"
        or parent_id is not None
        or document.replaced_document is not None
    ):
        return EventKind.REPLACE
    return EventKind.NEW


def _cancellation(
    message: Message, patient: Hl7Patient, order_control: str | None, warnings: list[str]
) -> ImagingReportMessage:
    orc = message.require("ORC", "OMI needs the order control")
    if order_control != "CA":
        raise orc.error(
            ErrorCode.TABLE_VALUE_NOT_FOUND,
            f"OMI^O23 with ORC-1 {order_control or '(empty)'} is not handled: the DRIMbox "
            "Source only accepts exam cancellations (ORC-1 CA)",
            1,
        )
    ipc = message.require("IPC", "an exam cancellation names the study in IPC")
    accession = ipc.require(1, what="IPC-1 accession identifier")
    study = ipc.require(3, what="IPC-3 study instance UID")
    obr = message.first("OBR")
    return ImagingReportMessage(
        message_type=message.message_type,
        trigger_event=message.trigger_event,
        control_id=message.control_id,
        version=message.version,
        sending_application=message.msh.get(3),
        sending_facility=message.msh.get(4),
        event=EventKind.CANCEL_EXAM,
        patient=patient,
        placer_order=_ei(obr, 2) if obr is not None else None,
        filler_order=_ei(obr, 3) if obr is not None else None,
        accession=HierarchicId(accession, ipc.get(1, 2) or None, ipc.get(1, 3) or None),
        study_instance_uid=study,
        cda=None,
        document=None,
        document_unique_id=None,
        parent_document_id=None,
        result_status=None,
        order_control=order_control,
        flags=DmpFlags(),
        warnings=tuple(warnings),
    )


def _ei(segment: Segment | None, number: int) -> HierarchicId | None:
    """EI field: entity id ^ namespace id ^ universal id."""
    if segment is None:
        return None
    value = segment.get(number, 1).strip()
    if not value:
        return None
    return HierarchicId(
        value, segment.get(number, 2).strip() or None, segment.get(number, 3).strip() or None
    )


def _patient(pid: Segment) -> Hl7Patient:
    ins: HierarchicId | None = None
    ipp: HierarchicId | None = None
    for rep in range(1, pid.repetition_count(3) + 1):
        value = pid.get(3, 1, repetition=rep).strip()
        id_type = pid.get(3, 5, repetition=rep).strip().upper()
        if not value:
            continue
        cx = HierarchicId(
            value,
            pid.get(3, 4, repetition=rep, subcomponent=1).strip() or None,
            pid.get(3, 4, repetition=rep, subcomponent=2).strip() or None,
        )
        if id_type in _INS_TYPES and ins is None:
            ins = cx
        elif id_type == "PI" and ipp is None:
            ipp = cx
    if ins is None and ipp is None:
        raise pid.error(
            ErrorCode.REQUIRED_FIELD_MISSING, "no INS (^INS) nor IPP (^PI) identifier", 3
        )

    birth_name = first_given = given_names = used_name = None
    for rep in range(1, pid.repetition_count(5) + 1):
        name_type = pid.get(5, 7, repetition=rep).strip().upper()
        if name_type == "L" and birth_name is None:
            birth_name = pid.get(5, 1, repetition=rep, subcomponent=1).strip() or None
            first_given = pid.get(5, 2, repetition=rep).strip() or None
            given_names = pid.get(5, 3, repetition=rep).strip() or None
        elif name_type == "D" and used_name is None:
            used_name = pid.get(5, 1, repetition=rep, subcomponent=1).strip() or None
    birth_place = None
    for rep in range(1, pid.repetition_count(11) + 1):
        if pid.get(11, 7, repetition=rep).strip().upper() == "BDL":
            birth_place = pid.get(11, 9, repetition=rep).strip() or None
            break
    return Hl7Patient(
        ins=ins,
        ipp=ipp,
        birth_name=birth_name,
        first_given_name=first_given,
        given_names=given_names,
        used_name=used_name,
        sex=pid.get(8).strip() or None,
        birth_date=pid.get(7, 1).strip() or None,
        birth_place_code=birth_place,
        identity_reliability=pid.get(32).strip() or None,
    )


def _document_obx(message: Message) -> Segment:
    """The OBX carrying the CDA: value type ED, preferably observation 18748-4."""
    documents = [s for s in message.all("OBX") if s.get(2).strip().upper() == "ED"]
    if not documents:
        raise Hl7ParseError(
            ErrorCode.SEGMENT_SEQUENCE_ERROR,
            "no OBX with value type ED carrying the CDA report (OBX|1|ED|18748-4^...^LN)",
            segment="OBX",
        )
    for segment in documents:
        if segment.get(3, 1).strip() == REPORT_LOINC:
            return segment
    return documents[0]


def _cda_bytes(obx: Segment) -> bytes:
    """OBX-5 ED: source ^ TEXT ^ XML ^ Base64 ^ data."""
    encoding = obx.get(5, 4).strip().upper()
    if encoding != "BASE64":
        raise obx.error(
            ErrorCode.DATA_TYPE_ERROR,
            f"OBX-5.4 encoding is {encoding or '(empty)'!r}; "
            "the CDA must be sent as ^TEXT^XML^Base64^",
            5,
            4,
        )
    payload = "".join(obx.get(5, 5).split())
    if not payload:
        raise obx.error(ErrorCode.REQUIRED_FIELD_MISSING, "OBX-5.5 carries no CDA data", 5, 5)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise obx.error(
            ErrorCode.DATA_TYPE_ERROR, f"OBX-5.5 is not valid base64: {exc}", 5, 5
        ) from None
    return data


def _flags(message: Message) -> DmpFlags:
    values: dict[str, bool] = {}
    other: list[tuple[str, str]] = []
    for obx in message.all("OBX"):
        if obx.get(2).strip().upper() not in {"CE", "CWE", "CNE"}:
            continue
        code = obx.get(3, 1).strip().upper()
        raw = obx.get(5, 1).strip().upper()
        name = _FLAG_CODES.get(code)
        if name is None:
            other.append((code, raw))
            continue
        if raw not in {"Y", "N"}:
            raise obx.error(
                ErrorCode.TABLE_VALUE_NOT_FOUND,
                f"flag {code} must be Y or N, got {raw or '(empty)'!r}",
                5,
                1,
            )
        values[name] = raw == "Y"
    return DmpFlags(**values, other=tuple(other))
