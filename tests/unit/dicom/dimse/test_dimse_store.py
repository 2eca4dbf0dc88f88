"""What we accept to send with C-STORE."""

from pathlib import Path

import pytest

from drimbox.dicom.dimse.store import context_pairs, load
from drimbox.errors import DicomDataError
from support.dicom_factory import make_ct_series


def test_load_path_and_bytes(tmp_path: Path) -> None:
    [series] = make_ct_series(tmp_path, instances=1)
    from_path = load(series.paths[0])
    from_bytes = load(series.paths[0].read_bytes())
    assert from_path.SOPInstanceUID == from_bytes.SOPInstanceUID == series.sop_uids[0]
    assert context_pairs([from_path]) == [("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.1")]


def test_not_dicom_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(DicomDataError, match="not a DICOM Part-10 object"):
        load(b"hello")
    with pytest.raises(DicomDataError):
        load(tmp_path / "missing.dcm")
