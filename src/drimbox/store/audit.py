"""The audit trail: one row per security-relevant action, written in the caller's transaction.

Writing in the caller's session means the audit row commits or rolls back with the action it
describes. Outcomes are a closed set so that queries ("every failure for this study") are exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from drimbox.store.models import AuditEvent, utcnow

SUCCESS: Final = "success"
FAILURE: Final = "failure"
DENIED: Final = "denied"
OUTCOMES: Final = frozenset({SUCCESS, FAILURE, DENIED})

_LIMITS: Final = {"actor": 256, "action": 64, "object_id": 256}


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    object_id: str,
    outcome: str,
    detail: str = "",
) -> AuditEvent:
    """Add an audit event to ``session`` (flushed, not committed) and return it.

    Raises ValueError for an unknown outcome, an empty action or a field longer than its
    column, rather than letting one backend truncate and another fail.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {sorted(OUTCOMES)}, got {outcome!r}")
    if not action:
        raise ValueError("audit action must not be empty")
    for name, value in (("actor", actor), ("action", action), ("object_id", object_id)):
        if len(value) > _LIMITS[name]:
            raise ValueError(f"audit {name} longer than {_LIMITS[name]} characters")
    event = AuditEvent(
        at=utcnow(),
        actor=actor,
        action=action,
        object_id=object_id,
        outcome=outcome,
        detail=detail,
    )
    session.add(event)
    session.flush()
    return event


def audit_events(
    session: Session,
    *,
    object_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> Sequence[AuditEvent]:
    """The matching events, newest first, at most ``limit`` (filters are exact matches)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    query = select(AuditEvent)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if outcome is not None:
        query = query.where(AuditEvent.outcome == outcome)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    return session.scalars(query).all()
