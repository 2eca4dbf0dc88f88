"""TE.KOS-LOAD: load KOS files (or the KOS of an XDM archive) straight into the KOS archive.

Each file gets its own :class:`ImportResult` (imported, already present, or invalid with the
reason); one bad file never stops the others. After an import the KOS is an ordinary archive
entry: RAD-107 answers for it and it is updated (IOCM, replacement) like a generated one.

Rules (docs/source-admin.md):

- The KOS must be a valid DRIM-M KOS (``parse_kos`` strict: manifest or key-image title,
  accession + issuer, INS identity, one RAD-107 RetrieveURL per series naming that series).
- Its RetrieveURLs are kept as they are, but their base must be the ``public_base_url`` of one
  configured PACS (the same for every series), so that RAD-107 knows which PACS to ask;
  otherwise the file is refused, naming the unknown base.
- The same SOP Instance UID already archived with the same bytes is "already present"; with
  other bytes it is refused (a UID must not name two documents).
- A KOS for a study that already has a current KOS becomes the new version of that study's chain
  (the previous one is marked replaced), provided it names the same accession number and issuer:
  loading a corrected KOS is the usual reason to import one for a known study. A different
  accession for the same study is refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal

from drimbox.config import PacsNode, Settings
from drimbox.dicom.kos import KosError, ParsedKos, parse_kos, split_series_url
from drimbox.dicom.kos.files import MAX_KOS_BYTES, expand_paths
from drimbox.dicom.kos.retrieve_url import normalise_base_url
from drimbox.source.archive import (
    PUBLISHED,
    SUPERSEDABLE,
    InstanceRef,
    KosAlreadyStored,
    KosArchive,
    KosArchiveError,
    KosRecord,
    NewKos,
    PatientIdentity,
    SeriesRef,
)
from drimbox.source.xdm import XdmKos, XdmLimits, read_kos_documents

Outcome = Literal["imported", "already_present", "invalid"]
IMPORTED: Final = "imported"
ALREADY_PRESENT: Final = "already_present"
INVALID: Final = "invalid"


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The outcome for one file (or one ZIP member): what happened and why."""

    source: str
    outcome: Outcome
    reason: str = ""
    sop_instance_uid: str = ""
    study_instance_uid: str = ""
    kos_id: int | None = None
    replaces_id: int | None = None
    pacs_name: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome != INVALID

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ImportContext:
    """Where the KOS comes from and what the XDM metadata adds (CDA id for DB.VI-SO.115)."""

    origin: str = "imported_kos"
    cda_document_id: str = ""
    cda_set_id: str = ""
    dmp_flags: Mapping[str, Any] = field(default_factory=dict)


class ImportRefused(KosError):
    """The KOS is valid DICOM but cannot enter this archive (unknown PACS, conflicting UID…)."""


async def import_kos_files(
    paths: Iterable[Path], archive: KosArchive, settings: Settings
) -> list[ImportResult]:
    """Import every file given, and every file under the given directories; one result each."""
    results = []
    for path in expand_paths(paths):
        try:
            data = _read_file(path)
        except KosError as exc:
            results.append(ImportResult(str(path), INVALID, str(exc)))
            continue
        results.append(await import_kos_bytes(str(path), data, archive, settings))
    return results


def _read_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_KOS_BYTES:
            raise KosError(f"file of {size} bytes is too large for a KOS")
        return path.read_bytes()
    except OSError as exc:
        raise KosError(f"cannot read the file: {exc.strerror or exc}") from exc


async def import_kos_bytes(
    source: str,
    data: bytes,
    archive: KosArchive,
    settings: Settings,
    context: ImportContext | None = None,
) -> ImportResult:
    """Validate and archive one KOS given as Part-10 bytes."""
    context = context or ImportContext()
    try:
        parsed = parse_kos(data)
    except KosError as exc:
        return ImportResult(source, INVALID, str(exc))
    base = ImportResult(source, INVALID, "", parsed.sop_instance_uid, parsed.study_instance_uid)
    try:
        existing = await archive.get_by_sop_uid(parsed.sop_instance_uid)
        if existing is not None:
            if await archive.kos_bytes(existing.id) != data:
                raise ImportRefused(
                    f"SOP Instance UID {parsed.sop_instance_uid} is already archived "
                    f"(KOS #{existing.id}) with different content"
                )
            return replace(
                base,
                outcome=ALREADY_PRESENT,
                reason=f"already archived as KOS #{existing.id}",
                kos_id=existing.id,
                pacs_name=existing.pacs_name,
            )
        pacs = pacs_for(parsed, settings.pacs)
        previous = await _previous_version(archive, parsed)
        new = new_kos(parsed, data, pacs, context)
        record = await archive.add(new, replaces=previous.id if previous else None)
    except KosAlreadyStored as exc:  # lost a race with a concurrent import of the same file
        return replace(base, outcome=ALREADY_PRESENT, reason=str(exc))
    except (KosError, KosArchiveError) as exc:
        return replace(base, reason=str(exc))
    return replace(
        base,
        outcome=IMPORTED,
        reason=f"new version of KOS #{previous.id}" if previous else "",
        kos_id=record.id,
        replaces_id=record.replaces_id,
        pacs_name=record.pacs_name,
    )


