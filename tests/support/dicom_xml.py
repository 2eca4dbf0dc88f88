"""Test helper: turn an XML dump of a DICOM dataset back into a pydicom Dataset.

The ANS samples are dcmtk ``dcm2xml`` dumps (``<file-format><data-set><element tag vr>``,
``<sequence><item>``); the PS3.19 Native DICOM Model (``<DicomAttribute tag vr>`` with
``<Value>``, ``<Item>``, ``<PersonName>``) is read too. pydicom has no reader for either, and
we only need one to feed the ANS KOS content to our parser in tests, so this stays in tests/.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from lxml import etree
from pydicom.dataset import Dataset
from pydicom.tag import Tag

_INT_VRS = {"US", "UL", "SS", "SL", "UV", "SV", "AT"}
_FLOAT_VRS = {"FL", "FD"}
_SKIPPED_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN"}


def load_dicom_xml(path: Path) -> Dataset:
    """Read an XML dump file; bytes are taken as UTF-8 whatever the declaration says.

    (The copied ANS files declare ISO-8859-1 but are stored as UTF-8.)
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if text.startswith("<?xml"):
        text = text[text.index("?>") + 2 :]
    return dicom_xml_to_dataset(text)


def dicom_xml_to_dataset(xml_text: str) -> Dataset:
    """Convert the XML text of a dcm2xml dump or a Native DICOM Model document."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    root = etree.fromstring(xml_text, parser)
    if root.tag == "NativeDicomModel":
        return _native(root)
    data_set = root if root.tag == "data-set" else root.find("data-set")
    if data_set is None:
        raise ValueError(f"no <data-set> in a <{root.tag}> document")
    with warnings.catch_warnings():
        # Values are kept as dumped (e.g. a RetrieveURL with leading white space in the ANS
        # cross-validator sample); pydicom's VR check would only warn about them.
        warnings.filterwarnings("ignore", message="Invalid value for VR", category=UserWarning)
        return _dcmtk(data_set)


# --- dcmtk dcm2xml layout ------------------------------------------------------------------


def _dcmtk(node: Any) -> Dataset:
    ds = Dataset()
    for child in node:
        if not isinstance(child.tag, str):
            continue  # comments
        tag = Tag(*(int(part, 16) for part in child.get("tag").split(",")))
        vr = child.get("vr")
        if child.tag == "sequence":
            ds.add_new(tag, "SQ", [_dcmtk(item) for item in child if item.tag == "item"])
        elif child.tag == "element" and vr not in _SKIPPED_VRS and child.get("binary") is None:
            ds.add_new(tag, vr, _values(vr, child.text or ""))
    return ds


def _values(vr: str, text: str) -> Any:
    if text == "":
        return None
    parts = text.split("\\") if vr not in ("LT", "ST", "UT", "UR") else [text]
    converted: list[Any]
    if vr in _INT_VRS:
        converted = [int(p) for p in parts]
    elif vr in _FLOAT_VRS:
        converted = [float(p) for p in parts]
    else:
        converted = parts
    return converted[0] if len(converted) == 1 else converted


# --- PS3.19 Native DICOM Model -------------------------------------------------------------


def _native(node: Any) -> Dataset:
    ds = Dataset()
    for attribute in node.findall("DicomAttribute"):
        tag = Tag(int(attribute.get("tag"), 16))
        vr = attribute.get("vr")
        if vr == "SQ":
            items = sorted(attribute.findall("Item"), key=lambda i: int(i.get("number", "0")))
            ds.add_new(tag, "SQ", [_native(item) for item in items])
        elif vr == "PN":
            names = sorted(attribute.findall("PersonName"), key=lambda p: int(p.get("number", "0")))
            values = [_native_name(name) for name in names]
            ds.add_new(tag, vr, values[0] if len(values) == 1 else values or None)
        elif vr not in _SKIPPED_VRS:
            found = sorted(attribute.findall("Value"), key=lambda v: int(v.get("number", "0")))
            texts = [v.text or "" for v in found]
            ds.add_new(tag, vr, _values(vr, "\\".join(texts)) if texts else None)
    return ds


def _native_name(node: Any) -> str:
    groups = []
    for group in ("Alphabetic", "Ideographic", "Phonetic"):
        element = node.find(group)
        if element is None:
            groups.append("")
            continue
        parts = [
            (element.findtext(part) or "")
            for part in ("FamilyName", "GivenName", "MiddleName", "NamePrefix", "NameSuffix")
        ]
        groups.append("^".join(parts).rstrip("^"))
    return "=".join(groups).rstrip("=")
