"""TE.SIM-HL7 file handling: segment ends normalised, ANS placeholders personalised."""

from __future__ import annotations

from pathlib import Path

import pytest

from drimbox.hl7.message import parse_message
from drimbox.kit.hl7.files import Hl7FileError, Personalisation, normalise, read_message

SKELETON = (
    b"MSH|^~\\&|{{applicationSupplier}}|{{facilitySupplier}}|{{applicationReceiver}}|"
    b"{{facilityReceiver}}|{{idMessage}}||ORU^R01^ORU_R01|{{idMessage}}|P|2.5\n"
    b"PID|||123^^^H^PI\n\n"
)


def test_line_ends_become_cr() -> None:
    assert normalise(b"MSH|a\r\nPID|b\nOBX|c\n\n") == b"MSH|a\rPID|b\rOBX|c\r"


def test_personalise_fills_msh_and_gives_a_new_control_id(tmp_path: Path) -> None:
    path = tmp_path / "m.hl7"
    path.write_bytes(SKELETON)
    first = parse_message(read_message(path, Personalisation(sending_application="RIS")))
    second = parse_message(read_message(path, Personalisation()))
    assert first.msh.get(3) == "RIS" and first.msh.get(5) == "DRIMBOX"
    assert first.msh.get(7).isdigit() and len(first.msh.get(7)) == 14
    assert first.control_id != second.control_id and "{" not in first.control_id
    assert first.first("PID") is not None


def test_not_hl7_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.hl7"
    path.write_bytes(b"hello")
    with pytest.raises(Hl7FileError, match="does not start with MSH"):
        read_message(path)
    with pytest.raises(Hl7FileError, match="cannot read"):
        read_message(tmp_path / "missing.hl7")
