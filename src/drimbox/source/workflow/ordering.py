"""Message order within a document or study: a change never overtakes the report it changes.

A REPLACE, DEPUBLISH or CANCEL whose target is not archived yet may simply have arrived while
the earlier NEW is still pending (PACS down, back-off). It then waits (``retry``) instead of
failing; only when no earlier unfinished message could be its target is it rejected.
"""

from __future__ import annotations

from collections.abc import Collection

from drimbox.source.inbox import PROCESSING, RECEIVED, RETRY
from drimbox.source.workflow import errors as e
from drimbox.source.workflow.context import WorkflowContext

_UNFINISHED = (RECEIVED, PROCESSING, RETRY)


async def wait_for_earlier(
    ctx: WorkflowContext,
    message_id: int,
    *,
    document_ids: Collection[str] = (),
    study_uid: str | None = None,
) -> None:
    """Raise :class:`Retry` if an earlier unfinished message may create the target."""
    for record in await ctx.inbox.list_messages(_UNFINISHED, limit=1000):
        if record.id >= message_id:
            continue
        unparsed = record.status == RECEIVED and not record.event_kind
        same = record.document_id in document_ids or (
            study_uid is not None and record.study_uid == study_uid
        )
        if unparsed or same:
            raise e.Retry(
                e.WAITING,
                f"waits for the earlier message #{record.id} ({record.control_id}, "
                f"{record.status}) that may publish the document it refers to",
            )
