"""Health report aggregation and the local probes (database, disk, cache) — no network."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from drimbox.config import Settings
from drimbox.source.health import HealthChecker, HealthReport, Probe
from drimbox.source.health_api import wado_root_paths
from drimbox.store.db import Database


def report(*statuses: str) -> HealthReport:
    probes = [Probe(f"p{i}", s, 1.0, "x") for i, s in enumerate(statuses)]  # type: ignore[arg-type]
    return HealthReport(probes, datetime(2026, 1, 1, tzinfo=UTC), 2.0)


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        (("ok", "ok"), 200),
        (("ok", "not_configured", "disabled"), 200),
        (("ok", "fail"), 503),
        (("fail", "not_configured"), 503),
    ],
)
def test_overall_status_counts_only_ok_and_fail(statuses: tuple[str, ...], code: int) -> None:
    assert report(*statuses).http_status == code
    assert report(*statuses).to_json()["status"] == ("ok" if code == 200 else "fail")


def test_json_shape() -> None:
    body = report("ok").to_json()
    assert body["service"] == "drimbox-source"
    assert body["checked_at"] == "2026-01-01T00:00:00+00:00"
    assert body["checks"]["p0"] == {"status": "ok", "latency_ms": 1.0, "detail": "x"}


def test_wado_root_paths_from_public_base_urls() -> None:
    settings = Settings(
        pacs=[
            {"name": "a", "ae_title": "A", "port": 104, "index": 1,
             "public_base_url": "https://h.example/dcm4chee-arc/aets/SERVEUR_WADO/rs/"},
            {"name": "b", "ae_title": "B", "port": 105, "index": 2,
             "public_base_url": "https://h.example//rad107//2"},
            {"name": "c", "ae_title": "C", "port": 106, "index": 3},
        ]
    )  # fmt: skip
    assert wado_root_paths(settings) == ["/dcm4chee-arc/aets/SERVEUR_WADO/rs", "/rad107/2"]


def make_settings(tmp_path: Path, **source: object) -> Settings:
    return Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'h.sqlite3'}", source=source
    )


async def test_local_probes_healthy_without_pacs(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, health={"min_free_disk_bytes": 0})
    database = Database(settings.effective_database_url)
    try:
        result = await HealthChecker(settings, database).check()
    finally:
        await database.adispose()
    checks = result.to_json()["checks"]
    assert result.http_status == 200
    assert checks["database"]["status"] == "ok"
    assert checks["database"]["data"] == {"backend": "sqlite"}
    assert checks["disk"]["status"] == "ok"
    assert checks["pacs"]["status"] == "not_configured"
    assert checks["dmp"]["status"] == "not_configured"
    assert checks["cache"]["status"] == "disabled"


async def test_disk_below_threshold_is_503(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, health={"min_free_disk_bytes": 2**62})
    database = Database(settings.effective_database_url)
    try:
        result = await HealthChecker(settings, database).check()
    finally:
        await database.adispose()
    disk = result.to_json()["checks"]["disk"]
    assert result.http_status == 503
    assert disk["status"] == "fail"
    assert "below" in disk["detail"]
    assert disk["data"]["min_free_bytes"] == 2**62


async def test_cache_probe_reports_the_cache_counters(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        health={"min_free_disk_bytes": 0},
        cache={"enabled": True, "dir": str(tmp_path / "cache")},
    )
    database = Database(settings.effective_database_url)
    try:
        checker = HealthChecker(
            settings, database, cache_stats=lambda: {"bytes": 1234, "entries": 5}
        )
        result = await checker.check()
    finally:
        await database.adispose()
    cache = result.to_json()["checks"]["cache"]
    assert cache["status"] == "ok"
    assert cache["data"]["entries"] == 5 and cache["data"]["bytes"] == 1234


async def test_failing_cache_counters_fail_the_probe(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, health={"min_free_disk_bytes": 0}, cache={"enabled": True})

    def broken() -> dict[str, int]:
        raise OSError("cache index unreadable")

    database = Database(settings.effective_database_url)
    try:
        result = await HealthChecker(settings, database, cache_stats=broken).check()
    finally:
        await database.adispose()
    cache = result.to_json()["checks"]["cache"]
    assert result.http_status == 503
    assert cache["status"] == "fail" and "cache index unreadable" in cache["detail"]
