"""REPLACE: a corrected report → a new KOS version that supersedes the previous one.

The previous version is the KOS of the document the new one replaces (CDA ``relatedDocument``
RPLC, else TXA-13), followed along later replacements; without a declared parent, the study's
current KOS. The new version keeps the KOS series, has Instance Number + 1 and points to its
predecessor (PredecessorDocumentsSequence); the archive marks the old one ``replaced``.
With nothing to replace it waits for an earlier pending message, else it is published as new.
"""

from __future__ import annotations

import logging

from drimbox.hl7.report import ImagingReportMessage
from drimbox.source.archive import REPLACED, SUPERSEDABLE, KosRecord
from drimbox.source.workflow.context import WorkflowContext
from drimbox.source.workflow.errors import Outcome
from drimbox.source.workflow.identity import check_ins_identity
from drimbox.source.workflow.manifest import archived_for, document_key, make_kos
from drimbox.source.workflow.ordering import wait_for_earlier

log = logging.getLogger(__name__)
_MAX_CHAIN = 100  # versions followed from a parent to its current replacement


def parent_ids(message: ImagingReportMessage) -> tuple[str, ...]:
    """The ids of the document this one replaces, as declared (CDA RPLC, TXA-13)."""
    report = message.document
    assert report is not None
    found = []
    if report.replaced_document is not None:
        found.append(str(report.replaced_document))
    if message.parent_document_id:
        found.append(message.parent_document_id)
    return tuple(dict.fromkeys(found))


async def _current(ctx: WorkflowContext, record: KosRecord) -> KosRecord | None:
    for _ in range(_MAX_CHAIN):
        if record.status != REPLACED or record.replaced_by_id is None:
            break
        record = await ctx.archive.get(record.replaced_by_id)
    return record if record.status in SUPERSEDABLE else None


async def previous_version(
    ctx: WorkflowContext, parents: tuple[str, ...], study_uid: str
) -> KosRecord | None:
    if not parents:
        current = await ctx.archive.current_for_study(study_uid)
        return current if current is not None and current.status in SUPERSEDABLE else None
    for parent in parents:
        for record in await ctx.archive.find_by_cda_id(parent):
            if record.study_instance_uid == study_uid:
                current = await _current(ctx, record)
                if current is not None:
                    return current
    return None


async def replace(ctx: WorkflowContext, message: ImagingReportMessage, message_id: int) -> Outcome:
    report = message.document
    assert report is not None
    if report.patient.ins is not None:
        check_ins_identity(report.patient.ins, report.patient.identity)
    doc_id = document_key(message)
    parents = tuple(p for p in parent_ids(message) if p != doc_id)
    last: KosRecord | None = None
    earlier: KosRecord | None = None
    for study_uid in report.study_instance_uids:
        async with ctx.locks.hold(study_uid):
            archived = await archived_for(ctx, doc_id, study_uid)
            if archived is not None:
                earlier = archived
                continue
            previous = await previous_version(ctx, parents, study_uid)
            if previous is None:
                await wait_for_earlier(ctx, message_id, document_ids=parents, study_uid=study_uid)
                log.warning(
                    "replacement %s of %s: no KOS to replace for study %s; published as new",
                    doc_id,
                    ", ".join(parents) or "(undeclared parent)",
                    study_uid,
                )
            last = await make_kos(ctx, message, study_uid, message_id, previous)
    if last is not None:
        return Outcome(last.id)
    assert earlier is not None
    return Outcome(
        earlier.id,
        duplicate=earlier.message_id != message_id,
        note=f"replacement {doc_id} is already archived as KOS #{earlier.id}",
    )
