"""NEW: a first report for an exam → one KOS per study of the report (exam F has two).

Idempotent per (document, study): a study whose KOS for this document is already archived is
skipped, so a message re-run after a crash finishes what it started, and a second message with
the same document (another MSH-10, e.g. the MDM twin of an ORU) changes nothing.
"""

from __future__ import annotations

from drimbox.hl7.report import ImagingReportMessage
from drimbox.source.archive import KosRecord
from drimbox.source.workflow.context import WorkflowContext
from drimbox.source.workflow.errors import Outcome
from drimbox.source.workflow.identity import check_ins_identity
from drimbox.source.workflow.manifest import archived_for, document_key, make_kos


async def publish(ctx: WorkflowContext, message: ImagingReportMessage, message_id: int) -> Outcome:
    report = message.document
    assert report is not None
    if report.patient.ins is not None:
        check_ins_identity(report.patient.ins, report.patient.identity)
    doc_id = document_key(message)
    last: KosRecord | None = None
    earlier: KosRecord | None = None
    for study_uid in report.study_instance_uids:
        async with ctx.locks.hold(study_uid):
            archived = await archived_for(ctx, doc_id, study_uid)
            if archived is not None:
                earlier = archived
                continue
            last = await make_kos(ctx, message, study_uid, message_id)
    if last is not None:
        return Outcome(last.id)
    assert earlier is not None
    if earlier.message_id == message_id:  # re-run after a crash between archive and inbox
        return Outcome(earlier.id)
    return Outcome(
        earlier.id,
        duplicate=True,
        note=f"document {doc_id} is already archived as KOS #{earlier.id} "
        f"(message #{earlier.message_id}, {earlier.status}); nothing changed",
    )
