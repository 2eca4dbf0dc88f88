"""Rebuild complete ANS DRIM-M HL7 messages and CDA reports from the shared skeleton copies.

The shared copy of the ANS data elides the big base64 payloads (``[ELIDED-BY-COPY …]``). A test
that feeds a parser needs the real structure, so here we put a small generated PDF back into the
CDA skeleton, base64 it into the HL7 skeleton's OBX-5 and fill the ``{{…}}`` MSH placeholders.
The embedded CDA is therefore the exam's CDA *file*, not the sometimes different rendition the
original message carried (see INDEX.md: mojibake, other org id, B-ORU embedding .502).
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from drimbox.kit.pdf import tiny_pdf

_CANDIDATES = (
    Path(os.environ.get("DRIMBOX_ANS_DATA", "/nonexistent")),
    Path(__file__).resolve().parents[3] / "shared" / "drim-m-data",
    Path("/work/shared/drim-m-data"),
)
_ELIDED = re.compile(rb"\[ELIDED-BY-COPY:[^\]]*\]")
HL7_DIR = "Referencement_DRIMBox/Jeux_de_donnees/HL7v2"
CDA_DIR = "Referencement_DRIMBox/Jeux_de_donnees/CDA"
ANNEX_EXAMS = frozenset("ABDOPT")


def data_root() -> Path:
    """The ANS data folder; skip (or fail under CI=true) when it is absent."""
    for candidate in _CANDIDATES:
        if (candidate / "INDEX.md").is_file():
            return candidate
    reason = "ANS DRIM-M data not found (shared/drim-m-data or $DRIMBOX_ANS_DATA)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def small_pdf(text: str = "DRIMbox test report") -> bytes:
    """A minimal valid one-page PDF, in place of the elided report."""
    return tiny_pdf(text, media_box=(612, 792))


def complete_cda(path: Path, pdf: bytes | None = None) -> bytes:
    """The CDA skeleton at ``path`` with a base64 PDF where the payload was elided."""
    data = path.read_bytes()
    payload = base64.b64encode(pdf or small_pdf())
    if b"IMG_CR_IMG_2023.11" in path.name.encode() or b"rest of the CDA header" in data:
        # The 2023.11 example was cut inside a comment in serviceEvent/code: close what was open.
        closing = (
            b"-->\n      </code>\n    </serviceEvent>\n  </documentationOf>\n"
            b'  <component>\n    <nonXMLBody>\n      <text mediaType="application/pdf" '
            b'representation="B64">' + payload
        )
        return _ELIDED.sub(lambda _: closing, data, count=1)
    return _ELIDED.sub(lambda _: payload, data, count=1)


def complete_hl7(path: Path, cda: bytes, control_id: str = "MSG0001") -> bytes:
    """The HL7 skeleton at ``path`` with ``cda`` in OBX-5 and the MSH placeholders filled."""
    data = path.read_bytes()
    data = _ELIDED.sub(lambda _: base64.b64encode(cda), data, count=1)
    return personalise(data, control_id)


def personalise(data: bytes, control_id: str) -> bytes:
    """Fill the ``{{…}}`` MSH placeholders (MSH-7 gets a timestamp, MSH-10 the control id)."""
    data = data.replace(b"|{{idMessage}}||", b"|20240912101500||", 1)
    for placeholder, value in (
        (b"{{applicationSupplier}}", b"ANS_RIS"),
        (b"{{facilitySupplier}}", b"ANS_FACILITY"),
        (b"{{applicationReceiver}}", b"DRIMBOX"),
        (b"{{facilityReceiver}}", b"DRIMBOX_SOURCE"),
        (b"{{idMessage}}", control_id.encode("ascii")),
    ):
        data = data.replace(placeholder, value)
    return data


@dataclass(frozen=True)
class AnsMessage:
    """One ANS HL7 message and the CDA skeleton rebuilt into it."""

    name: str
    hl7: str
    """Path relative to the data root."""
    cda: str | None


def _cda_for(exam_file: str) -> str:
    """CDA skeleton matching an HL7 file name such as CR_G1_MAJ-ORU or CR_I_Depublication-MDM."""
    stem = exam_file.split("-")[0]  # CR_G1_MAJ, CR_I_Depublication
    stem = stem.replace("_Depublication", "")
    if stem == "CR_G1_MAJ" and exam_file.endswith("MDM"):
        stem = "CR_G1"  # the MAJ MDM re-sends version 1 (.407) with a confidentiality change
    letter = stem[3]
    folder = f"Annexes/Examen_{letter}" if letter in ANNEX_EXAMS else f"Examen_{letter}"
    return f"{CDA_DIR}/{folder}/{stem}.skeleton.xml"


def ans_messages() -> list[AnsMessage]:
    """Every ANS HL7 skeleton with its head (ORU/MDM of exams A..Z, PFI, cross-validator)."""
    root = data_root()
    out: list[AnsMessage] = []
    for path in sorted((root / HL7_DIR).rglob("*.skeleton.hl7")):
        name = path.name.removesuffix(".skeleton.hl7")
        out.append(AnsMessage(name, str(path.relative_to(root)), _cda_for(name)))
    pfi = "REFERENCEMENT/REM_PFI/Exigence_PFI.01"
    out.append(AnsMessage("PFI_ORU_R01_K", f"{pfi}/ORU_R01_K.skeleton.hl7", _cda_for("CR_K-ORU")))
    out.append(AnsMessage("PFI_MDM_T02_L", f"{pfi}/MDM_T02_L.skeleton.hl7", _cda_for("CR_L-MDM")))
    # Its original CDA (a CR-BIO style document) is not in the copy: exam A's report stands in.
    out.append(
        AnsMessage(
            "HL7_OK",
            "test_a_blanc/Cross-validateur/OK_Cas_Passant/HL7_OK.skeleton.hl7",
            _cda_for("CR_A-ORU"),
        )
    )
    return out


def build(message: AnsMessage, control_id: str = "MSG0001") -> bytes:
    root = data_root()
    if message.cda is None:
        return personalise((root / message.hl7).read_bytes(), control_id)
    return complete_hl7(root / message.hl7, complete_cda(root / message.cda), control_id)


def cda_skeletons() -> list[Path]:
    """Every CDA imaging-report skeleton of the exams plus the 2023.11 reference example."""
    root = data_root()
    found = sorted((root / CDA_DIR).rglob("*.skeleton.xml"))
    found.append(root / "informatif/CDA/IMG_CR_IMG_2023.11_CDA-R2-Niveau-1.skeleton.xml")
    return found


def exam_message(name: str, control_id: str = "MSG0001") -> bytes:
    """A complete message by name, e.g. ``CR_C-ORU`` or ``CR_G1_MAJ-MDM``."""
    for message in ans_messages():
        if message.name == name:
            return build(message, control_id)
    raise KeyError(name)


def omi_cancellation(control_id: str = "MSG0001") -> bytes:
    return personalise(
        (data_root() / HL7_DIR / "Examen_W/CR_W_Suppression-OMI.hl7").read_bytes(), control_id
    )


def full_c_oru() -> bytes:
    """The one complete original ORU (exam C), payload untouched."""
    return (data_root() / HL7_DIR / "Examen_C/CR_C-ORU.full.hl7").read_bytes()
