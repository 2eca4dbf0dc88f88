"""What a DRIM-M KOS says, as plain frozen values: the builder's input and the parser's output.

The values come from three places (see docs/kos.md): the CDA report (patient INS traits, order,
institution), the PACS (study, series, instances) and the configuration (public base URL per
PACS, UID root, manufacturer). Each class checks what it can on its own, so that a bad value is
reported by name when it enters, not as an obscure DICOM encoding failure later.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from drimbox.dicom.kos.codes import INS_ISSUER_NIR, Code
from drimbox.dicom.kos.errors import KosInputError
from drimbox.dicom.kos.retrieve_url import split_series_url
from drimbox.dicom.kos.uids import check_uid

_INS_RE = re.compile(r"[12378][0-9]{4}(?:[0-9]{2}|2A|2B)[0-9]{8}")
_SEX_VALUES = ("M", "F", "O")


def check_ins(ins: str) -> str:
    """Check an INS matricule (NIR/NIA): 13 characters + 2-digit key, key = 97 − (n mod 97).

    Corsican département codes 2A/2B count as 19/18 in the key computation, as for the NIR.
    """
    if _INS_RE.fullmatch(ins) is None:
        raise KosInputError(f"INS matricule must be 15 characters (13 + key): {ins!r}")
    body = ins[:13].replace("2A", "19").replace("2B", "18")
    if 97 - int(body) % 97 != int(ins[13:]):
        raise KosInputError(f"INS matricule {ins!r} has a wrong control key")
    return ins


def _require_text(value: str, what: str, max_len: int | None = None) -> str:
    if not value or not value.strip():
        raise KosInputError(f"{what} is empty")
    if "\\" in value or any(ord(ch) < 0x20 for ch in value):
        raise KosInputError(f"{what} contains a backslash or a control character: {value!r}")
    if max_len is not None and len(value) > max_len:
        raise KosInputError(f"{what} is longer than {max_len} characters: {value!r}")
    return value


def _optional_text(value: str | None, what: str, max_len: int | None = None) -> str | None:
    return None if value is None else _require_text(value, what, max_len)


def _check_name_part(value: str, what: str) -> str:
    _require_text(value, what, 64)
    if "^" in value or "=" in value:
        raise KosInputError(f"{what} must not contain '^' or '=': {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class KosPatient:
    """The patient's INS identity (matricule + strict traits) and local identifier (IPP).

    `given_names` is the INS list of birth given names, in order; the first one goes into
    PatientName, the whole list into the first OtherPatientNames value (as the ANS KOS do).
    `used_name` / `used_given_name` are the RNIV "nom utilisé" / "prénom utilisé".
    `birth_place_code` is the INSEE code of the birth place (commune, or 99xxx country).
    """

    ins: str
    ins_oid: str
    birth_name: str
    given_names: tuple[str, ...]
    sex: str
    birth_date: dt.date
    birth_place_code: str | None = None
    used_name: str | None = None
    used_given_name: str | None = None
    ipp: str | None = None
    ipp_issuer_oid: str | None = None
    ins_issuer: str = INS_ISSUER_NIR

    def __post_init__(self) -> None:
        check_ins(self.ins)
        check_uid(self.ins_oid, "INS assigning authority OID")
        _check_name_part(self.birth_name, "birth name")
        if not self.given_names:
            raise KosInputError("the INS list of birth given names is empty")
        for name in self.given_names:
            _check_name_part(name, "birth given name")
        if len(" ".join(self.given_names)) > 64:
            raise KosInputError("the birth given names exceed the 64 characters of a PN part")
        if self.sex not in _SEX_VALUES:
            raise KosInputError(f"sex must be one of {', '.join(_SEX_VALUES)}: {self.sex!r}")
        if self.used_name is not None:
            _check_name_part(self.used_name, "used name")
        if self.used_given_name is not None:
            _check_name_part(self.used_given_name, "used given name")
        if self.birth_place_code is not None and not re.fullmatch(
            r"[0-9][0-9AB][0-9]{3}", self.birth_place_code
        ):
            raise KosInputError(
                f"birth place must be a 5-character INSEE code: {self.birth_place_code!r}"
            )
        _require_text(self.ins_issuer, "INS issuer", 64)
        if self.ipp is not None:
            _require_text(self.ipp, "IPP", 64)
            if self.ipp_issuer_oid is None:
                raise KosInputError("an IPP needs the OID of its assigning authority")
        if self.ipp_issuer_oid is not None:
            if self.ipp is None:
                raise KosInputError("an IPP issuer OID was given without an IPP")
            check_uid(self.ipp_issuer_oid, "IPP assigning authority OID")


@dataclass(frozen=True, slots=True)
class KosRequest:
    """The study and the order it answers: what ReferencedRequestSequence and the study carry.

    The accession number and its issuer are the pair DB.VI-SO.33 checks on every viewer call.
    """

    study_instance_uid: str
    accession_number: str
    accession_issuer_oid: str
    placer_order_number: str | None = None
    placer_order_issuer_oid: str | None = None
    filler_order_number: str | None = None
    requested_procedure_id: str | None = None
    requested_procedure_description: str | None = None
    requested_procedure_code: Code | None = None
    study_date: dt.date | None = None
    study_time: dt.time | None = None
    study_description: str | None = None
    study_id: str | None = None

    def __post_init__(self) -> None:
        check_uid(self.study_instance_uid, "StudyInstanceUID")
        _require_text(self.accession_number, "accession number", 16)
        check_uid(self.accession_issuer_oid, "accession number issuer OID")
        _optional_text(self.placer_order_number, "placer order number", 64)
        if (self.placer_order_number is None) != (self.placer_order_issuer_oid is None):
            raise KosInputError("placer order number and its issuer OID go together")
        if self.placer_order_issuer_oid is not None:
            check_uid(self.placer_order_issuer_oid, "placer order issuer OID")
        _optional_text(self.filler_order_number, "filler order number", 64)
        _optional_text(self.requested_procedure_id, "requested procedure id", 16)
        _optional_text(self.requested_procedure_description, "requested procedure description")
        _optional_text(self.study_description, "study description")
        _optional_text(self.study_id, "study id", 16)


@dataclass(frozen=True, slots=True)
class KosInstance:
    """One referenced instance: its SOP class and SOP instance UIDs."""

    sop_class_uid: str
    sop_instance_uid: str

    def __post_init__(self) -> None:
        check_uid(self.sop_class_uid, "ReferencedSOPClassUID")
        check_uid(self.sop_instance_uid, "ReferencedSOPInstanceUID")


@dataclass(frozen=True, slots=True)
class KosSeries:
    """One referenced series, the RAD-107 URL that serves it and its instances (in order).

    `modality` and `description` only feed the human-readable Key Object Description text.
    `retrieve_location_uid` identifies the PACS location; `None` takes the authoring default.
    """

    series_instance_uid: str
    retrieve_url: str
    instances: tuple[KosInstance, ...]
    modality: str | None = None
    description: str | None = None
    retrieve_location_uid: str | None = None

    def __post_init__(self) -> None:
        check_uid(self.series_instance_uid, "SeriesInstanceUID")
        if not self.instances:
            raise KosInputError(f"series {self.series_instance_uid} references no instance")
        url = split_series_url(self.retrieve_url)
        if url.series_uid != self.series_instance_uid:
            raise KosInputError(
                f"RetrieveURL {self.retrieve_url!r} does not name series {self.series_instance_uid}"
            )
        if self.retrieve_location_uid is not None:
            check_uid(self.retrieve_location_uid, "RetrieveLocationUID")


@dataclass(frozen=True, slots=True)
class KosAuthoring:
    """Who makes the KOS and when; configuration plus the report's organisation.

    `content_datetime` is given by the caller (timezone-aware) so that the output is
    reproducible; `retrieve_location_uid` identifies this Source as the place to retrieve from.
    """

    institution_name: str
    content_datetime: dt.datetime
    retrieve_location_uid: str
    institution_id: str | None = None
    manufacturer: str = "DRIMbox"
    manufacturer_model_name: str | None = "DRIMbox Source"
    software_versions: str | None = None
    device_serial_number: str | None = None
    station_name: str | None = None
    org_uid_root: str | None = None

    def __post_init__(self) -> None:
        _require_text(self.institution_name, "institution name")
        if "^" in self.institution_name:
            raise KosInputError(f"institution name must not contain '^': {self.institution_name!r}")
        if self.institution_id is not None:
            _check_name_part(self.institution_id, "institution id")
            if len(self.institution_id) > 40:
                raise KosInputError(f"institution id is too long: {self.institution_id!r}")
        if self.content_datetime.utcoffset() is None:
            raise KosInputError("content_datetime must be timezone-aware")
        check_uid(self.retrieve_location_uid, "RetrieveLocationUID")
        _require_text(self.manufacturer, "manufacturer", 64)
        _optional_text(self.manufacturer_model_name, "manufacturer model name", 64)
        _optional_text(self.software_versions, "software versions", 64)
        _optional_text(self.device_serial_number, "device serial number", 64)
        _optional_text(self.station_name, "station name", 16)
        if self.org_uid_root is not None:
            check_uid(self.org_uid_root, "org UID root")


@dataclass(frozen=True, slots=True)
class KosReference:
    """A reference to one KOS instance (for the link from a new version to the previous one)."""

    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str = "1.2.840.10008.5.1.4.1.1.88.59"

    def __post_init__(self) -> None:
        check_uid(self.study_instance_uid, "StudyInstanceUID")
        check_uid(self.series_instance_uid, "SeriesInstanceUID")
        check_uid(self.sop_instance_uid, "SOPInstanceUID")
        check_uid(self.sop_class_uid, "SOPClassUID")


@dataclass(frozen=True, slots=True)
class KosIdentity:
    """UIDs and numbers of the KOS instance itself; `None` UIDs are generated.

    `predecessor` is the KOS this one replaces (written as PredecessorDocumentsSequence).
    """

    sop_instance_uid: str | None = None
    series_instance_uid: str | None = None
    series_number: int = 59
    instance_number: int = 1
    predecessor: KosReference | None = None

    def __post_init__(self) -> None:
        if self.sop_instance_uid is not None:
            check_uid(self.sop_instance_uid, "SOPInstanceUID")
        if self.series_instance_uid is not None:
            check_uid(self.series_instance_uid, "SeriesInstanceUID")
        if self.series_number < 0 or self.instance_number < 1:
            raise KosInputError("series number must be ≥ 0 and instance number ≥ 1")
