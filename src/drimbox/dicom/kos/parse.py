"""Read a KOS and extract what the archive needs, with a precise error for anything wrong.

`parse_kos` is used by `drimbox source import-kos` (TE.KOS-LOAD), by the Consommatrice when it
reads a KOS from the DMP, and by `update.supersede` to rebuild a new version. With
``strict=True`` (the default) the KOS must also meet the DRIM-M rules: manifest or key-image
title, accession number + issuer, INS patient identity, one RAD-107 RetrieveURL per series.
"""

from __future__ import annotations

import datetime as dt
import re

from pydicom.dataset import Dataset

from drimbox.dicom.kos import values as v
from drimbox.dicom.kos.codes import (
    DRIM_M_TITLES,
    INS_OIDS,
    KEY_OBJECT_DESCRIPTION,
    KOS_SOP_CLASS_UID,
    Code,
)
from drimbox.dicom.kos.errors import KosError, KosInputError
from drimbox.dicom.kos.model import KosInstance, KosReference, check_ins
from drimbox.dicom.kos.parsed import OtherPatientId, ParsedKos, ParsedPatient, ParsedSeries
from drimbox.dicom.kos.retrieve_url import split_series_url
from drimbox.dicom.part10 import malformed_as, read_part10

_EVIDENCE = "CurrentRequestedProcedureEvidenceSequence"
_REFERENCE_TYPES = frozenset({"IMAGE", "COMPOSITE", "WAVEFORM"})
_SR_VALUE_TYPES = _REFERENCE_TYPES | {
    "TEXT", "NUM", "CODE", "DATETIME", "DATE", "TIME", "UIDREF", "PNAME",
    "SCOORD", "SCOORD3D", "TCOORD", "CONTAINER", "TABLE",
}  # fmt: skip


def parse_kos(source: bytes | Dataset, *, strict: bool = True) -> ParsedKos:
    """Parse a KOS given as Part-10 bytes or as a dataset; raise `KosError` if it is unfit."""
    ds = read_part10(source, KosError) if isinstance(source, bytes | bytearray) else source
    with malformed_as(KosError):
        return _parse(ds, strict)


def _parse(ds: Dataset, strict: bool) -> ParsedKos:
    sop_class = v.text(ds, "SOPClassUID")
    if sop_class != KOS_SOP_CLASS_UID:
        raise KosError(
            f"not a Key Object Selection Document: SOPClassUID is {sop_class or 'absent'}"
        )
    study_uid = v.uid(ds, "StudyInstanceUID")
    title = _title(ds, strict)
    request = v.first_item(ds, "ReferencedRequestSequence")
    series = _evidence(ds, study_uid, strict)
    _check_content(ds, series)
    institution_name, institution_id = _institution(v.text(ds, "InstitutionName"))
    accession, accession_oid = _accession(ds, request, study_uid, strict)
    return ParsedKos(
        sop_instance_uid=v.uid(ds, "SOPInstanceUID"),
        series_instance_uid=v.uid(ds, "SeriesInstanceUID"),
        series_number=v.integer(ds, "SeriesNumber"),
        instance_number=v.integer(ds, "InstanceNumber"),
        study_instance_uid=study_uid,
        title=title,
        accession_number=accession,
        accession_issuer_oid=accession_oid,
        placer_order_number=v.text(request, "PlacerOrderNumberImagingServiceRequest"),
        placer_order_issuer_oid=v.entity_id(request, "OrderPlacerIdentifierSequence"),
        requested_procedure_description=v.text(request, "RequestedProcedureDescription"),
        study_date=v.date(ds, "StudyDate"),
        study_time=v.time(ds, "StudyTime"),
        study_description=v.text(ds, "StudyDescription"),
        content_datetime=_content_datetime(ds),
        patient=_patient(ds, strict),
        series=series,
        institution_name=institution_name,
        institution_id=institution_id,
        description=_description(ds),
        predecessor=_predecessor(ds),
    )


def _title(ds: Dataset, strict: bool) -> Code:
    if v.text(ds, "ValueType") != "CONTAINER":
        raise KosError("root content item is not a CONTAINER", where="ValueType")
    item = v.first_item(ds, "ConceptNameCodeSequence")
    if item is None:
        raise KosError("document title is missing", where="ConceptNameCodeSequence")
    title = Code(
        v.text(item, "CodeValue") or "",
        v.text(item, "CodingSchemeDesignator") or "",
        v.text(item, "CodeMeaning") or "",
    )
    if strict and (title.scheme != "DCM" or title.value not in DRIM_M_TITLES):
        raise KosError(
            f"document title ({title.value}, {title.scheme}, {title.meaning!r}) is neither "
            "113030 Manifest nor 113000 Of Interest",
            where="ConceptNameCodeSequence",
        )
    return title


