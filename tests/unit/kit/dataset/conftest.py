"""Generated data sets shared by the dataset tests (generated once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drimbox.kit.dataset.api import Manifest, generate

SEED = 7


@pytest.fixture(scope="session")
def ans_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("ans")
    return out, generate("ans", out, SEED)


@pytest.fixture(scope="session")
def modalities_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("modalities")
    return out, generate("modalities", out, SEED)
