"""What `parse_kos` returns: the content of one KOS, as the archive keeps it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from drimbox.dicom.kos.codes import INS_OIDS, KOS_SOP_CLASS_UID, OF_INTEREST, Code
from drimbox.dicom.kos.model import KosInstance, KosReference


@dataclass(frozen=True, slots=True)
class OtherPatientId:
    """One OtherPatientIDsSequence item."""

    value: str
    issuer: str | None
    issuer_oid: str | None


@dataclass(frozen=True, slots=True)
class ParsedPatient:
    """The patient as the KOS states it; `ins` is set when an INS identity was found."""

    patient_id: str
    issuer_of_patient_id: str | None
    issuer_oid: str | None
    ins: str | None
    ins_oid: str | None
    family_name: str
    given_name: str
    birth_given_names: tuple[str, ...]
    used_name: str | None
    used_given_name: str | None
    sex: str | None
    birth_date: dt.date | None
    birth_place_code: str | None
    other_ids: tuple[OtherPatientId, ...]

    @property
    def ipp(self) -> OtherPatientId | None:
        """The first other identifier that is not the INS (the local IPP, when present)."""
        for other in self.other_ids:
            if other.value != self.ins and other.issuer_oid not in INS_OIDS:
                return other
        return None


@dataclass(frozen=True, slots=True)
class ParsedSeries:
    """One evidence series: where to retrieve it and which instances it holds."""

    series_instance_uid: str
    retrieve_url: str | None
    retrieve_location_uid: str | None
    instances: tuple[KosInstance, ...]


@dataclass(frozen=True, slots=True)
class ParsedKos:
    """Everything the KOS archive keeps about one KOS."""

    sop_instance_uid: str
    series_instance_uid: str
    series_number: int | None
    instance_number: int | None
    study_instance_uid: str
    title: Code
    accession_number: str | None
    accession_issuer_oid: str | None
    placer_order_number: str | None
    placer_order_issuer_oid: str | None
    requested_procedure_description: str | None
    study_date: dt.date | None
    study_time: dt.time | None
    study_description: str | None
    content_datetime: dt.datetime | None
    patient: ParsedPatient
    series: tuple[ParsedSeries, ...]
    institution_name: str | None
    institution_id: str | None
    description: str | None
    predecessor: KosReference | None

    @property
    def is_key_image_note(self) -> bool:
        return self.title.value == OF_INTEREST.value

    @property
    def instance_count(self) -> int:
        return sum(len(s.instances) for s in self.series)

    @property
    def reference(self) -> KosReference:
        """A reference to this KOS, e.g. for the next version's PredecessorDocumentsSequence."""
        return KosReference(
            study_instance_uid=self.study_instance_uid,
            series_instance_uid=self.series_instance_uid,
            sop_instance_uid=self.sop_instance_uid,
            sop_class_uid=KOS_SOP_CLASS_UID,
        )
