"""C-ECHO and C-FIND against the PACS simulator, dcmtk echoscu/findscu as the peer (TE.SIM-PACS)."""

from __future__ import annotations

import pytest
from pacs_sim_support import STUDY_A1, STUDY_A2, STUDY_B1, STUDY_C1, Dcmtk
from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)

from drimbox.kit.pacs.server import PacsSimulator

pytestmark = pytest.mark.dcmtk


def findscu(dcmtk: Dcmtk, model: str, *keys: str, aet: str = "PACS_SOURCE_1") -> list[Dataset]:
    """Run findscu with -X (write each response), return the responses in order."""
    out = dcmtk.workdir / f"find{len(dcmtk.calls)}"
    out.mkdir()
    args = [model, "-X", "-od", str(out)]
    for key in keys:
        args += ["-k", key]
    done = dcmtk.run("findscu", *args, aet=aet)
    assert done.returncode == 0, done.stderr
    return [dcmread(p) for p in sorted(out.glob("rsp*.dcm"))]


def keywords(ds: Dataset) -> set[str]:
    return {e.keyword for e in ds if e.keyword != "SpecificCharacterSet"}


def test_echoscu_on_each_ae_title(dcmtk: Dcmtk) -> None:
    for aet in ("PACS_SOURCE_1", "PACS_SOURCE_2", "PACS_CONSO"):
        done = dcmtk.run("echoscu", aet=aet)
        assert done.returncode == 0, done.stderr


def test_unknown_called_ae_title_is_rejected(dcmtk: Dcmtk) -> None:
    done = dcmtk.run("echoscu", aet="NOT_A_PACS")
    assert done.returncode != 0
    assert "Called AE Title Not Recognized" in done.stderr


def test_study_root_study_level_wildcard_returns_requested_keys_only(dcmtk: Dcmtk) -> None:
    found = findscu(
        dcmtk,
        "-S",
        "QueryRetrieveLevel=STUDY",
        "PatientName=doe*",
        "StudyDate=",
        "ModalitiesInStudy=",
        "NumberOfStudyRelatedSeries=",
        "NumberOfStudyRelatedInstances=",
    )
    assert [ds.StudyInstanceUID for ds in found] == [STUDY_A1.uid, STUDY_A2.uid]
    first = found[0]
    assert keywords(first) == {
        "QueryRetrieveLevel",
        "PatientName",
        "StudyDate",
        "ModalitiesInStudy",
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
        "StudyInstanceUID",
    }
    assert first.QueryRetrieveLevel == "STUDY"
    assert list(first.ModalitiesInStudy) == ["CT", "MR"]
    assert (first.NumberOfStudyRelatedSeries, first.NumberOfStudyRelatedInstances) == (2, 5)
    assert first.StudyDate == "20240115"


def test_date_range_and_open_ranges(dcmtk: Dcmtk) -> None:
    def studies(date: str) -> list[str]:
        found = findscu(dcmtk, "-S", "QueryRetrieveLevel=STUDY", f"StudyDate={date}")
        return sorted(ds.StudyInstanceUID for ds in found)

    assert studies("20240101-20241231") == sorted([STUDY_A1.uid, STUDY_A2.uid])
    assert studies("-20231231") == [STUDY_B1.uid]
    assert studies("20240301-") == [STUDY_A2.uid]
    assert studies("20240115") == [STUDY_A1.uid]


def test_uid_list_and_modalities_in_study_matching(dcmtk: Dcmtk) -> None:
    found = findscu(
        dcmtk, "-S", "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={STUDY_A1.uid}\\{STUDY_B1.uid}"
    )
    assert sorted(ds.StudyInstanceUID for ds in found) == sorted([STUDY_A1.uid, STUDY_B1.uid])
    mr = findscu(dcmtk, "-S", "QueryRetrieveLevel=STUDY", "ModalitiesInStudy=MR")
    assert sorted(ds.StudyInstanceUID for ds in mr) == sorted([STUDY_A1.uid, STUDY_A2.uid])


def test_patient_root_patient_level(dcmtk: Dcmtk) -> None:
    found = findscu(
        dcmtk,
        "-P",
        "QueryRetrieveLevel=PATIENT",
        "PatientName=",
        "PatientBirthDate=",
        "NumberOfPatientRelatedStudies=",
    )
    assert [(ds.PatientID, str(ds.PatientName)) for ds in found] == [
        ("PAT001", "DOE^JOHN"),
        ("PAT002", "MARTIN^CLAIRE"),
    ]
    assert keywords(found[0]) == {
        "QueryRetrieveLevel",
        "PatientName",
        "PatientBirthDate",
        "PatientID",
        "NumberOfPatientRelatedStudies",
    }
    assert [ds.NumberOfPatientRelatedStudies for ds in found] == [2, 1]


def test_patient_root_study_level_under_a_patient(dcmtk: Dcmtk) -> None:
    found = findscu(
        dcmtk,
        "-P",
        "QueryRetrieveLevel=STUDY",
        "PatientID=PAT001",
        "StudyDescription=",
        "AccessionNumber=ACC00?",
    )
    assert [ds.StudyDescription for ds in found] == ["CT THORAX", "MR GENOU"]


