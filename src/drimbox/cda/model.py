"""What the DRIMbox keeps from a CDA imaging report (plain frozen dataclasses, no XML)."""

from __future__ import annotations

from dataclasses import dataclass, field

INS_OIDS = frozenset(
    {
        "1.2.250.1.213.1.4.8",  # INS-NIR
        "1.2.250.1.213.1.4.9",  # INS-NIA
        "1.2.250.1.213.1.4.10",  # INS-NIR, test
        "1.2.250.1.213.1.4.11",  # INS-NIA, test
    }
)
RPPS_OID = "1.2.250.1.71.4.2.1"


@dataclass(frozen=True)
class Identifier:
    """An II: ``root`` alone (an OID/UUID that is itself the id) or ``root`` + ``extension``."""

    root: str
    extension: str | None = None

    def __str__(self) -> str:
        return self.root if self.extension is None else f"{self.root}^{self.extension}"


@dataclass(frozen=True)
class CodedValue:
    code: str
    code_system: str | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class InsIdentity:
    """The INS traits of the patient as written in the CDA (CI-SIS: qualifier BR = birth)."""

    birth_name: str | None
    first_given_name: str | None
    given_names: str | None
    """List of birth given names (``<given>`` without qualifier), space separated."""
    sex: str | None
    birth_date: str | None
    """``birthTime/@value`` as written (YYYYMMDD)."""
    birth_place_code: str | None
    """Official geographic code (INSEE) of the birth place (``birthplace/place/addr/county``)."""
    used_name: str | None = None
    used_given_name: str | None = None


@dataclass(frozen=True)
class Patient:
    ins: Identifier | None
    """The INS (root in :data:`INS_OIDS`, extension = NIR/NIA) when present."""
    local_ids: tuple[Identifier, ...]
    """Other ``patientRole/id`` (the IPP first, root = the assigning facility's OID)."""
    identity: InsIdentity

    @property
    def ipp(self) -> Identifier | None:
        return self.local_ids[0] if self.local_ids else None


@dataclass(frozen=True)
class Organization:
    id: Identifier | None
    name: str | None
    industry_class: CodedValue | None = None
    """``standardIndustryClassCode`` (the DMP practice setting, e.g. AMBULATOIRE)."""


@dataclass(frozen=True)
class Author:
    """A health professional (author, legal authenticator, performer)."""

    id: Identifier
    family: str | None
    given: str | None
    prefix: str | None
    specialty: CodedValue | None
    time: str | None
    organization: Organization | None

    @property
    def rpps(self) -> str | None:
        return self.id.extension if self.id.root == RPPS_OID else None


@dataclass(frozen=True)
class Order:
    """One ``inFulfillmentOf/order``: the placer order id and the DICOM accession number."""

    placer_order: Identifier | None
    accession: Identifier | None
    """``ps3-20:accessionNumber``: extension = accession number, root = its issuer OID."""


@dataclass(frozen=True)
class RelatedDocument:
    type_code: str
    """RPLC (replaces), APND (appends), XFRM (transforms)."""
    parent_id: Identifier


@dataclass(frozen=True)
class ImagingReport:
    document_id: Identifier
    set_id: Identifier | None
    version_number: int | None
    document_code: CodedValue
    exam_codes: tuple[CodedValue, ...]
    """``code/translation``: the exam-type LOINC codes."""
    title: str | None
    effective_time: str
    confidentiality: CodedValue
    language: str | None
    patient: Patient
    author: Author
    legal_authenticator: Author | None
    study_instance_uids: tuple[str, ...]
    """From ``documentationOf/serviceEvent/id/@root``; several for a multi-exam report."""
    orders: tuple[Order, ...]
    service_event_code: CodedValue | None
    service_event_translations: tuple[CodedValue, ...]
    """CCAM act, modality (DCM) and anatomical region (SNOMED CT) of the service event."""
    service_start: str | None
    service_stop: str | None
    facility_type: CodedValue | None
    """``componentOf/encompassingEncounter/location/healthCareFacility/code``."""
    practice_setting: CodedValue | None
    related_documents: tuple[RelatedDocument, ...]
    body_media_type: str | None
    warnings: tuple[str, ...] = field(default=())

    @property
    def accession_numbers(self) -> tuple[Identifier, ...]:
        return tuple(o.accession for o in self.orders if o.accession is not None)

    @property
    def replaced_document(self) -> Identifier | None:
        """The parent document this one replaces (``relatedDocument[@typeCode='RPLC']``)."""
        return next((r.parent_id for r in self.related_documents if r.type_code == "RPLC"), None)

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(
            t.code
            for t in self.service_event_translations
            if t.code_system == "1.2.840.10008.2.16.4"
        )
