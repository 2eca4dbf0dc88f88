"""Entry point of the generator: ``generate(profile, out, seed, progress)`` and ``manifest.json``.

The manifest lets tests and benchmarks find studies without re-reading DICOM files. It holds no
timestamps, so it is byte-identical across runs too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

from drimbox.kit.dataset import ans, modalities, perf
from drimbox.kit.dataset.common import FileEntry

MANIFEST = "manifest.json"
DEFAULT_SEED = 20240601


class Profile(StrEnum):
    """What to generate (see docs/test-data.md)."""

    ANS = "ans"
    PERF = "perf"
    MODALITIES = "modalities"


@dataclass(frozen=True)
class Manifest:
    """What was written: the profile, its seed and one entry per file."""

    profile: str
    seed: int
    files: list[FileEntry]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def study_uids(self) -> list[str]:
        return sorted({f.study_instance_uid for f in self.files})

    def to_json(self) -> str:
        body = {
            "profile": self.profile,
            "seed": self.seed,
            "files": [asdict(f) for f in self.files],
        }
        return json.dumps(body, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


class DatasetError(ValueError):
    """Bad generator arguments (unknown profile, negative count)."""


def planned_files(profile: Profile, count: int | None = None, v_count: int | None = None) -> int:
    """How many files ``generate`` will write (to size a progress bar)."""
    if profile is Profile.PERF:
        return count if count is not None else perf.DEFAULT_COUNT
    if profile is Profile.ANS:
        return ans.file_count(v_count if v_count is not None else ans.V_DEFAULT_COUNT)
    return modalities.file_count()


def generate(
    profile: Profile | str,
    out: Path,
    seed: int = DEFAULT_SEED,
    progress: Callable[[int], None] | None = None,
    *,
    count: int | None = None,
    v_count: int | None = None,
    workers: int | None = None,
) -> Manifest:
    """Write the data set of ``profile`` under ``out`` plus ``out/manifest.json``.

    ``count`` sizes the perf series (default 1300); ``v_count`` sizes exam V of the ans profile
    (default 30, 1330 = the ANS original). ``progress`` is called with the number of files just
    written.
    """
    try:
        chosen = Profile(profile)
    except ValueError:
        raise DatasetError(
            f"unknown profile {profile!r}; use one of ans, perf, modalities"
        ) from None
    if (count is not None and count < 1) or (v_count is not None and v_count < 1):
        raise DatasetError("counts must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    if chosen is Profile.PERF:
        files = perf.generate_perf(out, seed, count or perf.DEFAULT_COUNT, workers, progress)
    elif chosen is Profile.ANS:
        files = ans.generate_ans(out, seed, v_count or ans.V_DEFAULT_COUNT, progress)
    else:
        files = modalities.generate_modalities(out, seed, progress)
    manifest = Manifest(profile=chosen.value, seed=seed, files=files)
    (out / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def load_manifest(out: Path) -> Manifest:
    """Read ``out/manifest.json`` back."""
    body = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    files = [FileEntry(**entry) for entry in body["files"]]
    return Manifest(profile=body["profile"], seed=int(body["seed"]), files=files)
