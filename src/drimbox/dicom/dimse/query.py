"""C-FIND SCU (Study Root) at study, series and image level.

The study tree is built with one series query, then one image query per series: relational
queries (PS3.4 C.4.1.2.2) are optional and many PACS do not support them.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydicom.dataset import Dataset
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext, build_context

from drimbox.config import PacsNode
from drimbox.errors import DicomDataError, PacsFailure

from . import status as st
from .association import PeerWatch, next_message_id, no_response_error, status_of
from .models import InstanceMatch, SeriesMatch, SeriesTree, StudyMatch, StudyTree
from .uids import STUDY_ROOT_FIND

FIND_MODEL = STUDY_ROOT_FIND

STUDY_KEYS = (
    "StudyInstanceUID",
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "StudyID",
    "StudyDescription",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedInstances",
)
SERIES_KEYS = (
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "Modality",
    "SeriesNumber",
    "SeriesDescription",
    "NumberOfSeriesRelatedInstances",
)
IMAGE_KEYS = (
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "SOPClassUID",
    "InstanceNumber",
)


def find_contexts() -> list[PresentationContext]:
    return [build_context(FIND_MODEL)]


def build_identifier(level: str, keys: tuple[str, ...], match: Mapping[str, str]) -> Dataset:
    """Return keys empty (universal), matching keys with the given values (PS3.4 C.2.2.1)."""
    unknown = set(match) - set(keys)
    if unknown:
        raise ValueError(f"not a {level} key: {', '.join(sorted(unknown))}")
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for keyword in keys:
        setattr(ds, keyword, match.get(keyword, ""))
    return ds


def run_find(assoc: Association, watch: PeerWatch, node: PacsNode, query: Dataset) -> list[Dataset]:
    """All pending identifiers of one C-FIND; raise on failure, cancel, abort or timeout."""
    matches: list[Dataset] = []
    for status, identifier in assoc.send_c_find(query, FIND_MODEL, msg_id=next_message_id()):
        code = status_of(status)
        if code is None:
            raise no_response_error(node, watch, "C-FIND")
        kind = st.category(code)
        if kind is st.Category.PENDING:
            if identifier is None:
                raise DicomDataError(f"{node.name}: undecodable C-FIND match")
            matches.append(identifier)
        elif kind in (st.Category.SUCCESS, st.Category.WARNING):
            return matches
        else:
            raise PacsFailure(f"C-FIND failed: {st.describe(code)}", status=code, pacs=node.name)
    raise no_response_error(node, watch, "C-FIND")


def find_studies(
    assoc: Association, watch: PeerWatch, node: PacsNode, match: Mapping[str, str]
) -> list[StudyMatch]:
    query = build_identifier("STUDY", STUDY_KEYS, match)
    return [StudyMatch.from_identifier(ds) for ds in run_find(assoc, watch, node, query)]


def find_series(
    assoc: Association, watch: PeerWatch, node: PacsNode, study_uid: str
) -> list[SeriesMatch]:
    query = build_identifier("SERIES", SERIES_KEYS, {"StudyInstanceUID": study_uid})
    found = [SeriesMatch.from_identifier(ds) for ds in run_find(assoc, watch, node, query)]
    return sorted(found, key=lambda s: (s.series_number is None, s.series_number or 0))


def find_instances(
    assoc: Association, watch: PeerWatch, node: PacsNode, study_uid: str, series_uid: str
) -> list[InstanceMatch]:
    match = {"StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid}
    query = build_identifier("IMAGE", IMAGE_KEYS, match)
    found = [InstanceMatch.from_identifier(ds) for ds in run_find(assoc, watch, node, query)]
    return sorted(found, key=lambda i: (i.instance_number is None, i.instance_number or 0))


def find_study_tree(
    assoc: Association, watch: PeerWatch, node: PacsNode, study_uid: str
) -> StudyTree:
    series = find_series(assoc, watch, node, study_uid)
    trees = tuple(
        SeriesTree(s, tuple(find_instances(assoc, watch, node, study_uid, s.series_instance_uid)))
        for s in series
    )
    return StudyTree(study_instance_uid=study_uid, series=trees)
