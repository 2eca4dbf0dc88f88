"""Read an IHE XDM archive (ITI-32) safely and find its KOS documents and their CDA report.

The ZIP comes from outside, so it is never extracted: members are read in memory, within
limits, and the archive is refused as a whole when a member name could escape a folder
(absolute, ``..``, backslash, drive letter), when an entry is encrypted, too large, or
compressed suspiciously well (zip bomb), or when there are too many entries.

Layout (ITI TF-3 4.3.1.2): ``IHE_XDM/<SUBSET>/METADATA.XML`` (an ebRIM SubmitObjectsRequest)
next to the documents, plus ``INDEX.HTM`` and ``README.TXT`` at the root. ``IHE_XDM`` may sit
under one top-level folder (the ANS sample ``KA202401/IHE_XDM/...``). The ANS METADATA.XML uses
an undeclared ``ns3:`` prefix and no namespaces: elements are matched by local name, and an
undeclared prefix is tolerated (nothing else is).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from lxml import etree

from drimbox.errors import DrimboxError

DICOM_MIME: Final = "application/dicom"
IMAGING_REPORT_LOINC: Final = "18748-4"
_UNIQUE_ID_SCHEME: Final = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
_PATIENT_ID_SCHEME: Final = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
_TYPE_CODE_SCHEME: Final = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
_HAS_MEMBER: Final = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_UNDECLARED_PREFIX = "NS_ERR_UNDEFINED_NAMESPACE"


class XdmError(DrimboxError):
    """The XDM archive is unsafe or malformed; the message says which member and why."""

    http_status = 422


@dataclass(frozen=True, slots=True)
class XdmLimits:
    """Bounds on what an archive may contain (defaults fit any real DRIM-M XDM export)."""

    max_entries: int = 10_000
    max_member_bytes: int = 64 * 1024 * 1024
    max_total_bytes: int = 1024 * 1024 * 1024
    max_metadata_bytes: int = 16 * 1024 * 1024
    max_ratio: int = 200
    """Uncompressed/compressed ratio above which a member larger than 1 MiB is a zip bomb."""


@dataclass(frozen=True, slots=True)
class XdmDocument:
    """One DocumentEntry of a submission set, as METADATA.XML describes it."""

    entry_id: str
    mime_type: str
    unique_id: str
    uri: str
    patient_id: str
    type_code: str
    size: int | None
    sha1: str | None


@dataclass(frozen=True, slots=True)
class XdmKos:
    """A KOS found in the archive, its bytes, and the CDA report it was submitted with."""

    member: str
    data: bytes
    entry: XdmDocument
    cda_unique_id: str = ""
    problems: tuple[str, ...] = field(default_factory=tuple)


class SafeZip:
    """A ZIP opened for reading in memory only, every member name and size checked up front."""

    def __init__(self, path: Path, limits: XdmLimits) -> None:
        self.limits = limits
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise XdmError(f"not a readable ZIP archive: {exc}") from None
        infos = self._zip.infolist()
        if len(infos) > limits.max_entries:
            raise XdmError(f"{len(infos)} entries: more than the {limits.max_entries} allowed")
        total = 0
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = _safe_name(info.filename)
            if info.flag_bits & 0x1:
                raise XdmError(f"{name}: encrypted entries are not supported")
            total += info.file_size
            self._check_size(info)
            if not info.is_dir():
                self._members[name.upper()] = info
        if total > limits.max_total_bytes:
            raise XdmError(f"archive expands to {total} bytes: over {limits.max_total_bytes}")

    def _check_size(self, info: zipfile.ZipInfo) -> None:
        if info.file_size > self.limits.max_member_bytes:
            raise XdmError(
                f"{info.filename}: {info.file_size} bytes, over the "
                f"{self.limits.max_member_bytes} bytes allowed for one entry"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > self.limits.max_ratio:
            raise XdmError(
                f"{info.filename}: compression ratio {ratio:.0f}:1 looks like a zip bomb"
            )

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def names(self) -> Iterator[str]:
        return (info.filename for info in self._members.values())

    def find(self, name: str) -> str | None:
        """The member's real name, matched case-insensitively (XDM names are upper case)."""
        info = self._members.get(name.upper())
        return None if info is None else info.filename

    def read(self, name: str, limit: int | None = None) -> bytes:
        """A member's bytes, never more than ``limit`` even if its header lies about its size."""
        info = self._members.get(name.upper())
        if info is None:
            raise XdmError(f"{name}: no such entry in the archive")
        cap = min(limit or self.limits.max_member_bytes, self.limits.max_member_bytes)
        try:
            with self._zip.open(info) as stream:
                data = stream.read(cap + 1)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
            raise XdmError(f"{name}: cannot be read: {exc}") from None
        if len(data) > cap:
            raise XdmError(f"{name}: larger than the {cap} bytes allowed")
        return data


