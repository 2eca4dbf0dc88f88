"""Read an IHE IOCM rejection note: a Key Object Selection document whose title says why.

IOCM (IHE RAD TF-1 42; PS3.16 CID 7011) marks instances as rejected with a KOS titled
113001 "Rejected for Quality Reasons", 113037 "Rejected for Patient Safety Reasons",
113038 "Incorrect Modality Worklist Entry" or 113039 "Data Retention Policy Expired"; the
rejected instances are listed in CurrentRequestedProcedureEvidenceSequence (per study, series).
Anything else sent to the IOCM AE (a DRIM-M manifest, a note without evidence) is refused
with :class:`IocmNoteError` saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from pydicom.dataset import Dataset

from drimbox.dicom.kos import KOS_SOP_CLASS_UID, Code, is_valid_uid
from drimbox.dicom.part10 import malformed_as, read_part10
from drimbox.errors import DicomDataError

REJECTION_TITLES: Final = {
    "113001": Code("113001", "DCM", "Rejected for Quality Reasons"),
    "113037": Code("113037", "DCM", "Rejected for Patient Safety Reasons"),
    "113038": Code("113038", "DCM", "Incorrect Modality Worklist Entry"),
    "113039": Code("113039", "DCM", "Data Retention Policy Expired"),
}
_EVIDENCE: Final = "CurrentRequestedProcedureEvidenceSequence"


class IocmNoteError(DicomDataError):
    """The object is not an IOCM rejection note we can act on."""


@dataclass(frozen=True, slots=True)
class RejectedInstance:
    study_instance_uid: str
    series_instance_uid: str
    sop_class_uid: str
    sop_instance_uid: str


@dataclass(frozen=True, slots=True)
class RejectionNote:
    sop_instance_uid: str
    study_instance_uid: str
    title: Code
    instances: tuple[RejectedInstance, ...]

    @property
    def studies(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.study_instance_uid for i in self.instances))


def parse_rejection_note(source: bytes | Dataset) -> RejectionNote:
    """Parse a rejection note from Part-10 bytes (or a dataset); raise IocmNoteError if unfit."""
    ds = read_part10(source, IocmNoteError) if isinstance(source, bytes | bytearray) else source
    with malformed_as(IocmNoteError):
        return _parse(ds)


def _uid(ds: Dataset, keyword: str, where: str) -> str:
    value = str(ds.get(keyword, "") or "").strip()
    if not is_valid_uid(value):
        raise IocmNoteError(f"{where}: {keyword} is missing or not a valid UID: {value!r}")
    return value


def _items(ds: Dataset, keyword: str) -> list[Any]:
    return list(ds.get(keyword) or [])


def _parse(ds: Dataset) -> RejectionNote:
    sop_class = str(ds.get("SOPClassUID", "") or "")
    if sop_class != KOS_SOP_CLASS_UID:
        raise IocmNoteError(f"not a Key Object Selection Document: SOPClassUID {sop_class!r}")
    titles = _items(ds, "ConceptNameCodeSequence")
    if not titles:
        raise IocmNoteError("ConceptNameCodeSequence: the document title is missing")
    value = str(titles[0].get("CodeValue", "") or "")
    scheme = str(titles[0].get("CodingSchemeDesignator", "") or "")
    if scheme != "DCM" or value not in REJECTION_TITLES:
        raise IocmNoteError(
            f"document title ({value}, {scheme}) is not an IOCM rejection reason "
            f"(CID 7011: {', '.join(sorted(REJECTION_TITLES))})"
        )
    instances = []
    seen: set[str] = set()
    for s_index, study in enumerate(_items(ds, _EVIDENCE), 1):
        where = f"{_EVIDENCE}[{s_index}]"
        study_uid = _uid(study, "StudyInstanceUID", where)
        for r_index, series in enumerate(_items(study, "ReferencedSeriesSequence"), 1):
            at = f"{where}.ReferencedSeriesSequence[{r_index}]"
            series_uid = _uid(series, "SeriesInstanceUID", at)
            for i_index, ref in enumerate(_items(series, "ReferencedSOPSequence"), 1):
                here = f"{at}.ReferencedSOPSequence[{i_index}]"
                sop = _uid(ref, "ReferencedSOPInstanceUID", here)
                if sop not in seen:
                    seen.add(sop)
                    instances.append(
                        RejectedInstance(
                            study_uid, series_uid, _uid(ref, "ReferencedSOPClassUID", here), sop
                        )
                    )
    if not instances:
        raise IocmNoteError(f"{_EVIDENCE}: the note rejects no instance")
    return RejectionNote(
        sop_instance_uid=_uid(ds, "SOPInstanceUID", "note"),
        study_instance_uid=_uid(ds, "StudyInstanceUID", "note"),
        title=REJECTION_TITLES[value],
        instances=tuple(instances),
    )
