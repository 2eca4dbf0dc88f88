"""The RAD-107 access checks, in the order the DRIM-M outcomes are defined (DB.VI-CO.27).

1. bearer token (403 E204, 502 when introspection cannot answer) — :func:`check_token`;
2. ``KOS-SOPInstanceUID`` header (400), KOS known, of this study, referencing the series or
   instance (404 E205), still published (410 E206) — :func:`check_kos`;
3. patient identity between the PACS and the KOS archive (406 E209) — :func:`check_identity`
   (the PACS reachability checks, 502/504, happen while querying it, see ``retrieval``);
4. ``Accept`` negotiation (406) — done per instance by the retrieval.

Every function either returns what the next step needs or raises the typed refusal.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from drimbox.auth.errors import TokenMissing
from drimbox.auth.introspection import TokenInfo, TokenIntrospector
from drimbox.source.archive import KosArchive, KosRecord, PatientIdentity

from .errors import (
    BadRequest,
    InstanceNotInKos,
    KosHeaderMissing,
    KosOtherStudy,
    KosUnknown,
    KosWithdrawn,
    PatientMismatch,
    SeriesNotInKos,
)

log = logging.getLogger(__name__)

KOS_HEADER = "KOS-SOPInstanceUID"
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*\Z")


def check_uid(value: str, what: str) -> str:
    """A DICOM UID (PS3.5 §9.1): digits and dots, at most 64 characters; else 400."""
    if len(value) > 64 or not _UID.match(value):
        raise BadRequest(f"{what} is not a valid DICOM UID: {value[:80]!r}")
    return value


async def check_token(introspector: TokenIntrospector, authorization: str | None) -> TokenInfo:
    """Who is calling: AccessDenied (403 E204) or IntrospectionUnavailable (502) otherwise."""
    if authorization is None:
        raise TokenMissing("no access token: the Authorization header is missing")
    return await introspector.check_authorization(authorization)


def kos_uid_from_header(value: str | None) -> str:
    """The KOS SOP Instance UID the request names (400 when absent or not a UID)."""
    if value is None or not value.strip():
        raise KosHeaderMissing(f"the {KOS_HEADER} header is required (RAD-107, DRIM-M)")
    uid = value.strip()
    if len(uid) > 64 or not _UID.match(uid):
        raise KosHeaderMissing(f"the {KOS_HEADER} header is not a DICOM UID: {uid[:80]!r}")
    return uid


async def check_kos(
    archive: KosArchive,
    kos_uid: str,
    study_uid: str,
    series_uid: str,
    sop_uid: str | None = None,
) -> KosRecord:
    """The KOS record if it grants access to this series (or instance); 404 / 410 otherwise.

    "Unknown" and "other study" come first (404): a replaced KOS of another study is still a
    KOS that does not grant this study. A KOS that does grant it but is withdrawn answers 410.
    """
    kos = await archive.get_by_sop_uid(kos_uid)
    if kos is None:
        raise KosUnknown(f"no KOS {kos_uid} in this Source's archive")
    if kos.study_instance_uid != study_uid:
        raise KosOtherStudy(f"KOS {kos_uid} is not the manifest of study {study_uid}")
    if not await archive.references_series(kos.id, series_uid):
        raise SeriesNotInKos(f"KOS {kos_uid} does not reference series {series_uid}")
    if sop_uid is not None and not await archive.references_instance(kos.id, series_uid, sop_uid):
        raise InstanceNotInKos(
            f"KOS {kos_uid} does not reference instance {sop_uid} of series {series_uid}"
        )
    if kos.withdrawn:
        raise KosWithdrawn(f"KOS {kos_uid} is {kos.status}: its images are no longer shared")
    return kos


async def check_study_kos(archive: KosArchive, kos_uid: str, study_uid: str) -> KosRecord:
    """Study-level retrieve: the KOS exists and is this study's (404 E205), still published
    (410 E206). It then grants every series it references."""
    kos = await archive.get_by_sop_uid(kos_uid)
    if kos is None:
        raise KosUnknown(f"no KOS {kos_uid} in this Source's archive")
    if kos.study_instance_uid != study_uid:
        raise KosOtherStudy(f"KOS {kos_uid} is not the manifest of study {study_uid}")
    if kos.withdrawn:
        raise KosWithdrawn(f"KOS {kos_uid} is {kos.status}: its images are no longer shared")
    return kos


def identity_matches(kos_patient: PatientIdentity, pacs_ids: Iterable[str]) -> bool:
    """INS, else IPP (DB.VI-SO.33): does the PACS know the patient by the KOS's identifier?

    ``pacs_ids`` are the PACS's Patient ID and Other Patient IDs. The INS is compared when the
    KOS has one and the PACS carries it; otherwise the IPP. A KOS with neither cannot be checked.
    """
    ids = {i.strip() for i in pacs_ids if i and i.strip()}
    if kos_patient.ins and kos_patient.ins in ids:
        return True
    if kos_patient.ipp:
        return kos_patient.ipp in ids
    return not kos_patient.ins


def check_identity(kos: KosRecord, pacs_ids: Iterable[str]) -> None:
    """406 E209 when the PACS's patient is not the KOS's; logged for the administrator."""
    ids = tuple(pacs_ids)
    if identity_matches(kos.patient, ids):
        return
    # DB.SO.47 / DB.VI-SO.33: an administrator trace, without any identity data in the message
    # sent to the caller.
    log.error(
        "E209 patient identity mismatch: KOS %s (study %s) has INS %r / IPP %r, PACS %s has %r",
        kos.sop_instance_uid,
        kos.study_instance_uid,
        kos.patient.ins,
        kos.patient.ipp,
        kos.pacs_name,
        ids,
    )
    raise PatientMismatch(
        "the patient identifier of the images in the PACS differs from the one in the Source's "
        "KOS archive; the producing site has been notified"
    )
