"""The Source's report workflow: one module per event kind, plus the shared steps.

``process(ctx, claim)`` runs one inbox message (see :mod:`.dispatch`); NEW → :mod:`.publish`,
REPLACE → :mod:`.replace`, DEPUBLISH → :mod:`.depublish`, CANCEL_EXAM → :mod:`.cancel`;
:mod:`.lookup` finds and checks the exam on the PACS, :mod:`.kos_inputs` maps the report onto
the KOS builder, :mod:`.manifest` builds and archives one KOS, :mod:`.errors` says how a message
ends (``Retry`` / ``Reject``).
"""

from drimbox.source.workflow.context import WorkflowContext
from drimbox.source.workflow.dispatch import process
from drimbox.source.workflow.errors import Outcome, Reject, Retry

__all__ = ["Outcome", "Reject", "Retry", "WorkflowContext", "process"]
