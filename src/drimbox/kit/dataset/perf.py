"""The ``perf`` profile: the ANS "Performances" reference CT (DB.VI-SO.38, DB.VI-CO.40).

1300 axial CT slices, 512×512, 16 bits, JPEG-LS lossless (1.2.840.10008.1.2.4.80), about
150 KB each (≈200 MB in total), StudyInstanceUID 1.2.250.1.213.4.5.2.1.199 and PatientID 199 as
the ANS reference exam. Slices are generated in a process pool: the phantom and the JPEG-LS
encoder are CPU-bound.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from drimbox.kit.dataset.common import (
    JPEG_LS_LOSSLESS,
    FileEntry,
    Patient,
    Series,
    Study,
    derive_uid,
    write_dataset,
)
from drimbox.kit.dataset.ct import AxialGeometry, acquisition_time, ct_dataset, set_ct_pixels
from drimbox.kit.dataset.phantom import body_ct_slice

DEFAULT_COUNT = 1300
STUDY_UID = "1.2.250.1.213.4.5.2.1.199"
PATIENT = Patient(
    name="ANS-PERF^REFERENCE",
    patient_id="199",
    birth_date="19700101",
    sex="O",
    issuer="ANS-DRIM-PERF",
)

Progress = Callable[[int], None]


def perf_series(seed: int) -> Series:
    """The single series of the reference exam; only Series/SOP UIDs depend on the seed."""
    study = Study(
        uid=STUDY_UID,
        patient=PATIENT,
        date="20240315",
        time="101500",
        description="CT THORAX ABDOMEN PELVIS",
        accession="ACN199",
        accession_issuer_oid="1.2.250.1.213.4.5.2.5",
        institution="Centre de radiologie Ambroise",
    )
    return Series(
        uid=derive_uid(seed, "perf", "series"),
        study=study,
        number=2,
        modality="CT",
        description="AXIAL 0.625 SOFT TISSUE",
        frame_of_reference=derive_uid(seed, "perf", "for"),
        body_part="CHEST",
        time="101712",
    )


def write_slice(out: Path, seed: int, index: int, count: int) -> FileEntry:
    """Generate, encode and write slice ``index`` (0-based); runs in a worker process."""
    series = perf_series(seed)
    sop_uid = derive_uid(seed, "perf", "sop", index)
    ds = ct_dataset(series, sop_uid, index, AxialGeometry(), acquisition_time(36_000 + 1032, index))
    set_ct_pixels(ds, body_ct_slice(index, count, seed), compressed=True)
    return write_dataset(ds, out, f"CT/CT{index + 1:05d}.dcm", "CT", JPEG_LS_LOSSLESS)


def generate_perf(
    out: Path,
    seed: int,
    count: int = DEFAULT_COUNT,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[FileEntry]:
    """Write ``count`` slices under ``out/CT``; returns entries in InstanceNumber order."""
    workers = workers or min(os.cpu_count() or 1, 8)
    entries: list[FileEntry] = []
    if workers <= 1 or count < 8:
        for index in range(count):
            entries.append(write_slice(out, seed, index, count))
            if progress:
                progress(1)
        return entries
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(write_slice, out, seed, i, count) for i in range(count)]
        for future in as_completed(futures):
            entries.append(future.result())
            if progress:
                progress(1)
    return sorted(entries, key=lambda e: e.path)