def test_series_level_in_both_models(dcmtk: Dcmtk) -> None:
    for model in ("-S", "-P"):
        found = findscu(
            dcmtk,
            model,
            "QueryRetrieveLevel=SERIES",
            f"StudyInstanceUID={STUDY_A1.uid}",
            "Modality=MR",
            "SeriesNumber=",
            "NumberOfSeriesRelatedInstances=",
        )
        assert len(found) == 1
        series = found[0]
        assert series.SeriesInstanceUID == STUDY_A1.series_uid(1)
        assert (series.SeriesNumber, series.NumberOfSeriesRelatedInstances) == (2, 2)
        assert keywords(series) == {
            "QueryRetrieveLevel",
            "StudyInstanceUID",
            "Modality",
            "SeriesNumber",
            "NumberOfSeriesRelatedInstances",
            "SeriesInstanceUID",
        }


def test_image_level_in_both_models(dcmtk: Dcmtk) -> None:
    for model in ("-S", "-P"):
        found = findscu(
            dcmtk,
            model,
            "QueryRetrieveLevel=IMAGE",
            f"StudyInstanceUID={STUDY_A1.uid}",
            f"SeriesInstanceUID={STUDY_A1.series_uid(0)}",
            "InstanceNumber=",
            "SOPClassUID=",
        )
        assert [ds.InstanceNumber for ds in found] == [1, 2, 3]
        assert [ds.SOPInstanceUID for ds in found] == [STUDY_A1.sop_uid(0, n) for n in (1, 2, 3)]
        assert found[0].SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"


def test_each_ae_title_sees_only_its_own_archive(dcmtk: Dcmtk) -> None:
    on_2 = findscu(dcmtk, "-S", "QueryRetrieveLevel=STUDY", "PatientID=", aet="PACS_SOURCE_2")
    assert [ds.StudyInstanceUID for ds in on_2] == [STUDY_C1.uid]
    assert findscu(dcmtk, "-S", "QueryRetrieveLevel=STUDY", "PatientID=PAT003") == []
    assert (
        findscu(dcmtk, "-S", "QueryRetrieveLevel=STUDY", "PatientID=PAT001", aet="PACS_SOURCE_2")
        == []
    )
    assert findscu(dcmtk, "-S", "QueryRetrieveLevel=STUDY", aet="PACS_CONSO") == []


def _pynetdicom_find(simulator: PacsSimulator, identifier: Dataset, model: str) -> list[Dataset]:
    """Status datasets of a C-FIND sent by a pynetdicom SCU (to check exact failure statuses)."""
    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(model)
    assoc = ae.associate("127.0.0.1", simulator.port, ae_title="PACS_SOURCE_1")
    assert assoc.is_established
    try:
        return [status for status, _ in assoc.send_c_find(identifier, model)]
    finally:
        assoc.release()


@pytest.mark.parametrize(
    ("identifier", "model", "status", "comment"),
    [
        ({"PatientName": "*"}, StudyRootQueryRetrieveInformationModelFind, 0xA900, "missing"),
        (
            {"QueryRetrieveLevel": "FRAME"},
            StudyRootQueryRetrieveInformationModelFind,
            0xA900,
            "not valid",
        ),
        (
            {"QueryRetrieveLevel": "PATIENT"},
            StudyRootQueryRetrieveInformationModelFind,
            0xA900,
            "not valid in STUDY root",
        ),
        (
            {"QueryRetrieveLevel": "STUDY", "SOPInstanceUID": ""},
            StudyRootQueryRetrieveInformationModelFind,
            0xA900,
            "not a STUDY level key",
        ),
        (
            {"QueryRetrieveLevel": "PATIENT", "StudyDate": ""},
            PatientRootQueryRetrieveInformationModelFind,
            0xA900,
            "not a PATIENT level key",
        ),
        (
            {"QueryRetrieveLevel": "STUDY", "StudyDate": "2024-01-01-2024"},
            StudyRootQueryRetrieveInformationModelFind,
            0xC000,
            "bad range",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore:Invalid value for VR DA")  # the malformed range, on purpose
def test_invalid_identifiers_get_a_failure_status_with_comment(
    simulator: PacsSimulator, identifier: dict[str, str], model: str, status: int, comment: str
) -> None:
    ds = Dataset()
    for keyword, value in identifier.items():
        setattr(ds, keyword, value)
    statuses = _pynetdicom_find(simulator, ds, model)
    assert len(statuses) == 1
    assert statuses[0].Status == status
    assert comment in statuses[0].ErrorComment


def test_findscu_reports_the_failure(dcmtk: Dcmtk) -> None:
    done = dcmtk.run("findscu", "-v", "-S", "-k", "PatientName=*")
    assert "Final Find Response (Error: DataSetDoesNotMatchSOPClass)" in done.stderr
