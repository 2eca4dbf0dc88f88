"""The modalities profile covers DB.VI-CS.30 SOP classes and DB.VI-CS.31 pixel variants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEGBaseline8Bit

from drimbox.kit.dataset.api import Manifest, generate

PREFIX = "1.2.840.10008.5.1.4.1.1."
#: DB.VI-CS.30 (REQUIREMENTS.md §7).
VI_CS_30 = {
    "1": "CR",
    "1.1": "DX for presentation",
    "1.2": "MG for presentation",
    "2": "CT",
    "2.1": "Enhanced CT",
    "3.1": "US multi-frame",
    "4": "MR",
    "4.1": "Enhanced MR",
    "4.3": "Enhanced MR Color",
    "6.1": "US",
    "6.2": "Enhanced US Volume",
    "7": "SC",
    "7.1": "SC multi-frame single bit",
    "7.2": "SC grayscale byte",
    "7.3": "SC grayscale word",
    "7.4": "SC true color",
    "12.1": "XA",
    "12.1.1": "Enhanced XA",
    "12.2": "XRF",
    "12.2.1": "Enhanced XRF",
    "13.1.3": "Breast Tomosynthesis",
    "20": "NM",
    "104.1": "Encapsulated PDF",
    "128": "PET",
    "130": "Enhanced PET",
}


def _read(out: Path, manifest: Manifest, label: str) -> pydicom.Dataset:
    entry = next(e for e in manifest.files if e.label == label)
    return pydicom.dcmread(out / entry.path)


def test_every_sop_class_of_vi_cs_30(modalities_set: tuple[Path, Manifest]) -> None:
    _, manifest = modalities_set
    present = {e.sop_class_uid for e in manifest.files}
    missing = {name for suffix, name in VI_CS_30.items() if PREFIX + suffix not in present}
    assert not missing


def test_pixel_variants_of_vi_cs_31(modalities_set: tuple[Path, Manifest]) -> None:
    out, manifest = modalities_set
    assert _read(out, manifest, "CR_MONOCHROME1").PhotometricInterpretation == "MONOCHROME1"
    signed = _read(out, manifest, "CT_SIGNED16")
    assert (signed.PixelRepresentation, signed.BitsStored) == (1, 16)
    assert signed.pixel_array.min() < 0
    assert _read(out, manifest, "SC_RGB_PLANAR0").PlanarConfiguration == 0
    assert _read(out, manifest, "SC_RGB_PLANAR1").PlanarConfiguration == 1
    palette = _read(out, manifest, "US_PALETTE_COLOR")
    assert palette.PhotometricInterpretation == "PALETTE COLOR"
    ybr = _read(out, manifest, "US_YBR_FULL_422")
    assert ybr.PhotometricInterpretation == "YBR_FULL_422"
    assert ybr.file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    multi = _read(out, manifest, "US_MULTIFRAME_RGB")
    assert int(multi.NumberOfFrames) > 1


def test_planar_layouts_hold_the_same_picture(modalities_set: tuple[Path, Manifest]) -> None:
    out, manifest = modalities_set
    by_pixel = _read(out, manifest, "SC_RGB_PLANAR0").pixel_array
    by_plane = _read(out, manifest, "SC_RGB_PLANAR1").pixel_array
    assert np.array_equal(by_pixel, by_plane)


def test_every_image_decodes(modalities_set: tuple[Path, Manifest]) -> None:
    out, manifest = modalities_set
    for entry in manifest.files:
        ds = pydicom.dcmread(out / entry.path)
        if "PixelData" in ds:
            assert ds.pixel_array.size > 0, entry.label
        else:
            assert ds.EncapsulatedDocument.startswith(b"%PDF-1.4")


def test_fusion_pair_shares_patient_and_frame_of_reference(
    modalities_set: tuple[Path, Manifest],
) -> None:
    out, manifest = modalities_set
    ct = [pydicom.dcmread(out / e.path) for e in manifest.files if e.label == "FUSION_CT"]
    pet = [pydicom.dcmread(out / e.path) for e in manifest.files if e.label == "FUSION_PT"]
    assert ct and len(ct) == len(pet)
    assert len({d.FrameOfReferenceUID for d in ct + pet}) == 1
    assert len({d.StudyInstanceUID for d in ct + pet}) == 1
    assert len({d.PatientID for d in ct + pet}) == 1
    assert [d.ImagePositionPatient[2] for d in ct] == [d.ImagePositionPatient[2] for d in pet]


def test_non_ascii_patient_name_uses_utf8(modalities_set: tuple[Path, Manifest]) -> None:
    out, manifest = modalities_set
    ds = _read(out, manifest, "CR")
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert str(ds.PatientName) == "MODALITÉS^Hélène"


@pytest.mark.parametrize("frames_label", ["ENHANCED_CT", "ENHANCED_MR", "ENHANCED_PET"])
def test_enhanced_frames_carry_geometry(
    modalities_set: tuple[Path, Manifest], frames_label: str
) -> None:
    out, manifest = modalities_set
    ds = _read(out, manifest, frames_label)
    per_frame = ds.PerFrameFunctionalGroupsSequence
    assert len(per_frame) == int(ds.NumberOfFrames)
    positions = [f.PlanePositionSequence[0].ImagePositionPatient for f in per_frame]
    assert len({tuple(p) for p in positions}) == len(positions)


def test_same_seed_gives_identical_files(
    modalities_set: tuple[Path, Manifest], tmp_path: Path
) -> None:
    out, manifest = modalities_set
    again = generate("modalities", tmp_path, manifest.seed)
    assert [(f.path, f.sha256) for f in again.files] == [(f.path, f.sha256) for f in manifest.files]
    assert (tmp_path / "manifest.json").read_bytes() == (out / "manifest.json").read_bytes()
