"""The HL7 inbox on SQLite and PostgreSQL: durability, duplicates, exclusive claims, retries."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from drimbox.source.inbox import (
    ClaimedMessage,
    Inbox,
    InboxError,
    InboxStateError,
    LostClaim,
    MessageMeta,
    RetryPolicy,
)
from drimbox.store.db import Database
from drimbox.store.migrate import upgrade

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _meta(n: int, app: str = "RIS", facility: str = "CHU") -> MessageMeta:
    return MessageMeta(
        control_id=f"MSG{n:05d}",
        sending_application=app,
        sending_facility=facility,
        message_type="ORU^R01^ORU_R01",
        version="2.5",
        peer="127.0.0.1:40000",
    )


def _raw(n: int) -> bytes:
    return f"MSH|^~\\&|RIS|CHU|DRIMBOX|CHU|20261123||ORU^R01|MSG{n:05d}|P|2.5\r".encode()


async def _claim(inbox: Inbox, now: datetime = T0) -> ClaimedMessage:
    claim = await inbox.claim_next(now=now)
    assert claim is not None
    return claim


async def test_store_commits_and_keeps_the_exact_bytes(db: Database) -> None:
    raw = _raw(1) + "PID|||é\r".encode("latin-1")  # not valid UTF-8: kept as received
    stored = await Inbox(db.async_sessions()).store(raw, _meta(1), now=T0)
    assert not stored.duplicate
    # Another engine (as another process would) sees the committed row.
    other = Database(db.url)
    try:
        inbox = Inbox(other.async_sessions())
        assert await inbox.raw(stored.id) == raw
        record = await inbox.get(stored.id)
        assert (record.status, record.attempts, record.received_at) == ("received", 0, T0)
        assert (record.control_id, record.message_type, record.peer) == (
            "MSG00001",
            "ORU^R01^ORU_R01",
            "127.0.0.1:40000",
        )
    finally:
        await other.adispose()


async def test_a_resent_message_is_a_duplicate_and_not_stored_twice(db: Database) -> None:
    inbox = Inbox(db.async_sessions())
    first = await inbox.store(_raw(1), _meta(1))
    again = await inbox.store(_raw(1), _meta(1))
    reused = await inbox.store(b"MSH|other content", _meta(1))
    assert (again.id, again.duplicate, again.same_bytes) == (first.id, True, True)
    assert (reused.id, reused.duplicate, reused.same_bytes) == (first.id, True, False)
    # The same MSH-10 from another sender (application or facility) is another message.
    other_app = await inbox.store(_raw(1), _meta(1, app="RIS2"))
    other_site = await inbox.store(_raw(1), _meta(1, facility="CH2"))
    assert not other_app.duplicate and not other_site.duplicate
    assert len({first.id, other_app.id, other_site.id}) == 3
    assert (await inbox.counts())["received"] == 3


async def test_concurrent_copies_of_one_message_store_one_row(db: Database) -> None:
    inbox = Inbox(db.async_sessions())
    results = await asyncio.gather(*(inbox.store(_raw(7), _meta(7)) for _ in range(4)))
    assert len({r.id for r in results}) == 1
    assert sorted(r.duplicate for r in results) == [False, True, True, True]


@pytest.mark.parametrize(
    ("raw", "meta", "match"),
    [
        (b"", _meta(1), "empty message"),
        (b"MSH|x", MessageMeta(control_id="  "), "MSH-10"),
        (b"MSH|x", MessageMeta(control_id="C1", message_type="X" * 33), "message_type longer"),
    ],
)
async def test_store_refuses_what_it_cannot_deduplicate_or_keep(
    db: Database, raw: bytes, meta: MessageMeta, match: str
) -> None:
    with pytest.raises(InboxError, match=match):
        await Inbox(db.async_sessions()).store(raw, meta)


async def test_claims_oldest_first_and_counts_attempts(db: Database) -> None:
    inbox = Inbox(db.async_sessions())
    ids = [(await inbox.store(_raw(n), _meta(n), now=T0)).id for n in range(3)]
    first = await _claim(inbox)
    assert (first.id, first.attempt, first.raw) == (ids[0], 1, _raw(0))
    assert first.record.status == "processing" and first.record.claimed_at == T0
    done = await inbox.mark_done(first, kos_id=None, now=T0 + timedelta(seconds=1))
    assert done.status == "done" and done.processed_at == T0 + timedelta(seconds=1)
    assert [(await _claim(inbox)).id for _ in range(2)] == ids[1:]
    assert await inbox.claim_next(now=T0) is None


async def test_each_message_is_processed_exactly_once_by_concurrent_workers(
    db: Database,
) -> None:
    """Four workers, each with its own engine (as separate processes would be), 50 messages."""
    writer = Inbox(db.async_sessions())
    expected = {(await writer.store(_raw(n), _meta(n))).id for n in range(50)}
    workers = [Database(db.url) for _ in range(4)]
    processed: list[list[int]] = [[] for _ in workers]

    async def work(index: int) -> None:
        inbox = Inbox(workers[index].async_sessions())
        for _ in range(200):  # bounded: 50 messages in all
            claim = await inbox.claim_next()
            if claim is None:
                return
            processed[index].append(claim.id)
            await asyncio.sleep(0)  # let the other workers interleave
            await inbox.mark_done(claim)

    try:
        await asyncio.gather(*(work(i) for i in range(4)))
    finally:
        for worker in workers:
            await worker.adispose()
    every = [message_id for ids in processed for message_id in ids]
    assert sorted(every) == sorted(expected)  # nothing lost, nothing twice
    counts = await writer.counts()
    assert counts["done"] == 50 and counts["processing"] == counts["received"] == 0


async def test_back_off_schedule_is_exponential_and_capped(db: Database) -> None:
    policy = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(seconds=60))
    inbox = Inbox(db.async_sessions(), policy)
    await inbox.store(_raw(1), _meta(1), now=T0)
    now, waits = T0, []
    for attempt in range(1, 7):
        claim = await _claim(inbox, now)
        assert claim.attempt == attempt
        record = await inbox.mark_retry(claim, "E207", "PACS unavailable", now=now)
        assert record.status == "retry" and record.last_error_code == "E207"
        assert record.next_attempt_at is not None
        waits.append(int((record.next_attempt_at - now).total_seconds()))
        assert await inbox.claim_next(now=record.next_attempt_at - timedelta(seconds=1)) is None
        assert await inbox.next_due_at() == record.next_attempt_at
        now = record.next_attempt_at
    assert waits == [10, 20, 40, 60, 60, 60]


async def test_retries_give_up_after_max_attempts(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    policy = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(seconds=1), max_attempts=2)
    inbox = Inbox(db.async_sessions(), policy)
    await inbox.store(_raw(1), _meta(1), now=T0)
    first = await inbox.mark_retry(await _claim(inbox), "E208", "timeout", now=T0)
    assert first.status == "retry"
    with caplog.at_level(logging.ERROR, logger="drimbox.source.inbox"):
        claim = await _claim(inbox, T0 + timedelta(seconds=1))
        last = await inbox.mark_retry(claim, "E208", "timeout", now=T0 + timedelta(seconds=1))
    assert last.status == "failed" and "gave up after 2 attempts" in last.last_error
    assert "E208" in caplog.text and "MSG00001" in caplog.text


async def test_failures_are_visible_to_the_administrator(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox(db.async_sessions())
    for n in range(3):
        await inbox.store(_raw(n), _meta(n), now=T0)
    claim = await _claim(inbox)
    await inbox.annotate(
        claim, event_kind="new", document_id="1.2.250.1^DOC1", study_uid="1.2.3", accession="A1"
    )
    with caplog.at_level(logging.ERROR, logger="drimbox.source.inbox"):
        await inbox.mark_failed(claim, "E209", "INS of the report differs from the PACS")
    assert "E209" in caplog.text and "INS of the report differs" in caplog.text
    failed = await inbox.list_messages(status="failed")
    assert [m.id for m in failed] == [claim.id]
    assert failed[0].as_json() == {
        **failed[0].as_json(),
        "status": "failed",
        "last_error_code": "E209",
        "event_kind": "new",
        "document_id": "1.2.250.1^DOC1",
        "study_uid": "1.2.3",
        "accession": "A1",
        "received_at": T0.isoformat(),
    }
    everything = await inbox.list_messages()
    assert [m.control_id for m in everything] == ["MSG00002", "MSG00001", "MSG00000"]
    assert [m.control_id for m in await inbox.list_messages(limit=1, offset=1)] == ["MSG00001"]
    with pytest.raises(InboxError, match="unknown inbox status"):
        await inbox.list_messages(status="lost")


async def test_requeue_is_for_failed_or_waiting_messages(db: Database) -> None:
    inbox = Inbox(db.async_sessions())
    await inbox.store(_raw(1), _meta(1), now=T0)
    claim = await _claim(inbox)
    await inbox.mark_failed(claim, "E207", "PACS refused")
    requeued = await inbox.requeue(claim.id)
    assert (requeued.status, requeued.attempts) == ("received", 0)
    again = await _claim(inbox)
    await inbox.mark_done(again)
    with pytest.raises(InboxStateError, match="is done"):
        await inbox.requeue(claim.id)
    with pytest.raises(InboxError, match="no inbox message"):
        await inbox.requeue(999_999)


async def test_recover_stale_gives_back_interrupted_messages(db: Database) -> None:
    inbox = Inbox(db.async_sessions())
    for n in range(2):
        await inbox.store(_raw(n), _meta(n), now=T0)
    old = await _claim(inbox, T0)
    recent = await _claim(inbox, T0 + timedelta(minutes=9))
    # Another worker restarting: only claims older than 5 minutes are taken back.
    now = T0 + timedelta(minutes=10)
    assert await inbox.recover_stale(older_than=timedelta(minutes=5), now=now) == 1
    assert (await inbox.get(old.id)).status == "received"
    assert (await inbox.get(recent.id)).status == "processing"
    retaken = await _claim(inbox, now)
    assert (retaken.id, retaken.attempt) == (old.id, 2)
    # The slow first owner comes back: its outcome must not overwrite the new owner's.
    with pytest.raises(LostClaim):
        await inbox.mark_done(old)
    await inbox.mark_done(retaken)
    await inbox.mark_done(recent)
    assert (await inbox.counts())["done"] == 2


async def test_a_message_that_keeps_crashing_the_process_is_set_aside(db: Database) -> None:
    inbox = Inbox(db.async_sessions(), RetryPolicy(max_attempts=2))
    await inbox.store(_raw(1), _meta(1), now=T0)
    await _claim(inbox)
    assert await inbox.recover_stale(now=T0) == 1
    await _claim(inbox)
    assert await inbox.recover_stale(now=T0) == 0
    record = (await inbox.list_messages())[0]
    assert (record.status, record.last_error_code) == ("failed", "interrupted")


_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from drimbox.source.inbox import Inbox, MessageMeta
    from drimbox.store.db import Database

    async def main(url: str) -> None:
        inbox = Inbox(Database(url).async_sessions())
        for n in range(5):
            raw = ("MSH|^~\\\\&|RIS|CHU|||||ORU^R01|K%d|P|2.5\\r" % n).encode()
            stored = await inbox.store(raw, MessageMeta(control_id="K%d" % n))
            print("ack", stored.id, flush=True)  # the MLLP handler would ACK here
        claim = await inbox.claim_next()
        print("processing", claim.id, flush=True)
        await asyncio.sleep(600)  # killed while processing

    asyncio.run(main(sys.argv[1]))
    """
)


