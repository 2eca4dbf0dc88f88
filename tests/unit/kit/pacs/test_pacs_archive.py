"""The simulator archive: layout, incremental indexing, loading and received instances."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import dcmwrite
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

from drimbox.kit.pacs.archive import Archive
from drimbox.store.db import Database, upgrade_schema

AETS = ["PACS_SOURCE_1", "PACS_SOURCE_2", "PACS_CONSO"]


def instance(sop: str, study: str = "1.2.3", patient: str = "P1") -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop
    ds.PatientID = patient
    ds.PatientName = "DOE^JOHN"
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = f"{study}.1"
    ds.SeriesNumber = "3"
    ds.Modality = "CT"
    return ds


def write(path: Path, ds: Dataset) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    upgrade_schema(url)
    db = Database(url)
    yield db
    db.dispose()


@pytest.fixture
def archive(tmp_path: Path, database: Database) -> Archive:
    return Archive(tmp_path / "archive", database, AETS)


def test_layout_assigns_loose_files_to_the_first_ae_title(archive: Archive) -> None:
    write(archive.root / "PACS_SOURCE_2" / "a" / "1.dcm", instance("1.1"))
    write(archive.root / "loose.dcm", instance("1.2"))
    write(archive.root / "other" / "x.dcm", instance("1.3"))
    assert sorted((j.aet, j.path.name) for j in archive.scan()) == [
        ("PACS_SOURCE_1", "loose.dcm"),
        ("PACS_SOURCE_1", "x.dcm"),
        ("PACS_SOURCE_2", "1.dcm"),
    ]


def test_indexing_is_incremental_and_prunes_deleted_files(archive: Archive) -> None:
    first = write(archive.root / "PACS_SOURCE_1" / "1.dcm", instance("1.1"))
    write(archive.root / "PACS_SOURCE_1" / "2.dcm", instance("1.2"))
    (archive.root / "PACS_SOURCE_1" / "notes.txt").write_text("not DICOM")
    report = archive.index(archive.scan())
    assert (report.indexed, report.unchanged, len(report.skipped)) == (2, 0, 1)
    assert "not a readable DICOM file" in report.skipped[0][1]

    again = archive.index(archive.scan())
    assert (again.indexed, again.unchanged) == (0, 2)

    changed = instance("1.1", patient="P9")
    write(first, changed)
    os.utime(first, (first.stat().st_atime, first.stat().st_mtime + 5))
    (archive.root / "PACS_SOURCE_1" / "2.dcm").unlink()
    third = archive.index(archive.scan())
    assert (third.indexed, third.unchanged, third.removed) == (1, 0, 1)
    assert [r.patient_id for r in archive.rows("PACS_SOURCE_1")] == ["P9"]


def test_missing_uids_are_reported_not_indexed(archive: Archive) -> None:
    ds = instance("1.1")
    del ds.StudyInstanceUID
    write(archive.root / "PACS_SOURCE_1" / "bad.dcm", ds)
    report = archive.index(archive.scan())
    assert report.indexed == 0
    assert "missing StudyInstanceUID" in report.skipped[0][1]


def test_load_copies_into_the_ae_folder(archive: Archive, tmp_path: Path) -> None:
    write(tmp_path / "in" / "s" / "1.dcm", instance("1.1"))
    jobs = archive.load("PACS_SOURCE_2", [tmp_path / "in"])
    assert [j.path for j in jobs] == [archive.root / "PACS_SOURCE_2" / "s" / "1.dcm"]
    assert archive.index(jobs).indexed == 1
    assert [r.sop_instance_uid for r in archive.rows("PACS_SOURCE_2")] == ["1.1"]
    assert archive.rows("PACS_SOURCE_1") == []
    with pytest.raises(ValueError, match="unknown AE title"):
        archive.load("ELSEWHERE", [tmp_path / "in"])


def _part10(ds: Dataset) -> bytes:
    buffer = DicomBytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def test_received_instances_are_stored_and_duplicates_replace(archive: Archive) -> None:
    path = archive.store("PACS_CONSO", _part10(instance("1.9", patient="P1")))
    assert path == archive.root / "PACS_CONSO" / "received" / "1.9.dcm"
    archive.store("PACS_CONSO", _part10(instance("1.9", patient="P2")))
    rows = archive.rows("PACS_CONSO")
    assert [(r.sop_instance_uid, r.patient_id, r.series_number) for r in rows] == [("1.9", "P2", 3)]
    assert not list(path.parent.glob("*.part"))


def test_load_of_same_named_files_keeps_every_instance(tmp_path: Path) -> None:
    """IM00001.dcm in two series must not overwrite each other when named one by one."""
    from drimbox.store.db import Database, upgrade_schema
    from support.dicom_factory import make_ct_series

    series = make_ct_series(tmp_path / "src", patients=2, instances=1, prefix="LOAD")
    same_name = []
    for item in series:
        renamed = item.paths[0].with_name("IM00001.dcm")
        item.paths[0].rename(renamed)
        same_name.append(renamed)
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade_schema(url)
    database = Database(url)
    archive = Archive(tmp_path / "archive", database, ["PACS_SOURCE_1"])
    archive.index(archive.load("PACS_SOURCE_1", same_name))
    stored = {row.sop_instance_uid for row in archive.rows("PACS_SOURCE_1")}
    assert stored == {item.sop_uids[0] for item in series}
    database.dispose()