def _accession(
    ds: Dataset, request: Dataset | None, study_uid: str, strict: bool
) -> tuple[str | None, str | None]:
    where = "ReferencedRequestSequence[1]"
    if request is not None:
        request_study = v.text(request, "StudyInstanceUID")
        if request_study and request_study != study_uid:
            raise KosError(f"StudyInstanceUID {request_study} is not {study_uid}", where=where)
        number = v.text(request, "AccessionNumber")
        oid = v.entity_id(request, "IssuerOfAccessionNumberSequence")
    else:
        number, oid = None, None
    number = number or v.text(ds, "AccessionNumber")
    oid = oid or v.entity_id(ds, "IssuerOfAccessionNumberSequence")
    if strict and not number:
        raise KosError("no accession number", where=where)
    if strict and not oid:
        raise KosError("no issuer of the accession number", where=where)
    return number, oid


def _evidence(ds: Dataset, study_uid: str, strict: bool) -> tuple[ParsedSeries, ...]:
    studies = v.items(ds, _EVIDENCE)
    if not studies:
        raise KosError("no referenced instance", where=_EVIDENCE)
    found: list[ParsedSeries] = []
    seen: set[str] = set()
    for s_index, study in enumerate(studies, 1):
        where = f"{_EVIDENCE}[{s_index}]"
        evidence_study = v.uid(study, "StudyInstanceUID", where)
        if evidence_study != study_uid:
            raise KosError(
                f"references study {evidence_study}, not the KOS's study {study_uid}", where=where
            )
        series_items = v.items(study, "ReferencedSeriesSequence")
        if not series_items:
            raise KosError("no referenced series", where=where)
        for r_index, item in enumerate(series_items, 1):
            parsed = _series(
                item, study_uid, f"{where}.ReferencedSeriesSequence[{r_index}]", strict
            )
            for instance in parsed.instances:
                if instance.sop_instance_uid in seen:
                    raise KosError(
                        f"instance {instance.sop_instance_uid} is referenced twice", where=where
                    )
                seen.add(instance.sop_instance_uid)
            found.append(parsed)
    return tuple(found)


def _series(item: Dataset, study_uid: str, where: str, strict: bool) -> ParsedSeries:
    series_uid = v.uid(item, "SeriesInstanceUID", where)
    url = v.text(item, "RetrieveURL")
    if url is None and strict:
        raise KosError("RetrieveURL (0008,1190) is missing", where=where)
    if url is not None:
        try:
            named = split_series_url(url)
        except KosInputError as exc:
            raise KosError(exc.reason, where=where) from exc
        if strict and (named.study_uid, named.series_uid) != (study_uid, series_uid):
            raise KosError(
                f"RetrieveURL {url!r} does not point at series {series_uid} of study {study_uid}",
                where=where,
            )
    instances = []
    refs = v.items(item, "ReferencedSOPSequence")
    if not refs:
        raise KosError("no referenced instance", where=where)
    for index, ref in enumerate(refs, 1):
        at = f"{where}.ReferencedSOPSequence[{index}]"
        instances.append(
            KosInstance(
                v.uid(ref, "ReferencedSOPClassUID", at), v.uid(ref, "ReferencedSOPInstanceUID", at)
            )
        )
    location = v.text(item, "RetrieveLocationUID")
    return ParsedSeries(series_uid, url, location, tuple(instances))


def _check_content(ds: Dataset, series: tuple[ParsedSeries, ...]) -> None:
    """The content tree and the evidence must name the same instances (PS3.3 C.17.6.2.1).

    Checking both ways (and the value types) also catches a file cut short, which pydicom
    reads without complaint.
    """
    known = {i.sop_instance_uid: i.sop_class_uid for s in series for i in s.instances}
    listed: set[str] = set()
    for index, item in enumerate(v.items(ds, "ContentSequence"), 1):
        where = f"ContentSequence[{index}]"
        value_type = v.text(item, "ValueType")
        if value_type not in _SR_VALUE_TYPES:
            raise KosError(f"unknown content item value type {value_type!r}", where=where)
        if value_type not in _REFERENCE_TYPES:
            continue
        ref = v.first_item(item, "ReferencedSOPSequence")
        if ref is None:
            raise KosError("reference item without ReferencedSOPSequence", where=where)
        uid = v.uid(ref, "ReferencedSOPInstanceUID", where)
        if uid not in known:
            raise KosError(f"instance {uid} is not in {_EVIDENCE}", where=where)
        if v.text(ref, "ReferencedSOPClassUID") != known[uid]:
            raise KosError(f"instance {uid} has another SOP class in the evidence", where=where)
        listed.add(uid)
    if not listed:
        raise KosError("the content tree references no instance", where="ContentSequence")
    if missing := [uid for uid in known if uid not in listed]:
        raise KosError(
            f"{len(missing)} instance(s) of the evidence are not in the content tree, "
            f"first {missing[0]}",
            where=_EVIDENCE,
        )


