"""Pixel-encoding variants of DB.VI-CS.31 (palette, YBR_FULL_422, signed CT), Encapsulated PDF."""

from __future__ import annotations

import imagecodecs
import numpy as np
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    EncapsulatedPDFStorage,
    JPEGBaseline8Bit,
    UltrasoundImageStorage,
)

from drimbox.kit.dataset.common import Series, base_dataset, code_item, set_image_pixel
from drimbox.kit.dataset.ct import AxialGeometry, acquisition_time, ct_dataset
from drimbox.kit.dataset.phantom import color_image, gradient_image, head_ct_slice
from drimbox.kit.pdf import tiny_pdf

#: Transfer syntax of the YBR_FULL_422 variant (JPEG baseline is how that colour model is used).
YBR_SYNTAX = str(JPEGBaseline8Bit)


def us_palette(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Ultrasound image in PALETTE COLOR with 8-bit indices and 16-bit LUT entries."""
    ds = base_dataset(UltrasoundImageStorage, sop_uid, series, 1)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL"]
    ds.PatientOrientation = ""
    ds.LossyImageCompression = "00"
    indices = gradient_image(240, 320, 255).astype(np.uint8)
    set_image_pixel(ds, indices, bits_stored=8, photometric="PALETTE COLOR")
    ramp = np.arange(256, dtype=np.float32) / 255
    lut = {
        "Red": (65535 * np.clip(1.5 * ramp, 0, 1)),
        "Green": (65535 * np.clip(1.5 * ramp - 0.5, 0, 1)),
        "Blue": (65535 * np.clip(3 * ramp - 2, 0, 1)),
    }
    for colour, values in lut.items():
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", values.astype("<u2").tobytes())
        ds[f"{colour}PaletteColorLookupTableData"].VR = "OW"
    return ds


def us_ybr_full_422(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Ultrasound RGB image JPEG-baseline encoded with 4:2:2 chroma (YBR_FULL_422)."""
    ds = base_dataset(UltrasoundImageStorage, sop_uid, series, 1)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL"]
    ds.PatientOrientation = ""
    rgb = color_image(240, 320)
    set_image_pixel(ds, rgb, bits_stored=8, photometric="YBR_FULL_422", planar=0)
    frame = imagecodecs.jpeg8_encode(
        rgb, level=95, colorspace="RGB", outcolorspace="YCBCR", subsampling="422"
    )
    ds.PixelData = encapsulate([bytes(frame)], has_bot=False)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionRatio = f"{rgb.nbytes / len(frame):.2f}"
    ds.LossyImageCompressionMethod = "ISO_10918_1"
    return ds


def ct_signed(series: Series, sop_uid: str, seed: int) -> Dataset:
    """CT with signed 16-bit stored values (stored = HU, RescaleIntercept 0)."""
    geometry = AxialGeometry(size=256, pixel_spacing=0.9, thickness=5.0, z0=0.0)
    ds = ct_dataset(series, sop_uid, 0, geometry, acquisition_time(36_000, 0))
    hu = np.clip(np.rint(head_ct_slice(5, 10, seed)), -1024, 3071).astype(np.int16)
    set_image_pixel(ds, hu, bits_stored=16)
    ds.RescaleIntercept = "0"
    ds.WindowCenter, ds.WindowWidth = ["40", "600"], ["80", "2800"]
    ds.WindowCenterWidthExplanation = ["BRAIN", "BONE"]
    return ds


def encapsulated_pdf(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Encapsulated PDF (…1.104.1): a one-page report."""
    ds = base_dataset(EncapsulatedPDFStorage, sop_uid, series, 1)
    ds.ConversionType = "WSD"
    ds.AcquisitionDateTime = f"{series.study.date}{series.study.time}"
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = "Compte rendu"
    ds.ConceptNameCodeSequence = [code_item("18748-4", "LN", "Diagnostic imaging report")]
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    pdf = tiny_pdf("DRIMbox kit - encapsulated PDF test report", font_size=18, media_box=(612, 792))
    ds.EncapsulatedDocumentLength = len(pdf)
    ds.EncapsulatedDocument = pdf + (b"\0" if len(pdf) % 2 else b"")
    return ds
