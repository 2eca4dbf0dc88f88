"""Build the DRIM-M KOS (manifest, TID 2010 / 113030) and its key-image variant (KIN, 113000).

The layout follows PS3.3 A.35.4 (Key Object Selection Document IOD) and the CI-SIS IMG-KOS
usage visible in the ANS samples: INS as PatientID with its issuer qualifiers, INS traits in
OtherPatientNames / PatientComments, accession + issuer and placer order in
ReferencedRequestSequence, one evidence item per series with its RAD-107 RetrieveURL and
RetrieveLocationUID, a Key Object Description text item then one content item per instance.
docs/kos.md lists every attribute and where its value comes from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace
from io import BytesIO

from pydicom import __version__ as pydicom_version
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

from drimbox import __version__ as drimbox_version
from drimbox.dicom.kos.codes import (
    KEY_OBJECT_DESCRIPTION,
    KOS_SOP_CLASS_UID,
    MANIFEST,
    OF_INTEREST,
    TID_2010,
    Code,
    value_type_for,
)
from drimbox.dicom.kos.errors import KosInputError
from drimbox.dicom.kos.model import (
    KosAuthoring,
    KosIdentity,
    KosPatient,
    KosReference,
    KosRequest,
    KosSeries,
)
from drimbox.dicom.kos.retrieve_url import split_series_url
from drimbox.dicom.kos.uids import UidFactory

CHARSET = "ISO_IR 192"
"""UTF-8 always: Latin-1 (ISO_IR 100) cannot hold every French name (Œ, œ, Ÿ)."""
_LO_MAX = 64
_XON_ID_SEPARATOR = "^" * 9  # InstitutionName = "name^^^^^^^^^id", XON.1 and XON.10 as ANS does


def build_kos(
    patient: KosPatient,
    request: KosRequest,
    series: Sequence[KosSeries],
    authoring: KosAuthoring,
    *,
    identity: KosIdentity | None = None,
    description: str | None = None,
) -> Dataset:
    """The DRIM-M manifest KOS referencing every instance of `series`.

    `description` is the Key Object Description text; by default it lists the exam, the act
    and one line per series, as the ANS KOS do.
    """
    return build_document(
        MANIFEST, patient, request, series, authoring, identity or KosIdentity(), description
    )


def build_kin(
    patient: KosPatient,
    request: KosRequest,
    series: Sequence[KosSeries],
    authoring: KosAuthoring,
    key_images: Iterable[str],
    *,
    identity: KosIdentity | None = None,
    description: str | None = None,
) -> Dataset:
    """The key-image note: a KOS titled 113000 "Of Interest" referencing only `key_images`.

    It lives in its own series (default SeriesNumber 60) so that a manifest can reference it.
    """
    wanted = set(key_images)
    if not wanted:
        raise KosInputError("a key-image note needs at least one key image")
    kept: list[KosSeries] = []
    for item in series:
        chosen = tuple(i for i in item.instances if i.sop_instance_uid in wanted)
        if chosen:
            kept.append(replace(item, instances=chosen))
    found = {i.sop_instance_uid for s in kept for i in s.instances}
    if missing := wanted - found:
        raise KosInputError(f"key images not in the given series: {', '.join(sorted(missing))}")
    return build_document(
        OF_INTEREST,
        patient,
        request,
        kept,
        authoring,
        identity or KosIdentity(series_number=60),
        description,
    )


def kos_bytes(ds: Dataset) -> bytes:
    """Encode a KOS as a DICOM Part-10 file in Explicit VR Little Endian."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = f"DRIMBOX_{drimbox_version}"[:16]
    out = FileDataset("", ds, file_meta=meta, preamble=b"\0" * 128)
    buffer = BytesIO()
    out.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def default_description(request: KosRequest, series: Sequence[KosSeries]) -> str:
    """Key Object Description text in the ANS layout: exam, act, one line per series."""
    lines = [f"Examen : {request.study_description or request.accession_number}"]
    if request.requested_procedure_description:
        lines.append(f"Acte = {request.requested_procedure_description}")
    lines.extend(series_line(item) for item in series)
    return "\r\n".join(lines) + "\r\n"


def series_line(series: KosSeries) -> str:
    """One series in the Key Object Description text: "Série-<uid> : <modality> @ : <name>"."""
    modality, name = series.modality or "", series.description or ""
    return f"Série-{series.series_instance_uid} : {modality} @ : {name}"


