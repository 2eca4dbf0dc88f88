"""DRIM-M KOS and IOCM rejection notes for the import / IOCM / admin tests.

KOS are built with ``drimbox.dicom.kos`` (so they are what the Source itself produces); the
rejection notes are built here per PS3.3 / IHE IOCM: a Key Object Selection document titled
with a CID 7011 code, the rejected instances in CurrentRequestedProcedureEvidenceSequence and in
the content tree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

from drimbox.config import PacsNode, Settings
from drimbox.dicom.kos import (
    KOS_SOP_CLASS_UID,
    KosAuthoring,
    KosIdentity,
    KosInstance,
    KosPatient,
    KosRequest,
    KosSeries,
    build_kos,
    kos_bytes,
    series_retrieve_url,
)

CT = "1.2.840.10008.5.1.4.1.1.2"
BASE_URL = "https://vi1.999.mesimagesmedicales.fr/drimbox/rs"
OTHER_BASE_URL = "https://vi2.999.mesimagesmedicales.fr/drimbox/rs"
ACCESSION_ISSUER = "1.2.250.1.213.4.5.2.5"
PARIS = dt.timezone(dt.timedelta(hours=2))


def patient() -> KosPatient:
    """PAT-TROIS DOMINIQUE, the INS identity of the ANS exams."""
    return KosPatient(
        ins="279035121518989",
        ins_oid="1.2.250.1.213.1.4.10",
        birth_name="PAT-TROIS",
        given_names=("DOMINIQUE",),
        sex="F",
        birth_date=dt.date(1979, 3, 28),
        birth_place_code="63220",
        ipp="IPP101",
        ipp_issuer_oid="1.2.250.1.213.4.5.2.4",
    )


def authoring() -> KosAuthoring:
    return KosAuthoring(
        institution_name="Centre de radiologie Ambroise",
        institution_id="101235555",
        content_datetime=dt.datetime(2024, 8, 28, 16, 23, 26, tzinfo=PARIS),
        retrieve_location_uid="1.2.250.1.999.1.1",
    )


def make_kos(
    study: str,
    series: Sequence[tuple[str, Sequence[str]]],
    *,
    base_url: str = BASE_URL,
    accession: str = "ACN101",
    sop_class: str = CT,
    sop_instance_uid: str | None = None,
) -> Dataset:
    """A manifest of ``study`` referencing ``series`` = [(series UID, [SOP UIDs…]), …]."""
    request = KosRequest(
        study_instance_uid=study,
        accession_number=accession,
        accession_issuer_oid=ACCESSION_ISSUER,
        study_description="Examen test",
    )
    items = [
        KosSeries(
            series_instance_uid=series_uid,
            retrieve_url=series_retrieve_url(base_url, study, series_uid),
            instances=tuple(KosInstance(sop_class, sop) for sop in sops),
            modality="CT",
        )
        for series_uid, sops in series
    ]
    identity = KosIdentity(
        sop_instance_uid=sop_instance_uid,
        series_instance_uid=f"{study}.59" if sop_instance_uid else None,
    )
    return build_kos(patient(), request, items, authoring(), identity=identity)


def simple_kos(index: int, *, base_url: str = BASE_URL, accession: str = "ACN101") -> bytes:
    """A KOS of study 1.2.826.0.1.3680043.8.498.99.<index>: two series of 2 and 1 instances."""
    study = f"1.2.826.0.1.3680043.8.498.99.{index}"
    series = [(f"{study}.1", [f"{study}.1.1", f"{study}.1.2"]), (f"{study}.2", [f"{study}.2.1"])]
    ds = make_kos(
        study, series, base_url=base_url, accession=accession, sop_instance_uid=f"{study}.59.1"
    )
    return kos_bytes(ds)


def rejection_note(
    study: str,
    rejected: Sequence[tuple[str, str]],
    *,
    code: tuple[str, str] = ("113001", "Rejected for Quality Reasons"),
    sop_class: str = CT,
) -> bytes:
    """An IOCM rejection note for ``rejected`` = [(series UID, SOP UID), …] of ``study``."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = KOS_SOP_CLASS_UID
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "KO"
    ds.PatientID = "IPP101"
    ds.PatientName = "PAT-TROIS^DOMINIQUE"
    ds.PatientBirthDate = "19790328"
    ds.PatientSex = "F"
    ds.StudyDate = "20240828"
    ds.StudyTime = "162326"
    ds.ReferringPhysicianName = ""
    ds.StudyID = "1"
    ds.AccessionNumber = "ACN101"
    ds.SeriesNumber = 99
    ds.InstanceNumber = 1
    ds.Manufacturer = "PACS"
    ds.ContentDate = "20240829"
    ds.ContentTime = "090000"
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.ValueType = "CONTAINER"
    title = Dataset()
    title.CodeValue, title.CodingSchemeDesignator, title.CodeMeaning = code[0], "DCM", code[1]
    ds.ConceptNameCodeSequence = [title]
    template = Dataset()
    template.MappingResource = "DCMR"
    template.TemplateIdentifier = "2010"
    ds.ContentTemplateSequence = [template]
    ds.ContinuityOfContent = "SEPARATE"
    by_series: dict[str, list[str]] = {}
    for series_uid, sop in rejected:
        by_series.setdefault(series_uid, []).append(sop)
    study_item = Dataset()
    study_item.StudyInstanceUID = study
    study_item.ReferencedSeriesSequence = []
    content = []
    for series_uid, sops in by_series.items():
        series_item = Dataset()
        series_item.SeriesInstanceUID = series_uid
        series_item.ReferencedSOPSequence = [_sop_ref(sop_class, sop) for sop in sops]
        study_item.ReferencedSeriesSequence.append(series_item)
        for sop in sops:
            item = Dataset()
            item.RelationshipType = "CONTAINS"
            item.ValueType = "IMAGE"
            item.ReferencedSOPSequence = [_sop_ref(sop_class, sop)]
            content.append(item)
    ds.CurrentRequestedProcedureEvidenceSequence = [study_item]
    ds.ContentSequence = content
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = KOS_SOP_CLASS_UID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _sop_ref(sop_class: str, sop: str) -> Dataset:
    ref = Dataset()
    ref.ReferencedSOPClassUID = sop_class
    ref.ReferencedSOPInstanceUID = sop
    return ref


def settings_for(
    data_dir: Path,
    *,
    pacs: Sequence[PacsNode] | None = None,
    admin_token: str | None = None,
    iocm_port: int = 0,
) -> Settings:
    """Settings with one PACS serving BASE_URL (or the given ones), on loopback."""
    nodes = list(pacs) if pacs is not None else [default_pacs()]
    return Settings(
        data_dir=data_dir,
        pacs=nodes,
        source={
            "admin_token": admin_token,
            "iocm": {"host": "127.0.0.1", "port": iocm_port, "ae_title": "DRIMBOX_IOCM"},
            "retry": {"base_seconds": 30, "cap_seconds": 600},
        },
    )


def default_pacs(port: int = 11112, *, base_url: str = BASE_URL, name: str = "pacs1") -> PacsNode:
    return PacsNode(
        name=name,
        ae_title="PACS_SOURCE_1",
        host="127.0.0.1",
        port=port,
        index=1 if name == "pacs1" else 2,
        public_base_url=base_url,
    )
