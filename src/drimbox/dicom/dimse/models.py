"""Typed results of the DIMSE services: C-FIND matches and received instances."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom.dataset import Dataset


def _text(ds: Dataset, keyword: str) -> str:
    """A string attribute of a C-FIND identifier, '' when absent or empty (PS3.4 C.2.2.1)."""
    value = ds.get(keyword)
    if value is None or value == "":
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def _int(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _multi(ds: Dataset, keyword: str) -> tuple[str, ...]:
    value = ds.get(keyword)
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


@dataclass(frozen=True, slots=True)
class StudyMatch:
    study_instance_uid: str
    patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: str = ""
    study_date: str = ""
    study_time: str = ""
    accession_number: str = ""
    study_id: str = ""
    study_description: str = ""
    modalities_in_study: tuple[str, ...] = ()
    number_of_instances: int | None = None

    @classmethod
    def from_identifier(cls, ds: Dataset) -> StudyMatch:
        return cls(
            study_instance_uid=_text(ds, "StudyInstanceUID"),
            patient_id=_text(ds, "PatientID"),
            patient_name=_text(ds, "PatientName"),
            patient_birth_date=_text(ds, "PatientBirthDate"),
            study_date=_text(ds, "StudyDate"),
            study_time=_text(ds, "StudyTime"),
            accession_number=_text(ds, "AccessionNumber"),
            study_id=_text(ds, "StudyID"),
            study_description=_text(ds, "StudyDescription"),
            modalities_in_study=_multi(ds, "ModalitiesInStudy"),
            number_of_instances=_int(ds, "NumberOfStudyRelatedInstances"),
        )


@dataclass(frozen=True, slots=True)
class SeriesMatch:
    study_instance_uid: str
    series_instance_uid: str
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    number_of_instances: int | None = None

    @classmethod
    def from_identifier(cls, ds: Dataset) -> SeriesMatch:
        return cls(
            study_instance_uid=_text(ds, "StudyInstanceUID"),
            series_instance_uid=_text(ds, "SeriesInstanceUID"),
            modality=_text(ds, "Modality"),
            series_number=_int(ds, "SeriesNumber"),
            series_description=_text(ds, "SeriesDescription"),
            number_of_instances=_int(ds, "NumberOfSeriesRelatedInstances"),
        )


@dataclass(frozen=True, slots=True)
class InstanceMatch:
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str = ""
    instance_number: int | None = None

    @classmethod
    def from_identifier(cls, ds: Dataset) -> InstanceMatch:
        return cls(
            study_instance_uid=_text(ds, "StudyInstanceUID"),
            series_instance_uid=_text(ds, "SeriesInstanceUID"),
            sop_instance_uid=_text(ds, "SOPInstanceUID"),
            sop_class_uid=_text(ds, "SOPClassUID"),
            instance_number=_int(ds, "InstanceNumber"),
        )


@dataclass(frozen=True, slots=True)
class SeriesTree:
    series: SeriesMatch
    instances: tuple[InstanceMatch, ...]


@dataclass(frozen=True, slots=True)
class StudyTree:
    """A study as series → instances, built from separate per-level queries."""

    study_instance_uid: str
    series: tuple[SeriesTree, ...]

    @property
    def sop_instance_uids(self) -> frozenset[str]:
        return frozenset(i.sop_instance_uid for s in self.series for i in s.instances)


@dataclass(frozen=True, slots=True)
class ReceivedInstance:
    """One instance as received: a DICOM Part-10 byte string (preamble, file meta, dataset).

    The dataset is kept encoded exactly as sent by the PACS; nobody decodes it on the hot path.
    """

    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str
    data: bytes = field(repr=False)

    def __len__(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class StoreOutcome:
    """The status the peer gave for one instance we sent with C-STORE."""

    sop_instance_uid: str
    status: int
