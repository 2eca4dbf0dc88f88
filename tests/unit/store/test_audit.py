"""Audit helper: refuses malformed events before they reach any backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from drimbox.store.audit import audit_events, record_audit
from drimbox.store.db import Database
from drimbox.store.migrate import upgrade


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade(url)
    db = Database(url)
    try:
        with db.session() as session:
            yield session
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"outcome": "ok"}, "outcome must be one of"),
        ({"action": ""}, "action must not be empty"),
        ({"actor": "x" * 257}, "actor longer than 256"),
        ({"object_id": "1." * 200}, "object_id longer than 256"),
    ],
)
def test_malformed_events_are_refused(
    session: Session, fields: dict[str, str], message: str
) -> None:
    event = {"actor": "dr", "action": "retrieve", "object_id": "1.2", "outcome": "success"}
    with pytest.raises(ValueError, match=message):
        record_audit(session, **{**event, **fields})
    assert audit_events(session) == []


def test_recorded_event_is_flushed_with_an_id_and_a_utc_time(session: Session) -> None:
    event = record_audit(
        session, actor="dr", action="retrieve", object_id="1.2", outcome="denied", detail="why"
    )
    assert event.id is not None
    assert event.at.utcoffset() == timedelta(0)
    assert audit_events(session, outcome="denied") == [event]


def test_limit_must_be_positive(session: Session) -> None:
    with pytest.raises(ValueError, match="limit"):
        audit_events(session, limit=0)
