"""The ans profile: every study matches the ANS exam table (identity, accession, modality)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

import pydicom
import pytest

from drimbox.kit.dataset.ans import V_DEFAULT_COUNT
from drimbox.kit.dataset.ans_exams import EXAMS, INS_OID, IPP_ISSUER_OID, exam
from drimbox.kit.dataset.api import Manifest, generate


def _by_study(manifest: Manifest) -> dict[str, list[str]]:
    studies: dict[str, list[str]] = defaultdict(list)
    for entry in manifest.files:
        studies[entry.study_instance_uid].append(entry.path)
    return studies


def test_every_generated_exam_has_its_studies(ans_set: tuple[Path, Manifest]) -> None:
    _, manifest = ans_set
    studies = _by_study(manifest)
    expected = {uid for e in EXAMS if e.generate for uid in e.study_uids}
    assert set(studies) == expected
    assert "1.2.3.4.5.6.7.8.9" not in studies  # G2's bogus UID must stay unknown to the PACS
    assert {"1.2.250.1.213.4.5.2.1.106", "1.2.250.1.213.4.5.2.1.107"} <= set(studies)


@pytest.mark.parametrize("item", [e for e in EXAMS if e.generate], ids=lambda e: e.letter)
def test_study_headers_match_the_cda(ans_set: tuple[Path, Manifest], item) -> None:  # type: ignore[no-untyped-def]
    out, manifest = ans_set
    for uid, accession in zip(item.study_uids, item.accessions, strict=True):
        paths = [e.path for e in manifest.files if e.study_instance_uid == uid]
        datasets = [pydicom.dcmread(out / p, stop_before_pixels=True) for p in paths]
        assert len({d.SeriesInstanceUID for d in datasets}) == item.image_series
        for ds in datasets:
            assert ds.AccessionNumber == accession
            issuer = ds.IssuerOfAccessionNumberSequence[0]
            assert (issuer.UniversalEntityID, issuer.UniversalEntityIDType) == (
                item.accession_issuer,
                "ISO",
            )
            assert ds.Modality == item.modality
            assert ds.PatientID == "IPP101"
            assert ds.IssuerOfPatientIDQualifiersSequence[0].UniversalEntityID == IPP_ISSUER_OID
            other = ds.OtherPatientIDsSequence[0]
            assert other.PatientID == "279035121518989"
            assert other.IssuerOfPatientIDQualifiersSequence[0].UniversalEntityID == INS_OID
            assert str(ds.PatientName) == item.patient.name
            assert (ds.PatientSex, ds.PatientBirthDate) == (
                item.patient.sex,
                item.patient.birth_date,
            )
            assert ds.InstitutionName == "Centre de radiologie Ambroise"


def test_exam_v_is_reduced_by_default(ans_set: tuple[Path, Manifest]) -> None:
    _, manifest = ans_set
    v = [e for e in manifest.files if e.study_instance_uid == exam("V").study_uids[0]]
    assert len(v) == V_DEFAULT_COUNT


def test_profile_is_small(ans_set: tuple[Path, Manifest]) -> None:
    _, manifest = ans_set
    assert manifest.total_bytes < 50_000_000


def test_non_ascii_descriptions_declare_utf8(ans_set: tuple[Path, Manifest]) -> None:
    out, manifest = ans_set
    nm = next(e for e in manifest.files if e.modality == "NM")
    ds = pydicom.dcmread(out / nm.path, stop_before_pixels=True)
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert "thyroïde" in ds.StudyDescription


def test_same_seed_gives_identical_files(ans_set: tuple[Path, Manifest], tmp_path: Path) -> None:
    _, manifest = ans_set
    again = generate("ans", tmp_path, manifest.seed)
    assert [(f.path, f.sha256) for f in again.files] == [(f.path, f.sha256) for f in manifest.files]
    for entry in again.files:
        assert hashlib.sha256((tmp_path / entry.path).read_bytes()).hexdigest() == entry.sha256


def test_v_count_option(tmp_path: Path) -> None:
    manifest = generate("ans", tmp_path, 1, v_count=3)
    v = [e for e in manifest.files if e.extra["exam"] == "V"]
    assert len(v) == 3
