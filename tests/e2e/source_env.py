"""A running Source ingestion environment for tests: the ANS data in a PACS simulator on
127.0.0.1, settings pointing a SourceService at it, bounded waits and a dciodvfy check.

Imported by tests/e2e and tests/integration/source/workflow (``from e2e.source_env import …``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from drimbox.config import (
    DimseSettings,
    IocmSettings,
    MllpSettings,
    PacsNode,
    PacsSimulatorSettings,
    RetrySettings,
    Settings,
    SourceSettings,
)
from drimbox.kit.dataset.api import Manifest, generate
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.source.inbox import DONE, DUPLICATE, FAILED, InboxRecord
from drimbox.source.service import SourceService
from drimbox.store.db import Database, upgrade_schema

AET = "PACS_SOURCE_1"
PUBLIC_BASE = "https://drimbox-source.example.org/pacs1/wado-rs"
FINAL = (DONE, DUPLICATE, FAILED)
WAIT = 60.0


def study_of(exam_number: int) -> str:
    """ANS exam study UID: 1.2.250.1.213.4.5.2.1.1NN (C = 103, F = 106 and 107…)."""
    return f"1.2.250.1.213.4.5.2.1.{exam_number}"


def generate_ans(out: Path) -> Manifest:
    return generate("ans", out)


@contextmanager
def running_pacs(root: Path, dataset: Path) -> Iterator[PacsSimulator]:
    """The PACS simulator with the generated ANS studies under PACS_SOURCE_1."""
    url = f"sqlite:///{root / 'pacs.sqlite3'}"
    upgrade_schema(url)
    database = Database(url)
    settings = PacsSimulatorSettings(host="127.0.0.1", port=0, ae_titles=[AET, "PACS_CONSO"])
    sim = PacsSimulator(settings, database, archive_dir=root / "archive")
    report = sim.archive.index(sim.archive.load(AET, [dataset / "ANS"]))
    assert report.indexed > 0 and not report.skipped, report
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()
        database.dispose()


def source_settings(data_dir: Path, pacs_port: int, **source: Any) -> Settings:
    """Settings for a SourceService on free ports, short DIMSE timeouts, tiny retry back-off."""
    return Settings(
        data_dir=data_dir,
        dimse=DimseSettings(
            port=0, connect_timeout=3, acse_timeout=3, dimse_timeout=3, network_timeout=3
        ),
        pacs=[
            PacsNode(
                name="pacs1",
                ae_title=AET,
                port=pacs_port,
                retrieve_method="get",
                public_base_url=PUBLIC_BASE,
            )
        ],
        source=SourceSettings(
            mllp=MllpSettings(host="127.0.0.1", port=0),
            retry=RetrySettings(base_seconds=0.2, cap_seconds=1.0),
            **{"http_enabled": False, "iocm": IocmSettings(enabled=False), **source},
        ),
    )


async def wait_until(
    check: Callable[[], Awaitable[Any]], timeout: float = WAIT, what: str = "condition"
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def settled(
    service: SourceService, message_id: int, statuses: tuple[str, ...] = FINAL
) -> InboxRecord:
    """The inbox record once it reached one of ``statuses``."""

    async def check() -> InboxRecord | None:
        record = await service.inbox.get(message_id)
        return record if record.status in statuses else None

    result: InboxRecord = await wait_until(check, what=f"message #{message_id} in {statuses}")
    return result


def require_dciodvfy() -> str:
    found = shutil.which("dciodvfy")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("dciodvfy (Debian dicom3tools) is required under CI=true")
        pytest.skip("dciodvfy not installed (Debian package dicom3tools)")
    return found


def dciodvfy_errors(data: bytes, folder: Path, name: str) -> list[str]:
    """dciodvfy's error lines for a KOS (must be empty); also checks it was read as a KOS."""
    binary = require_dciodvfy()
    path = folder / f"{name}.dcm"
    path.write_bytes(data)
    done = subprocess.run([binary, str(path)], capture_output=True, text=True, timeout=60)
    lines = (done.stdout + done.stderr).splitlines()
    assert any("KeyObjectSelectionDocument" in line for line in lines), lines
    return [line for line in lines if line.startswith("Error") or "Error - " in line]


# --- fixtures (re-exported by the conftest.py of the suites that use them) ---


@pytest.fixture(scope="session")
def ans_dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("ans-dataset")
    return out, generate_ans(out)


@pytest.fixture(scope="session")
def ans_pacs(
    ans_dataset: tuple[Path, Manifest], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PacsSimulator]:
    with running_pacs(tmp_path_factory.mktemp("ans-pacs"), ans_dataset[0]) as sim:
        yield sim


@pytest.fixture
def pacs(ans_pacs: PacsSimulator) -> Iterator[PacsSimulator]:
    """The shared simulator, its fault injection reset after each test."""
    yield ans_pacs
    ans_pacs.refuse_associations = False
    ans_pacs.response_delay = 0.0


@pytest.fixture
def settings(tmp_path: Path, pacs: PacsSimulator) -> Settings:
    return source_settings(tmp_path / "source", pacs.port)


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[SourceService]:
    async with SourceService(settings, idle_poll=0.5) as running:
        yield running
