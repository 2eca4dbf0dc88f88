"""C-FIND identifiers to typed matches; absent and empty attributes."""

from pydicom.dataset import Dataset

from drimbox.dicom.dimse.models import (
    InstanceMatch,
    ReceivedInstance,
    SeriesMatch,
    SeriesTree,
    StudyMatch,
    StudyTree,
)


def test_study_match_reads_values_and_tolerates_absent_keys() -> None:
    ds = Dataset()
    ds.StudyInstanceUID = "1.2"
    ds.PatientName = "DOE^JANE"
    ds.ModalitiesInStudy = ["CT", "SR"]
    ds.NumberOfStudyRelatedInstances = "12"
    ds.AccessionNumber = ""
    match = StudyMatch.from_identifier(ds)
    assert match == StudyMatch(
        study_instance_uid="1.2",
        patient_name="DOE^JANE",
        modalities_in_study=("CT", "SR"),
        number_of_instances=12,
    )


def test_series_and_instance_numbers() -> None:
    ds = Dataset()
    ds.StudyInstanceUID = "1"
    ds.SeriesInstanceUID = "1.1"
    ds.SeriesNumber = "3"
    ds.Modality = "CT"
    assert SeriesMatch.from_identifier(ds).series_number == 3
    ds.SOPInstanceUID = "1.1.1"
    ds.InstanceNumber = ""
    instance = InstanceMatch.from_identifier(ds)
    assert instance.instance_number is None
    assert instance.sop_class_uid == ""


def test_study_tree_lists_every_instance_uid() -> None:
    series = SeriesMatch("1", "1.1")
    tree = StudyTree(
        "1",
        (
            SeriesTree(series, (InstanceMatch("1", "1.1", "a"), InstanceMatch("1", "1.1", "b"))),
            SeriesTree(SeriesMatch("1", "1.2"), (InstanceMatch("1", "1.2", "c"),)),
        ),
    )
    assert tree.sop_instance_uids == {"a", "b", "c"}


def test_received_instance_keeps_bytes_out_of_repr() -> None:
    instance = ReceivedInstance(
        "1.2.840.10008.5.1.4.1.1.2", "1.2.3", "1.2.840.10008.1.2.1", b"x" * 10
    )
    assert len(instance) == 10
    assert "xxxx" not in repr(instance)
