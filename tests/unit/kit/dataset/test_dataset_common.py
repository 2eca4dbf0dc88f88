"""UIDs, identity modules and file writing shared by all profiles."""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.uid import CTImageStorage

from drimbox.kit.dataset.common import (
    OtherId,
    Patient,
    Series,
    Study,
    base_dataset,
    derive_uid,
    write_dataset,
)


def test_derived_uids_are_stable_valid_and_distinct() -> None:
    uid = derive_uid(1, "a", 2)
    assert uid == derive_uid(1, "a", 2)
    assert uid != derive_uid(2, "a", 2)
    assert uid.startswith("2.25.") and len(uid) <= 64
    assert pydicom.uid.UID(uid).is_valid


def _series(name: str) -> Series:
    patient = Patient(
        name=name,
        patient_id="P1",
        birth_date="20000101",
        sex="F",
        issuer="1.2.3",
        issuer_oid="1.2.3",
        other_ids=(OtherId("279035121518989", "INS", "1.2.250.1.213.1.4.10"),),
    )
    study = Study(
        uid="1.2.3.4",
        patient=patient,
        date="20240101",
        time="120000",
        description="TEST",
        accession="ACN1",
        accession_issuer_oid="1.2.3.5",
    )
    return Series(uid="1.2.3.4.1", study=study, number=1, modality="CT", description="S")


def test_identity_and_accession_issuers(tmp_path: Path) -> None:
    ds = base_dataset(CTImageStorage, "1.2.3.4.1.1", _series("DOE^JOHN"), 1)
    ds.Rows = ds.Columns = 1
    entry = write_dataset(ds, tmp_path, "x/a.dcm", "T")
    back = pydicom.dcmread(tmp_path / "x/a.dcm")
    assert back.IssuerOfAccessionNumberSequence[0].UniversalEntityID == "1.2.3.5"
    assert back.IssuerOfPatientIDQualifiersSequence[0].UniversalEntityIDType == "ISO"
    assert back.OtherPatientIDsSequence[0].PatientID == "279035121518989"
    assert "SpecificCharacterSet" not in back  # ASCII only: default repertoire
    assert entry.size == (tmp_path / "x/a.dcm").stat().st_size
    assert back.file_meta.ImplementationVersionName == "DRIMBOX_KIT_1"


def test_non_ascii_selects_utf8(tmp_path: Path) -> None:
    ds = base_dataset(CTImageStorage, "1.2.3.4.1.2", _series("ÉLODIE^Zoë"), 1)
    write_dataset(ds, tmp_path, "b.dcm", "T")
    back = pydicom.dcmread(tmp_path / "b.dcm")
    assert back.SpecificCharacterSet == "ISO_IR 192"
    assert str(back.PatientName) == "ÉLODIE^Zoë"
