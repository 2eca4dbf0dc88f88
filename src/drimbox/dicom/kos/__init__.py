"""The DRIM-M KOS: build (manifest and key-image note), parse and version it.

See docs/kos.md for the attribute-by-attribute description of what we produce.
"""

from drimbox.dicom.kos.build import build_document, build_kin, build_kos, kos_bytes
from drimbox.dicom.kos.codes import KOS_SOP_CLASS_UID, MANIFEST, OF_INTEREST, Code
from drimbox.dicom.kos.errors import KosError, KosInputError, KosNothingLeft
from drimbox.dicom.kos.files import KosFileResult, read_kos_files
from drimbox.dicom.kos.model import (
    KosAuthoring,
    KosIdentity,
    KosInstance,
    KosPatient,
    KosReference,
    KosRequest,
    KosSeries,
)
from drimbox.dicom.kos.parse import parse_kos
from drimbox.dicom.kos.parsed import ParsedKos, ParsedPatient, ParsedSeries
from drimbox.dicom.kos.retrieve_url import series_retrieve_url, split_series_url
from drimbox.dicom.kos.uids import UidFactory, is_valid_uid
from drimbox.dicom.kos.update import remove_instances, supersede

__all__ = [
    "KOS_SOP_CLASS_UID",
    "MANIFEST",
    "OF_INTEREST",
    "Code",
    "KosAuthoring",
    "KosError",
    "KosFileResult",
    "KosIdentity",
    "KosInputError",
    "KosInstance",
    "KosNothingLeft",
    "KosPatient",
    "KosReference",
    "KosRequest",
    "KosSeries",
    "ParsedKos",
    "ParsedPatient",
    "ParsedSeries",
    "UidFactory",
    "build_document",
    "build_kin",
    "build_kos",
    "is_valid_uid",
    "kos_bytes",
    "parse_kos",
    "read_kos_files",
    "remove_instances",
    "series_retrieve_url",
    "split_series_url",
    "supersede",
]