def build_document(
    title: Code,
    patient: KosPatient,
    request: KosRequest,
    series: Sequence[KosSeries],
    authoring: KosAuthoring,
    identity: KosIdentity,
    description: str | None,
) -> Dataset:
    """A KOS with the given CID 7010 `title` referencing every instance of `series`."""
    _check_series(request, series)
    uids = UidFactory(authoring.org_uid_root)
    ds = Dataset()
    when = authoring.content_datetime
    ds.SpecificCharacterSet = CHARSET
    ds.InstanceCreationDate = _da(when.date())
    ds.InstanceCreationTime = _tm(when.time())
    ds.SOPClassUID = KOS_SOP_CLASS_UID
    ds.SOPInstanceUID = identity.sop_instance_uid or uids.new()
    ds.TimezoneOffsetFromUTC = _tz_offset(when)
    _patient_module(ds, patient)
    _study_module(ds, request)
    _series_and_equipment(ds, identity, authoring, identity.series_instance_uid or uids.new())
    ds.InstanceNumber = identity.instance_number
    ds.ContentDate = _da(when.date())
    ds.ContentTime = _tm(when.time())
    ds.ReferencedRequestSequence = [_request_item(request)]
    ds.CurrentRequestedProcedureEvidenceSequence = [
        _evidence_item(request.study_instance_uid, series, authoring)
    ]
    if identity.predecessor is not None:
        ds.PredecessorDocumentsSequence = [_predecessor_item(identity.predecessor)]
    text = description if description is not None else default_description(request, series)
    _content(ds, title, text, series)
    return ds


def _check_series(request: KosRequest, series: Sequence[KosSeries]) -> None:
    if not series:
        raise KosInputError("a KOS must reference at least one series")
    seen_series: set[str] = set()
    seen_instances: set[str] = set()
    for item in series:
        url = split_series_url(item.retrieve_url)
        if url.study_uid != request.study_instance_uid:
            raise KosInputError(
                f"RetrieveURL of series {item.series_instance_uid} names study {url.study_uid}, "
                f"not {request.study_instance_uid}"
            )
        if item.series_instance_uid in seen_series:
            raise KosInputError(f"series {item.series_instance_uid} is given twice")
        seen_series.add(item.series_instance_uid)
        for instance in item.instances:
            if instance.sop_instance_uid in seen_instances:
                raise KosInputError(f"instance {instance.sop_instance_uid} is given twice")
            seen_instances.add(instance.sop_instance_uid)


def _patient_module(ds: Dataset, patient: KosPatient) -> None:
    ds.PatientName = f"{patient.birth_name}^{patient.given_names[0]}"
    ds.PatientID = patient.ins
    ds.IssuerOfPatientID = patient.ins_issuer
    ds.IssuerOfPatientIDQualifiersSequence = [_entity(patient.ins_oid)]
    ds.PatientBirthDate = _da(patient.birth_date)
    ds.PatientSex = patient.sex
    others = [f"^{' '.join(patient.given_names)}"]
    if patient.used_name or patient.used_given_name:
        others.append(f"{patient.used_name or ''}^{patient.used_given_name or ''}".rstrip("^"))
    ds.OtherPatientNames = others if len(others) > 1 else others[0]
    ids = [_other_id(patient.ins, patient.ins_issuer, patient.ins_oid)]
    if patient.ipp is not None and patient.ipp_issuer_oid is not None:
        ids.append(_other_id(patient.ipp, patient.ipp_issuer_oid, patient.ipp_issuer_oid))
    ds.OtherPatientIDsSequence = ids
    if patient.birth_place_code is not None:
        ds.PatientComments = patient.birth_place_code


def _other_id(value: str, issuer: str, oid: str) -> Dataset:
    item = Dataset()
    item.PatientID = value
    item.IssuerOfPatientID = issuer
    item.TypeOfPatientID = "TEXT"
    item.IssuerOfPatientIDQualifiersSequence = [_entity(oid)]
    return item


def _study_module(ds: Dataset, request: KosRequest) -> None:
    ds.StudyInstanceUID = request.study_instance_uid
    ds.StudyDate = _da(request.study_date) if request.study_date else ""
    ds.StudyTime = _tm(request.study_time) if request.study_time else ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = request.study_id or ""
    ds.AccessionNumber = request.accession_number
    ds.IssuerOfAccessionNumberSequence = [_entity(request.accession_issuer_oid)]
    if request.study_description:
        ds.StudyDescription = _fit(request.study_description)


def _series_and_equipment(
    ds: Dataset, identity: KosIdentity, authoring: KosAuthoring, series_uid: str
) -> None:
    when = authoring.content_datetime
    ds.Modality = "KO"
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = identity.series_number
    ds.SeriesDate = _da(when.date())
    ds.SeriesTime = _tm(when.time())
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.Manufacturer = authoring.manufacturer
    ds.InstitutionName = _institution(authoring)
    if authoring.manufacturer_model_name:
        ds.ManufacturerModelName = authoring.manufacturer_model_name
    if authoring.software_versions:
        ds.SoftwareVersions = authoring.software_versions
    else:
        ds.SoftwareVersions = f"drimbox {drimbox_version} pydicom {pydicom_version}"
    if authoring.device_serial_number:
        ds.DeviceSerialNumber = authoring.device_serial_number
    if authoring.station_name:
        ds.StationName = authoring.station_name


