"""Builders of classic (non-enhanced) image IODs, one function per SOP class (DB.VI-CS.30).

Each builder takes the Series the instance belongs to, its SOP Instance UID and the seed, and
returns a complete dataset with native pixel data (Explicit VR Little Endian).
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.utils import pack_bits
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    DigitalMammographyXRayImageStorageForPresentation,
    DigitalXRayImageStorageForPresentation,
    MRImageStorage,
    MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
    MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
    MultiFrameSingleBitSecondaryCaptureImageStorage,
    MultiFrameTrueColorSecondaryCaptureImageStorage,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
    XRayAngiographicImageStorage,
    XRayRadiofluoroscopicImageStorage,
)

from drimbox.kit.dataset.common import Series, base_dataset, code_item, set_image_pixel
from drimbox.kit.dataset.phantom import blob_image, color_image, gradient_image


def _acquisition(ds: Dataset, series: Series) -> None:
    ds.AcquisitionDate = series.study.date
    ds.AcquisitionTime = series.time or series.study.time
    ds.AcquisitionDateTime = f"{ds.AcquisitionDate}{ds.AcquisitionTime}"


def _window(ds: Dataset, center: float, width: float) -> None:
    ds.WindowCenter = f"{center:g}"
    ds.WindowWidth = f"{width:g}"


def _anatomy(ds: Dataset, code: str, meaning: str) -> None:
    ds.AnatomicRegionSequence = [code_item(code, "SCT", meaning)]


def cr(series: Series, sop_uid: str, seed: int, photometric: str = "MONOCHROME2") -> Dataset:
    """Computed Radiography (1.2.840.10008.5.1.4.1.1.1); MONOCHROME1 variant via ``photometric``."""
    ds = base_dataset(ComputedRadiographyImageStorage, sop_uid, series, 1)
    _acquisition(ds, series)
    ds.ViewPosition = "PA"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PatientOrientation = ["L", "F"]
    ds.ImagerPixelSpacing = ["0.2", "0.2"]
    ds.KVP = "110"
    ds.PlateID = "1"
    pixels = gradient_image(256, 256, 4095).astype(np.uint16)
    if photometric == "MONOCHROME1":
        pixels = (4095 - pixels).astype(np.uint16)
    set_image_pixel(ds, pixels, bits_stored=12, photometric=photometric)
    _window(ds, 2048, 4096)
    return ds


def _dx_common(ds: Dataset, series: Series, bits: int) -> np.ndarray:
    _acquisition(ds, series)
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.PatientOrientation = ["L", "F"]
    ds.ImageLaterality = "U"
    ds.PixelIntensityRelationship = "LOG"
    ds.PixelIntensityRelationshipSign = 1
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.RescaleType = "US"
    ds.PresentationLUTShape = "IDENTITY"
    ds.LossyImageCompression = "00"
    ds.BurnedInAnnotation = "NO"
    ds.AcquisitionContextSequence = []
    ds.ImagerPixelSpacing = ["0.15", "0.15"]
    ds.DetectorType = "SCINTILLATOR"
    ds.KVP = "110"
    ds.DistanceSourceToDetector = "1800"
    pixels = gradient_image(256, 256, (1 << bits) - 1).astype(np.uint16)
    _window(ds, 1 << (bits - 1), 1 << bits)
    return pixels


def dx(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Digital X-Ray for presentation (…1.1.1)."""
    ds = base_dataset(DigitalXRayImageStorageForPresentation, sop_uid, series, 1)
    pixels = _dx_common(ds, series, 12)
    ds.ViewPosition = "PA"
    ds.PositionerType = "COLUMN"
    ds.ViewCodeSequence = [code_item("R-10214", "SRT", "postero-anterior")]
    ds.ViewCodeSequence[0].ViewModifierCodeSequence = []
    _anatomy(ds, "51185008", "Thorax")
    set_image_pixel(ds, pixels, bits_stored=12)
    return ds


