"""GET /health and GET <WADO-RS root> over a real uvicorn socket, probing a real PACS simulator.

The PACS is the kit's simulator on 127.0.0.1 (C-ECHO over a real association); its fault
injection ``refuse_associations`` makes the PACS probe fail. The ANS healthcheck client sample
request is replayed byte for byte (only the host is changed to our loopback server).
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from drimbox.cli import app as cli_app
from drimbox.config import PacsSimulatorSettings, Settings
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.source.health import HealthChecker
from drimbox.source.health_api import health_router, wado_root_paths
from drimbox.store.db import Database, upgrade_schema
from support.servers import RunningServer, serve_asgi

ANS_SAMPLE = Path(
    "/work/shared/drim-m-data/test_a_blanc/Simulateur_client_healthcheck/OK_Healthcheck_Request.txt"
)
SAMPLE_ORIGIN = "https://46.105.63.141:10375"
SAMPLE_ROOT = "/dcm4chee-arc/aets/SERVEUR_WADO/rs"


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[PacsSimulator]:
    url = f"sqlite:///{tmp_path / 'sim.sqlite3'}"
    upgrade_schema(url)
    database = Database(url)
    settings = PacsSimulatorSettings(host="127.0.0.1", port=0, ae_titles=["PACS_SOURCE_1"])
    sim = PacsSimulator(settings, database, archive_dir=tmp_path / "archive")
    sim.start()
    yield sim
    sim.stop()
    database.dispose()


def source_settings(tmp_path: Path, pacs_port: int, database_url: str | None = None) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        database_url=database_url or f"sqlite:///{tmp_path / 'var' / 'drimbox.sqlite3'}",
        dimse={"ae_title": "DRIMBOX", "port": 0},
        pacs=[
            {
                "name": "pacs1",
                "ae_title": "PACS_SOURCE_1",
                "host": "127.0.0.1",
                "port": pacs_port,
                "public_base_url": f"https://drimbox.example{SAMPLE_ROOT}",
            }
        ],
        source={"health": {"min_free_disk_bytes": 0, "pacs_timeout": 5}},
    )


def serve(settings: Settings) -> Iterator[RunningServer]:
    database = Database(settings.effective_database_url)
    app = FastAPI()
    app.include_router(health_router(HealthChecker(settings, database), wado_root_paths(settings)))
    try:
        with serve_asgi(app) as server:
            yield server
    finally:
        database.dispose()


@pytest.fixture
def server(tmp_path: Path, simulator: PacsSimulator) -> Iterator[RunningServer]:
    yield from serve(source_settings(tmp_path, simulator.port))


def test_all_probes_ok_is_200(server: RunningServer) -> None:
    response = httpx.get(server.base_url + "/health", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    checks = body["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["pacs:pacs1"]["status"] == "ok"
    assert "PACS_SOURCE_1@127.0.0.1" in checks["pacs:pacs1"]["detail"]
    assert checks["disk"]["status"] == "ok"
    assert checks["dmp"]["status"] == "not_configured"
    assert all(c["latency_ms"] >= 0 for c in checks.values())


def test_refusing_pacs_is_503_with_the_failed_probe(
    server: RunningServer, simulator: PacsSimulator
) -> None:
    simulator.refuse_associations = True
    response = httpx.get(server.base_url + "/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    pacs = body["checks"]["pacs:pacs1"]
    assert pacs["status"] == "fail"
    assert "PacsUnavailable E207" in pacs["detail"]
    assert body["checks"]["database"]["status"] == "ok"
    head = httpx.head(server.base_url + "/health")
    assert head.status_code == 503 and head.content == b""


def test_unreachable_database_is_503(tmp_path: Path, simulator: PacsSimulator) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bad = f"postgresql+psycopg://nobody@127.0.0.1:{port}/nothing"
    for running in serve(source_settings(tmp_path, simulator.port, bad)):
        response = httpx.get(running.base_url + "/health", timeout=30)
        assert response.status_code == 503
        database = response.json()["checks"]["database"]
        assert database["status"] == "fail"
        assert "OperationalError" in database["detail"]
        assert response.json()["checks"]["pacs:pacs1"]["status"] == "ok"


def test_ans_healthcheck_sample_replayed_on_the_wado_root(server: RunningServer) -> None:
    sample = ANS_SAMPLE.read_text(encoding="utf-8")
    origin = f"http://127.0.0.1:{server.port}"
    raw = sample.replace(SAMPLE_ORIGIN, origin).replace(
        "Host: 46.105.63.141:10375", f"Host: 127.0.0.1:{server.port}"
    )
    wire = raw.replace("\n", "\r\n").encode("ascii") + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(wire)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
    assert response.status == 200
    assert response.getheader("content-type") == "application/json"
    via_health = httpx.get(server.base_url + "/health").json()
    from_root = json.loads(body)
    assert from_root["checks"].keys() == via_health["checks"].keys()
    assert from_root["status"] == "ok"


def test_wado_root_refuses_other_media(server: RunningServer) -> None:
    url = server.base_url + SAMPLE_ROOT
    assert httpx.get(url, headers={"Accept": "application/dicom"}).status_code == 406
    assert httpx.get(url, headers={"Accept": "application/json;q=0"}).status_code == 406
    assert httpx.get(url, headers={"Accept": "*/*"}).status_code == 200
    assert httpx.get(url, headers={"Accept": "application/json;q=x"}).status_code == 400


def test_kit_health_cli_exit_codes(server: RunningServer, simulator: PacsSimulator) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli_app, ["kit", "health", server.base_url + SAMPLE_ROOT])
    assert ok.exit_code == 0, ok.output
    assert "HTTP 200 OK" in ok.output and '"pacs:pacs1"' in ok.output
    simulator.refuse_associations = True
    failed = runner.invoke(cli_app, ["kit", "health", server.base_url + "/health"])
    assert failed.exit_code == 1
    assert "HTTP 503" in failed.output and "E207" in failed.output


def test_kit_health_cli_without_server_exits_1() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(cli_app, ["kit", "health", f"http://127.0.0.1:{port}/health"])
    assert result.exit_code == 1
    assert "no response" in result.output
