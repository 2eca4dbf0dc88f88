"""The warm cache: series kept on disk per transfer syntax, served without touching the PACS.

Layout under ``root``::

    <study>/<series>/v-<syntax>/manifest.json   instances in order: SOP UID, file, real syntax,
    <study>/<series>/v-<syntax>/000001.dcm …    stored syntax and image traits; PACS patient ids
    <study>/<series>/metadata.json              DICOM JSON of the series (BulkDataURI base = marker)
    .staging/<random>/                          variants being written

A variant becomes visible by one ``rename`` of a complete staging folder (manifest written
last), so a reader never sees half a series, and of two concurrent writers the first wins.
Eviction is LRU by size over whole variants, renames the folder away before deleting it, and
skips variants being read by this process. Several processes may share the folder (each keeps
its own size view, so the bound is then approximate).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from drimbox.dicom.transfer import ImageTraits

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
METADATA = "metadata.json"
BASE_MARKER = "drimbox-base:"
"""Placeholder for the public base URL in cached metadata (replaced when served)."""


@dataclass(frozen=True, slots=True)
class CachedInstance:
    sop_instance_uid: str
    path: Path
    syntax: str
    """The transfer syntax the file is really in."""
    stored_syntax: str
    """The syntax the PACS stores it in (what negotiation starts from)."""
    traits: ImageTraits


@dataclass(frozen=True, slots=True)
class CachedVariant:
    """One complete series in one transfer syntax."""

    syntax: str
    path: Path
    patient_ids: tuple[str, ...]
    instances: tuple[CachedInstance, ...]

    def by_sop(self) -> dict[str, CachedInstance]:
        return {i.sop_instance_uid: i for i in self.instances}


def _traits_of(data: dict[str, Any]) -> ImageTraits:
    return ImageTraits(**data)


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


class VariantWriter:
    """Stages one variant; :meth:`commit` publishes it, :meth:`abort` drops it."""

    def __init__(self, cache: SeriesCache, study: str, series: str, syntax: str) -> None:
        self._cache = cache
        self.study, self.series, self.syntax = study, series, syntax
        self._dir = cache.root / ".staging" / uuid.uuid4().hex
        self._dir.mkdir(parents=True)
        self._entries: list[dict[str, Any]] = []
        self._done = False

    def add(
        self, sop_uid: str, data: bytes, syntax: str, stored_syntax: str, traits: ImageTraits
    ) -> None:
        """Write one instance (blocking: call it from a thread)."""
        name = f"{len(self._entries) + 1:06d}.dcm"
        (self._dir / name).write_bytes(data)
        self._entries.append(
            {
                "sop": sop_uid,
                "file": name,
                "syntax": syntax,
                "stored": stored_syntax,
                "traits": asdict(traits),
            }
        )

    def commit(self, patient_ids: tuple[str, ...]) -> bool:
        """Publish the variant (blocking); False when another writer published it first."""
        if self._done:
            return False
        self._done = True
        manifest = {"patient_ids": list(patient_ids), "instances": self._entries}
        (self._dir / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        final = self._cache.variant_dir(self.study, self.series, self.syntax)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(self._dir, final)
        except OSError:  # already there (another request filled it): keep the first
            shutil.rmtree(self._dir, ignore_errors=True)
            return False
        self._cache.note_added(final)
        return True

    def abort(self) -> None:
        if not self._done:
            self._done = True
            shutil.rmtree(self._dir, ignore_errors=True)


class SeriesCache:
    """On-disk series cache with a size bound (LRU over variants); thread-safe."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._sizes: dict[Path, int] = {}
        self._used: dict[Path, float] = {}
        self._readers: dict[Path, int] = {}
        root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(root / ".staging", ignore_errors=True)  # left by a crash
        self._scan()

    def _scan(self) -> None:
        for manifest in self.root.glob(f"*/*/v-*/{MANIFEST}"):
            folder = manifest.parent
            self._sizes[folder] = _folder_size(folder)
            self._used[folder] = manifest.stat().st_mtime

    @property
    def size(self) -> int:
        with self._lock:
            return sum(self._sizes.values())

    def series_dir(self, study: str, series: str) -> Path:
        return self.root / study / series

    def variant_dir(self, study: str, series: str, syntax: str) -> Path:
        return self.series_dir(study, series) / f"v-{syntax}"

    # --- reading ---------------------------------------------------------------------------

    def variants(self, study: str, series: str) -> list[str]:
        """The syntaxes this series is cached in."""
        folder = self.series_dir(study, series)
        if not folder.is_dir():
            return []
        return sorted(p.name[2:] for p in folder.glob("v-*") if (p / MANIFEST).is_file())

    def variant(self, study: str, series: str, syntax: str) -> CachedVariant | None:
        """A complete variant (its files may still be evicted: hold :meth:`reading`)."""
        folder = self.variant_dir(study, series, syntax)
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        instances = tuple(
            CachedInstance(
                e["sop"], folder / e["file"], e["syntax"], e["stored"], _traits_of(e["traits"])
            )
            for e in manifest["instances"]
        )
        with self._lock:
            self._used[folder] = time.time()
        return CachedVariant(syntax, folder, tuple(manifest["patient_ids"]), instances)

    @contextmanager
    def reading(self, variant: CachedVariant) -> Iterator[None]:
        """Keep ``variant`` from being evicted by this process while it is served."""
        with self._lock:
            self._readers[variant.path] = self._readers.get(variant.path, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._readers[variant.path] - 1
                if left:
                    self._readers[variant.path] = left
                else:
                    del self._readers[variant.path]

    def metadata(self, study: str, series: str) -> bytes | None:
        try:
            return (self.series_dir(study, series) / METADATA).read_bytes()
        except OSError:
            return None

    # --- writing ---------------------------------------------------------------------------

    def writer(self, study: str, series: str, syntax: str) -> VariantWriter:
        return VariantWriter(self, study, series, syntax)

    def put_metadata(self, study: str, series: str, data: bytes) -> None:
        """Store the series metadata atomically (blocking)."""
        folder = self.series_dir(study, series)
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".{METADATA}.{uuid.uuid4().hex}"
        staging.write_bytes(data)
        os.replace(staging, folder / METADATA)

    def note_added(self, folder: Path) -> None:
        with self._lock:
            self._sizes[folder] = _folder_size(folder)
            self._used[folder] = time.time()
        self.evict()

    def evict(self) -> list[Path]:
        """Drop least recently used variants until the cache fits ``max_bytes``."""
        removed: list[Path] = []
        with self._lock:
            total = sum(self._sizes.values())
            for folder in sorted(self._sizes, key=lambda f: self._used.get(f, 0.0)):
                if total <= self.max_bytes:
                    break
                if self._readers.get(folder):
                    continue
                total -= self._sizes.pop(folder)
                self._used.pop(folder, None)
                removed.append(folder)
        for folder in removed:
            trash = self.root / ".staging" / f"evicted-{uuid.uuid4().hex}"
            trash.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(folder, trash)
            except OSError:
                continue  # gone already (another process)
            shutil.rmtree(trash, ignore_errors=True)
            log.info("warm cache: evicted %s", folder.relative_to(self.root))
        return removed

    def forget_series(self, study: str, series: str) -> None:
        """Remove every variant and the metadata of a series (KOS withdrawn, images deleted)."""
        folder = self.series_dir(study, series)
        with self._lock:
            for known in [f for f in self._sizes if f.parent == folder]:
                self._sizes.pop(known)
                self._used.pop(known, None)
        if folder.exists():
            trash = self.root / ".staging" / f"forgotten-{uuid.uuid4().hex}"
            trash.parent.mkdir(parents=True, exist_ok=True)
            os.rename(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)
