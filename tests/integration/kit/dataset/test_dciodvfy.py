"""Every generated file passes dicom3tools' ``dciodvfy`` without errors (DB.VI-CS.30/31).

Warnings are allowed (this dciodvfy release still knows old SRT codes and flags them as
deprecated); any line starting with "Error" fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from drimbox.kit.dataset.api import Manifest, generate

DCIODVFY = shutil.which("dciodvfy")


@pytest.fixture(scope="module", autouse=True)
def _need_dciodvfy() -> None:
    if DCIODVFY is None:
        if os.environ.get("CI") == "true":
            pytest.fail("dciodvfy (Debian dicom3tools) is required under CI=true")
        pytest.skip("dciodvfy not installed (Debian package dicom3tools)")


def errors_of(path: Path) -> list[str]:
    """The "Error" lines dciodvfy prints for ``path``."""
    assert DCIODVFY is not None
    run = subprocess.run(
        [DCIODVFY, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    lines = (run.stdout + run.stderr).splitlines()
    return [line for line in lines if line.startswith("Error")]


def _generated(
    tmp_path_factory: pytest.TempPathFactory, profile: str, **kw: int
) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp(profile)
    return out, generate(profile, out, 11, **kw)


@pytest.fixture(scope="module")
def modalities(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    return _generated(tmp_path_factory, "modalities")


@pytest.fixture(scope="module")
def ans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    return _generated(tmp_path_factory, "ans")


def test_modalities_files_have_no_errors(modalities: tuple[Path, Manifest]) -> None:
    out, manifest = modalities
    failures = {e.label: errs for e in manifest.files if (errs := errors_of(out / e.path))}
    assert failures == {}


def test_ans_files_have_no_errors(ans: tuple[Path, Manifest]) -> None:
    out, manifest = ans
    failures = {e.path: errs for e in manifest.files if (errs := errors_of(out / e.path))}
    assert failures == {}


def test_perf_sample_has_no_errors(tmp_path_factory: pytest.TempPathFactory) -> None:
    out, manifest = _generated(tmp_path_factory, "perf", count=20, workers=2)
    sample = manifest.files[:3] + manifest.files[-3:]
    failures = {e.path: errs for e in sample if (errs := errors_of(out / e.path))}
    assert failures == {}
