"""Reading a folder of KOS files: one result per file, bad files reported, never fatal."""

from __future__ import annotations

from pathlib import Path

from pydicom.dataset import Dataset

from drimbox.dicom.kos import (
    KosAuthoring,
    KosPatient,
    KosRequest,
    KosSeries,
    build_kin,
    build_kos,
    kos_bytes,
)
from drimbox.dicom.kos.files import read_kos_files


def _write(path: Path, ds: Dataset) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(kos_bytes(ds))
    return path


def test_folder_and_files_give_one_result_each(
    tmp_path: Path,
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
) -> None:
    manifest = build_kos(patient, request_a, two_series, authoring)
    kin = build_kin(patient, request_a, two_series, authoring, ["1.2.250.1.213.4.5.2.3.101.201.1"])
    folder = tmp_path / "kos"
    _write(folder / "A" / "kos_A", manifest)
    _write(folder / "A" / "kin_A.dcm", kin)
    (folder / "README.txt").write_text("not a KOS")
    single = _write(tmp_path / "single.dcm", manifest)
    missing = tmp_path / "nowhere.dcm"

    results = list(read_kos_files([folder, single, missing]))

    assert [r.path for r in results] == [
        folder / "A" / "kin_A.dcm",
        folder / "A" / "kos_A",
        folder / "README.txt",
        single,
        missing,
    ]
    assert [r.ok for r in results] == [True, True, False, True, False]
    assert results[0].kos is not None and results[0].kos.is_key_image_note
    assert results[1].kos is not None
    assert results[1].kos.sop_instance_uid == manifest.SOPInstanceUID
    assert results[2].error is not None and "not a DICOM Part-10 file" in str(results[2].error)
    assert results[4].error is not None and "cannot read the file" in str(results[4].error)
