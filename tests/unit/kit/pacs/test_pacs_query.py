"""C-FIND / retrieve identifiers against the simulator index (PS3.4 Annex C)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from sqlalchemy.orm import Session

from drimbox.kit.pacs.query import (
    IdentifierError,
    Model,
    find,
    parse_find,
    parse_retrieve,
    select_for_retrieve,
)
from drimbox.store.db import Database, upgrade_schema
from drimbox.store.models import SimInstance


def row(aet: str, patient: str, study: str, series: str, sop: str, **extra: object) -> SimInstance:
    values: dict[str, object] = {
        "aet": aet,
        "patient_id": patient,
        "patient_name": f"NAME^{patient}",
        "study_instance_uid": study,
        "series_instance_uid": series,
        "sop_instance_uid": sop,
        "sop_class_uid": "1.2.840.10008.5.1.4.1.1.2",
        "transfer_syntax_uid": "1.2.840.10008.1.2.1",
        "modality": "CT",
        "path": f"/x/{sop}",
        "size": 1,
    }
    values.update(extra)
    return SimInstance(**values)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    url = f"sqlite:///{tmp_path / 'q.sqlite3'}"
    upgrade_schema(url)
    database = Database(url)
    with database.session() as s:
        s.add_all(
            [
                row("A", "P1", "1.1", "1.1.1", "1.1.1.1", study_date="20240101", instance_number=2),
                row("A", "P1", "1.1", "1.1.1", "1.1.1.2", study_date="20240101", instance_number=1),
                row("A", "P1", "1.1", "1.1.2", "1.1.2.1", study_date="20240101", modality="SR"),
                row(
                    "A",
                    "P2",
                    "1.2",
                    "1.2.1",
                    "1.2.1.1",
                    study_date="20230101",
                    patient_name="MÜLLER^ÄNNE",
                ),
                row("B", "P1", "1.1", "1.1.1", "1.1.1.1", study_date="20240101"),
            ]
        )
    with database.session() as s:
        yield s
    database.dispose()


def identifier(**keys: object) -> Dataset:
    ds = Dataset()
    for keyword, value in keys.items():
        setattr(ds, keyword, value)
    return ds


def test_study_level_with_computed_attributes(session: Session) -> None:
    query = parse_find(
        identifier(
            QueryRetrieveLevel="STUDY",
            PatientID="P1",
            ModalitiesInStudy="",
            NumberOfStudyRelatedInstances="",
        ),
        Model.STUDY_ROOT,
    )
    [result] = list(find(session, "A", query))
    assert result.StudyInstanceUID == "1.1"
    assert list(result.ModalitiesInStudy) == ["CT", "SR"]
    assert result.NumberOfStudyRelatedInstances == 3
    assert [e.keyword for e in result] == [
        "QueryRetrieveLevel",
        "ModalitiesInStudy",
        "PatientID",
        "StudyInstanceUID",
        "NumberOfStudyRelatedInstances",
    ]


def test_non_ascii_values_are_declared_utf8(session: Session) -> None:
    query = parse_find(
        identifier(QueryRetrieveLevel="PATIENT", PatientName="M*"), Model.PATIENT_ROOT
    )
    [result] = list(find(session, "A", query))
    assert result.SpecificCharacterSet == "ISO_IR 192"
    assert str(result.PatientName) == "MÜLLER^ÄNNE"


def test_cancel_stops_the_results(session: Session) -> None:
    query = parse_find(identifier(QueryRetrieveLevel="IMAGE"), Model.STUDY_ROOT)
    assert len(list(find(session, "A", query))) == 4
    assert list(find(session, "A", query, lambda: True)) == []


def test_unknown_optional_keys_are_returned_empty(session: Session) -> None:
    query = parse_find(
        identifier(QueryRetrieveLevel="SERIES", BodyPartExamined="CHEST"), Model.STUDY_ROOT
    )
    results = list(find(session, "A", query))
    assert len(results) == 3
    assert all(r.BodyPartExamined in (None, "") for r in results)


def test_retrieve_requires_the_level_unique_key() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_retrieve(
            identifier(QueryRetrieveLevel="SERIES", StudyInstanceUID="1.1"), Model.STUDY_ROOT
        )
    assert caught.value.status == 0xA900
    assert caught.value.offending == [0x0020000E]


def test_retrieve_selects_in_instance_order_within_one_ae(session: Session) -> None:
    query = parse_retrieve(
        identifier(QueryRetrieveLevel="SERIES", SeriesInstanceUID="1.1.1"), Model.STUDY_ROOT
    )
    rows = select_for_retrieve(session, "A", query)
    assert [r.sop_instance_uid for r in rows] == ["1.1.1.2", "1.1.1.1"]
    assert [r.sop_instance_uid for r in select_for_retrieve(session, "B", query)] == ["1.1.1.1"]


def test_patient_level_retrieve_uses_patient_id(session: Session) -> None:
    query = parse_retrieve(
        identifier(QueryRetrieveLevel="PATIENT", PatientID="P2"), Model.PATIENT_ROOT
    )
    assert [r.sop_instance_uid for r in select_for_retrieve(session, "A", query)] == ["1.2.1.1"]
