"""IOCM rejection notes: CID 7011 titles accepted, anything else refused with the reason."""

from __future__ import annotations

import pytest

from drimbox.source.iocm_note import IocmNoteError, parse_rejection_note
from support.kos_samples import rejection_note, simple_kos

STUDY = "1.2.826.0.1.3680043.8.498.55"


@pytest.mark.parametrize("code", ["113001", "113037", "113038", "113039"])
def test_each_rejection_title_is_accepted(code: str) -> None:
    data = rejection_note(
        STUDY, [(f"{STUDY}.1", f"{STUDY}.1.1"), (f"{STUDY}.2", f"{STUDY}.2.1")], code=(code, "x")
    )
    note = parse_rejection_note(data)
    assert note.title.value == code and note.studies == (STUDY,)
    assert [i.sop_instance_uid for i in note.instances] == [f"{STUDY}.1.1", f"{STUDY}.2.1"]


def test_other_titles_and_garbage_are_refused() -> None:
    with pytest.raises(IocmNoteError, match="not an IOCM rejection reason"):
        parse_rejection_note(
            rejection_note(STUDY, [(f"{STUDY}.1", f"{STUDY}.1.1")], code=("113030", "Manifest"))
        )
    with pytest.raises(IocmNoteError, match="not an IOCM rejection reason"):
        parse_rejection_note(simple_kos(1))
    with pytest.raises(IocmNoteError, match="not a DICOM"):
        parse_rejection_note(b"garbage")


def test_bad_uid_in_the_evidence_is_named() -> None:
    with pytest.warns(UserWarning):
        data = rejection_note(STUDY, [(f"{STUDY}.1", "1.02.x")])
    with pytest.raises(
        IocmNoteError, match=r"ReferencedSOPSequence\[1\].*ReferencedSOPInstanceUID"
    ):
        parse_rejection_note(data)
