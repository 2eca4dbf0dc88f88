"""CANCEL_EXAM (OMI^O23, ORC-1 CA): the exam is deleted → every KOS version of the study is
``deleted`` (RAD-107 answers 410) after checking the IPC accession number against the archive.
"""

from __future__ import annotations

from drimbox.hl7.report import ImagingReportMessage
from drimbox.source.archive import DELETED
from drimbox.source.workflow import errors as e
from drimbox.source.workflow.context import WorkflowContext
from drimbox.source.workflow.errors import Outcome
from drimbox.source.workflow.ordering import wait_for_earlier


async def cancel_exam(
    ctx: WorkflowContext, message: ImagingReportMessage, message_id: int
) -> Outcome:
    study_uid = message.study_instance_uid
    accession = message.accession.value if message.accession else ""
    assert study_uid is not None
    async with ctx.locks.hold(study_uid):
        records = await ctx.archive.find_by_study(study_uid)
        matching = [k for k in records if not accession or k.accession_number == accession]
        if records and not matching:
            found = ", ".join(sorted({k.accession_number for k in records}))
            raise e.Reject(
                e.ACCESSION_MISMATCH,
                f"cancellation of study {study_uid} with accession {accession!r}, but its KOS "
                f"carry accession {found}: nothing deleted",
            )
        live = [k for k in matching if k.status != DELETED]
        if not matching:
            await wait_for_earlier(ctx, message_id, study_uid=study_uid)
            raise e.Reject(
                e.UNKNOWN_STUDY, f"no KOS archived for study {study_uid}: nothing to cancel"
            )
        if not live:
            return Outcome(matching[-1].id, duplicate=True, note="the exam was already deleted")
        for record in live:
            await ctx.archive.set_status(record.id, DELETED)
    return Outcome(live[-1].id)
