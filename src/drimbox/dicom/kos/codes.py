"""Codes and identifiers the DRIM-M KOS uses (PS3.16 CID 7010, TID 2010; ANS INS OIDs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

KOS_SOP_CLASS_UID = "1.2.840.10008.5.1.4.1.1.88.59"
"""Key Object Selection Document Storage."""


@dataclass(frozen=True, slots=True)
class Code:
    """A coded concept (Code Sequence Macro, PS3.3 Table 8.8-1)."""

    value: str
    scheme: str
    meaning: str


MANIFEST = Code("113030", "DCM", "Manifest")
"""CID 7010 title of the DRIM-M / XDS-I.b manifest KOS."""
OF_INTEREST = Code("113000", "DCM", "Of Interest")
"""CID 7010 title of a key-image note (KIN)."""
KEY_OBJECT_DESCRIPTION = Code("113012", "DCM", "Key Object Description")
"""Concept name of the TID 2010 text item."""

DRIM_M_TITLES = frozenset({MANIFEST.value, OF_INTEREST.value})

TID_2010 = ("DCMR", "2010")
"""Mapping resource and identifier of the Key Object Selection template."""

INS_ISSUER_NIR = "ASIP-SANTE-INS-NIR"
"""IssuerOfPatientID the ANS KOS carry next to the INS (test and production alike)."""
INS_OIDS = frozenset(
    {
        "1.2.250.1.213.1.4.8",  # INS-NIR
        "1.2.250.1.213.1.4.9",  # INS-NIA
        "1.2.250.1.213.1.4.10",  # INS-NIR, test identities (the ANS data sets)
        "1.2.250.1.213.1.4.11",  # INS-NIA, test identities
    }
)
"""Assigning-authority OIDs of the INS matricule; an identifier under one of them is an INS."""

ValueType = Literal["IMAGE", "WAVEFORM", "COMPOSITE"]

_WAVEFORM_PREFIX = "1.2.840.10008.5.1.4.1.1.9."
_NON_IMAGE_PREFIXES = (
    "1.2.840.10008.5.1.4.1.1.88.",  # structured reports and KOS (e.g. a KIN in a manifest)
    "1.2.840.10008.5.1.4.1.1.104.",  # encapsulated PDF, CDA, STL...
    "1.2.840.10008.5.1.4.1.1.11.",  # presentation states
    "1.2.840.10008.5.1.4.1.1.481.",  # RT objects (RT Image, .481.1, is handled below)
)
_NON_IMAGE_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.66",  # raw data
        "1.2.840.10008.5.1.4.1.1.66.1",  # spatial registration
        "1.2.840.10008.5.1.4.1.1.66.2",  # spatial fiducials
        "1.2.840.10008.5.1.4.1.1.66.3",  # deformable spatial registration
    }
)
_RT_IMAGE = "1.2.840.10008.5.1.4.1.1.481.1"


def value_type_for(sop_class_uid: str) -> ValueType:
    """TID 2010 value type of the content item that references an instance of this class."""
    if sop_class_uid.startswith(_WAVEFORM_PREFIX):
        return "WAVEFORM"
    if sop_class_uid == _RT_IMAGE:
        return "IMAGE"
    if sop_class_uid in _NON_IMAGE_CLASSES or sop_class_uid.startswith(_NON_IMAGE_PREFIXES):
        return "COMPOSITE"
    return "IMAGE"
