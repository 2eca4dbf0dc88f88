"""Orthanc (Debian ``orthanc`` + ``orthanc-dicomweb``) as a real PACS and DICOMweb peer.

Orthanc has no bind-address setting: its DICOM and HTTP ports open on every interface of the
current network namespace. ``RemoteAccessAllowed`` is false (HTTP answers loopback only), but
callers still run it inside a private namespace (see :mod:`drimbox.kit.peers.netns`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from .common import (
    PeerError,
    PeerProcess,
    free_port,
    port_open,
    require_binary,
    stop_process,
    wait_until,
)

DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
GDCM_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancGdcm.so")
DICOMWEB_ROOT = "/dicom-web/"


class Orthanc(PeerProcess):
    """One Orthanc process with its own configuration, index and storage in a work folder."""

    name = "orthanc"

    def __init__(
        self,
        *,
        ae_title: str = "ORTHANC",
        dicom_port: int = 0,
        http_port: int = 0,
        modalities: Mapping[str, tuple[str, str, int]] | None = None,
        dicomweb: bool = True,
        workdir: Path | None = None,
    ) -> None:
        self.binary = require_binary("Orthanc", "orthanc")
        if dicomweb and not DICOMWEB_PLUGIN.is_file():
            raise PeerError(f"{DICOMWEB_PLUGIN} not found (Debian package orthanc-dicomweb)")
        super().__init__(ae_title, dicom_port, workdir)
        self.http_port = http_port or free_port()
        self.modalities = dict(modalities or {})
        self.dicomweb = dicomweb
        self.config_path = self.workdir / "orthanc.json"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        """The DICOMweb root, e.g. ``http://127.0.0.1:PORT/dicom-web``."""
        return self.base_url + DICOMWEB_ROOT.rstrip("/")

    def config(self) -> dict[str, Any]:
        """Orthanc's JSON configuration: loopback HTTP only, no auth, no compression."""
        return {
            "Name": "drimbox-peer",
            "StorageDirectory": str(self.workdir / "storage"),
            "IndexDirectory": str(self.workdir / "index"),
            "StorageCompression": False,
            "DicomAet": self.ae_title,
            "DicomPort": self.dicom_port,
            "DicomCheckCalledAet": True,
            "DicomModalities": {n: list(v) for n, v in self.modalities.items()},
            "HttpPort": self.http_port,
            "HttpServerEnabled": True,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "SslEnabled": False,
            "KeepAlive": True,
            "TcpNoDelay": True,
            "SaveJobs": False,
            "Plugins": self._plugins(),
            "DicomWeb": {"Enable": self.dicomweb, "Root": DICOMWEB_ROOT, "EnableWado": False},
        }

    def _plugins(self) -> list[str]:
        """DICOMweb when asked; GDCM when installed (Debian ``orthanc-gdcm``): without it
        Orthanc cannot decode JPEG-LS/JPEG 2000, so it cannot transcode such files."""
        plugins = [str(DICOMWEB_PLUGIN)] if self.dicomweb else []
        if GDCM_PLUGIN.is_file():
            plugins.append(str(GDCM_PLUGIN))
        return plugins

    def start(self, *, seconds: float = 60) -> None:
        if self._process is not None:
            return
        for port in (self.dicom_port, self.http_port):
            if port_open(port):
                raise PeerError(f"Orthanc: port {port} is already in use on 127.0.0.1")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config(), indent=1), encoding="utf-8")
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [self.binary, str(self.config_path)], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_until(self._answers, self._process, "Orthanc", seconds)
        except PeerError as exc:
            self.stop()
            raise PeerError(f"{exc}; log: {self.log_tail()}") from None

    def _answers(self) -> bool:
        try:
            return httpx.get(self.base_url + "/system", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def system(self) -> dict[str, Any]:
        """``GET /system`` (name, version, AE title, ports)."""
        response = httpx.get(self.base_url + "/system", timeout=10)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def upload(self, paths: Iterable[Path], *, workers: int = 4) -> int:
        """POST each file to ``/instances`` with ``workers`` parallel connections."""
        files = list(paths)

        def send(client: httpx.Client, path: Path) -> None:
            response = client.post(
                self.base_url + "/instances",
                content=path.read_bytes(),
                headers={"Content-Type": "application/dicom"},
            )
            if response.status_code != 200:
                raise PeerError(f"Orthanc refused {path}: {response.status_code} {response.text}")

        limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
        with (
            httpx.Client(timeout=60, limits=limits) as client,
            ThreadPoolExecutor(max_workers=workers) as pool,
        ):
            for future in [pool.submit(send, client, p) for p in files]:
                future.result()
        return len(files)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process, grace=20)
