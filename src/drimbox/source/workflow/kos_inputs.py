"""Map the report (CDA), the PACS answers and the configuration onto the KOS builder's inputs.

See docs/kos.md for where each KOS attribute comes from. Any value the builder refuses
(:class:`~drimbox.dicom.kos.KosInputError`) rejects the message with the builder's reason: the
report must be corrected and sent again, retrying would not help.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from drimbox.cda import Identifier, ImagingReport
from drimbox.config import SourceSettings
from drimbox.dicom.dimse import SeriesTree
from drimbox.dicom.kos import (
    KosAuthoring,
    KosInputError,
    KosInstance,
    KosPatient,
    KosRequest,
    KosSeries,
    is_valid_uid,
    series_retrieve_url,
)
from drimbox.hl7.report import DmpFlags
from drimbox.source.archive import PatientIdentity
from drimbox.source.workflow import errors as e
from drimbox.source.workflow.lookup import LocatedStudy

_SEX = {"M": "M", "F": "F", "U": "O", "O": "O"}


@dataclass(frozen=True, slots=True)
class KosInputs:
    """Everything ``build_kos`` needs for one study of one report."""

    patient: KosPatient
    request: KosRequest
    series: tuple[KosSeries, ...]
    authoring: KosAuthoring


@contextmanager
def _as_reject() -> Iterator[None]:
    try:
        yield
    except KosInputError as exc:
        raise e.Reject(e.INVALID_REPORT, f"cannot build the KOS: {exc}") from exc


def _date(value: str | None) -> dt.date | None:
    text = (value or "").strip()[:8]
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date() if len(text) == 8 else None
    except ValueError:
        return None


def _time(value: str | None) -> dt.time | None:
    text = (value or "").strip().split(".")[0]
    for layout in ("%H%M%S", "%H%M", "%H"):
        try:
            return dt.datetime.strptime(text, layout).time()
        except ValueError:
            continue
    return None


def kos_patient(report: ImagingReport) -> KosPatient:
    """The INS identity and IPP of the report's recordTarget."""
    patient, traits = report.patient, report.patient.identity
    if patient.ins is None or not patient.ins.extension:
        raise e.Reject(e.INVALID_REPORT, "the report has no INS: a DRIM-M KOS needs the INS")
    birth_date = _date(traits.birth_date)
    if birth_date is None:
        raise e.Reject(e.INVALID_REPORT, f"invalid birth date {traits.birth_date!r}")
    given = tuple((traits.given_names or traits.first_given_name or "").split())
    ipp = patient.ipp
    with _as_reject():
        return KosPatient(
            ins=patient.ins.extension,
            ins_oid=patient.ins.root,
            birth_name=traits.birth_name or "",
            given_names=given,
            sex=_SEX.get((traits.sex or "").upper(), ""),
            birth_date=birth_date,
            birth_place_code=traits.birth_place_code,
            used_name=traits.used_name,
            used_given_name=traits.used_given_name,
            ipp=ipp.extension if ipp is not None and ipp.extension else None,
            ipp_issuer_oid=ipp.root if ipp is not None and ipp.extension else None,
        )


def _placer(report: ImagingReport, accession: Identifier) -> Identifier | None:
    for order in report.orders:
        if order.accession == accession and order.placer_order is not None:
            placer = order.placer_order
            if placer.extension and is_valid_uid(placer.root):
                return placer
    return None


def kos_request(report: ImagingReport, located: LocatedStudy, accession: Identifier) -> KosRequest:
    study = located.study
    placer = _placer(report, accession)
    act = report.service_event_code.display_name if report.service_event_code else None
    with _as_reject():
        return KosRequest(
            study_instance_uid=study.study_instance_uid,
            accession_number=accession.extension or "",
            accession_issuer_oid=accession.root,
            placer_order_number=placer.extension if placer else None,
            placer_order_issuer_oid=placer.root if placer else None,
            requested_procedure_description=act or report.title,
            study_date=_date(study.study_date),
            study_time=_time(study.study_time),
            study_description=study.study_description or report.title,
            study_id=study.study_id or None,
        )


def _series(tree: SeriesTree, base_url: str, study_uid: str) -> KosSeries:
    uid = tree.series.series_instance_uid
    return KosSeries(
        series_instance_uid=uid,
        retrieve_url=series_retrieve_url(base_url, study_uid, uid),
        instances=tuple(KosInstance(i.sop_class_uid, i.sop_instance_uid) for i in tree.instances),
        modality=tree.series.modality or None,
        description=tree.series.series_description or None,
    )


def kos_series(located: LocatedStudy) -> tuple[KosSeries, ...]:
    """Every series with instances, RetrieveURL under the PACS location's public base URL."""
    base_url = located.node.public_base_url
    if not base_url:
        raise e.Reject(
            e.CONFIG,
            f"PACS {located.node.name} has no public_base_url: the KOS RetrieveURL cannot be "
            "written (set pacs.public_base_url, then requeue the message)",
        )
    study_uid = located.study.study_instance_uid
    with _as_reject():
        return tuple(_series(t, base_url, study_uid) for t in located.tree.series if t.instances)


def kos_authoring(report: ImagingReport, source: SourceSettings, now: dt.datetime) -> KosAuthoring:
    """Institution from the report's author organisation; the rest from the configuration."""
    organization = report.author.organization
    name = (organization.name if organization else None) or source.institution_fallback
    if not name:
        raise e.Reject(
            e.INVALID_REPORT,
            "the report names no author organisation and source.institution_fallback is unset",
        )
    org_id = organization.id.extension if organization and organization.id else None
    with _as_reject():
        return KosAuthoring(
            institution_name=name,
            institution_id=org_id,
            content_datetime=now,
            retrieve_location_uid=source.retrieve_location_uid,
            manufacturer=source.manufacturer,
            org_uid_root=source.uid_root,
        )


def kos_inputs(
    report: ImagingReport,
    located: LocatedStudy,
    accession: Identifier,
    source: SourceSettings,
    now: dt.datetime,
) -> KosInputs:
    return KosInputs(
        patient=kos_patient(report),
        request=kos_request(report, located, accession),
        series=kos_series(located),
        authoring=kos_authoring(report, source, now),
    )


def patient_identity(patient: KosPatient) -> PatientIdentity:
    """The archive's copy of the identity the KOS carries (checked again at viewing time)."""
    return PatientIdentity(
        ins=patient.ins,
        ins_oid=patient.ins_oid,
        ipp=patient.ipp or "",
        ipp_issuer=patient.ipp_issuer_oid or "",
        birth_name=patient.birth_name,
        given_names=" ".join(patient.given_names),
        sex=patient.sex,
        birth_date=patient.birth_date,
        birth_place=patient.birth_place_code or "",
    )


def flags_json(flags: DmpFlags) -> dict[str, object]:
    """The OBX 2..n DMP flags as stored with the KOS for the publication step."""
    return asdict(flags)
