"""Acceptance: the full perf profile is the ANS performance set (1300 JPEG-LS files, 150–250 MB)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drimbox.kit.dataset.api import generate, load_manifest
from drimbox.kit.dataset.common import JPEG_LS_LOSSLESS


@pytest.mark.slow
def test_full_perf_profile(tmp_path: Path) -> None:
    manifest = generate("perf", tmp_path)
    files = sorted((tmp_path / "CT").glob("*.dcm"))
    assert len(files) == len(manifest.files) == 1300
    total = sum(p.stat().st_size for p in files)
    assert 150_000_000 <= total <= 250_000_000
    assert {f.transfer_syntax_uid for f in manifest.files} == {JPEG_LS_LOSSLESS}
    assert load_manifest(tmp_path).total_bytes == total
