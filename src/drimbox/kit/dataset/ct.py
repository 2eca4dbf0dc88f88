"""Classic CT Image Storage instances with consistent axial geometry (MPR-ready series)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage

from drimbox.kit.dataset.common import Series, base_dataset, set_image_pixel, set_jpegls_pixels
from drimbox.kit.dataset.phantom import hu_to_stored


@dataclass(frozen=True)
class AxialGeometry:
    """A stack of axial slices, head first supine: slice ``i`` is at ``z0 - i * spacing``."""

    size: int = 512
    pixel_spacing: float = 0.7
    thickness: float = 0.625
    z0: float = -100.0

    def position(self, index: int) -> tuple[float, float, float]:
        corner = -(self.size * self.pixel_spacing) / 2 + self.pixel_spacing / 2
        return (corner, corner, self.z0 - index * self.thickness)


def ds_number(value: float) -> str:
    """A DS string: fixed 4 decimals, trailing zeros trimmed (stable and short)."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def ct_dataset(
    series: Series, sop_uid: str, index: int, geometry: AxialGeometry, acquisition_time: str
) -> Dataset:
    """Everything of a CT Image IOD but Pixel Data; ``index`` is 0-based."""
    ds = base_dataset(CTImageStorage, sop_uid, series, index + 1, acquisition_time)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.AcquisitionNumber = 1
    ds.AcquisitionDate = series.study.date
    ds.AcquisitionTime = acquisition_time
    ds.AcquisitionDateTime = f"{series.study.date}{acquisition_time}"
    ds.PatientPosition = "HFS"
    ds.SliceThickness = ds_number(geometry.thickness)
    ds.SpacingBetweenSlices = ds_number(geometry.thickness)
    ds.KVP = "120"
    ds.DataCollectionDiameter = "500"
    ds.ReconstructionDiameter = ds_number(geometry.size * geometry.pixel_spacing)
    ds.GantryDetectorTilt = "0"
    ds.TableHeight = "150"
    ds.RotationDirection = "CW"
    ds.ExposureTime = "500"
    ds.XRayTubeCurrent = "200"
    ds.ConvolutionKernel = "STANDARD"
    x, y, z = geometry.position(index)
    ds.ImagePositionPatient = [ds_number(x), ds_number(y), ds_number(z)]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.SliceLocation = ds_number(z)
    ds.PixelSpacing = [ds_number(geometry.pixel_spacing)] * 2
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    ds.WindowCenter = ["40", "-600"]
    ds.WindowWidth = ["400", "1500"]
    ds.WindowCenterWidthExplanation = ["SOFT TISSUE", "LUNG"]
    return ds


def acquisition_time(start_seconds: int, index: int, per_slice_ms: int = 50) -> str:
    """HHMMSS.FFFFFF of slice ``index`` for an acquisition starting at ``start_seconds``."""
    millis = start_seconds * 1000 + index * per_slice_ms
    seconds, ms = divmod(millis, 1000)
    return f"{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}.{ms:03d}000"


def set_ct_pixels(ds: Dataset, hu: np.ndarray, compressed: bool) -> None:
    """Store HU as unsigned 16-bit (stored = HU + 1024).

    Bits Stored is 16 because the JPEG-LS encoder writes a 16-bit sample precision for uint16
    input; keeping both equal avoids a precision mismatch between header and codestream.
    """
    stored = hu_to_stored(hu)
    set_image_pixel(ds, stored, bits_stored=16)
    if compressed:
        set_jpegls_pixels(ds, [stored])
