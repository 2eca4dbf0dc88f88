"""C-FIND and retrieve identifiers against the simulator's index (PS3.4 Annex C).

:func:`parse_find` validates a C-FIND identifier for the Patient Root or Study Root model and
:func:`find` answers it from :class:`~drimbox.store.models.SimInstance` rows; :func:`parse_retrieve`
and :func:`select_for_retrieve` do the same for C-MOVE/C-GET. Higher-level unique keys are not
required (the simulator behaves relationally on them) but are matched when given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from drimbox.kit.pacs.matching import is_universal, matches, matches_any
from drimbox.store.models import SimInstance

STATUS_IDENTIFIER_MISMATCH = 0xA900  # Identifier does not match SOP Class
STATUS_UNABLE_TO_PROCESS = 0xC000


class Model(Enum):
    PATIENT_ROOT = "PATIENT"
    STUDY_ROOT = "STUDY"


LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
UNIQUE_KEYS = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}
GROUP_COLUMN = {
    "PATIENT": "patient_id",
    "STUDY": "study_instance_uid",
    "SERIES": "series_instance_uid",
    "IMAGE": "sop_instance_uid",
}

# keyword -> (level in the Patient Root model, SimInstance column); None = computed.
ATTRIBUTES: dict[str, tuple[str, str | None]] = {
    "PatientName": ("PATIENT", "patient_name"),
    "PatientID": ("PATIENT", "patient_id"),
    "IssuerOfPatientID": ("PATIENT", "issuer_of_patient_id"),
    "PatientBirthDate": ("PATIENT", "patient_birth_date"),
    "PatientSex": ("PATIENT", "patient_sex"),
    "OtherPatientIDs": ("PATIENT", "other_patient_ids"),
    "NumberOfPatientRelatedStudies": ("PATIENT", None),
    "NumberOfPatientRelatedSeries": ("PATIENT", None),
    "NumberOfPatientRelatedInstances": ("PATIENT", None),
    "StudyInstanceUID": ("STUDY", "study_instance_uid"),
    "StudyDate": ("STUDY", "study_date"),
    "StudyTime": ("STUDY", "study_time"),
    "StudyDescription": ("STUDY", "study_description"),
    "StudyID": ("STUDY", "study_id"),
    "AccessionNumber": ("STUDY", "accession_number"),
    "ReferringPhysicianName": ("STUDY", "referring_physician_name"),
    "ModalitiesInStudy": ("STUDY", None),
    "SOPClassesInStudy": ("STUDY", None),
    "NumberOfStudyRelatedSeries": ("STUDY", None),
    "NumberOfStudyRelatedInstances": ("STUDY", None),
    "SeriesInstanceUID": ("SERIES", "series_instance_uid"),
    "Modality": ("SERIES", "modality"),
    "SeriesNumber": ("SERIES", "series_number"),
    "SeriesDescription": ("SERIES", "series_description"),
    "NumberOfSeriesRelatedInstances": ("SERIES", None),
    "SOPInstanceUID": ("IMAGE", "sop_instance_uid"),
    "SOPClassUID": ("IMAGE", "sop_class_uid"),
    "InstanceNumber": ("IMAGE", "instance_number"),
    "AvailableTransferSyntaxUID": ("IMAGE", "transfer_syntax_uid"),
}
# Elements that describe the query rather than the data (never matched).
_CONTROL = {"QueryRetrieveLevel", "SpecificCharacterSet", "RetrieveAETitle", "InstanceAvailability"}
_MULTI_VALUED = {"OtherPatientIDs", "ModalitiesInStudy", "SOPClassesInStudy"}


class IdentifierError(Exception):
    """An identifier the SCP cannot process: carries the DIMSE status and an error comment."""

    def __init__(self, status: int, comment: str, offending: Sequence[int] = ()) -> None:
        super().__init__(comment)
        self.status = status
        self.comment = comment[:64]  # ErrorComment is LO
        self.offending = list(offending)

    def status_dataset(self) -> Dataset:
        """The status for a pynetdicom handler: Status, ErrorComment, OffendingElement."""
        ds = Dataset()
        ds.Status = self.status
        ds.ErrorComment = self.comment
        if self.offending:
            ds.OffendingElement = self.offending
        return ds


def level_of(keyword: str, model: Model) -> str | None:
    """The level an attribute belongs to in ``model``; patient data is study-level in Study Root."""
    entry = ATTRIBUTES.get(keyword)
    if entry is None:
        return None
    level = entry[0]
    return "STUDY" if model is Model.STUDY_ROOT and level == "PATIENT" else level


@dataclass(frozen=True)
class Key:
    """One requested key: the element to return and the value to match (may be universal)."""

    tag: BaseTag
    keyword: str
    vr: str
    value: str
    level: str | None


@dataclass(frozen=True)
class FindQuery:
    model: Model
    level: str
    keys: tuple[Key, ...]
    character_set: str | None

    def matching_keys(self) -> list[Key]:
        return [k for k in self.keys if k.level is not None and not is_universal(k.value)]


def _value_text(ds: Dataset, tag: BaseTag) -> str:
    elem = ds[tag]
    if elem.VR == "SQ":
        return ""
    value = elem.value
    if value is None:
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value)
    return str(value)


def _query_level(ds: Dataset, model: Model) -> str:
    level = str(ds.get("QueryRetrieveLevel", "") or "").strip().upper()
    if "QueryRetrieveLevel" not in ds or not level:
        raise IdentifierError(
            STATUS_IDENTIFIER_MISMATCH, "Query/Retrieve Level missing", [0x00080052]
        )
    allowed = LEVELS if model is Model.PATIENT_ROOT else LEVELS[1:]
    if level not in allowed:
        raise IdentifierError(
            STATUS_IDENTIFIER_MISMATCH,
            f"Level {level} not valid in {model.value} root",
            [0x00080052],
        )
    return level


def parse_find(ds: Dataset, model: Model) -> FindQuery:
    """Validate a C-FIND identifier: level present and valid, no key below the query level."""
    level = _query_level(ds, model)
    depth = LEVELS.index(level)
    keys: list[Key] = []
    for elem in ds:
        tag = BaseTag(elem.tag)
        if tag.group in (0x0000, 0x0002) or tag.element == 0x0000:
            continue
        keyword = keyword_for_tag(tag) or ""
        if keyword in {"QueryRetrieveLevel", "SpecificCharacterSet"}:
            continue
        key_level = level_of(keyword, model)
        if key_level is not None and LEVELS.index(key_level) > depth:
            raise IdentifierError(
                STATUS_IDENTIFIER_MISMATCH,
                f"{keyword} is not a {level} level key",
                [int(tag)],
            )
        try:
            value = _value_text(ds, tag)
        except (ValueError, TypeError, KeyError) as exc:
            raise IdentifierError(
                STATUS_UNABLE_TO_PROCESS, f"bad value: {keyword}", [int(tag)]
            ) from exc
        if key_level is not None and elem.VR in {"DA", "TM", "DT"} and value.count("-") > 1:
            raise IdentifierError(
                STATUS_UNABLE_TO_PROCESS, f"bad range for {keyword}: {value}", [int(tag)]
            )
        keys.append(Key(tag, keyword, elem.VR, value, key_level))
    charset = ds.get("SpecificCharacterSet")
    return FindQuery(model, level, tuple(keys), None if charset is None else _join(charset))


def _join(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "\\".join(str(v) for v in value)


def _column_text(row: SimInstance, column: str) -> str:
    value = getattr(row, column)
    return "" if value is None else str(value)


def _computed(keyword: str, group: list[SimInstance]) -> list[str] | str:
    if keyword == "ModalitiesInStudy":
        return sorted({r.modality for r in group if r.modality})
    if keyword == "SOPClassesInStudy":
        return sorted({r.sop_class_uid for r in group})
    if keyword.endswith("RelatedStudies"):
        return str(len({r.study_instance_uid for r in group}))
    if keyword.endswith("RelatedSeries"):
        return str(len({r.series_instance_uid for r in group}))
    return str(len(group))  # Number Of … Related Instances


def _row_matches(row: SimInstance, keys: list[Key]) -> bool:
    for key in keys:
        column = ATTRIBUTES[key.keyword][1]
        if column is None:
            continue
        stored = _column_text(row, column)
        if key.keyword in _MULTI_VALUED:
            if not matches_any(stored.split("\\") if stored else [], key.value, key.vr):
                return False
        elif not matches(stored, key.value, key.vr):
            return False
    return True


def _group_matches(group: list[SimInstance], keys: list[Key]) -> bool:
    for key in keys:
        if ATTRIBUTES[key.keyword][1] is not None:
            continue
        value = _computed(key.keyword, group)
        values = value if isinstance(value, list) else [value]
        if not matches_any(values, key.value, key.vr):
            return False
    return True


def _prefilter(stmt: Select[SimInstance], keys: Sequence[Key]) -> Select[SimInstance]:
    """Narrow the SQL query on UID keys (exact or list): the rest is matched in Python."""
    for key in keys:
        if key.keyword in {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"}:
            if is_universal(key.value):
                continue
            column = getattr(SimInstance, GROUP_COLUMN[ATTRIBUTES[key.keyword][0]])
            stmt = stmt.where(column.in_(key.value.split("\\")))
    return stmt


def _groups(rows: Sequence[SimInstance], level: str) -> Iterator[tuple[str, list[SimInstance]]]:
    grouped: dict[str, list[SimInstance]] = {}
    column = GROUP_COLUMN[level]
    for row in rows:
        grouped.setdefault(_column_text(row, column), []).append(row)
    for key in sorted(grouped):
        members = grouped[key]
        members.sort(
            key=lambda r: (r.series_number or 0, r.instance_number or 0, r.sop_instance_uid)
        )
        yield key, members


def _set_element(ds: Dataset, key: Key, value: list[str] | str | None) -> None:
    if key.vr == "SQ":
        ds.add_new(key.tag, "SQ", [])
    elif value is None or value == "" or value == []:
        ds.add_new(key.tag, key.vr, None)
    else:
        ds.add_new(key.tag, key.vr, value)


def _response(query: FindQuery, aet: str, group: list[SimInstance]) -> Dataset:
    first = group[0]
    ds = Dataset()
    ds.QueryRetrieveLevel = query.level
    wanted = {k.keyword for k in query.keys}
    keys = list(query.keys)
    unique = UNIQUE_KEYS[query.level]
    if unique not in wanted:
        tag = _tag(unique)
        keys.append(Key(tag, unique, dictionary_VR(tag), "", query.level))
    for key in keys:
        entry = ATTRIBUTES.get(key.keyword)
        if key.keyword == "RetrieveAETitle":
            _set_element(ds, key, aet)
        elif key.keyword == "InstanceAvailability":
            _set_element(ds, key, "ONLINE")
        elif entry is None:
            _set_element(ds, key, None)
        elif entry[1] is None:
            _set_element(ds, key, _computed(key.keyword, group))
        else:
            _set_element(ds, key, _column_text(first, entry[1]))
    texts = [str(e.value) for e in ds if e.VR in {"PN", "LO", "SH", "ST", "LT", "UT"} and e.value]
    if any(not t.isascii() for t in texts):
        ds.SpecificCharacterSet = "ISO_IR 192"
    elif query.character_set is not None:
        ds.SpecificCharacterSet = query.character_set or None
    return ds


def _tag(keyword: str) -> BaseTag:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    return BaseTag(tag)


def find(
    session: Session,
    aet: str,
    query: FindQuery,
    is_cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[Dataset]:
    """Yield one response identifier per matching entity at the query level."""
    stmt = _prefilter(select(SimInstance).where(SimInstance.aet == aet), query.keys)
    rows = session.scalars(stmt).all()
    keys = query.matching_keys()
    matched = [r for r in rows if _row_matches(r, keys)]
    for _, group in _groups(matched, query.level):
        if is_cancelled():
            return
        if _group_matches(group, keys):
            yield _response(query, aet, group)


@dataclass(frozen=True)
class RetrieveQuery:
    level: str
    uids: dict[str, list[str]]  # unique-key keyword -> accepted values


def parse_retrieve(ds: Dataset, model: Model) -> RetrieveQuery:
    """Validate a C-MOVE/C-GET identifier: the unique key of the level must be given."""
    level = _query_level(ds, model)
    depth = LEVELS.index(level)
    uids: dict[str, list[str]] = {}
    for name in LEVELS[: depth + 1]:
        keyword = UNIQUE_KEYS[name]
        value = str(ds.get(keyword, "") or "").strip()
        if value and not is_universal(value):
            uids[keyword] = [v.strip() for v in value.split("\\") if v.strip()]
    if UNIQUE_KEYS[level] not in uids:
        raise IdentifierError(
            STATUS_IDENTIFIER_MISMATCH,
            f"{UNIQUE_KEYS[level]} required at {level} level",
            [int(_tag(UNIQUE_KEYS[level]))],
        )
    return RetrieveQuery(level, uids)


def select_for_retrieve(session: Session, aet: str, query: RetrieveQuery) -> list[SimInstance]:
    """The instances a C-MOVE/C-GET identifier designates, in series/instance order."""
    stmt = select(SimInstance).where(SimInstance.aet == aet)
    for keyword, values in query.uids.items():
        column = getattr(SimInstance, GROUP_COLUMN[ATTRIBUTES[keyword][0]])
        stmt = stmt.where(column.in_(values))
    rows = list(session.scalars(stmt).all())
    rows.sort(
        key=lambda r: (
            r.study_instance_uid,
            r.series_number or 0,
            r.series_instance_uid,
            r.instance_number or 0,
            r.sop_instance_uid,
        )
    )
    return rows
