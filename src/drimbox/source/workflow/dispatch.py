"""One inbox message through the workflow: parse, annotate, run the step for its event kind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from drimbox.hl7.message import Hl7ParseError
from drimbox.hl7.report import EventKind, ImagingReportMessage, parse_report_message
from drimbox.source.inbox import ClaimedMessage
from drimbox.source.workflow import errors as e
from drimbox.source.workflow.cancel import cancel_exam
from drimbox.source.workflow.context import WorkflowContext
from drimbox.source.workflow.depublish import depublish
from drimbox.source.workflow.publish import publish
from drimbox.source.workflow.replace import replace

Step = Callable[[WorkflowContext, ImagingReportMessage, int], Awaitable[e.Outcome]]
STEPS: Final[dict[EventKind, Step]] = {
    EventKind.NEW: publish,
    EventKind.REPLACE: replace,
    EventKind.DEPUBLISH: depublish,
    EventKind.CANCEL_EXAM: cancel_exam,
}


def _summary(message: ImagingReportMessage) -> dict[str, str]:
    """What the inbox row shows the administrator about the message."""
    report = message.document
    if report is None:
        study, document = message.study_instance_uid or "", ""
        accession = message.accession.value if message.accession else ""
    else:
        study = report.study_instance_uids[0] if report.study_instance_uids else ""
        document = str(report.document_id)
        numbers = [a.extension for a in report.accession_numbers if a.extension]
        accession = numbers[0] if numbers else ""
    return {
        "event_kind": message.event.value,
        "document_id": document[:256],
        "study_uid": study[:64],
        "accession": accession[:64],
    }


async def process(ctx: WorkflowContext, claim: ClaimedMessage) -> e.Outcome:
    """Run one claimed message; raises :class:`Retry` or :class:`Reject` on failure."""
    try:
        message = parse_report_message(claim.raw)
    except Hl7ParseError as exc:  # accepted at intake, so only after a parser change
        raise e.Reject(e.INVALID_MESSAGE, f"message no longer parses: {exc}") from exc
    await ctx.inbox.annotate(claim, **_summary(message))
    return await STEPS[message.event](ctx, message, claim.id)
