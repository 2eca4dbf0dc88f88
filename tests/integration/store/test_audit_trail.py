"""The audit trail on both backends: it commits and rolls back with the action it records."""

from __future__ import annotations

from datetime import timedelta

import pytest

from drimbox.store.audit import DENIED, FAILURE, SUCCESS, audit_events, record_audit
from drimbox.store.db import Database
from drimbox.store.models import utcnow


def test_query_filters_and_newest_first(database_url: str) -> None:
    db = Database(database_url)
    try:
        start = utcnow()
        with db.session() as session:
            record_audit(session, actor="dr.a", action="retrieve", object_id="1.2", outcome=SUCCESS)
            record_audit(session, actor="dr.b", action="retrieve", object_id="1.2", outcome=DENIED)
            record_audit(session, actor="dr.a", action="query", object_id="1.3", outcome=FAILURE)
        with db.session() as session:
            on_study = audit_events(session, object_id="1.2")
            assert [(e.actor, e.outcome) for e in on_study] == [("dr.b", DENIED), ("dr.a", SUCCESS)]
            assert [e.action for e in audit_events(session, actor="dr.a")] == ["query", "retrieve"]
            assert len(audit_events(session, action="retrieve", outcome=SUCCESS)) == 1
            assert len(audit_events(session, since=start - timedelta(seconds=1))) == 3
            assert audit_events(session, since=utcnow() + timedelta(hours=1)) == []
            assert len(audit_events(session, limit=2)) == 2
            assert all(e.at.utcoffset() == timedelta(0) for e in audit_events(session))
    finally:
        db.dispose()


def test_audit_row_rolls_back_with_the_failed_transaction(database_url: str) -> None:
    db = Database(database_url)
    try:
        with pytest.raises(RuntimeError), db.session() as session:
            record_audit(session, actor="dr", action="delete", object_id="1.2", outcome=SUCCESS)
            raise RuntimeError("the action itself failed")
        with db.session() as session:
            assert audit_events(session) == []
    finally:
        db.dispose()