def _safe_name(name: str) -> str:
    """Refuse any member name that could land outside the extraction folder."""
    if "\\" in name or "\0" in name:
        raise XdmError(f"unsafe entry name {name!r}: backslash or NUL")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise XdmError(f"unsafe entry name {name!r}: absolute path")
    if ".." in name.split("/"):
        raise XdmError(f"unsafe entry name {name!r}: path traversal")
    return name


def metadata_files(archive: SafeZip) -> list[str]:
    """Every ``[<top>/]IHE_XDM/<SUBSET>/METADATA.XML`` member, in name order."""
    found = []
    for name in archive.names():
        parts = name.upper().split("/")
        if parts[-1] == "METADATA.XML" and len(parts) in (3, 4) and parts[-3] == "IHE_XDM":
            found.append(name)
    if not found:
        raise XdmError("no IHE_XDM/<SUBSET>/METADATA.XML in the archive: not an XDM archive")
    return sorted(found)


def parse_metadata(data: bytes) -> Any:
    """Parse METADATA.XML without entities, DTD or network; return the root element."""
    prolog = data[:65536]
    if _DOCTYPE.search(prolog) and _ENTITY_DECL.search(prolog):
        raise XdmError("METADATA.XML declares entities in a DOCTYPE: refused (XXE)")
    try:
        return _parse(data, recover=False)
    except _ParseFailed as failed:
        # The parser's own log: the exception's log can carry errors of earlier parses made in
        # the same thread (lxml keeps a thread-wide log), which would refuse a valid sample.
        kinds = [entry.type_name for entry in failed.parser.error_log]
        if not kinds or any(kind != _UNDECLARED_PREFIX for kind in kinds):
            raise XdmError(f"METADATA.XML is not well-formed XML: {failed.error}") from None
    try:  # only undeclared namespace prefixes are left (the ANS sample)
        return _parse(data, recover=True)
    except _ParseFailed as failed:
        raise XdmError(f"METADATA.XML is not well-formed XML: {failed.error}") from None


class _ParseFailed(Exception):
    def __init__(self, parser: Any, error: etree.XMLSyntaxError) -> None:
        super().__init__(str(error))
        self.parser = parser
        self.error = error


def _parse(data: bytes, *, recover: bool) -> Any:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        recover=recover,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _ParseFailed(parser, exc) from None
    if root is None:
        raise XdmError("METADATA.XML is empty")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise XdmError("METADATA.XML declares entities in a DOCTYPE: refused (XXE)")
    return root


def _local(element: Any) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child) == name]


def _slot(entry: Any, name: str) -> list[str]:
    for slot in _children(entry, "Slot"):
        if slot.get("name") == name:
            return [
                (value.text or "").strip()
                for value_list in _children(slot, "ValueList")
                for value in _children(value_list, "Value")
            ]
    return []


def _external_id(entry: Any, scheme: str) -> str:
    for ident in _children(entry, "ExternalIdentifier"):
        if ident.get("identificationScheme") == scheme:
            return (ident.get("value") or "").strip()
    return ""


def _classification(entry: Any, scheme: str) -> str:
    for item in _children(entry, "Classification"):
        if item.get("classificationScheme") == scheme:
            return (item.get("nodeRepresentation") or "").strip()
    return ""


