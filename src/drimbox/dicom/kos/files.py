"""Read many KOS files at once, one result per file (for `drimbox source import-kos`).

Directories are walked recursively; every regular file in them is tried, since DICOM files often
have no extension. A bad file never stops the others: its result is the `KosError` saying why.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from drimbox.dicom.kos.errors import KosError
from drimbox.dicom.kos.parse import parse_kos
from drimbox.dicom.kos.parsed import ParsedKos

MAX_KOS_BYTES = 64 * 1024 * 1024
"""A KOS of 10 000 instances is about 2 MB; anything far larger is not a KOS."""


@dataclass(frozen=True, slots=True)
class KosFileResult:
    """The outcome for one file: `kos` when it parsed, `error` when it did not."""

    path: Path
    kos: ParsedKos | None
    error: KosError | None

    @property
    def ok(self) -> bool:
        return self.kos is not None


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """The given files, and the files under the given directories, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def read_kos_files(paths: Iterable[Path], *, strict: bool = True) -> Iterator[KosFileResult]:
    """Parse each file; yield its result as soon as it is known."""
    for path in expand_paths(paths):
        try:
            yield KosFileResult(path, _read_one(path, strict), None)
        except KosError as exc:
            yield KosFileResult(path, None, exc)


def _read_one(path: Path, strict: bool) -> ParsedKos:
    try:
        size = path.stat().st_size
        if size > MAX_KOS_BYTES:
            raise KosError(f"file of {size} bytes is too large for a KOS")
        data = path.read_bytes()
    except OSError as exc:
        raise KosError(f"cannot read the file: {exc.strerror or exc}") from exc
    return parse_kos(data, strict=strict)
