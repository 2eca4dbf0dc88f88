"""Small, valid, deterministic CT instances for tests: N patients x M series x K instances.

UIDs are derived from the names (``generate_uid`` with entropy sources), so a second run with the
same arguments writes identical files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    generate_uid,
)


@dataclass(frozen=True)
class SeriesFiles:
    patient_id: str
    patient_name: str
    study_uid: str
    series_uid: str
    sop_uids: tuple[str, ...]
    paths: tuple[Path, ...]


def uid(*parts: object) -> str:
    return str(generate_uid(prefix=None, entropy_srcs=[str(p) for p in parts]))


def ct_instance(
    patient_id: str, study_uid: str, series_uid: str, sop_uid: str, number: int, size: int
) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.PatientID = patient_id
    ds.PatientName = f"TEST^{patient_id}"
    ds.PatientPosition = "HFS"
    ds.PositionReferenceIndicator = ""
    ds.AcquisitionNumber = 1
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyDate = "20240102"
    ds.StudyTime = "101500"
    ds.StudyID = "1"
    ds.AccessionNumber = f"ACC{patient_id}"[:16]
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = f"CT study of {patient_id}"
    ds.Modality = "CT"
    ds.SeriesNumber = 1
    ds.SeriesDescription = "axial"
    ds.BodyPartExamined = "CHEST"
    ds.InstanceNumber = number
    ds.Manufacturer = "DRIMbox tests"
    ds.FrameOfReferenceUID = uid(study_uid, "for")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.ImagePositionPatient = [0, 0, float(number)]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [1, 1]
    ds.SliceThickness = 1
    ds.KVP = 120
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = size
    ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    pixels = (np.arange(size * size, dtype=np.uint16).reshape(size, size) + number) % 4096
    ds.PixelData = pixels.tobytes()
    return ds


def make_ct_series(
    root: Path,
    patients: int = 1,
    series_per_patient: int = 1,
    instances: int = 3,
    size: int = 16,
    prefix: str = "PAT",
) -> list[SeriesFiles]:
    """Write the files under ``root/<patient>/<series>/`` and describe each series."""
    result: list[SeriesFiles] = []
    for p in range(patients):
        patient_id = f"{prefix}{p:03d}"
        study_uid = uid(prefix, patient_id, "study")
        for s in range(series_per_patient):
            series_uid = uid(prefix, patient_id, "series", s)
            folder = root / patient_id / f"S{s}"
            folder.mkdir(parents=True, exist_ok=True)
            sops, paths = [], []
            for i in range(1, instances + 1):
                sop_uid = uid(prefix, patient_id, s, i)
                ds = ct_instance(patient_id, study_uid, series_uid, sop_uid, i, size)
                ds.SeriesNumber = s + 1
                path = folder / f"{i:04d}.dcm"
                ds.save_as(path, enforce_file_format=True)
                sops.append(sop_uid)
                paths.append(path)
            result.append(
                SeriesFiles(
                    patient_id,
                    f"TEST^{patient_id}",
                    study_uid,
                    series_uid,
                    tuple(sops),
                    tuple(paths),
                )
            )
    return result
