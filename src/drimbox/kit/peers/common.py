"""Process plumbing shared by the peer runners: find a binary, wait for a port, stop by PID."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable

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
