"""New versions of a KOS: replacement content, or instances removed (IOCM rejection).

A KOS is never edited in place: a new SOP Instance is made in the same study and series, with
the next InstanceNumber and a PredecessorDocumentsSequence pointing at the previous version
(PS3.3 C.17.2.3, a standard attribute added to the KOS IOD as a Standard Extended SOP Class;
the DMP-level link is the XDS RPLC association made by the publisher). If nothing is left to
reference, `KosNothingLeft` tells the caller to withdraw the KOS instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from pydicom.dataset import Dataset

from drimbox.dicom.kos.build import build_document, series_line
from drimbox.dicom.kos.codes import INS_ISSUER_NIR, MANIFEST, OF_INTEREST
from drimbox.dicom.kos.errors import KosError, KosNothingLeft
from drimbox.dicom.kos.model import (
    KosAuthoring,
    KosIdentity,
    KosPatient,
    KosRequest,
    KosSeries,
)
from drimbox.dicom.kos.parse import parse_kos
from drimbox.dicom.kos.parsed import ParsedKos

_STANDARD_TITLES = {MANIFEST.value: MANIFEST, OF_INTEREST.value: OF_INTEREST}
"""An imported KOS may spell the meaning otherwise (ANS: "MANIFEST"); ours is CID 7010's."""
_SERIES_LINE = re.compile(r"S(?:é|e|\ufffd)rie-([0-9]+(?:\.[0-9]+)*)")


def supersede(
    previous: Dataset | bytes,
    authoring: KosAuthoring,
    *,
    series: Sequence[KosSeries] | None = None,
    patient: KosPatient | None = None,
    request: KosRequest | None = None,
    description: str | None = None,
    sop_instance_uid: str | None = None,
    link_predecessor: bool = True,
) -> Dataset:
    """A new version of `previous` with the given content (what is not given is kept).

    The new KOS keeps the study, series, title and identity of the previous one, unless a
    new `patient` or `request` is given (e.g. after an identity correction).
    `link_predecessor=False` leaves out PredecessorDocumentsSequence, for a receiver that
    refuses attributes outside the KOS IOD; the archive and the XDS RPLC keep the link then.
    """
    return _new_version(
        parse_kos(previous),
        authoring,
        series=series,
        patient=patient,
        request=request,
        description=description,
        sop_instance_uid=sop_instance_uid,
        link_predecessor=link_predecessor,
    )


def remove_instances(
    previous: Dataset | bytes,
    rejected: Iterable[str],
    authoring: KosAuthoring,
    *,
    sop_instance_uid: str | None = None,
    link_predecessor: bool = True,
) -> Dataset | None:
    """A new version without the `rejected` SOP instances (IOCM); series left empty go away.

    Returns None when the KOS references none of them (nothing to republish); raises
    `KosNothingLeft` when every instance is rejected.
    """
    old = parse_kos(previous)
    gone = set(rejected)
    if not any(i.sop_instance_uid in gone for s in old.series for i in s.instances):
        return None
    kept: list[KosSeries] = []
    for item in _series_of(old):
        instances = tuple(i for i in item.instances if i.sop_instance_uid not in gone)
        if instances:
            kept.append(replace(item, instances=instances))
    return _new_version(
        old,
        authoring,
        series=kept,
        sop_instance_uid=sop_instance_uid,
        link_predecessor=link_predecessor,
    )


def _new_version(
    old: ParsedKos,
    authoring: KosAuthoring,
    *,
    series: Sequence[KosSeries] | None,
    patient: KosPatient | None = None,
    request: KosRequest | None = None,
    description: str | None = None,
    sop_instance_uid: str | None = None,
    link_predecessor: bool = True,
) -> Dataset:
    new_series = list(series) if series is not None else _series_of(old)
    if not new_series:
        raise KosNothingLeft(old.sop_instance_uid)
    new_request = request or _request_of(old)
    if new_request.study_instance_uid != old.study_instance_uid:
        raise KosError(
            f"a new version must stay in study {old.study_instance_uid}, "
            f"not {new_request.study_instance_uid}"
        )
    if description is None:
        description = _prune_description(old.description, new_series)
    identity = KosIdentity(
        sop_instance_uid=sop_instance_uid,
        series_instance_uid=old.series_instance_uid,
        series_number=old.series_number if old.series_number is not None else 59,
        instance_number=(old.instance_number or 1) + 1,
        predecessor=old.reference if link_predecessor else None,
    )
    return build_document(
        _STANDARD_TITLES.get(old.title.value, old.title),
        patient or _patient_of(old),
        new_request,
        new_series,
        authoring,
        identity,
        description,
    )


def _prune_description(text: str | None, series: Sequence[KosSeries]) -> str | None:
    """Keep the previous text, minus the lines of series no longer referenced, plus lines
    (in the default layout) for series it did not mention."""
    if text is None:
        return None
    keep = {s.series_instance_uid for s in series}
    mentioned: set[str] = set()
    kept: list[str] = []
    for line in text.splitlines(keepends=True):
        match = _SERIES_LINE.search(line)
        if match is not None:
            if match.group(1) not in keep:
                continue
            mentioned.add(match.group(1))
        kept.append(line)
    added = [s for s in series if s.series_instance_uid not in mentioned]
    if added:
        if kept and not kept[-1].endswith(("\n", "\r")):
            kept.append("\r\n")
        kept.extend(series_line(s) + "\r\n" for s in added)
    return "".join(kept)


def _series_of(old: ParsedKos) -> list[KosSeries]:
    result = []
    for item in old.series:
        if item.retrieve_url is None:
            raise KosError(f"series {item.series_instance_uid} has no RetrieveURL")
        result.append(
            KosSeries(
                series_instance_uid=item.series_instance_uid,
                retrieve_url=item.retrieve_url,
                instances=item.instances,
                retrieve_location_uid=item.retrieve_location_uid,
            )
        )
    return result


def _request_of(old: ParsedKos) -> KosRequest:
    if old.accession_number is None or old.accession_issuer_oid is None:
        raise KosError("the previous KOS has no accession number and issuer")
    placer_ok = old.placer_order_number is not None and old.placer_order_issuer_oid is not None
    return KosRequest(
        study_instance_uid=old.study_instance_uid,
        accession_number=old.accession_number,
        accession_issuer_oid=old.accession_issuer_oid,
        placer_order_number=old.placer_order_number if placer_ok else None,
        placer_order_issuer_oid=old.placer_order_issuer_oid if placer_ok else None,
        requested_procedure_description=old.requested_procedure_description,
        study_date=old.study_date,
        study_time=old.study_time,
        study_description=old.study_description,
    )


def _patient_of(old: ParsedKos) -> KosPatient:
    who = old.patient
    if who.ins is None or who.ins_oid is None or who.birth_date is None or who.sex is None:
        raise KosError("the previous KOS lacks INS traits (INS, birth date or sex)")
    ipp = who.ipp
    with_ipp = ipp is not None and ipp.issuer_oid is not None
    return KosPatient(
        ins=who.ins,
        ins_oid=who.ins_oid,
        birth_name=who.family_name,
        given_names=who.birth_given_names or (who.given_name,),
        sex=who.sex,
        birth_date=who.birth_date,
        birth_place_code=who.birth_place_code,
        used_name=who.used_name,
        used_given_name=who.used_given_name,
        ipp=ipp.value if with_ipp and ipp is not None else None,
        ipp_issuer_oid=ipp.issuer_oid if with_ipp and ipp is not None else None,
        ins_issuer=who.issuer_of_patient_id or INS_ISSUER_NIR,
    )