def _patient(ds: Dataset, strict: bool) -> ParsedPatient:
    patient_id = v.text(ds, "PatientID")
    if not patient_id:
        raise KosError("no PatientID", where="PatientID")
    issuer = v.text(ds, "IssuerOfPatientID")
    issuer_oid = v.entity_id(ds, "IssuerOfPatientIDQualifiersSequence")
    others = tuple(
        OtherPatientId(
            value=v.text(i, "PatientID") or "",
            issuer=v.text(i, "IssuerOfPatientID"),
            issuer_oid=v.entity_id(i, "IssuerOfPatientIDQualifiersSequence"),
        )
        for i in v.items(ds, "OtherPatientIDsSequence")
    )
    ins, ins_oid = _find_ins(patient_id, issuer, issuer_oid, others)
    if strict and ins is None:
        raise KosError("no INS identity (PatientID issued by an INS authority)", where="PatientID")
    if ins is not None:
        try:
            check_ins(ins)
        except KosInputError as exc:
            raise KosError(exc.reason, where="PatientID") from exc
    name = v.person_names(ds, "PatientName")
    others_names = v.person_names(ds, "OtherPatientNames")
    birth_given = tuple(others_names[0].given_name.split()) if others_names else ()
    used = others_names[1] if len(others_names) > 1 else None
    comments = v.text(ds, "PatientComments")
    return ParsedPatient(
        patient_id=patient_id,
        issuer_of_patient_id=issuer,
        issuer_oid=issuer_oid,
        ins=ins,
        ins_oid=ins_oid,
        family_name=name[0].family_name if name else "",
        given_name=name[0].given_name if name else "",
        birth_given_names=birth_given,
        used_name=(used.family_name or None) if used else None,
        used_given_name=(used.given_name or None) if used else None,
        sex=v.text(ds, "PatientSex"),
        birth_date=v.date(ds, "PatientBirthDate"),
        birth_place_code=comments
        if comments and re.fullmatch(r"[0-9][0-9AB][0-9]{3}", comments)
        else None,
        other_ids=others,
    )


def _find_ins(
    patient_id: str,
    issuer: str | None,
    issuer_oid: str | None,
    others: tuple[OtherPatientId, ...],
) -> tuple[str | None, str | None]:
    if issuer_oid in INS_OIDS:
        return patient_id, issuer_oid
    for other in others:
        if other.issuer_oid in INS_OIDS:
            return other.value, other.issuer_oid
    return None, None


def _institution(value: str | None) -> tuple[str | None, str | None]:
    """Split the XON-like "name^^^^^^^^^id" InstitutionName the ANS KOS use."""
    if value is None:
        return None, None
    parts = value.split("^")
    name = parts[0].strip() or None
    ident = parts[9].strip() if len(parts) >= 10 and parts[9].strip() else None
    return name, ident


def _description(ds: Dataset) -> str | None:
    for item in v.items(ds, "ContentSequence"):
        code = v.first_item(item, "ConceptNameCodeSequence")
        if (
            v.text(item, "ValueType") == "TEXT"
            and code is not None
            and v.text(code, "CodeValue") == KEY_OBJECT_DESCRIPTION.value
        ):
            return str(item.get("TextValue", "")) or None
    return None


def _predecessor(ds: Dataset) -> KosReference | None:
    study = v.first_item(ds, "PredecessorDocumentsSequence")
    if study is None:
        return None
    where = "PredecessorDocumentsSequence[1]"
    series = v.first_item(study, "ReferencedSeriesSequence")
    ref = v.first_item(series, "ReferencedSOPSequence") if series is not None else None
    if series is None or ref is None:
        raise KosError("incomplete reference to the previous KOS", where=where)
    return KosReference(
        study_instance_uid=v.uid(study, "StudyInstanceUID", where),
        series_instance_uid=v.uid(series, "SeriesInstanceUID", where),
        sop_instance_uid=v.uid(ref, "ReferencedSOPInstanceUID", where),
        sop_class_uid=v.uid(ref, "ReferencedSOPClassUID", where),
    )


def _content_datetime(ds: Dataset) -> dt.datetime | None:
    day, time = v.date(ds, "ContentDate"), v.time(ds, "ContentTime")
    if day is None:
        return None
    when = dt.datetime.combine(day, time or dt.time())
    offset = v.text(ds, "TimezoneOffsetFromUTC")
    if offset and re.fullmatch(r"[+-][0-9]{4}", offset):
        minutes = int(offset[1:3]) * 60 + int(offset[3:])
        sign = -1 if offset[0] == "-" else 1
        when = when.replace(tzinfo=dt.timezone(dt.timedelta(minutes=sign * minutes)))
    return when
