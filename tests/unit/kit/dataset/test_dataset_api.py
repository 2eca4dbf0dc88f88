"""The generate() entry point and manifest.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from drimbox.kit.dataset.api import (
    DatasetError,
    Manifest,
    Profile,
    generate,
    load_manifest,
    planned_files,
)


def test_manifest_round_trip(modalities_set: tuple[Path, Manifest]) -> None:
    out, manifest = modalities_set
    loaded = load_manifest(out)
    assert loaded == manifest
    assert loaded.profile == "modalities"
    assert len(loaded.files) == planned_files(Profile.MODALITIES)
    assert all((out / f.path).stat().st_size == f.size for f in loaded.files)


def test_progress_reports_every_file(tmp_path: Path) -> None:
    seen: list[int] = []
    manifest = generate("perf", tmp_path, 1, seen.append, count=3, workers=1)
    assert sum(seen) == len(manifest.files) == planned_files(Profile.PERF, count=3)


def test_bad_arguments_raise_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown profile"):
        generate("nope", tmp_path)
    with pytest.raises(DatasetError, match="at least 1"):
        generate("perf", tmp_path, count=0)