def pacs_for(parsed: ParsedKos, nodes: Iterable[PacsNode]) -> PacsNode:
    """The configured PACS whose public base URL every RetrieveURL of the KOS starts with."""
    by_base: dict[str, PacsNode] = {}
    for node in nodes:
        if node.public_base_url:
            by_base[normalise_base_url(node.public_base_url)] = node
    found: dict[str, PacsNode] = {}
    for series in parsed.series:
        assert series.retrieve_url is not None  # strict parsing requires one per series
        base = normalise_base_url(split_series_url(series.retrieve_url).base_url)
        match = by_base.get(base)
        if match is None:
            known = ", ".join(sorted(by_base)) or "none configured"
            raise ImportRefused(
                f"RetrieveURL base {base} of series {series.series_instance_uid} is the "
                f"public_base_url of no configured PACS (known: {known})"
            )
        found[match.name] = match
    if len(found) > 1:
        raise ImportRefused(
            f"the series of this KOS are served by several PACS ({', '.join(sorted(found))}); "
            "a KOS must reference one PACS location"
        )
    return next(iter(found.values()))


async def _previous_version(archive: KosArchive, parsed: ParsedKos) -> KosRecord | None:
    """The current KOS of the study this one replaces, or None for a study not yet archived."""
    current = await archive.current_for_study(parsed.study_instance_uid)
    if current is None or current.status not in SUPERSEDABLE:
        return None
    mine = (parsed.accession_number or "", parsed.accession_issuer_oid or "")
    theirs = (current.accession_number, current.accession_issuer)
    if mine != theirs:
        raise ImportRefused(
            f"study {parsed.study_instance_uid} is already archived (KOS #{current.id}) with "
            f"accession {theirs[0]} (issuer {theirs[1]}), not {mine[0]} (issuer {mine[1]})"
        )
    return current


def new_kos(
    parsed: ParsedKos,
    data: bytes,
    pacs: PacsNode,
    context: ImportContext,
    *,
    status: str = PUBLISHED,
) -> NewKos:
    """The archive row for a parsed KOS served by ``pacs``."""
    who = parsed.patient
    ipp = who.ipp
    return NewKos(
        sop_instance_uid=parsed.sop_instance_uid,
        series_instance_uid=parsed.series_instance_uid,
        study_instance_uid=parsed.study_instance_uid,
        kos_bytes=data,
        series=tuple(
            SeriesRef(
                series_instance_uid=s.series_instance_uid,
                retrieve_url=s.retrieve_url or "",
                instances=tuple(
                    InstanceRef(i.sop_class_uid, i.sop_instance_uid) for i in s.instances
                ),
            )
            for s in parsed.series
        ),
        accession_number=parsed.accession_number or "",
        accession_issuer=parsed.accession_issuer_oid or "",
        placer_order=parsed.placer_order_number or "",
        placer_order_issuer=parsed.placer_order_issuer_oid or "",
        cda_document_id=context.cda_document_id,
        cda_set_id=context.cda_set_id,
        kind="kin" if parsed.is_key_image_note else "manifest",
        status=status,
        patient=PatientIdentity(
            ins=who.ins or "",
            ins_oid=who.ins_oid or "",
            ipp=ipp.value if ipp is not None else "",
            ipp_issuer=(ipp.issuer_oid or ipp.issuer or "") if ipp is not None else "",
            birth_name=who.family_name,
            given_names=" ".join(who.birth_given_names) or who.given_name,
            sex=who.sex or "",
            birth_date=who.birth_date,
            birth_place=who.birth_place_code or "",
        ),
        institution_name=parsed.institution_name or "",
        pacs_name=pacs.name,
        pacs_index=pacs.index,
        origin=context.origin,
        dmp_flags=dict(context.dmp_flags),
    )


async def import_xdm(
    zip_path: Path,
    archive: KosArchive,
    settings: Settings,
    *,
    limits: XdmLimits | None = None,
) -> list[ImportResult]:
    """Import the KOS of an XDM archive (ITI-32), with the CDA id of its submission set.

    An unsafe or malformed archive raises :class:`~drimbox.source.xdm.XdmError` (nothing is
    imported); otherwise each KOS document gets its own result.
    """
    found = await asyncio.to_thread(read_kos_documents, zip_path, limits)
    results = []
    for kos in found:
        source = f"{zip_path.name}:{kos.member}"
        problem = _xdm_problem(kos)
        if problem:
            results.append(ImportResult(source, INVALID, problem))
            continue
        context = ImportContext(
            origin="imported_xdm",
            cda_document_id=kos.cda_unique_id.split("^", 1)[0],
            dmp_flags={"xdm_unique_id": kos.entry.unique_id} if kos.entry.unique_id else {},
        )
        results.append(await import_kos_bytes(source, kos.data, archive, settings, context))
    return results


def _xdm_problem(kos: XdmKos) -> str:
    """Metadata that contradicts the document: size, hash, or patient (INS) differ."""
    if kos.problems:
        return "; ".join(kos.problems)
    declared = kos.entry.patient_id.split("^", 1)[0]
    if not declared:
        return ""
    try:
        parsed = parse_kos(kos.data)
    except KosError:
        return ""  # reported precisely by the import itself
    if parsed.patient.ins and parsed.patient.ins != declared:
        return (
            f"XDSDocumentEntry.patientId {declared} is not the KOS patient INS {parsed.patient.ins}"
        )
    return ""
