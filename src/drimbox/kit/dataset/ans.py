"""The ``ans`` profile: images for the ANS homologation exams whose CDA report exists.

Every study matches its CDA (``ans_exams.EXAMS``): StudyInstanceUID, AccessionNumber with its
issuer, patient identity (PatientID = IPP with issuer, INS in Other Patient IDs) and modality, so
that the ANS HL7/CDA messages drive the real workflow end to end. Series and SOP Instance UIDs are
ours (derived from the seed); the ANS does not publish them for most exams.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from pydicom.dataset import Dataset

from drimbox.kit.dataset.ans_exams import EXAMS, INSTITUTION, Exam
from drimbox.kit.dataset.classic import mr, xa
from drimbox.kit.dataset.common import (
    JPEG_LS_LOSSLESS,
    FileEntry,
    Series,
    Study,
    derive_uid,
    write_dataset,
)
from drimbox.kit.dataset.ct import AxialGeometry, acquisition_time, ct_dataset, set_ct_pixels
from drimbox.kit.dataset.nuclear import nm
from drimbox.kit.dataset.phantom import head_ct_slice

Progress = Callable[[int], None]

#: Default V count: the ANS V series has 1330 images; ``v_count`` restores any size.
V_DEFAULT_COUNT = 30
#: Instances per series by modality (small on purpose: the whole profile stays a few MB).
PER_SERIES = {"CT": 6, "MR": 5, "NM": 1, "XA": 2}
BODY_PART = {"CT": "HEAD", "MR": "KNEE", "NM": "THYROID", "XA": "HEART"}
_SERIES_LABEL = {"CT": "CT TETE", "MR": "IRM GENOU", "NM": "SCINTIGRAPHIE", "XA": "CORONAROGRAPHIE"}


def _series(exam: Exam, study: Study, number: int, seed: int) -> Series:
    return Series(
        uid=derive_uid(seed, "ans", exam.letter, study.uid, number),
        study=study,
        number=number,
        modality=exam.modality,
        description=f"{_SERIES_LABEL[exam.modality]} {exam.letter}{number}",
        frame_of_reference=(
            "" if exam.modality == "XA" else derive_uid(seed, "ans", exam.letter, study.uid, "for")
        ),
        body_part=BODY_PART[exam.modality],
        time=f"10{25 + number:02d}00",
    )


def studies(exam: Exam) -> Iterator[Study]:
    """One Study per StudyInstanceUID of the exam (F has two, each with its accession)."""
    for uid, accession in zip(exam.study_uids, exam.accessions, strict=True):
        yield Study(
            uid=uid,
            patient=exam.patient,
            date="20210108",
            time="102500",
            description=exam.exam_label,
            accession=accession,
            accession_issuer_oid=exam.accession_issuer,
            accession_issuer_local="",
            study_id=accession,
            referring_physician="KIT^DOC",
            institution=INSTITUTION,
        )


def _instance(series: Series, sop_uid: str, index: int, count: int, seed: int) -> Dataset:
    if series.modality == "CT":
        geometry = AxialGeometry(size=256, pixel_spacing=0.9, thickness=5.0, z0=0.0)
        ds = ct_dataset(series, sop_uid, index, geometry, acquisition_time(37_560, index, 500))
        set_ct_pixels(ds, head_ct_slice(index, count, seed), compressed=True)
        return ds
    if series.modality == "MR":
        return mr(series, sop_uid, seed, index)
    if series.modality == "NM":
        return nm(series, sop_uid, seed, index)
    return xa(series, sop_uid, seed, frames=4, index=index)


def exam_file_count(exam: Exam, v_count: int = V_DEFAULT_COUNT) -> int:
    """Files generated for ``exam``."""
    if not exam.generate:
        return 0
    per_series = v_count if exam.letter == "V" else PER_SERIES[exam.modality]
    return len(exam.study_uids) * exam.image_series * per_series


def file_count(v_count: int = V_DEFAULT_COUNT) -> int:
    """Files the whole profile writes (for progress bars)."""
    return sum(exam_file_count(e, v_count) for e in EXAMS)


def generate_ans(
    out: Path, seed: int, v_count: int = V_DEFAULT_COUNT, progress: Progress | None = None
) -> list[FileEntry]:
    """Write every exam under ``out/ANS/<letter>/<study>/<series>/``."""
    entries = []
    for exam in EXAMS:
        if not exam.generate:
            continue  # G2's bogus study must stay unknown to the PACS
        count = v_count if exam.letter == "V" else PER_SERIES[exam.modality]
        for study_no, study in enumerate(studies(exam), start=1):
            for number in range(1, exam.image_series + 1):
                series = _series(exam, study, number, seed)
                for index in range(count):
                    sop_uid = derive_uid(seed, "ans", series.uid, index)
                    ds = _instance(series, sop_uid, index, count, seed)
                    syntax = JPEG_LS_LOSSLESS if exam.modality == "CT" else None
                    rel = f"ANS/{exam.letter}/S{study_no}/SE{number}/IM{index + 1:05d}.dcm"
                    entry = write_dataset(ds, out, rel, f"{exam.modality} {exam.letter}", syntax)
                    entries.append(
                        replace(
                            entry,
                            extra={
                                "exam": exam.letter,
                                "accession": study.accession,
                                "cda_document_id": exam.document_id,
                            },
                        )
                    )
                    if progress:
                        progress(1)
    return entries
