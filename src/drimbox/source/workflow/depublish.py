"""DEPUBLISH: the report is withdrawn → its KOS become ``unpublished`` (RAD-107 answers 410).

A depublication of a document that was since replaced withdraws the current version. A second
depublication changes nothing. Without any KOS for the document it waits for an earlier pending
message, else it is rejected: there is nothing to withdraw, the administrator should know.
"""

from __future__ import annotations

from drimbox.hl7.report import ImagingReportMessage
from drimbox.source.archive import DELETED, UNPUBLISHED, KosRecord
from drimbox.source.workflow import errors as e
from drimbox.source.workflow.context import WorkflowContext
from drimbox.source.workflow.errors import Outcome
from drimbox.source.workflow.manifest import document_key
from drimbox.source.workflow.ordering import wait_for_earlier
from drimbox.source.workflow.replace import previous_version


async def _targets(ctx: WorkflowContext, doc_id: str) -> list[KosRecord]:
    studies = dict.fromkeys(k.study_instance_uid for k in await ctx.archive.find_by_cda_id(doc_id))
    found = [await previous_version(ctx, (doc_id,), study) for study in studies]
    return [k for k in found if k is not None]


async def depublish(
    ctx: WorkflowContext, message: ImagingReportMessage, message_id: int
) -> Outcome:
    doc_id = document_key(message)
    targets = await _targets(ctx, doc_id)
    if not targets:
        archived = await ctx.archive.find_by_cda_id(doc_id)
        if archived and all(k.status == DELETED for k in archived):
            return Outcome(archived[-1].id, duplicate=True, note="the exam was already deleted")
        await wait_for_earlier(ctx, message_id, document_ids=(doc_id,))
        raise e.Reject(
            e.UNKNOWN_DOCUMENT, f"no KOS archived for document {doc_id}: nothing to depublish"
        )
    changed = [k for k in targets if k.status != UNPUBLISHED]
    for record in changed:
        async with ctx.locks.hold(record.study_instance_uid):
            await ctx.archive.set_status(record.id, UNPUBLISHED)
    if not changed:
        return Outcome(
            targets[-1].id, duplicate=True, note=f"document {doc_id} already unpublished"
        )
    return Outcome(changed[-1].id)
