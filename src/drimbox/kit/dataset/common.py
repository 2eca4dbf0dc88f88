"""Shared building blocks of the generated data sets: UIDs, identities, module skeletons, writing.

Everything here is deterministic: UIDs derive from the seed (``2.25.<uuid5>``), dates are fixed,
and nothing reads the clock, so the same profile and seed give byte-identical files.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import imagecodecs
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEGLSLossless

#: Namespace of every UID this generator derives (uuid5 of a fixed name).
_UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://drimbox.invalid/kit/dataset")
IMPLEMENTATION_CLASS_UID = "2.25.142497268449390727133466307153545218843"
IMPLEMENTATION_VERSION = "DRIMBOX_KIT_1"
MANUFACTURER = "DRIMbox kit"
MODEL = "dataset generator"
SOFTWARE_VERSION = "1"

_TEXT_VRS = {"PN", "LO", "SH", "ST", "LT", "UT", "UC"}


def derive_uid(seed: int, *parts: object) -> str:
    """A stable ``2.25`` UID (PS3.5 B.2) for ``parts`` under ``seed``."""
    name = "/".join(str(p) for p in (seed, *parts))
    return f"2.25.{uuid.uuid5(_UID_NAMESPACE, name).int}"


@dataclass(frozen=True)
class OtherId:
    """One Other Patient IDs Sequence item (e.g. the INS with its OID)."""

    value: str
    issuer: str
    issuer_oid: str
    type_of_id: str = "TEXT"


@dataclass(frozen=True)
class Patient:
    """Patient module content; ``issuer_oid`` fills the Issuer of Patient ID Qualifiers."""

    name: str
    patient_id: str
    birth_date: str
    sex: str
    issuer: str = ""
    issuer_oid: str = ""
    other_ids: tuple[OtherId, ...] = ()


@dataclass(frozen=True)
class Study:
    """General Study content shared by every instance of one study."""

    uid: str
    patient: Patient
    date: str
    time: str
    description: str
    accession: str = ""
    accession_issuer_oid: str = ""
    accession_issuer_local: str = ""
    study_id: str = "1"
    referring_physician: str = ""
    institution: str = "DRIMbox kit test site"


@dataclass(frozen=True)
class Series:
    """General Series content; ``frame_of_reference`` empty when the IOD has none."""

    uid: str
    study: Study
    number: int
    modality: str
    description: str
    frame_of_reference: str = ""
    body_part: str = ""
    time: str = ""


Builder = Callable[[Series, str, int], Dataset]


@dataclass(frozen=True)
class Spec:
    """One catalogue file: a label (file name), its Modality and its builder
    ``(series, sop_uid, seed) -> Dataset``; ``syntax`` None means Explicit VR Little Endian."""

    label: str
    modality: str
    builder: Builder
    syntax: str | None = None
    body_part: str = ""
    frame_of_reference: bool = True


@dataclass(frozen=True)
class FileEntry:
    """One written file, as listed in ``manifest.json``."""

    path: str
    label: str
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    patient_id: str
    modality: str
    transfer_syntax_uid: str
    size: int
    sha256: str
    extra: dict[str, str] = field(default_factory=dict)


def base_dataset(
    sop_class: str, sop_uid: str, series: Series, instance_number: int, content_time: str = ""
) -> Dataset:
    """Patient, General Study, General Series, Frame of Reference, General Equipment, SOP Common
    and the General Image timing attributes (DB.VI-CS.29 shows them)."""
    study = series.study
    patient = study.patient
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.InstanceCreationDate = study.date
    ds.InstanceCreationTime = study.time
    ds.StudyDate = study.date
    ds.StudyTime = study.time
    ds.SeriesDate = study.date
    ds.SeriesTime = series.time or study.time
    ds.ContentDate = study.date
    ds.ContentTime = content_time or series.time or study.time
    ds.AccessionNumber = study.accession
    if study.accession_issuer_oid:
        issuer = Dataset()
        if study.accession_issuer_local:
            issuer.LocalNamespaceEntityID = study.accession_issuer_local
        issuer.UniversalEntityID = study.accession_issuer_oid
        issuer.UniversalEntityIDType = "ISO"
        ds.IssuerOfAccessionNumberSequence = [issuer]
    ds.Modality = series.modality
    ds.Manufacturer = MANUFACTURER
    ds.InstitutionName = study.institution
    ds.ReferringPhysicianName = study.referring_physician
    ds.StudyDescription = study.description
    ds.SeriesDescription = series.description
    ds.ManufacturerModelName = MODEL
    _set_patient(ds, patient)
    if series.body_part:
        ds.BodyPartExamined = series.body_part
    ds.DeviceSerialNumber = "0001"
    ds.SoftwareVersions = SOFTWARE_VERSION
    ds.StudyInstanceUID = study.uid
    ds.SeriesInstanceUID = series.uid
    ds.StudyID = study.study_id
    ds.SeriesNumber = series.number
    ds.InstanceNumber = instance_number
    if series.frame_of_reference:
        ds.FrameOfReferenceUID = series.frame_of_reference
        ds.PositionReferenceIndicator = ""
    return ds


def _set_patient(ds: Dataset, patient: Patient) -> None:
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    if patient.issuer:
        ds.IssuerOfPatientID = patient.issuer
    if patient.issuer_oid:
        qualifiers = Dataset()
        qualifiers.UniversalEntityID = patient.issuer_oid
        qualifiers.UniversalEntityIDType = "ISO"
        ds.IssuerOfPatientIDQualifiersSequence = [qualifiers]
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    if patient.other_ids:
        items = []
        for other in patient.other_ids:
            item = Dataset()
            item.PatientID = other.value
            item.IssuerOfPatientID = other.issuer
            qualifiers = Dataset()
            qualifiers.UniversalEntityID = other.issuer_oid
            qualifiers.UniversalEntityIDType = "ISO"
            item.IssuerOfPatientIDQualifiersSequence = [qualifiers]
            item.TypeOfPatientID = other.type_of_id
            items.append(item)
        ds.OtherPatientIDsSequence = items


def code_item(value: str, scheme: str, meaning: str) -> Dataset:
    """A Code Sequence item (PS3.3 Table 8.8-1)."""
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def set_image_pixel(
    ds: Dataset,
    pixels: np.ndarray,
    *,
    bits_stored: int,
    photometric: str = "MONOCHROME2",
    planar: int | None = None,
    frames: int | None = None,
) -> None:
    """Image Pixel module plus native (uncompressed) Pixel Data.

    ``pixels`` is (rows, cols), (rows, cols, 3), (frames, rows, cols[, 3]) or, for planar
    configuration 1 colour, already laid out as the caller wants it written.
    """
    samples = 3 if photometric in ("RGB", "YBR_FULL", "YBR_FULL_422") else 1
    shape = pixels.shape[1:] if frames else pixels.shape
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = int(shape[0]), int(shape[1])
    if frames:
        ds.NumberOfFrames = frames
    bits_allocated = 8 * pixels.dtype.itemsize
    ds.BitsAllocated = bits_allocated
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    if samples == 3:
        ds.PlanarConfiguration = planar if planar is not None else 0
    data = np.ascontiguousarray(pixels).astype(pixels.dtype.newbyteorder("<")).tobytes()
    if len(data) % 2:
        data += b"\0"
    ds.PixelData = data
    ds["PixelData"].VR = "OB" if bits_allocated == 8 else "OW"


def set_jpegls_pixels(ds: Dataset, frames: Sequence[np.ndarray]) -> None:
    """Encode each frame losslessly with JPEG-LS and encapsulate it (one fragment per frame,
    Basic Offset Table filled, PS3.5 A.4)."""
    encoded = [bytes(imagecodecs.jpegls_encode(np.ascontiguousarray(f))) for f in frames]
    ds.PixelData = encapsulate(encoded, has_bot=len(encoded) > 1)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True


def _needs_utf8(ds: Dataset) -> bool:
    for elem in ds.iterall():
        if elem.VR in _TEXT_VRS and elem.value is not None:
            text = str(elem.value)
            if not text.isascii():
                return True
    return False


def write_dataset(
    ds: Dataset, out_dir: Path, rel_path: str, label: str, transfer_syntax: str | None = None
) -> FileEntry:
    """Add the File Meta Information, pick the character set, write, and describe the file."""
    syntax = UID(transfer_syntax or ExplicitVRLittleEndian)
    if _needs_utf8(ds):
        ds.SpecificCharacterSet = "ISO_IR 192"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    ds.file_meta = meta
    target = out_dir / rel_path
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)
    blob = target.read_bytes()
    return FileEntry(
        path=rel_path,
        label=label,
        sop_class_uid=str(ds.SOPClassUID),
        sop_instance_uid=str(ds.SOPInstanceUID),
        series_instance_uid=str(ds.SeriesInstanceUID),
        study_instance_uid=str(ds.StudyInstanceUID),
        patient_id=str(ds.PatientID),
        modality=str(ds.Modality),
        transfer_syntax_uid=str(syntax),
        size=len(blob),
        sha256=hashlib.sha256(blob).hexdigest(),
    )


JPEG_LS_LOSSLESS = str(JPEGLSLossless)
