"""Process plumbing shared by the peer runners: find a binary, wait for a port, stop by PID."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

from drimbox.config import PacsNode
from drimbox.errors import DrimboxError

# dcmtk leaves Nagle's algorithm on unless this variable is set; each small DIMSE message then
# waits for the peer's delayed ACK (~40 ms on Linux loopback). Every dcmtk tool we start gets it.
DCMTK_ENV = {"TCP_NODELAY": "1"}


class PeerError(DrimboxError):
    """A peer process failed to start, exited early or refused to load data."""


class PeerUnavailable(PeerError):
    """The peer's binary is not installed; the message names the Debian package."""


def require_binary(name: str, package: str) -> str:
    """The absolute path of ``name`` on PATH, or PeerUnavailable naming the package."""
    path = shutil.which(name)
    if path is None:
        raise PeerUnavailable(f"{name} is not installed (Debian package {package})")
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the peer binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def tool_env() -> dict[str, str]:
    return {**os.environ, **DCMTK_ENV}


def wait_until(
    ready: Callable[[], bool], process: subprocess.Popen[bytes], what: str, seconds: float
) -> None:
    """Poll ``ready`` every 50 ms; PeerError if the process exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PeerError(f"{what} exited early with status {process.returncode}")
        if ready():
            return
        time.sleep(0.05)
    raise PeerError(f"{what} was not ready within {seconds:.0f} s")


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def stop_process(process: subprocess.Popen[bytes], grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; only this process, by its PID."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)


class PeerProcess:
    """What every peer runner shares: a work folder (removed on exit when we made it), a log
    file, a DICOM port, start/stop as a context manager, and the PacsNode to call it with."""

    name = "peer"

    def __init__(self, ae_title: str, dicom_port: int, workdir: Path | None) -> None:
        self.ae_title = ae_title
        self.dicom_port = dicom_port or free_port()
        self._own_dir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=f"drimbox-{self.name}-"))
        self.log_path = self.workdir / f"{self.name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def node(self, *, calling_ae: str = "DRIMBOX", name: str | None = None) -> PacsNode:
        """The PacsNode our DimseClient uses to call this peer."""
        return PacsNode(
            name=name or self.name,
            ae_title=self.ae_title,
            host="127.0.0.1",
            port=self.dicom_port,
            calling_ae=calling_ae,
        )

    def log_tail(self, chars: int = 2000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)