async def test_kill_9_while_processing_loses_nothing(db: Database, tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        db.url.render_as_string(hide_password=False),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    acked: list[int] = []
    in_progress = None
    try:
        for _ in range(6):
            line = (await asyncio.wait_for(child.stdout.readline(), 60)).decode().split()
            assert line, (await child.stderr.read()).decode() if child.stderr else "no output"
            if line[0] == "ack":
                acked.append(int(line[1]))
            else:
                in_progress = int(line[1])
    finally:
        os.kill(child.pid, signal.SIGKILL)
        await asyncio.wait_for(child.wait(), 60)
    assert child.returncode == -signal.SIGKILL and len(acked) == 5 and in_progress in acked

    restarted = Inbox(db.async_sessions())
    assert await restarted.recover_stale() == 1
    processed = []
    for _ in range(10):
        claim = await restarted.claim_next()
        if claim is None:
            break
        processed.append(claim.id)
        await restarted.mark_done(claim)
    assert sorted(processed) == sorted(acked)
    assert (await restarted.counts())["done"] == 5


@pytest.mark.postgres
async def test_a_row_locked_by_another_worker_is_skipped_not_waited_for(
    postgres_url: str,
) -> None:
    upgrade(postgres_url)
    database = Database(postgres_url)
    try:
        inbox = Inbox(database.async_sessions())
        first = (await inbox.store(_raw(1), _meta(1))).id
        second = (await inbox.store(_raw(2), _meta(2))).id
        with database.engine.connect() as other_worker:  # holds the first row mid-claim
            other_worker.execute(
                text("SELECT id FROM source_inbox_message WHERE id = :id FOR UPDATE"),
                {"id": first},
            )
            claim = await asyncio.wait_for(inbox.claim_next(), 30)
            assert claim is not None and claim.id == second
            other_worker.rollback()
        claim = await inbox.claim_next()
        assert claim is not None and claim.id == first
    finally:
        await database.adispose()
