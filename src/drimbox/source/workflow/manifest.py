"""Build one KOS for one study of a report and archive it (NEW and REPLACE share this).

Steps: find the study on the PACS, check accession and patient, map the inputs, build and
encode the KOS, store it with its references (and, for a replacement, supersede the previous
version in the same transaction).
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from drimbox.dicom.kos import KosIdentity, KosInputError, KosReference, build_kos, kos_bytes
from drimbox.hl7.report import ImagingReportMessage
from drimbox.source.archive import (
    InstanceRef,
    KosArchiveError,
    KosRecord,
    KosStatusError,
    NewKos,
    SeriesRef,
)
from drimbox.source.workflow import errors as e
from drimbox.source.workflow.context import WorkflowContext
from drimbox.source.workflow.kos_inputs import (
    KosInputs,
    flags_json,
    kos_inputs,
    patient_identity,
)
from drimbox.source.workflow.lookup import (
    LocatedStudy,
    check_patient,
    locate_study,
    matching_accession,
)


def document_key(message: ImagingReportMessage) -> str:
    """The CDA document id as stored with the KOS (``root`` or ``root^extension``)."""
    assert message.document is not None
    return str(message.document.document_id)


async def archived_for(ctx: WorkflowContext, doc_id: str, study_uid: str) -> KosRecord | None:
    """The latest KOS already archived for this document and study (a re-run, or a twin
    message of the same document), else None."""
    known = [
        k for k in await ctx.archive.find_by_cda_id(doc_id) if k.study_instance_uid == study_uid
    ]
    return known[-1] if known else None


def _identity(previous: KosRecord | None) -> KosIdentity:
    if previous is None:
        return KosIdentity()
    return KosIdentity(
        series_instance_uid=previous.series_instance_uid,
        instance_number=previous.version + 1,
        predecessor=KosReference(
            previous.study_instance_uid,
            previous.series_instance_uid,
            previous.sop_instance_uid,
        ),
    )


def _new_kos(
    message: ImagingReportMessage,
    inputs: KosInputs,
    located: LocatedStudy,
    dataset: Dataset,
    message_id: int,
) -> NewKos:
    report = message.document
    assert report is not None
    return NewKos(
        sop_instance_uid=str(dataset.SOPInstanceUID),
        series_instance_uid=str(dataset.SeriesInstanceUID),
        study_instance_uid=inputs.request.study_instance_uid,
        kos_bytes=kos_bytes(dataset),
        series=tuple(
            SeriesRef(
                s.series_instance_uid,
                s.retrieve_url,
                tuple(InstanceRef(i.sop_class_uid, i.sop_instance_uid) for i in s.instances),
                s.modality or "",
            )
            for s in inputs.series
        ),
        accession_number=inputs.request.accession_number,
        accession_issuer=inputs.request.accession_issuer_oid,
        placer_order=inputs.request.placer_order_number or "",
        placer_order_issuer=inputs.request.placer_order_issuer_oid or "",
        patient=patient_identity(inputs.patient),
        cda_document_id=document_key(message),
        cda_set_id=str(report.set_id) if report.set_id else "",
        institution_name=inputs.authoring.institution_name,
        pacs_name=located.node.name,
        pacs_index=located.node.index,
        dmp_flags=flags_json(message.flags),
        message_id=message_id,
    )


async def make_kos(
    ctx: WorkflowContext,
    message: ImagingReportMessage,
    study_uid: str,
    message_id: int,
    previous: KosRecord | None = None,
) -> KosRecord:
    """Look the study up, check it, build its KOS and archive it (replacing ``previous``)."""
    report = message.document
    assert report is not None
    located = await locate_study(ctx, study_uid)
    accession = matching_accession(located, report.accession_numbers)
    patient = report.patient
    check_patient(
        located,
        patient.ipp.extension if patient.ipp else None,
        patient.ins.extension if patient.ins else None,
    )
    inputs = kos_inputs(report, located, accession, ctx.settings.source, ctx.clock())
    try:
        dataset = build_kos(
            inputs.patient,
            inputs.request,
            inputs.series,
            inputs.authoring,
            identity=_identity(previous),
        )
    except KosInputError as exc:
        raise e.Reject(e.INVALID_REPORT, f"cannot build the KOS: {exc}") from exc
    new = _new_kos(message, inputs, located, dataset, message_id)
    try:
        record = await ctx.archive.add(new, replaces=previous.id if previous else None)
    except KosStatusError as exc:
        raise e.Retry(e.STATUS_CONFLICT, f"the previous KOS changed meanwhile: {exc}") from exc
    except KosArchiveError as exc:
        raise e.Reject(e.INVALID_REPORT, f"KOS not archived: {exc}") from exc
    if ctx.on_archived is not None:
        ctx.on_archived(record)
    return record
