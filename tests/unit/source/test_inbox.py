"""Inbox pieces that need no database: the back-off policy and the admin JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker

from drimbox.source.inbox import (
    Inbox,
    InboxError,
    InboxRecord,
    MessageMeta,
    RetryPolicy,
    claim_statement,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_default_back_off_doubles_from_30_s_up_to_one_hour() -> None:
    policy = RetryPolicy()
    waits = [policy.delay(n).total_seconds() for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert policy.delay(10_000) == timedelta(hours=1)  # no overflow after many attempts
    assert not policy.exhausted(10_000)


def test_back_off_is_configurable() -> None:
    policy = RetryPolicy(
        base=timedelta(seconds=5), cap=timedelta(seconds=50), factor=3, max_attempts=4
    )
    assert [policy.delay(n).total_seconds() for n in range(1, 5)] == [5, 15, 45, 50]
    assert [policy.exhausted(n) for n in (3, 4, 5)] == [False, True, True]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base": timedelta(0)},
        {"base": timedelta(seconds=10), "cap": timedelta(seconds=5)},
        {"factor": 0.5},
        {"max_attempts": 0},
    ],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="retry policy"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_delay_counts_attempts_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        RetryPolicy().delay(0)


def test_record_as_json_has_iso_timestamps_and_no_bytes() -> None:
    record = InboxRecord(
        id=1,
        received_at=T0,
        peer="127.0.0.1:1",
        sending_application="RIS",
        sending_facility="CHU",
        control_id="C1",
        message_type="ORU^R01",
        version="2.5",
        status="retry",
        attempts=2,
        next_attempt_at=T0 + timedelta(seconds=60),
        last_error_code="E207",
        last_error="PACS unavailable",
        event_kind="new",
        document_id="DOC",
        study_uid="1.2.3",
        accession="A1",
        kos_id=None,
        claimed_at=None,
        processed_at=None,
        updated_at=T0,
    )
    data = record.as_json()
    assert data["received_at"] == "2026-11-23T09:00:00+00:00"
    assert data["next_attempt_at"] == "2026-11-23T09:01:00+00:00"
    assert data["claimed_at"] is None and "raw" not in data
    assert data["status"] == "retry" and data["last_error_code"] == "E207"


async def test_store_checks_its_input_before_touching_the_database() -> None:
    inbox = Inbox(async_sessionmaker())  # unbound: any database access would fail
    with pytest.raises(InboxError, match="control_id longer than 199"):
        await inbox.store(b"MSH|", MessageMeta(control_id="9" * 200))
    with pytest.raises(InboxError, match="limit"):
        await inbox.list_messages(limit=0)


def test_the_claim_skips_rows_locked_by_other_workers_on_postgresql() -> None:
    sql = str(claim_statement(T0).compile(dialect=postgresql.dialect()))
    assert "FOR UPDATE SKIP LOCKED" in sql
    assert sql.startswith("UPDATE source_inbox_message") and "RETURNING" in sql
    # SQLite has no row locks: the single UPDATE runs under its database write lock.
    assert "FOR UPDATE" not in str(claim_statement(T0).compile(dialect=sqlite.dialect()))
