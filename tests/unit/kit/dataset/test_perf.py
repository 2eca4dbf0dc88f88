"""The perf profile on a few slices: syntax, lossless content, geometry, determinism."""

from __future__ import annotations

import hashlib
from pathlib import Path

import imagecodecs
import numpy as np
import pydicom
import pytest
from pydicom.encaps import generate_frames

from drimbox.kit.dataset.api import generate
from drimbox.kit.dataset.common import JPEG_LS_LOSSLESS
from drimbox.kit.dataset.perf import STUDY_UID
from drimbox.kit.dataset.phantom import body_ct_slice, hu_to_stored

COUNT = 12


@pytest.fixture(scope="module")
def perf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("perf")
    generate("perf", out, 3, count=COUNT, workers=2)
    return out


def _files(out: Path) -> list[Path]:
    return sorted((out / "CT").glob("*.dcm"))


def test_reference_exam_identifiers_and_syntax(perf_dir: Path) -> None:
    files = _files(perf_dir)
    assert len(files) == COUNT
    for path in files:
        ds = pydicom.dcmread(path)
        assert ds.file_meta.TransferSyntaxUID == JPEG_LS_LOSSLESS
        assert ds.StudyInstanceUID == STUDY_UID
        assert ds.PatientID == "199"
        assert (ds.Modality, ds.Rows, ds.Columns, ds.BitsAllocated) == ("CT", 512, 512, 16)
        assert ds.PixelRepresentation == 0 and ds.HighBit == ds.BitsStored - 1


def test_pixels_are_lossless_phantom_slices(perf_dir: Path) -> None:
    path = _files(perf_dir)[5]
    ds = pydicom.dcmread(path)
    frames = list(generate_frames(ds.PixelData, number_of_frames=1))
    decoded = imagecodecs.jpegls_decode(frames[0])
    assert np.array_equal(decoded, hu_to_stored(body_ct_slice(5, COUNT, 3)))
    assert np.array_equal(ds.pixel_array, decoded)


def test_geometry_is_a_consistent_axial_stack(perf_dir: Path) -> None:
    datasets = [pydicom.dcmread(p, stop_before_pixels=True) for p in _files(perf_dir)]
    assert [int(d.InstanceNumber) for d in datasets] == list(range(1, COUNT + 1))
    assert len({d.FrameOfReferenceUID for d in datasets}) == 1
    assert len({d.SeriesInstanceUID for d in datasets}) == 1
    assert len({d.SOPInstanceUID for d in datasets}) == COUNT
    z = [float(d.ImagePositionPatient[2]) for d in datasets]
    steps = np.diff(z)
    assert np.allclose(steps, -float(datasets[0].SliceThickness))
    for d, zi in zip(datasets, z, strict=True):
        assert [float(v) for v in d.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
        assert float(d.SliceLocation) == zi
        assert d.AcquisitionDateTime.startswith(d.AcquisitionDate)
        assert d.InstitutionName


def _hashes(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in _files(out)}


def test_same_seed_gives_identical_files(perf_dir: Path, tmp_path: Path) -> None:
    generate("perf", tmp_path, 3, count=COUNT, workers=1)
    assert _hashes(tmp_path) == _hashes(perf_dir)
    assert (tmp_path / "manifest.json").read_bytes() == (perf_dir / "manifest.json").read_bytes()


def test_other_seed_changes_series_and_noise(perf_dir: Path, tmp_path: Path) -> None:
    generate("perf", tmp_path, 4, count=2, workers=1)
    ours = pydicom.dcmread(tmp_path / "CT/CT00001.dcm")
    theirs = pydicom.dcmread(perf_dir / "CT/CT00001.dcm")
    assert ours.StudyInstanceUID == theirs.StudyInstanceUID == STUDY_UID
    assert ours.SeriesInstanceUID != theirs.SeriesInstanceUID
