"""``drimbox demo`` as a user runs it: a subprocess on free loopback ports, then the printed
commands, run as printed (the RAD-107 retrieve, the health probe, the admin API).

Both runs share one data folder: the second reuses the generated data set and the PACS index
and starts a fresh Source, as a second ``make demo`` does.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

START_TIMEOUT = 120.0
PORT_FLAGS = ("--pacs-port", "--idp-port", "--mllp-port", "--dimse-port", "--iocm-port")


def drimbox() -> list[str]:
    """The installed ``drimbox`` entry point of this interpreter's environment."""
    script = Path(sys.executable).parent / "drimbox"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from drimbox.cli import main; main()"]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def demo_args() -> list[str]:
    ports = free_ports(len(PORT_FLAGS) + 1)
    args = ["demo", "--http-port", str(ports[-1])]
    for flag, port in zip(PORT_FLAGS, ports, strict=False):
        args += [flag, str(port)]
    return args


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-data")


def environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIMBOX_")}
    env["DRIMBOX_DATA_DIR"] = str(data_dir)
    env["DRIMBOX_LOG_LEVEL"] = "WARNING"
    return env


def command_lines(output: str, prefix: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(prefix)]


def test_exit_after_ready_prints_the_commands(data_dir: Path) -> None:
    done = subprocess.run(
        [*drimbox(), *demo_args(), "--exit-after-ready"],
        env=environment(data_dir),
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "DRIMbox Source demo: ready" in out
    assert "off in the demo" in out  # TLS is off, and said so
    gets = command_lines(out, "drimbox kit wado get --endpoint http://127.0.0.1:")
    assert len(gets) == 3  # exams C, H, X
    for line in gets:
        for option in ("--token ", "--study ", "--series ", "--kos ", "--save "):
            assert option in line
    assert command_lines(out, "drimbox kit health http://127.0.0.1:")
    assert command_lines(out, "curl -H 'Authorization: Bearer ")
    assert command_lines(out, "drimbox kit hl7 send --port ")
    assert command_lines(out, "findscu -S -aec PACS_SOURCE_1 ")
    assert "demo stopped" in out
    assert (data_dir / "demo" / "ans" / "manifest.json").is_file()


@pytest.fixture
def running_demo(data_dir: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    log = data_dir / "demo-run.out"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [*drimbox(), *demo_args()],
            env=environment(data_dir),
            cwd=data_dir,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "Stop with Ctrl-C." not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"demo not ready in time:\n{log.read_text()}"
            time.sleep(0.2)
        yield process, log.read_text()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def run_printed(line: str) -> subprocess.CompletedProcess[str]:
    args = shlex.split(line)
    assert args[0] == "drimbox"
    return subprocess.run(
        [*drimbox(), *args[1:]], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )


def test_printed_commands_work_against_the_running_demo(
    running_demo: tuple[subprocess.Popen[str], str], data_dir: Path
) -> None:
    process, out = running_demo
    for line in command_lines(out, "drimbox kit wado get "):
        done = run_printed(line)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "parts: " in done.stdout and "parts: 0" not in done.stdout
    assert list((data_dir / "demo" / "out").glob("*.dcm"))

    [health] = command_lines(out, "drimbox kit health ")
    done = run_printed(health)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "HTTP 200" in done.stdout

    [curl] = command_lines(out, "curl -H ")
    words = shlex.split(curl)
    token_header, url = words[2], words[3]
    name, _, value = token_header.partition(": ")
    response = httpx.get(url, headers={name: value}, timeout=30)
    assert response.status_code == 200, response.text
    messages = response.json()
    assert sorted(m["status"] for m in messages) == ["done"] * 3  # a fresh Source each run
    assert httpx.get(url, timeout=30).status_code in (401, 403)

    process.send_signal(signal.SIGTERM)
    assert stopped(process, data_dir / "demo-run.out") == 0


def stopped(process: subprocess.Popen[str], log: Path, timeout: float = 30) -> int:
    """The exit code; if the process does not stop in time, fail with its thread stacks (SIGUSR1
    makes drimbox dump them) and the end of its log."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)
        time.sleep(2)
        pytest.fail(
            f"no exit {timeout:g} s after SIGTERM; end of its log:\n{log.read_text()[-20000:]}"
        )
