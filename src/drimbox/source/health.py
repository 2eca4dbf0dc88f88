"""The Source's health check ("météo des services"): real probes, one JSON report.

Each probe touches the real dependency: ``SELECT 1`` on the database, a C-ECHO to every
configured PACS (in parallel, each with a short budget), the free space of ``data_dir`` and the
warm cache. A DMP probe appears once a DMP client exists; until then it is reported as
``not_configured`` and does not count. The report is healthy (HTTP 200) only when every counted
probe is ``ok``; otherwise the HTTP status is 503.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import text

from drimbox import __version__
from drimbox.config import PacsNode, Settings
from drimbox.dicom.dimse import DimseClient
from drimbox.store.db import Database

Status = Literal["ok", "fail", "disabled", "not_configured"]
CacheStats = Callable[[], Mapping[str, Any]]
"""Returns the warm cache's counters (e.g. ``bytes``, ``entries``), provided by the cache."""

_COUNTED: frozenset[Status] = frozenset({"ok", "fail"})


@dataclass(frozen=True)
class Probe:
    """The outcome of one probe; ``data`` carries figures (free bytes, cache entries…)."""

    name: str
    status: Status
    latency_ms: float
    detail: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": self.status,
            "latency_ms": round(self.latency_ms, 1),
            "detail": self.detail,
        }
        if self.data:
            body["data"] = dict(self.data)
        return body


@dataclass(frozen=True)
class HealthReport:
    probes: list[Probe]
    checked_at: datetime
    duration_ms: float

    @property
    def healthy(self) -> bool:
        return all(p.status == "ok" for p in self.probes if p.status in _COUNTED)

    @property
    def http_status(self) -> int:
        return 200 if self.healthy else 503

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.healthy else "fail",
            "service": "drimbox-source",
            "version": __version__,
            "checked_at": self.checked_at.isoformat(timespec="seconds"),
            "duration_ms": round(self.duration_ms, 1),
            "checks": {p.name: p.to_json() for p in self.probes},
        }


def _error_text(exc: BaseException) -> str:
    code = getattr(exc, "user_code", None)
    message = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}{f' {code}' if code else ''}: {message}"


async def _timed(
    name: str, budget: float, work: Callable[[], Awaitable[tuple[str, Mapping[str, Any]]]]
) -> Probe:
    """Run one probe within ``budget`` seconds; any failure becomes a ``fail`` with a detail."""
    started = time.perf_counter()
    try:
        detail, data = await asyncio.wait_for(work(), budget)
        status: Status = "ok"
    except TimeoutError:
        status, detail, data = "fail", f"no answer within {budget:g} s", {}
    except ProbeFailed as exc:
        status, detail, data = "fail", str(exc), exc.data
    except Exception as exc:  # a probe never raises past here: DrimboxError, OSError, driver
        status, detail, data = "fail", _error_text(exc), {}
    return Probe(name, status, (time.perf_counter() - started) * 1000, detail, data)


class ProbeFailed(Exception):
    """A probe reached its dependency but the answer is not healthy (e.g. disk nearly full)."""

    def __init__(self, message: str, data: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.data = dict(data or {})


def _existing_parent(path: Path) -> Path:
    for candidate in (path, *path.resolve().parents):
        if candidate.exists():
            return candidate
    return Path("/")


class HealthChecker:
    """Runs every probe concurrently; build one per process and call :meth:`check` per request."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        dimse: DimseClient | None = None,
        cache_stats: CacheStats | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.health = settings.source.health
        budget = self.health.pacs_timeout
        echo_settings = settings.dimse.model_copy(
            update={
                "connect_timeout": min(settings.dimse.connect_timeout, budget),
                "acse_timeout": min(settings.dimse.acse_timeout, budget),
                "dimse_timeout": min(settings.dimse.dimse_timeout, budget),
                "network_timeout": min(settings.dimse.network_timeout, budget),
            }
        )
        # Our own client: the echo thread stops by itself within the budget.
        self.dimse = dimse or DimseClient(echo_settings)
        self.cache_stats = cache_stats

    async def check(self) -> HealthReport:
        started = time.perf_counter()
        checked_at = datetime.now(UTC)
        probes = await asyncio.gather(
            _timed("database", self.health.database_timeout, self._database),
            *(
                _timed(f"pacs:{node.name}", self.health.pacs_timeout, self._pacs(node))
                for node in self.settings.pacs
            ),
            _timed("disk", 5.0, self._disk),
        )
        result = list(probes)
        if self.settings.source.cache.enabled:
            result.append(await _timed("cache", 5.0, self._cache))
        else:
            result.append(Probe("cache", "disabled", 0.0, "warm cache off (source.cache.enabled)"))
        if not self.settings.pacs:
            result.append(Probe("pacs", "not_configured", 0.0, "no PACS configured"))
        result.append(Probe("dmp", "not_configured", 0.0, "no DMP client in this version"))
        return HealthReport(result, checked_at, (time.perf_counter() - started) * 1000)

    async def _database(self) -> tuple[str, Mapping[str, Any]]:
        async with self.database.async_engine.connect() as connection:
            value = (await connection.execute(text("SELECT 1"))).scalar_one()
        if value != 1:
            raise ProbeFailed(f"SELECT 1 returned {value!r}")
        return f"SELECT 1 OK ({self.database.backend})", {"backend": self.database.backend}

    def _pacs(self, node: PacsNode) -> Callable[[], Awaitable[tuple[str, Mapping[str, Any]]]]:
        async def probe() -> tuple[str, Mapping[str, Any]]:
            await self.dimse.echo(node)
            where = f"{node.ae_title}@{node.host}:{node.port}"
            return f"C-ECHO OK ({where})", {"ae_title": node.ae_title}

        return probe

    async def _disk(self) -> tuple[str, Mapping[str, Any]]:
        path = _existing_parent(self.settings.data_dir)
        usage = await asyncio.to_thread(shutil.disk_usage, path)
        data = {"path": str(path), "free_bytes": usage.free, "total_bytes": usage.total}
        minimum = self.health.min_free_disk_bytes
        data["min_free_bytes"] = minimum
        if usage.free < minimum:
            raise ProbeFailed(f"{usage.free} bytes free on {path}, below {minimum}", data)
        return f"{usage.free // 1024**2} MiB free on {path}", data

    async def _cache(self) -> tuple[str, Mapping[str, Any]]:
        cache = self.settings.source.cache
        folder = cache.dir or self.settings.data_dir / "rad107-cache"
        if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
            raise ProbeFailed(f"cache folder {folder} is not writable")
        data: dict[str, Any] = {"dir": str(folder), "max_bytes": cache.max_bytes}
        if self.cache_stats is not None:
            data.update(await asyncio.to_thread(self.cache_stats))
        return f"cache folder {folder} usable", data
