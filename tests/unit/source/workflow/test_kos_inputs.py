"""Mapping an ANS report + PACS answers + configuration onto the KOS builder inputs."""

from __future__ import annotations

import datetime as dt

import pytest

from drimbox.cda import ImagingReport
from drimbox.config import PacsNode, SourceSettings
from drimbox.dicom.dimse import InstanceMatch, SeriesMatch, SeriesTree, StudyMatch, StudyTree
from drimbox.hl7.report import parse_report_message
from drimbox.source.workflow.errors import Reject
from drimbox.source.workflow.kos_inputs import kos_inputs
from drimbox.source.workflow.lookup import LocatedStudy, check_patient, matching_accession
from support.ans_messages import exam_message

STUDY = "1.2.250.1.213.4.5.2.1.108"
BASE = "https://source.example.org/pacs1/wado-rs/"
NOW = dt.datetime(2024, 9, 12, 10, 15, tzinfo=dt.UTC)


def report(name: str = "CR_G1_MAJ-ORU") -> ImagingReport:
    document = parse_report_message(exam_message(name)).document
    assert document is not None
    return document


def located(
    accession: str = "ACN108", patient_id: str = "IPP101", base: str | None = BASE
) -> LocatedStudy:
    node = PacsNode(name="p1", ae_title="PACS_SOURCE_1", port=104, public_base_url=base)
    series = SeriesMatch(STUDY, "1.2.3.1", "XA", 1, "Run 1")
    instance = InstanceMatch(STUDY, "1.2.3.1", "1.2.3.1.1", "1.2.840.10008.5.1.4.1.1.12.1", 1)
    study = StudyMatch(STUDY, patient_id, "", "", "20210108", "102500.000", accession, "7", "")
    return LocatedStudy(node, study, StudyTree(STUDY, (SeriesTree(series, (instance,)),)))


def test_inputs_come_from_the_report_the_pacs_and_the_configuration() -> None:
    doc = report()
    found = located()
    accession = matching_accession(found, doc.accession_numbers)
    inputs = kos_inputs(doc, found, accession, SourceSettings(uid_root="1.2.3"), NOW)
    assert inputs.patient.ins == "279035121518989" and inputs.patient.sex == "F"
    assert inputs.patient.given_names == ("DOMINIQUE",)
    assert inputs.patient.birth_date == dt.date(1979, 3, 28)
    assert (inputs.patient.ipp, inputs.patient.ipp_issuer_oid) == (
        "IPP101",
        "1.2.250.1.213.4.5.2.4",
    )
    assert inputs.request.accession_number == "ACN108"
    assert inputs.request.accession_issuer_oid == "1.2.250.1.925.994044.27"
    assert inputs.request.study_date == dt.date(2021, 1, 8)
    assert inputs.request.study_time == dt.time(10, 25)
    # The act's full text; the KOS builder cuts it to the LO limit in UTF-8 bytes.
    description = inputs.request.requested_procedure_description or ""
    assert description.startswith("angiographie par fluoroscopie")
    (series,) = inputs.series
    assert series.retrieve_url == f"{BASE.rstrip('/')}/studies/{STUDY}/series/1.2.3.1"
    assert inputs.authoring.institution_name == "Centre de radiologie Ambroise"
    assert inputs.authoring.retrieve_location_uid == SourceSettings().retrieve_location_uid
    assert inputs.authoring.org_uid_root == "1.2.3"


def test_accession_and_patient_checks() -> None:
    doc = report()
    with pytest.raises(Reject, match="accession number 'ACN999'") as caught:
        matching_accession(located(accession="ACN999"), doc.accession_numbers)
    assert caught.value.code == "accession-mismatch"
    check_patient(located(patient_id="279035121518989"), "IPP101", "279035121518989")
    with pytest.raises(Reject) as caught:
        check_patient(located(patient_id="OTHER"), "IPP101", "279035121518989")
    assert caught.value.code == "patient-mismatch"


def test_a_pacs_without_public_url_is_a_configuration_error() -> None:
    doc = report()
    found = located(base=None)
    with pytest.raises(Reject) as caught:
        kos_inputs(doc, found, doc.accession_numbers[0], SourceSettings(), NOW)
    assert caught.value.code == "configuration"
    assert "public_base_url" in caught.value.reason
