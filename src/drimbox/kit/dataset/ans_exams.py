"""The ANS homologation exams (DRIM-M_DATA, "Homologation SEGUR vague 2") as data.

Provenance: the CDA reports of ``Referencement_DRIMBox/Jeux_de_donnees/CDA/`` in the ANS
repository ``ansforge/DRIM-M_DATA`` (``CR_<X>.xml``; exams A, B, D, O, P, T under ``Annexes/``).
For each exam the values come from, in the CDA:

* ``document_id``   ``/ClinicalDocument/id/@root``
* ``study_uids``    ``documentationOf/serviceEvent/id/@root`` (F has two)
* ``accessions``    ``inFulfillmentOf/order/ps3-20:accessionNumber`` (@extension, @root = issuer)
* ``placer_order``  ``inFulfillmentOf/order/id`` (issuer 1.2.250.1.213.4.5.2.6)
* ``modality`` and the exam code: ``serviceEvent/code`` and its DCM modality translation
  (the CDA says ``RM`` for MR, the French code; DICOM Modality is ``MR``)
* ``patient``       ``recordTarget/patientRole`` (INS 1.2.250.1.213.1.4.10, IPP root
  1.2.250.1.213.4.5.2.4)

The table is baked into the package because the product must not read the ANS folder at run time;
``tests/unit/kit/dataset/test_ans_exams.py`` checks it against the CDA files when present.

G2 (CDA .408) names the bogus study ``1.2.3.4.5.6.7.8.9``: it is an error case, the PACS must not
find it, so it has ``generate=False``. G1_MAJ (.4072) replaces G1 and documents the same study .108.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from drimbox.kit.dataset.common import OtherId, Patient

IPP_ISSUER_OID = "1.2.250.1.213.4.5.2.4"
INS_OID = "1.2.250.1.213.1.4.10"
PLACER_ISSUER_OID = "1.2.250.1.213.4.5.2.6"
ACN_ISSUER_ANS = "1.2.250.1.213.4.5.2.5"
ACN_ISSUER_925 = "1.2.250.1.925.994044785528.27"
INSTITUTION = "Centre de radiologie Ambroise"

#: INS of PAT-TROIS DOMINIQUE, in Other Patient IDs (DB.SO.39).
INS = OtherId(value="279035121518989", issuer="ASIP-SANTE-INS-NIR", issuer_oid=INS_OID)

PAT_TROIS = Patient(
    name="PAT-TROIS^DOMINIQUE",
    patient_id="IPP101",
    birth_date="19790328",
    sex="F",
    issuer=IPP_ISSUER_OID,
    issuer_oid=IPP_ISSUER_OID,
    other_ids=(INS,),
)

#: Exam M's CDA and HL7 carry this identity with PAT-TROIS's INS and IPP: the images hold it as
#: well (the PACS got the same order as the RIS), so the only inconsistency is the one the exam
#: is about: the declared traits do not match the INS owner (docs/test-data.md).
PATIENT_BIS = Patient(
    name="ANS-DRIM^PatientBis",
    patient_id="IPP101",
    birth_date="20120125",
    sex="M",
    issuer=IPP_ISSUER_OID,
    issuer_oid=IPP_ISSUER_OID,
    other_ids=(INS,),
)


@dataclass(frozen=True)
class Exam:
    """One ANS exam: the identifiers its CDA carries and what images to generate for it."""

    letter: str
    cda_file: str
    document_id: str
    study_uids: tuple[str, ...]
    accessions: tuple[str, ...]
    accession_issuer: str
    placer_order: str
    modality: str
    exam_code: str
    exam_label: str
    patient: Patient = PAT_TROIS
    image_series: int = 1
    generate: bool = True


_CT = ("CT", "24727-0", "CT Head W contrast IV")
_MR = ("MR", "24802-1", "RM genou")
_NM = ("NM", "25007-6", "MN glande thyroïde ; incidences avec I-131 IV")
_XA = ("XA", "37174-0", "angiographie par fluoroscopie artères coronaires")


def _exam(
    letter: str, nn: int, kind: tuple[str, str, str], issuer: str, cda: str = "", **kw: Any
) -> Exam:
    modality, code, label = kind
    base = Exam(
        letter=letter,
        cda_file=cda or f"Examen_{letter}/CR_{letter}.xml",
        document_id=f"1.2.250.1.213.4.5.4.4{nn:02d}",
        study_uids=(f"1.2.250.1.213.4.5.2.1.1{nn:02d}",),
        accessions=(f"ACN1{nn:02d}",),
        accession_issuer=issuer,
        placer_order=f"OPN1{nn:02d}",
        modality=modality,
        exam_code=code,
        exam_label=label,
    )
    return replace(base, **kw)


_ANS, _925 = ACN_ISSUER_ANS, ACN_ISSUER_925

#: Every exam with a CDA report, in letter order. ``image_series`` = 2 for the exams the INDEX
#: lists with two image series (A, H, R, X).
EXAMS: tuple[Exam, ...] = (
    _exam("A", 1, _CT, _ANS, "Annexes/Examen_A/CR_A.xml", image_series=2),
    _exam("B", 2, _MR, _ANS, "Annexes/Examen_B/CR_B.xml"),
    _exam("C", 3, _CT, _925),
    _exam("D", 4, _MR, _ANS, "Annexes/Examen_D/CR_D.xml"),
    _exam("E", 5, _NM, _ANS),
    Exam(
        letter="F",
        cda_file="Examen_F/CR_F.xml",
        document_id="1.2.250.1.213.4.5.4.406",
        study_uids=("1.2.250.1.213.4.5.2.1.106", "1.2.250.1.213.4.5.2.1.107"),
        accessions=("ACN106", "ACN107"),
        accession_issuer=_925,
        placer_order="OPN107",  # the CDA gives OPN107 for both orders
        modality=_MR[0],
        exam_code=_MR[1],
        exam_label=_MR[2],
    ),
    _exam(
        "G1",
        7,
        _XA,
        _ANS,
        "Examen_G/CR_G1.xml",
        study_uids=("1.2.250.1.213.4.5.2.1.108",),
        accessions=("ACN108",),
        placer_order="OPN108",
    ),
    _exam(
        "G2",
        8,
        _XA,
        _925,
        "Examen_G/CR_G2.xml",
        study_uids=("1.2.3.4.5.6.7.8.9",),
        accessions=("ACN108",),
        placer_order="OPN108",
        generate=False,
    ),
    _exam("H", 9, _CT, _ANS, image_series=2),
    _exam("I", 10, _NM, _ANS),
    _exam("J", 11, _CT, _ANS),
    _exam("K", 12, _CT, _ANS),
    _exam("L", 13, _CT, _925),
    _exam("M", 14, _NM, _ANS, patient=PATIENT_BIS),
    _exam("N", 15, _XA, _925),
    _exam("O", 16, _CT, _ANS, "Annexes/Examen_O/CR_O.xml"),
    _exam("P", 17, _CT, _925, "Annexes/Examen_P/CR_P.xml"),
    _exam("Q", 18, _MR, _925),
    _exam("R", 19, _CT, _925, image_series=2),
    _exam("S", 20, _CT, _ANS),
    _exam("T", 21, _NM, _ANS, "Annexes/Examen_T/CR_T.xml"),
    _exam("U", 22, _CT, _ANS),
    _exam("V", 23, _CT, _ANS),
    _exam("W", 24, _CT, _925),
    _exam("X", 25, _CT, _ANS, image_series=2),
    _exam("Y", 26, _CT, _925),
    _exam("Z", 27, _CT, _ANS),
)

#: Exam V is a 1330-image CT in the ANS set; generated reduced by default (``--v-count``).
V_FULL_COUNT = 1330


def exam(letter: str) -> Exam:
    """The exam with this letter (``G1``, ``G2`` for G)."""
    for item in EXAMS:
        if item.letter == letter:
            return item
    raise KeyError(letter)
