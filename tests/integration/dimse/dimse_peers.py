"""Helpers to run real DICOM peers on loopback for the DIMSE tests."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from support.tools import require_binary

PACS_AE = "DCMQR"
OUR_AE = "DRIMBOX"


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 15) -> None:
    for _ in range(int(seconds * 20)):
        if process.poll() is not None:
            raise RuntimeError(f"peer exited early with {process.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def store_with_storescu(port: int, paths: list[Path]) -> None:
    subprocess.run(
        [require_binary("storescu"), "-aet", "LOADER", "-aec", PACS_AE, "127.0.0.1", str(port)]
        + [str(p) for p in paths],
        check=True,
        capture_output=True,
        timeout=300,
    )
