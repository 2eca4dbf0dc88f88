"""CDA R2 imaging reports (CI-SIS IMG-CR-IMG, DRIM-M): safe parsing and the facts the DRIMbox uses.

``parse_imaging_report(bytes)`` returns an :class:`ImagingReport` or raises :class:`CdaError`
naming the XPath of the missing or invalid element.
"""

from drimbox.cda.errors import CdaError
from drimbox.cda.model import (
    Author,
    CodedValue,
    Identifier,
    ImagingReport,
    InsIdentity,
    Order,
    Organization,
    Patient,
    RelatedDocument,
)
from drimbox.cda.parser import parse_imaging_report

__all__ = [
    "Author",
    "CdaError",
    "CodedValue",
    "Identifier",
    "ImagingReport",
    "InsIdentity",
    "Order",
    "Organization",
    "Patient",
    "RelatedDocument",
    "parse_imaging_report",
]