def _institution(authoring: KosAuthoring) -> str:
    if authoring.institution_id is None:
        return _fit(authoring.institution_name)
    tail = _XON_ID_SEPARATOR + authoring.institution_id
    return _fit(authoring.institution_name, _LO_MAX - len(tail)).rstrip() + tail


def _request_item(request: KosRequest) -> Dataset:
    item = Dataset()
    item.StudyInstanceUID = request.study_instance_uid
    item.ReferencedStudySequence = []
    item.AccessionNumber = request.accession_number
    item.IssuerOfAccessionNumberSequence = [_entity(request.accession_issuer_oid)]
    item.PlacerOrderNumberImagingServiceRequest = request.placer_order_number or ""
    if request.placer_order_issuer_oid is not None:
        item.OrderPlacerIdentifierSequence = [_entity(request.placer_order_issuer_oid)]
    item.FillerOrderNumberImagingServiceRequest = request.filler_order_number or ""
    item.RequestedProcedureID = request.requested_procedure_id or ""
    item.RequestedProcedureDescription = _fit(request.requested_procedure_description or "")
    code = request.requested_procedure_code
    item.RequestedProcedureCodeSequence = [] if code is None else [_code(code)]
    return item


def _evidence_item(study_uid: str, series: Sequence[KosSeries], authoring: KosAuthoring) -> Dataset:
    study = Dataset()
    study.StudyInstanceUID = study_uid
    items = []
    for entry in series:
        item = Dataset()
        item.SeriesInstanceUID = entry.series_instance_uid
        item.RetrieveURL = entry.retrieve_url
        item.RetrieveLocationUID = entry.retrieve_location_uid or authoring.retrieve_location_uid
        item.ReferencedSOPSequence = [
            _sop_ref(i.sop_class_uid, i.sop_instance_uid) for i in entry.instances
        ]
        items.append(item)
    study.ReferencedSeriesSequence = items
    return study


def _predecessor_item(previous: KosReference) -> Dataset:
    series = Dataset()
    series.SeriesInstanceUID = previous.series_instance_uid
    series.ReferencedSOPSequence = [_sop_ref(previous.sop_class_uid, previous.sop_instance_uid)]
    study = Dataset()
    study.StudyInstanceUID = previous.study_instance_uid
    study.ReferencedSeriesSequence = [series]
    return study


def _content(ds: Dataset, title: Code, text: str, series: Sequence[KosSeries]) -> None:
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = [_code(title)]
    ds.ContinuityOfContent = "SEPARATE"
    template = Dataset()
    template.MappingResource, template.TemplateIdentifier = TID_2010
    ds.ContentTemplateSequence = [template]
    items: list[Dataset] = []
    if text:
        note = Dataset()
        note.RelationshipType = "CONTAINS"
        note.ValueType = "TEXT"
        note.ConceptNameCodeSequence = [_code(KEY_OBJECT_DESCRIPTION)]
        note.TextValue = text
        items.append(note)
    for entry in series:
        for instance in entry.instances:
            ref = Dataset()
            ref.RelationshipType = "CONTAINS"
            ref.ValueType = value_type_for(instance.sop_class_uid)
            ref.ReferencedSOPSequence = [
                _sop_ref(instance.sop_class_uid, instance.sop_instance_uid)
            ]
            items.append(ref)
    ds.ContentSequence = items


def _sop_ref(sop_class_uid: str, sop_instance_uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class_uid
    item.ReferencedSOPInstanceUID = sop_instance_uid
    return item


def _entity(oid: str) -> Dataset:
    item = Dataset()
    item.UniversalEntityID = oid
    item.UniversalEntityIDType = "ISO"
    return item


def _code(code: Code) -> Dataset:
    item = Dataset()
    item.CodeValue = code.value
    item.CodingSchemeDesignator = code.scheme
    item.CodeMeaning = code.meaning
    return item


def _fit(text: str, limit: int = _LO_MAX) -> str:
    """Cut display text (never an identifier) to the VR's length limit, marked with "…".

    The limit counts bytes of the encoded value (PS3.5 6.2), here UTF-8 (ISO_IR 192): an
    accented French procedure name of 60 characters can exceed 64 bytes.
    """
    if len(text.encode()) <= limit:
        return text
    room = limit - len("…".encode())
    while len(text.encode()) > room:
        text = text[:-1]
    return text.rstrip() + "…"


def _da(value: dt.date) -> str:
    return value.strftime("%Y%m%d")


def _tm(value: dt.time) -> str:
    text = value.strftime("%H%M%S")
    return f"{text}.{value.microsecond:06d}" if value.microsecond else text


def _tz_offset(when: dt.datetime) -> str:
    offset = when.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
