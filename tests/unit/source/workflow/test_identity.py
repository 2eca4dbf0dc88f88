"""INS-NIR coherence with the declared traits (exam M: traits of someone else)."""

from __future__ import annotations

import pytest

from drimbox.cda import Identifier, InsIdentity
from drimbox.source.workflow.errors import Reject
from drimbox.source.workflow.identity import check_ins_identity, ins_mismatches

NIR = Identifier("1.2.250.1.213.1.4.10", "279035121518989")  # a woman born 03/1979
NIA = Identifier("1.2.250.1.213.1.4.11", "279035121518989")


def traits(sex: str, birth: str) -> InsIdentity:
    return InsIdentity("PAT-TROIS", "DOMINIQUE", "DOMINIQUE", sex, birth, "63220")


def test_coherent_traits_pass() -> None:
    assert ins_mismatches(NIR, traits("F", "19790328")) == []
    check_ins_identity(NIR, traits("F", "19790328"))


def test_exam_m_traits_are_rejected_with_each_difference() -> None:
    with pytest.raises(Reject) as caught:
        check_ins_identity(NIR, traits("M", "20120125"))
    assert caught.value.code == "identity-mismatch"
    for part in ("sex M", "birth year 2012", "birth month 01"):
        assert part in caught.value.reason


@pytest.mark.parametrize(
    ("ins", "identity"),
    [
        (NIA, traits("M", "20120125")),  # temporary numbers are not checked
        (Identifier("1.2.250.1.213.1.4.10", "279995121518989"), traits("F", "19790828")),
        (NIR, traits("U", "1979")),  # unknown sex, partial date: nothing to compare
    ],
)
def test_what_cannot_be_compared_is_not_an_error(ins: Identifier, identity: InsIdentity) -> None:
    assert ins_mismatches(ins, identity) == []
