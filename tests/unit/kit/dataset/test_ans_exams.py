"""The baked ANS exam table against the ANS CDA skeletons (DRIM-M_DATA), when present."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from lxml import etree

from drimbox.kit.dataset.ans_exams import EXAMS, INS, INS_OID, IPP_ISSUER_OID, exam

CDA_ROOT = Path(__file__).resolve().parents[5] / "shared/drim-m-data/Referencement_DRIMBox"
CDA_ROOT = Path(os.environ.get("DRIMBOX_ANS_DATA", CDA_ROOT)) / "Jeux_de_donnees/CDA"
NS = {"h": "urn:hl7-org:v3", "p": "urn:dicom-org:ps3-20"}


def _cda(relative: str) -> etree._Element:
    skeleton = CDA_ROOT / relative.replace(".xml", ".skeleton.xml")
    path = skeleton if skeleton.exists() else CDA_ROOT / relative
    raw = re.sub(rb"\[ELIDED-BY-COPY[^\]]*\]", b"", path.read_bytes())
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(raw, parser)


@pytest.fixture(scope="module")
def cda_available() -> None:
    if not CDA_ROOT.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"ANS CDA data missing at {CDA_ROOT} (CI=true)")
        pytest.skip(f"ANS CDA data not present at {CDA_ROOT}")


@pytest.mark.parametrize("item", EXAMS, ids=[e.letter for e in EXAMS])
def test_exam_matches_its_cda(cda_available: None, item) -> None:  # type: ignore[no-untyped-def]
    doc = _cda(item.cda_file)
    assert doc.xpath("/h:ClinicalDocument/h:id/@root", namespaces=NS) == [item.document_id]
    studies = doc.xpath("//h:documentationOf/h:serviceEvent/h:id/@root", namespaces=NS)
    assert tuple(studies) == item.study_uids
    orders = doc.xpath("//h:inFulfillmentOf/h:order", namespaces=NS)
    accessions = [o.xpath("p:accessionNumber/@extension", namespaces=NS)[0] for o in orders]
    issuers = {o.xpath("p:accessionNumber/@root", namespaces=NS)[0] for o in orders}
    placers = {o.xpath("h:id/@extension", namespaces=NS)[0] for o in orders}
    assert tuple(accessions) == item.accessions
    assert issuers == {item.accession_issuer}
    assert placers == {item.placer_order}
    code = doc.xpath("//h:documentationOf/h:serviceEvent/h:code/@code", namespaces=NS)
    assert code == [item.exam_code]
    modality = doc.xpath(
        "//h:serviceEvent/h:code/h:translation[@codeSystem='1.2.840.10008.2.16.4']/@code",
        namespaces=NS,
    )
    assert {"RM": "MR"}.get(modality[0], modality[0]) == item.modality


@pytest.mark.parametrize("item", EXAMS, ids=[e.letter for e in EXAMS])
def test_patient_identity_matches_its_cda(cda_available: None, item) -> None:  # type: ignore[no-untyped-def]
    doc = _cda(item.cda_file)
    ids = {
        e.get("root"): e.get("extension")
        for e in doc.xpath("//h:recordTarget/h:patientRole/h:id", namespaces=NS)
    }
    assert ids == {INS_OID: INS.value, IPP_ISSUER_OID: item.patient.patient_id}
    family = doc.xpath("//h:patient/h:name/h:family[@qualifier='BR']/text()", namespaces=NS)
    given = doc.xpath("//h:patient/h:name/h:given[@qualifier='BR']/text()", namespaces=NS)
    assert item.patient.name == f"{family[0]}^{given[0]}"
    assert doc.xpath("//h:patient/h:administrativeGenderCode/@code", namespaces=NS) == [
        item.patient.sex
    ]
    assert doc.xpath("//h:patient/h:birthTime/@value", namespaces=NS) == [item.patient.birth_date]


def test_error_case_and_special_exams_are_flagged() -> None:
    assert not exam("G2").generate and exam("G2").study_uids == ("1.2.3.4.5.6.7.8.9",)
    assert len(exam("F").study_uids) == 2
    assert {e.letter for e in EXAMS if e.image_series == 2} == {"A", "H", "R", "X"}
    assert exam("M").patient.name == "ANS-DRIM^PatientBis"
    assert exam("M").patient.other_ids == (INS,)
    with pytest.raises(KeyError):
        exam("G")