def _document(entry: Any) -> XdmDocument:
    size, sha1 = _slot(entry, "size"), _slot(entry, "hash")
    uri = _slot(entry, "URI")
    return XdmDocument(
        entry_id=entry.get("id") or "",
        mime_type=(entry.get("mimeType") or "").strip().lower(),
        unique_id=_external_id(entry, _UNIQUE_ID_SCHEME),
        uri=uri[0] if uri else "",
        patient_id=_external_id(entry, _PATIENT_ID_SCHEME),
        type_code=_classification(entry, _TYPE_CODE_SCHEME),
        size=int(size[0]) if size and size[0].isdigit() else None,
        sha1=sha1[0].lower() if sha1 and sha1[0] else None,
    )


def documents(root: Any) -> list[XdmDocument]:
    """Every ExtrinsicObject (DocumentEntry) of the submission request."""
    return [_document(e) for e in root.iter() if _local(e) == "ExtrinsicObject"]


def associations(root: Any) -> list[tuple[str, str, str]]:
    """(type, source, target) of every Association."""
    return [
        (e.get("associationType") or "", e.get("sourceObject") or "", e.get("targetObject") or "")
        for e in root.iter()
        if _local(e) == "Association"
    ]


def cda_for(kos: XdmDocument, docs: list[XdmDocument], links: list[tuple[str, str, str]]) -> str:
    """The uniqueId of the CDA report submitted with this KOS ("" when there is none).

    First a direct association between the two entries (any type but HasMember), else the one
    imaging report (typeCode 18748-4) of the same submission set (DRIM-M puts the CDA and its
    KOS in one submission set).
    """
    reports = {d.entry_id: d for d in docs if d.type_code == IMAGING_REPORT_LOINC}
    for kind, source, target in links:
        if kind == _HAS_MEMBER:
            continue
        other = target if source == kos.entry_id else source if target == kos.entry_id else None
        if other is not None and other in reports:
            return reports[other].unique_id
    return next(iter(reports.values())).unique_id if len(reports) == 1 else ""


def resolve_uri(archive: SafeZip, metadata_name: str, uri: str) -> str:
    """The member a DocumentEntry URI names: relative to its subset folder, else to IHE_XDM."""
    if not uri:
        raise XdmError("DocumentEntry has no URI slot")
    _safe_name(uri)
    subset = posixpath.dirname(metadata_name)
    for base in (subset, posixpath.dirname(subset)):
        candidate = posixpath.normpath(posixpath.join(base, uri))
        if (found := archive.find(candidate)) is not None:
            return found
    raise XdmError(f"document {uri!r} named in {metadata_name} is not in the archive")


def read_kos_documents(path: Path, limits: XdmLimits | None = None) -> list[XdmKos]:
    """Every application/dicom document of every submission set in the archive."""
    found: list[XdmKos] = []
    with SafeZip(path, limits or XdmLimits()) as archive:
        for metadata_name in metadata_files(archive):
            root = parse_metadata(archive.read(metadata_name, archive.limits.max_metadata_bytes))
            docs = documents(root)
            links = associations(root)
            for doc in docs:
                if doc.mime_type != DICOM_MIME:
                    continue
                member = resolve_uri(archive, metadata_name, doc.uri)
                data = archive.read(member)
                found.append(
                    XdmKos(member, data, doc, cda_for(doc, docs, links), _integrity(doc, data))
                )
    if not found:
        raise XdmError("the archive holds no application/dicom document (no KOS)")
    return found


def _integrity(doc: XdmDocument, data: bytes) -> tuple[str, ...]:
    """Size and SHA-1 declared in the metadata, compared with the member's bytes."""
    problems = []
    if doc.size is not None and doc.size != len(data):
        problems.append(f"size is {len(data)} bytes, the metadata says {doc.size}")
    if doc.sha1 is not None and doc.sha1 != hashlib.sha1(data).hexdigest():
        problems.append("SHA-1 differs from the metadata hash")
    return tuple(problems)
