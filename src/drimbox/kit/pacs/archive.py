"""The simulator's archive: DICOM files on disk, one folder per AE title, indexed in the database.

Layout: ``<archive>/<AE title>/…`` holds the files of that AE title's view. Files anywhere else
under ``<archive>`` (directly in it, or in a folder that is not a configured AE title) belong to
the *default* AE title, the first one configured (``PACS_SOURCE_1`` by default): one simple rule
that keeps the AE views isolated. C-FIND answers from the index only; C-GET/C-MOVE read the
indexed file.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from sqlalchemy import delete, select

from drimbox.errors import DicomDataError
from drimbox.store.db import Database
from drimbox.store.models import SimInstance

LOG = logging.getLogger(__name__)
_UID_RE = re.compile(r"^[0-9.]{1,64}$")
_BATCH = 200


@dataclass(frozen=True)
class IndexJob:
    """One file to index under one AE title."""

    aet: str
    path: Path


@dataclass
class IndexReport:
    """What an indexing run did, for the CLI summary."""

    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value)
    return str(value)


def _int_or_none(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def _issuer_of_accession(ds: Dataset) -> str:
    seq = ds.get("IssuerOfAccessionNumberSequence")
    if not seq:
        return ""
    return str(seq[0].get("LocalNamespaceEntityID", ""))


def row_values(ds: Dataset, *, aet: str, path: Path, size: int) -> dict[str, Any]:
    """The index columns of one instance; raises DicomDataError when a key UID is missing."""
    missing = [
        k for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID") if not ds.get(k)
    ]
    meta = getattr(ds, "file_meta", None)
    syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    sop_class = _text(ds, "SOPClassUID") or (
        str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else ""
    )
    if not syntax:
        missing.append("TransferSyntaxUID (file meta)")
    if not sop_class:
        missing.append("SOPClassUID")
    if missing:
        raise DicomDataError(f"{path}: missing {', '.join(missing)}")
    return {
        "aet": aet,
        "patient_id": _text(ds, "PatientID"),
        "issuer_of_patient_id": _text(ds, "IssuerOfPatientID"),
        "patient_name": _text(ds, "PatientName"),
        "patient_birth_date": _text(ds, "PatientBirthDate")[:8],
        "patient_sex": _text(ds, "PatientSex"),
        "other_patient_ids": _text(ds, "OtherPatientIDs"),
        "study_instance_uid": _text(ds, "StudyInstanceUID"),
        "study_date": _text(ds, "StudyDate")[:8],
        "study_time": _text(ds, "StudyTime")[:16],
        "study_description": _text(ds, "StudyDescription")[:64],
        "study_id": _text(ds, "StudyID")[:16],
        "accession_number": _text(ds, "AccessionNumber")[:16],
        "issuer_of_accession_number": _issuer_of_accession(ds)[:64],
        "referring_physician_name": _text(ds, "ReferringPhysicianName"),
        "series_instance_uid": _text(ds, "SeriesInstanceUID"),
        "modality": _text(ds, "Modality")[:16],
        "series_number": _int_or_none(ds, "SeriesNumber"),
        "series_description": _text(ds, "SeriesDescription")[:64],
        "sop_class_uid": sop_class,
        "sop_instance_uid": _text(ds, "SOPInstanceUID"),
        "instance_number": _int_or_none(ds, "InstanceNumber"),
        "transfer_syntax_uid": syntax,
        "path": str(path),
        "size": size,
        "received_at": datetime.now(UTC),
    }


def read_header(path: Path) -> Dataset:
    """The header of a DICOM Part 10 file (pixel data not read); DicomDataError otherwise."""
    try:
        return dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError, EOFError, KeyError) as exc:
        raise DicomDataError(f"{path}: not a readable DICOM file ({exc})") from None


class Archive:
    """Files and index of the simulator, for every AE title it serves."""

    def __init__(self, root: Path, database: Database, ae_titles: list[str]) -> None:
        if not ae_titles:
            raise ValueError("the PACS simulator needs at least one AE title")
        self.root = root.resolve()
        self.database = database
        self.ae_titles = list(ae_titles)

    @property
    def default_aet(self) -> str:
        """The AE title that owns files outside any AE title folder."""
        return self.ae_titles[0]

    def ae_dir(self, aet: str) -> Path:
        return self.root / aet

    # -- scanning and indexing -------------------------------------------------------------

    def scan(self) -> list[IndexJob]:
        """Every file under the archive with the AE title it belongs to (see module doc)."""
        jobs: list[IndexJob] = []
        if not self.root.is_dir():
            return jobs
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            relative = Path(dirpath).relative_to(self.root)
            top = relative.parts[0] if relative.parts else ""
            aet = top if top in self.ae_titles else self.default_aet
            for name in sorted(filenames):
                if name.startswith(".") or name.endswith(".part"):
                    continue
                jobs.append(IndexJob(aet, Path(dirpath) / name))
        return jobs

    def _known(self) -> dict[tuple[str, str], tuple[int, float]]:
        with self.database.session() as session:
            rows = session.execute(
                select(SimInstance.aet, SimInstance.path, SimInstance.size, SimInstance.received_at)
            ).all()
        return {(r.aet, r.path): (r.size, r.received_at.timestamp()) for r in rows}

    def index(
        self, jobs: Iterable[IndexJob], on_progress: Callable[[], None] | None = None
    ) -> IndexReport:
        """Index files incrementally: a file already indexed with the same size and not modified
        since it was indexed is skipped. Rows of this archive whose file is gone are removed."""
        report = IndexReport()
        known = self._known()
        pending: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for job in jobs:
            key = (job.aet, str(job.path))
            seen.add(key)
            try:
                stat = job.path.stat()
                previous = known.get(key)
                if previous and previous[0] == stat.st_size and stat.st_mtime <= previous[1]:
                    report.unchanged += 1
                    continue
                ds = read_header(job.path)
                pending.append(row_values(ds, aet=job.aet, path=job.path, size=stat.st_size))
            except (DicomDataError, OSError) as exc:
                report.skipped.append((job.path, str(exc)))
            finally:
                if on_progress is not None:
                    on_progress()
            if len(pending) >= _BATCH:
                report.indexed += self._upsert(pending)
                pending = []
        report.indexed += self._upsert(pending)
        report.removed = self._prune(set(known) - seen)
        return report

    def _prune(self, candidates: set[tuple[str, str]]) -> int:
        stale = [(aet, p) for aet, p in candidates if p.startswith(str(self.root) + os.sep)]
        stale = [(aet, p) for aet, p in stale if not Path(p).exists()]
        with self.database.session() as session:
            for aet, path in stale:
                session.execute(
                    delete(SimInstance).where(SimInstance.aet == aet, SimInstance.path == path)
                )
        return len(stale)

    def _upsert(self, rows: list[dict[str, Any]]) -> int:
        """Insert or replace rows keyed on (aet, SOP Instance UID): duplicates replace."""
        if not rows:
            return 0
        with self.database.session() as session:
            for values in rows:
                existing = session.scalar(
                    select(SimInstance).where(
                        SimInstance.aet == values["aet"],
                        SimInstance.sop_instance_uid == values["sop_instance_uid"],
                    )
                )
                if existing is None:
                    session.add(SimInstance(**values))
                else:
                    for key, value in values.items():
                        setattr(existing, key, value)
        return len(rows)

    # -- loading and receiving -------------------------------------------------------------

    def _check_aet(self, aet: str) -> None:
        if aet not in self.ae_titles:
            raise ValueError(f"unknown AE title {aet!r} (served: {', '.join(self.ae_titles)})")

    def load(self, aet: str, sources: Iterable[Path], *, link: bool = False) -> list[IndexJob]:
        """Copy (or hard-link) files into an AE title's folder; returns the jobs to index.

        Folders are walked recursively; files keep their path relative to the folder given.
        Files named one by one are stored as ``files/<SOP Instance UID>.dcm``.
        """
        self._check_aet(aet)
        target_root = self.ae_dir(aet)
        jobs: list[IndexJob] = []
        for source, relative in _expand(sources):
            target = target_root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.resolve() != source.resolve() and not _up_to_date(target, source):
                if link:
                    target.unlink(missing_ok=True)
                    os.link(source, target)
                else:
                    shutil.copy2(source, target)
                    os.utime(target)  # indexed now: a later run sees it as unchanged
            jobs.append(IndexJob(aet, target))
        return jobs

    def store(self, aet: str, part10: bytes) -> Path:
        """Write a received instance (DICOM Part 10 bytes) under ``aet`` and index it.

        The bytes are written as received; only the header is read back for the index. A
        second instance with the same SOP Instance UID replaces the first.
        """
        self._check_aet(aet)
        folder = self.ae_dir(aet) / "received"
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".part", delete=False) as handle:
            handle.write(part10)
            temp = Path(handle.name)
        try:
            ds = read_header(temp)
            sop_uid = _text(ds, "SOPInstanceUID")
            name = sop_uid if _UID_RE.match(sop_uid) else f"x{abs(hash(sop_uid)):x}"
            target = folder / f"{name}.dcm"
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        values = row_values(ds, aet=aet, path=target, size=target.stat().st_size)
        self._upsert([values])
        return target

    def rows(self, aet: str) -> list[SimInstance]:
        """Every indexed instance of one AE title."""
        with self.database.session() as session:
            return list(session.scalars(select(SimInstance).where(SimInstance.aet == aet)).all())


def _up_to_date(target: Path, source: Path) -> bool:
    """A copy made by an earlier load: same size and not older than the source."""
    if not target.exists():
        return False
    t, s = target.stat(), source.stat()
    return t.st_size == s.st_size and t.st_mtime >= s.st_mtime


def _sop_instance_uid(path: Path) -> str:
    try:
        header = dcmread(path, stop_before_pixels=True, specific_tags=["SOPInstanceUID"])
        return str(header.SOPInstanceUID)
    except (InvalidDicomError, AttributeError, OSError) as exc:
        raise DicomDataError(f"{path}: not a DICOM file with a SOP Instance UID ({exc})") from exc


def _expand(sources: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
    for source in sources:
        if source.is_dir():
            for dirpath, _dirs, files in os.walk(source):
                for name in sorted(files):
                    path = Path(dirpath) / name
                    yield path, path.relative_to(source)
        elif source.is_file():
            # Files named one by one often share names across series (IM00001.dcm): key them
            # by SOP Instance UID so that none overwrites another.
            yield source, Path("files") / f"{_sop_instance_uid(source)}.dcm"
        else:
            raise FileNotFoundError(f"no such file or folder: {source}")