def mg(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Digital Mammography for presentation (…1.1.2)."""
    ds = base_dataset(DigitalMammographyXRayImageStorageForPresentation, sop_uid, series, 1)
    pixels = _dx_common(ds, series, 12)
    ds.ImageLaterality = "L"
    ds.PatientOrientation = ["A", "R"]
    ds.PositionerType = "MAMMOGRAPHIC"
    ds.BodyPartThickness = "45"
    ds.CompressionForce = "100"
    ds.OrganExposed = "BREAST"
    _anatomy(ds, "76752008", "Breast")
    ds.ViewCodeSequence = [code_item("399162004", "SCT", "cranio-caudal")]
    ds.ViewCodeSequence[0].ViewModifierCodeSequence = []
    set_image_pixel(ds, pixels, bits_stored=12)
    return ds


def mr(
    series: Series, sop_uid: str, seed: int, index: int = 0, size: int = 256, signed: bool = False
) -> Dataset:
    """MR Image (…1.4): sagittal knee-like slices 4 mm apart; ``signed`` gives signed 16-bit."""
    ds = base_dataset(MRImageStorage, sop_uid, series, index + 1)
    _acquisition(ds, series)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
    ds.Laterality = "R"
    ds.ScanningSequence = "SE"
    ds.SequenceVariant = "NONE"
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.RepetitionTime = "500"
    ds.EchoTime = "15"
    ds.EchoTrainLength = "1"
    ds.MagneticFieldStrength = "1.5"
    ds.ImagingFrequency = "63.9"
    ds.SliceThickness = "3"
    ds.SpacingBetweenSlices = "4"
    ds.PatientPosition = "FFS"
    ds.ImagePositionPatient = [f"{-20 + 4 * index}", "-80", "80"]
    ds.ImageOrientationPatient = ["0", "1", "0", "0", "0", "-1"]
    ds.SliceLocation = f"{-20 + 4 * index}"
    ds.PixelSpacing = ["0.625", "0.625"]
    image = blob_image(size, size, seed, index, peak=1500.0)
    pixels = (image - 300).astype(np.int16) if signed else image.astype(np.uint16)
    set_image_pixel(ds, pixels, bits_stored=16 if signed else 12)
    _window(ds, 600, 1600)
    return ds


def _us_common(ds: Dataset, series: Series) -> None:
    _acquisition(ds, series)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL"]
    ds.PatientOrientation = ""
    ds.LossyImageCompression = "00"


def us(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Ultrasound Image (…1.6.1), 8-bit grey."""
    ds = base_dataset(UltrasoundImageStorage, sop_uid, series, 1)
    _us_common(ds, series)
    set_image_pixel(ds, gradient_image(240, 320, 255).astype(np.uint8), bits_stored=8)
    return ds


def us_multiframe(series: Series, sop_uid: str, seed: int, frames: int = 6) -> Dataset:
    """Ultrasound Multi-frame (…1.3.1): a short RGB cine loop."""
    ds = base_dataset(UltrasoundMultiFrameImageStorage, sop_uid, series, 1)
    _us_common(ds, series)
    base = color_image(240, 320)
    loop = np.stack([np.roll(base, 8 * f, axis=1) for f in range(frames)])
    set_image_pixel(ds, loop, bits_stored=8, photometric="RGB", planar=0, frames=frames)
    _cine(ds, frames)
    return ds


def _cine(ds: Dataset, frames: int, frame_time: float = 40.0) -> None:
    ds.FrameTime = f"{frame_time:g}"
    ds.FrameIncrementPointer = 0x00181063  # Frame Time
    ds.CineRate = int(1000 / frame_time)
    ds.RecommendedDisplayFrameRate = int(1000 / frame_time)
    ds.StartTrim = 1
    ds.StopTrim = frames


def _sc_equipment(ds: Dataset) -> None:
    ds.ConversionType = "WSD"


def secondary_capture(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Secondary Capture (…1.7), 8-bit grey."""
    ds = base_dataset(SecondaryCaptureImageStorage, sop_uid, series, 1)
    _sc_equipment(ds)
    ds.PatientOrientation = ""
    set_image_pixel(ds, gradient_image(256, 256, 255).astype(np.uint8), bits_stored=8)
    return ds


def _sc_multiframe(ds: Dataset, frames: int) -> None:
    _sc_equipment(ds)
    ds.PatientOrientation = ""
    ds.BurnedInAnnotation = "NO"
    ds.FrameIncrementPointer = 0x00182002  # Frame Label Vector
    ds.FrameLabelVector = [f"F{i + 1}" for i in range(frames)]


def sc_single_bit(series: Series, sop_uid: str, seed: int, frames: int = 3) -> Dataset:
    """Multi-frame Single Bit SC (…1.7.1): bit-packed pixels, MONOCHROME2."""
    ds = base_dataset(MultiFrameSingleBitSecondaryCaptureImageStorage, sop_uid, series, 1)
    _sc_multiframe(ds, frames)
    stack = np.stack([gradient_image(128, 128, 1).round().astype(np.uint8) for _ in range(frames)])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.NumberOfFrames = frames
    ds.Rows = ds.Columns = 128
    ds.BitsAllocated = ds.BitsStored = 1
    ds.HighBit = 0
    ds.PixelRepresentation = 0
    ds.PixelData = pack_bits(stack)
    ds["PixelData"].VR = "OB"
    return ds


def sc_grayscale_byte(series: Series, sop_uid: str, seed: int, frames: int = 3) -> Dataset:
    """Multi-frame Grayscale Byte SC (…1.7.2)."""
    ds = base_dataset(MultiFrameGrayscaleByteSecondaryCaptureImageStorage, sop_uid, series, 1)
    _sc_multiframe(ds, frames)
    stack = np.stack([gradient_image(128, 128, 255 - 40 * f) for f in range(frames)])
    set_image_pixel(ds, stack.astype(np.uint8), bits_stored=8, frames=frames)
    _identity_rescale(ds)
    _window(ds, 128, 256)
    return ds


def sc_grayscale_word(series: Series, sop_uid: str, seed: int, frames: int = 3) -> Dataset:
    """Multi-frame Grayscale Word SC (…1.7.3), 12 bits stored."""
    ds = base_dataset(MultiFrameGrayscaleWordSecondaryCaptureImageStorage, sop_uid, series, 1)
    _sc_multiframe(ds, frames)
    stack = np.stack([gradient_image(128, 128, 4095 - 500 * f) for f in range(frames)])
    set_image_pixel(ds, stack.astype(np.uint16), bits_stored=12, frames=frames)
    _identity_rescale(ds)
    _window(ds, 2048, 4096)
    return ds


def _identity_rescale(ds: Dataset) -> None:
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.RescaleType = "US"
    ds.PresentationLUTShape = "IDENTITY"


def sc_rgb(series: Series, sop_uid: str, seed: int, planar: int = 1) -> Dataset:
    """Secondary Capture (…1.7) in RGB; planar configuration 1 (colour-by-plane) by default."""
    ds = base_dataset(SecondaryCaptureImageStorage, sop_uid, series, 1)
    _sc_equipment(ds)
    ds.PatientOrientation = ""
    rgb = color_image(128, 160)
    layout = rgb.transpose(2, 0, 1) if planar else rgb
    set_image_pixel(ds, layout, bits_stored=8, photometric="RGB", planar=planar)
    ds.Rows, ds.Columns = 128, 160
    return ds


def sc_true_color(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Multi-frame True Color SC (…1.7.4); RGB, planar configuration 0 (the IOD requires it)."""
    ds = base_dataset(MultiFrameTrueColorSecondaryCaptureImageStorage, sop_uid, series, 1)
    _sc_multiframe(ds, 2)
    rgb = np.stack([color_image(128, 160), color_image(128, 160)[:, ::-1]])
    set_image_pixel(ds, rgb, bits_stored=8, photometric="RGB", planar=0, frames=2)
    ds.Rows, ds.Columns = 128, 160
    return ds


def _xray_acquisition(ds: Dataset, series: Series, frames: int) -> None:
    _acquisition(ds, series)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "SINGLE PLANE"]
    ds.PatientOrientation = ""
    ds.PositionerMotion = "STATIC"
    ds.PixelIntensityRelationship = "LIN"
    ds.LossyImageCompression = "00"
    ds.KVP = "80"
    ds.RadiationSetting = "GR"
    ds.XRayTubeCurrent = "500"
    ds.ExposureTime = "10"
    ds.PositionerPrimaryAngle = "30"
    ds.PositionerSecondaryAngle = "0"
    ds.DistanceSourceToDetector = "1100"
    ds.DistanceSourceToPatient = "750"
    ds.IntensifierSize = "230"
    ds.FieldOfViewShape = "ROUND"
    ds.FieldOfViewDimensions = ["230"]
    ds.ImagerPixelSpacing = ["0.3", "0.3"]
    _cine(ds, frames, 66.7)
    ds.FrameIncrementPointer = 0x00181063


def _vessels(frames: int, size: int = 256) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    out = []
    for f in range(frames):
        path = size / 2 + 40 * np.sin(xx / 30 + f / 3)
        vessel = np.exp(-((yy - path) ** 2) / (2 * 3.0**2))
        out.append(200 - 150 * vessel * min(1.0, (f + 1) / 3))
    return np.stack(out).astype(np.uint8)


def xa(series: Series, sop_uid: str, seed: int, frames: int = 4, index: int = 0) -> Dataset:
    """X-Ray Angiography (…1.12.1): a short contrast run, 8 bits."""
    ds = base_dataset(XRayAngiographicImageStorage, sop_uid, series, index + 1)
    _xray_acquisition(ds, series, frames)
    set_image_pixel(ds, _vessels(frames), bits_stored=8, frames=frames)
    return ds


def xrf(series: Series, sop_uid: str, seed: int, frames: int = 3) -> Dataset:
    """X-Ray Radiofluoroscopy (…1.12.2)."""
    ds = base_dataset(XRayRadiofluoroscopicImageStorage, sop_uid, series, 1)
    _xray_acquisition(ds, series, frames)
    del ds.PositionerPrimaryAngle, ds.PositionerSecondaryAngle, ds.PositionerMotion
    set_image_pixel(ds, _vessels(frames), bits_stored=8, frames=frames)
    return ds
