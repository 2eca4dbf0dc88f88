"""ANS exam messages altered for error cases (accession or IPP that the PACS does not have)."""

from __future__ import annotations

from support.ans_messages import CDA_DIR, HL7_DIR, complete_cda, complete_hl7, data_root


def exam_c_oru(control_id: str, *, cda_edits: dict[bytes, bytes] | None = None) -> bytes:
    """Exam C's ORU, with textual replacements applied to its CDA before embedding."""
    root = data_root()
    cda = complete_cda(root / CDA_DIR / "Examen_C/CR_C.skeleton.xml")
    for old, new in (cda_edits or {}).items():
        assert old in cda, old
        cda = cda.replace(old, new)
    return complete_hl7(root / HL7_DIR / "Examen_C/CR_C-ORU.skeleton.hl7", cda, control_id)
