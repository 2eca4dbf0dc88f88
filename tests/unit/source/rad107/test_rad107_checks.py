"""The pure RAD-107 checks: KOS header, UIDs, patient identity (INS, else IPP)."""

from __future__ import annotations

import pytest

from drimbox.source.archive import PatientIdentity
from drimbox.source.rad107.checks import (
    check_uid,
    identity_matches,
    kos_uid_from_header,
)
from drimbox.source.rad107.errors import BadRequest, KosHeaderMissing

INS = "170019900001" + "0"


@pytest.mark.parametrize("value", [None, "", "   ", "not-a-uid", "1.02.3", "1." + "2" * 80])
def test_kos_header_must_be_a_uid(value: str | None) -> None:
    with pytest.raises(KosHeaderMissing):
        kos_uid_from_header(value)


def test_kos_header_is_trimmed() -> None:
    assert kos_uid_from_header(" 1.2.3.4 ") == "1.2.3.4"


@pytest.mark.parametrize("value", ["1.2..3", "../etc", "1.2.3a", ""])
def test_path_uids_are_checked(value: str) -> None:
    with pytest.raises(BadRequest):
        check_uid(value, "StudyInstanceUID")


@pytest.mark.parametrize(
    ("patient", "pacs_ids", "expected"),
    [
        (PatientIdentity(ins=INS, ipp="IPP1"), ["IPP1"], True),  # PACS knows the IPP
        (PatientIdentity(ins=INS, ipp="IPP1"), [INS, "X"], True),  # INS in Other Patient IDs
        (PatientIdentity(ins=INS, ipp="IPP1"), ["IPP2"], False),
        (PatientIdentity(ins=INS), ["IPP1"], False),  # INS only, PACS has something else
        (PatientIdentity(ipp="IPP1"), [" IPP1 "], True),
        (PatientIdentity(), ["ANY"], True),  # nothing to compare against
        (PatientIdentity(ipp="IPP1"), [], False),
    ],
)
def test_identity_ins_else_ipp(
    patient: PatientIdentity, pacs_ids: list[str], expected: bool
) -> None:
    assert identity_matches(patient, pacs_ids) is expected
