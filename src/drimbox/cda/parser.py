"""Safe CDA parsing: no entity expansion, no DTD, no network; every mandatory element checked.

A CDA arrives from outside (HL7 OBX-5), so the parser must not be a way to read local files
(XXE) or to make network calls: any DOCTYPE declaring entities is refused outright. ``huge_tree``
is needed because the report embeds a PDF of several hundred kilobytes as base64 text.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from drimbox.cda.errors import CdaError
from drimbox.cda.model import (
    INS_OIDS,
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

NS = {"h": "urn:hl7-org:v3", "ps3-20": "urn:dicom-org:ps3-20"}
_DICOM_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_MOJIBAKE = re.compile(rb"\xc3\x83[\xc2\xc3]|\xc3\xa2\xc2\x80")

Element = Any  # lxml elements are untyped (no stubs)


def _xml_parser() -> Any:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,
        remove_blank_text=False,
    )


def parse_xml(data: bytes) -> Element:
    """Parse untrusted XML bytes; refuse entity declarations; return the root element."""
    prolog = data[:65536]  # a DOCTYPE and its internal subset precede the root element
    if _DOCTYPE.search(prolog) and _ENTITY_DECL.search(prolog):
        raise CdaError(
            "XML declares entities in a DOCTYPE; refused (external entities are not allowed)"
        )
    try:
        root = etree.fromstring(data, _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise CdaError(f"CDA is not well-formed XML: {exc}") from None
    info = root.getroottree().docinfo
    dtd = info.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise CdaError(
            "XML declares entities in a DOCTYPE; refused (external entities are not allowed)"
        )
    return root


def _attr(element: Element | None, name: str) -> str | None:
    if element is None:
        return None
    value = element.get(name)
    return value.strip() if value is not None and value.strip() else None


def _text(element: Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return " ".join(element.text.split()) or None


def _identifier(element: Element | None) -> Identifier | None:
    root = _attr(element, "root")
    if root is None or _attr(element, "nullFlavor") is not None:
        return None
    return Identifier(root, _attr(element, "extension"))


def _coded(element: Element | None) -> CodedValue | None:
    code = _attr(element, "code")
    if code is None:
        return None
    return CodedValue(code, _attr(element, "codeSystem"), _attr(element, "displayName"))


class _Reader:
    """XPath helpers bound to one document, raising CdaError with the absolute path."""

    def __init__(self, root: Element) -> None:
        self.root = root

    def all(self, path: str, context: Element | None = None) -> list[Element]:
        found: list[Element] = (self.root if context is None else context).xpath(
            path, namespaces=NS
        )
        return found

    def one(self, path: str, context: Element | None = None) -> Element | None:
        found = self.all(path, context)
        return found[0] if found else None

    def required(self, path: str, what: str, attribute: str | None = None) -> Element:
        element = self.one(path)
        if element is None or (attribute is not None and _attr(element, attribute) is None):
            shown = _display(path) + (f"/@{attribute}" if attribute else "")
            raise CdaError(f"mandatory {what} is missing", xpath=shown)
        return element


def _display(path: str) -> str:
    """XPath as shown to people: without the namespace prefix."""
    return "/ClinicalDocument/" + path.replace("h:", "")


def parse_imaging_report(data: bytes) -> ImagingReport:
    """Parse CDA bytes into an :class:`ImagingReport` (raises :class:`CdaError`)."""
    root = parse_xml(data)
    if root.tag != "{urn:hl7-org:v3}ClinicalDocument":
        raise CdaError(
            f"root element is {root.tag!r}, expected ClinicalDocument in urn:hl7-org:v3", xpath="/"
        )
    r = _Reader(root)
    warnings: list[str] = []
    if _MOJIBAKE.search(data):
        warnings.append("CDA text looks double-encoded as UTF-8 (mojibake such as 'mÃ©dicale')")

    document_id = _identifier(r.required("h:id", "document id", "root"))
    assert document_id is not None
    code = _coded(r.required("h:code", "document type code", "code"))
    assert code is not None
    effective = _attr(r.required("h:effectiveTime", "document creation time", "value"), "value")
    confidentiality = _coded(r.required("h:confidentialityCode", "confidentiality code", "code"))
    assert effective is not None and confidentiality is not None
    version = _attr(r.one("h:versionNumber"), "value")

    studies: list[str] = []
    for element in r.all("h:documentationOf/h:serviceEvent/h:id"):
        uid = _attr(element, "root")
        if uid is None:
            continue
        if len(uid) > 64 or not _DICOM_UID.fullmatch(uid):
            raise CdaError(
                f"study instance UID {uid!r} is not a valid DICOM UID",
                xpath=_display("documentationOf/serviceEvent/id/@root"),
            )
        studies.append(uid)
    if not studies:
        raise CdaError(
            "mandatory study instance UID is missing",
            xpath=_display("documentationOf/serviceEvent/id/@root"),
        )

    orders = tuple(
        Order(_identifier(r.one("h:id", o)), _identifier(r.one("ps3-20:accessionNumber", o)))
        for o in r.all("h:inFulfillmentOf/h:order")
    )
    if not any(o.accession for o in orders):
        warnings.append("no accession number (inFulfillmentOf/order/ps3-20:accessionNumber)")

    service = r.one("h:documentationOf/h:serviceEvent")
    service_code = r.one("h:code", service) if service is not None else None
    performer_org = r.one(
        "h:documentationOf/h:serviceEvent/h:performer/h:assignedEntity/h:representedOrganization"
    )
    author = _person(r, "h:author/h:assignedAuthor", "h:author/h:time", "author")
    assert author is not None
    practice = (
        _coded(r.one("h:standardIndustryClassCode", performer_org))
        if performer_org is not None
        else None
    )
    if practice is None and author.organization is not None:
        practice = author.organization.industry_class

    return ImagingReport(
        document_id=document_id,
        set_id=_identifier(r.one("h:setId")),
        version_number=int(version) if version and version.isdigit() else None,
        document_code=code,
        exam_codes=tuple(c for c in map(_coded, r.all("h:code/h:translation")) if c is not None),
        title=_text(r.one("h:title")),
        effective_time=effective,
        confidentiality=confidentiality,
        language=_attr(r.one("h:languageCode"), "code"),
        patient=_patient(r),
        author=author,
        legal_authenticator=_person(
            r, "h:legalAuthenticator/h:assignedEntity", "h:legalAuthenticator/h:time", None
        ),
        study_instance_uids=tuple(studies),
        orders=orders,
        service_event_code=_coded(service_code),
        service_event_translations=tuple(
            c
            for c in map(
                _coded, r.all("h:translation", service_code) if service_code is not None else []
            )
            if c
        ),
        service_start=_attr(
            r.one("h:documentationOf/h:serviceEvent/h:effectiveTime/h:low"), "value"
        ),
        service_stop=_attr(
            r.one("h:documentationOf/h:serviceEvent/h:effectiveTime/h:high"), "value"
        ),
        facility_type=_coded(
            r.one("h:componentOf/h:encompassingEncounter/h:location/h:healthCareFacility/h:code")
        ),
        practice_setting=practice,
        related_documents=_related(r),
        body_media_type=_attr(r.one("h:component/h:nonXMLBody/h:text"), "mediaType"),
        warnings=tuple(warnings),
    )


def _patient(r: _Reader) -> Patient:
    role = "h:recordTarget/h:patientRole"
    ids = [i for i in map(_identifier, r.all(f"{role}/h:id")) if i is not None]
    if not ids:
        raise CdaError("mandatory patient identifier is missing", xpath=_display(f"{role}/id"))
    ins = next((i for i in ids if i.root in INS_OIDS and i.extension), None)
    local = tuple(i for i in ids if i is not ins)
    patient = r.required(f"{role}/h:patient", "patient")
    name = r.one("h:name", patient)
    if name is None or not r.all("h:family", name):
        raise CdaError(
            "mandatory patient family name is missing",
            xpath=_display(f"{role}/patient/name/family"),
        )
    sex = _attr(
        r.required(f"{role}/h:patient/h:administrativeGenderCode", "patient sex", "code"), "code"
    )
    birth = _attr(
        r.required(f"{role}/h:patient/h:birthTime", "patient birth date", "value"), "value"
    )

    def part(tag: str, qualifier: str | None) -> str | None:
        test = f"[@qualifier='{qualifier}']" if qualifier else "[not(@qualifier)]"
        values = [t for t in (_text(e) for e in r.all(f"h:{tag}{test}", name)) if t]
        return " ".join(values) or None

    identity = InsIdentity(
        birth_name=part("family", "BR") or part("family", None),
        first_given_name=part("given", "BR"),
        given_names=part("given", None),
        sex=sex,
        birth_date=birth,
        birth_place_code=_text(r.one("h:birthplace/h:place/h:addr/h:county", patient)),
        used_name=part("family", "CL"),
        used_given_name=part("given", "CL"),
    )
    return Patient(ins=ins, local_ids=local, identity=identity)


def _organization(r: _Reader, element: Element | None) -> Organization | None:
    if element is None:
        return None
    return Organization(
        id=_identifier(r.one("h:id", element)),
        name=_text(r.one("h:name", element)),
        industry_class=_coded(r.one("h:standardIndustryClassCode", element)),
    )


def _person(r: _Reader, path: str, time_path: str, what: str | None) -> Author | None:
    """The professional at ``path``; mandatory (error) when ``what`` names it."""
    entity = r.one(path)
    identifier = _identifier(r.one("h:id", entity)) if entity is not None else None
    if identifier is None:
        if what is None:
            return None
        raise CdaError(
            f"mandatory {what} identifier is missing", xpath=_display(f"{path}/id/@root")
        )
    person_name = r.one("h:assignedPerson/h:name", entity)
    return Author(
        id=identifier,
        family=_text(r.one("h:family", person_name)) if person_name is not None else None,
        given=_text(r.one("h:given", person_name)) if person_name is not None else None,
        prefix=_text(r.one("h:prefix", person_name)) if person_name is not None else None,
        specialty=_coded(r.one("h:code", entity)),
        time=_attr(r.one(time_path), "value"),
        organization=_organization(r, r.one("h:representedOrganization", entity)),
    )


def _related(r: _Reader) -> tuple[RelatedDocument, ...]:
    out: list[RelatedDocument] = []
    for element in r.all("h:relatedDocument"):
        type_code = _attr(element, "typeCode")
        parent = _identifier(r.one("h:parentDocument/h:id", element))
        if type_code is None or parent is None:
            raise CdaError(
                "relatedDocument needs @typeCode and parentDocument/id/@root",
                xpath=_display("relatedDocument"),
            )
        out.append(RelatedDocument(type_code, parent))
    return tuple(out)
