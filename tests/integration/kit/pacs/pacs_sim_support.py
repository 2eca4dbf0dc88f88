"""Test data and dcmtk helpers for the PACS simulator tests.

Archive (built with pydicom, deterministic UIDs):
- PACS_SOURCE_1: PAT001 DOE^JOHN (study A1 CT+MR 3+2 images, study A2 MR 2 images),
                 PAT002 MARTIN^CLAIRE (study B1 CT 4 images)
- PACS_SOURCE_2: PAT003 DURAND^PAUL (study C1 CT 2 images)
- PACS_CONSO: empty (receives C-STORE)

A missing dcmtk binary skips with the reason, except under CI=true where it fails.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage

from support.tools import require_binary

ROOT = "1.2.826.0.1.3680043.8.498.7"
AETS = ["PACS_SOURCE_1", "PACS_SOURCE_2", "PACS_CONSO"]
# dcmtk leaves Nagle's algorithm on unless told: each response then waits ≈40 ms for our
# delayed ACK. Not needed for correctness; keeps the tests quick.
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}


@dataclass(frozen=True)
class StudySpec:
    key: str
    patient_id: str
    patient_name: str
    birth_date: str
    sex: str
    date: str
    time: str
    description: str
    accession: str
    series: tuple[tuple[str, int], ...]  # (modality, number of images)

    @property
    def uid(self) -> str:
        return f"{ROOT}.{ord(self.key[0])}{self.key[1:]}"

    def series_uid(self, index: int) -> str:
        return f"{self.uid}.{index + 1}"

    def sop_uid(self, series: int, number: int) -> str:
        return f"{self.series_uid(series)}.{number}"


STUDY_A1 = StudySpec(
    "A1",
    "PAT001",
    "DOE^JOHN",
    "19700101",
    "M",
    "20240115",
    "101500",
    "CT THORAX",
    "ACC001",
    (("CT", 3), ("MR", 2)),
)
STUDY_A2 = StudySpec(
    "A2",
    "PAT001",
    "DOE^JOHN",
    "19700101",
    "M",
    "20240320",
    "143000",
    "MR GENOU",
    "ACC002",
    (("MR", 2),),
)
STUDY_B1 = StudySpec(
    "B1",
    "PAT002",
    "MARTIN^CLAIRE",
    "19851212",
    "F",
    "20231105",
    "090000",
    "CT ABDOMEN",
    "ACC003",
    (("CT", 4),),
)
STUDY_C1 = StudySpec(
    "C1",
    "PAT003",
    "DURAND^PAUL",
    "19601010",
    "M",
    "20240201",
    "160000",
    "CT CRANE",
    "ACC004",
    (("CT", 2),),
)
SOURCE_1_STUDIES = (STUDY_A1, STUDY_A2, STUDY_B1)
SOURCE_2_STUDIES = (STUDY_C1,)


def make_instance(
    study: StudySpec, series: int, number: int, *, size: int = 16, syntax: str | None = None
) -> Dataset:
    """A small valid CT/MR image of ``study`` (explicit VR little endian)."""
    modality = study.series[series][0]
    sop_class = CTImageStorage if modality == "CT" else MRImageStorage
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = study.sop_uid(series, number)
    meta.TransferSyntaxUID = syntax or ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = study.sop_uid(series, number)
    ds.PatientName = study.patient_name
    ds.PatientID = study.patient_id
    ds.PatientBirthDate = study.birth_date
    ds.PatientSex = study.sex
    ds.StudyInstanceUID = study.uid
    ds.StudyDate = study.date
    ds.StudyTime = study.time
    ds.StudyDescription = study.description
    ds.AccessionNumber = study.accession
    ds.StudyID = study.key
    ds.ReferringPhysicianName = "HOUSE^GREGORY"
    ds.SeriesInstanceUID = study.series_uid(series)
    ds.SeriesNumber = series + 1
    ds.Modality = modality
    ds.SeriesDescription = f"{modality} series {series + 1}"
    ds.InstanceNumber = number
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    rng = np.random.default_rng(number)
    ds.PixelData = rng.integers(0, 4000, (size, size), dtype=np.uint16).tobytes()
    return ds


def write_study(folder: Path, study: StudySpec) -> list[Path]:
    paths = []
    for series, (_modality, count) in enumerate(study.series):
        for number in range(1, count + 1):
            path = folder / study.key / f"s{series + 1}" / f"{number}.dcm"
            path.parent.mkdir(parents=True, exist_ok=True)
            make_instance(study, series, number).save_as(path, enforce_file_format=True)
            paths.append(path)
    return paths


@dataclass
class Dcmtk:
    """Runs dcmtk tools against the simulator and returns the completed process."""

    port: int
    workdir: Path
    calls: list[list[str]] = field(default_factory=list)

    def run(
        self,
        tool: str,
        *args: str,
        aet: str = "PACS_SOURCE_1",
        files: list[str] | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        command = [require_binary(tool), "-aet", "TESTSCU", "-aec", aet, *args]
        command += ["127.0.0.1", str(self.port), *(files or [])]
        self.calls.append(command)
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.workdir,
            check=False,
            env=DCMTK_ENV,
        )


@dataclass
class StoreScp:
    """A dcmtk storescp destination writing into ``folder``."""

    ae_title: str
    port: int
    folder: Path
    process: subprocess.Popen[bytes]

    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.rglob("*") if p.is_file())

    def wait_for(self, count: int, seconds: float = 20) -> list[Path]:
        for _ in range(int(seconds * 20)):
            if len(self.files()) >= count:
                break
            time.sleep(0.05)
        return self.files()


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 15) -> None:
    for _ in range(int(seconds * 20)):
        if process.poll() is not None:
            raise RuntimeError(f"storescp exited early with {process.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")
