"""Nuclear medicine builders: NM (…1.20) and PET (…1.128), classic IODs."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import NuclearMedicineImageStorage, PositronEmissionTomographyImageStorage

from drimbox.kit.dataset.common import Series, base_dataset, code_item, set_image_pixel
from drimbox.kit.dataset.ct import ds_number
from drimbox.kit.dataset.phantom import blob_image


def patient_orientation(ds: Dataset) -> None:
    """NM/PET Patient Orientation module: recumbent, supine, head first (codes this dciodvfy
    knows, PS3.16 CID 19/20/21)."""
    ds.PatientGantryRelationshipCodeSequence = [code_item("F-10470", "SRT", "headfirst")]
    ds.PatientOrientationCodeSequence = [code_item("F-10450", "SRT", "recumbent")]
    ds.PatientOrientationCodeSequence[0].PatientOrientationModifierCodeSequence = [
        code_item("F-10340", "SRT", "supine")
    ]


def nm(series: Series, sop_uid: str, seed: int, index: int = 0, frames: int = 2) -> Dataset:
    """A static thyroid-like NM acquisition: ``frames`` energy/detector frames of 128×128."""
    ds = base_dataset(NuclearMedicineImageStorage, sop_uid, series, index + 1)
    ds.AcquisitionDate = series.study.date
    ds.AcquisitionTime = series.time or series.study.time
    ds.ImageType = ["ORIGINAL", "PRIMARY", "STATIC", "EMISSION"]
    ds.PatientOrientation = ["L", "F"]
    ds.PixelSpacing = ["2.2", "2.2"]
    ds.FrameIncrementPointer = [0x00540010, 0x00540020]  # Energy Window / Detector Vector
    ds.NumberOfEnergyWindows = 1
    ds.EnergyWindowVector = [1] * frames
    ds.NumberOfDetectors = frames
    ds.DetectorVector = list(range(1, frames + 1))
    ds.ActualFrameDuration = 300000
    ds.CountsAccumulated = 500000
    window = Dataset()
    window_range = Dataset()
    window_range.EnergyWindowLowerLimit = "329"
    window_range.EnergyWindowUpperLimit = "401"
    window.EnergyWindowRangeSequence = [window_range]
    window.EnergyWindowName = "I-131"
    ds.EnergyWindowInformationSequence = [window]
    radiopharmaceutical = Dataset()
    radiopharmaceutical.RadionuclideCodeSequence = [code_item("C-131A3", "SRT", "^131^Iodine")]
    ds.RadiopharmaceuticalInformationSequence = [radiopharmaceutical]
    patient_orientation(ds)
    detectors = []
    for d in range(frames):
        item = Dataset()
        item.CollimatorGridName = "HEGP"
        item.CollimatorType = "PARA"
        item.ImagePositionPatient = ["-140.8", "-140.8", ds_number(-10.0 * d)]
        item.ImageOrientationPatient = ["1", "0", "0", "0", "0", "-1"]
        item.ViewCodeSequence = [code_item("399067008", "SCT", "lateral")]
        item.ViewCodeSequence[0].ViewModifierCodeSequence = []
        detectors.append(item)
    ds.DetectorInformationSequence = detectors
    stack = np.stack(
        [blob_image(128, 128, seed, index * frames + f, peak=800.0, blobs=2) for f in range(frames)]
    )
    set_image_pixel(ds, stack.astype(np.uint16), bits_stored=16, frames=frames)
    return ds


def pet(
    series: Series,
    sop_uid: str,
    seed: int,
    index: int = 0,
    count: int = 1,
    size: int = 64,
    spacing: float = 6.0,
    z0: float = -100.0,
    slice_step: float = 6.0,
) -> Dataset:
    """One transaxial PET slice of ``count`` (MBq-like activity, Bq/ml units, rescaled)."""
    ds = base_dataset(PositronEmissionTomographyImageStorage, sop_uid, series, index + 1)
    ds.AcquisitionDate = series.study.date
    ds.AcquisitionTime = series.time or series.study.time
    ds.SeriesDate = series.study.date
    ds.SeriesTime = series.time or series.study.time
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.Units = "BQML"
    ds.CountsSource = "EMISSION"
    ds.SeriesType = ["STATIC", "IMAGE"]
    ds.CorrectedImage = ["ATTN", "DECY", "SCAT", "RAN", "DTIM", "NORM"]
    ds.RandomsCorrectionMethod = "DLYD"
    ds.AttenuationCorrectionMethod = "CT"
    ds.ScatterCorrectionMethod = "MODEL"
    ds.DecayCorrection = "START"
    ds.ReconstructionMethod = "OSEM"
    ds.CollimatorType = "NONE"
    ds.NumberOfSlices = count
    ds.ImageIndex = index + 1
    ds.FrameReferenceTime = "0"
    ds.ActualFrameDuration = 120000
    ds.DecayFactor = "1"
    ds.DoseCalibrationFactor = "1"
    ds.PrimaryPromptsCountsAccumulated = 1000000
    ds.SliceSensitivityFactor = "1"
    patient_orientation(ds)
    radiopharmaceutical = Dataset()
    radiopharmaceutical.Radiopharmaceutical = "Fluorodeoxyglucose"
    radiopharmaceutical.RadiopharmaceuticalStartTime = "090000"
    radiopharmaceutical.RadionuclideTotalDose = "250000000"
    radiopharmaceutical.RadionuclideHalfLife = "6586.2"
    radiopharmaceutical.RadionuclidePositronFraction = "0.97"
    radiopharmaceutical.RadionuclideCodeSequence = [code_item("C-111A1", "SRT", "^18^Fluorine")]
    ds.RadiopharmaceuticalInformationSequence = [radiopharmaceutical]
    z = z0 - index * slice_step
    corner = -(size * spacing) / 2 + spacing / 2
    ds.ImagePositionPatient = [ds_number(corner), ds_number(corner), ds_number(z)]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.SliceLocation = ds_number(z)
    ds.SliceThickness = ds_number(slice_step)
    ds.PixelSpacing = [ds_number(spacing)] * 2
    activity = blob_image(size, size, seed, index, peak=30000.0, blobs=4)
    set_image_pixel(ds, activity.astype(np.uint16), bits_stored=16)
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "0.5"
    ds.LossyImageCompression = "00"
    return ds
