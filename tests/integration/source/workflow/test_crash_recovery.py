"""kill -9 of ``drimbox source serve`` at several points loses and duplicates nothing (§1).

The service runs as a real subprocess with its own TOML configuration and SQLite file. The
test hook DRIMBOX_TEST_PROCESSING_DELAY keeps each claimed message in hand for a while so that
the kill lands while messages are being processed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from drimbox.hl7.ack import parse_ack
from drimbox.hl7.client import MllpClientError, send_messages
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.source.archive import KosArchive
from drimbox.source.inbox import DONE, PROCESSING, Inbox
from drimbox.store.db import Database
from e2e.source_env import AET, PUBLIC_BASE, wait_until
from support.ans_messages import exam_message

DRIMBOX = str(Path(sys.executable).parent / "drimbox")
EXAMS = ("A", "B", "C", "D", "E", "H", "J", "K", "X", "Y")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_config(folder: Path, mllp_port: int, pacs_port: int) -> Path:
    path = folder / "drimbox.toml"
    path.write_text(
        f"""data_dir = "{folder / "var"}"
log_level = "INFO"

[dimse]
port = 0
connect_timeout = 3
acse_timeout = 3
dimse_timeout = 3
network_timeout = 3

[[pacs]]
name = "pacs1"
ae_title = "{AET}"
port = {pacs_port}
retrieve_method = "get"
public_base_url = "{PUBLIC_BASE}"

[source]
http_enabled = false

[source.iocm]
enabled = false

[source.mllp]
port = {mllp_port}

[source.retry]
base_seconds = 0.2
cap_seconds = 1.0
"""
    )
    return path


@asynccontextmanager
async def serving(
    config: Path, delay: float, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {**os.environ, "DRIMBOX_TEST_PROCESSING_DELAY": str(delay)}
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            DRIMBOX, "-c", str(config), "source", "serve", env=env, stdout=out, stderr=out
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def send_when_listening(port: int, messages: list[bytes]) -> list[bytes]:
    async def attempt() -> list[bytes] | None:
        try:
            return await send_messages("127.0.0.1", port, messages, timeout=30)
        except MllpClientError:
            return None

    result: list[bytes] = await wait_until(attempt, what="the MLLP listener")
    return result


async def test_kill_9_at_several_points_processes_every_message_once(
    tmp_path: Path, pacs: PacsSimulator
) -> None:
    mllp_port = free_port()
    config = write_config(tmp_path, mllp_port, pacs.port)
    log = tmp_path / "serve.log"
    database = Database(f"sqlite:///{tmp_path / 'var' / 'drimbox.sqlite3'}")
    inbox, archive = Inbox(database.async_sessions()), KosArchive(database.async_sessions())
    messages = [exam_message(f"CR_{x}-ORU", f"K9-{x}") for x in EXAMS]
    try:
        # 1. Killed right after the ACKs: everything stored, (almost) nothing processed.
        async with serving(config, 2.0, log) as process:
            acks = await send_when_listening(mllp_port, messages[:5])
            assert [parse_ack(a)[0] for a in acks] == ["AA"] * 5
            process.send_signal(signal.SIGKILL)
            await process.wait()
        # 2. Killed while messages are in hand (some done, one processing).
        async with serving(config, 0.5, log) as process:
            acks = await send_when_listening(mllp_port, messages[5:])
            assert [parse_ack(a)[0] for a in acks] == ["AA"] * 5

            async def in_hand() -> bool:
                counts = await inbox.counts()
                return counts[DONE] >= 2 and counts[PROCESSING] >= 1

            await wait_until(in_hand, what="messages done and one in hand")
            process.send_signal(signal.SIGKILL)
            await process.wait()
        # 3. Restarted without delay: everything ends done, one KOS per document.
        async with serving(config, 0.0, log) as process:

            async def all_done() -> bool:
                return (await inbox.counts())[DONE] == len(EXAMS)

            await wait_until(all_done, timeout=120, what="every message done")
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0
        records = await inbox.list_messages()
        assert sorted(r.control_id for r in records) == sorted(f"K9-{x}" for x in EXAMS)
        for record in records:
            kos = await archive.find_by_cda_id(record.document_id)
            assert len(kos) == 1, (record.control_id, kos)
            assert record.kos_id == kos[0].id and kos[0].message_id == record.id
    finally:
        await database.adispose()
