"""``drimbox kit pacs`` commands: serve (real process), load, ls, push."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pacs_sim_support import (
    DCMTK_ENV,
    STUDY_B1,
    STUDY_C1,
    StoreScp,
    require_binary,
    wait_for_port,
    write_study,
)
from typer.testing import CliRunner

from drimbox.cli import app
from drimbox.kit.peers.common import free_port

pytestmark = pytest.mark.dcmtk


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"DRIMBOX_DATA_DIR": str(tmp_path / "var"), "DRIMBOX_CONFIG": ""}


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["kit", "pacs", *args], env=env)
    return result.exit_code, result.output


def test_serve_help_explains_the_options(env: dict[str, str]) -> None:
    code, output = invoke(env, "serve", "--help")
    assert code == 0
    for option in ("--archive", "--port", "--aet", "--destination", "--delay", "--refuse"):
        assert option in output


def test_load_then_ls_then_incremental_reload(env: dict[str, str], tmp_path: Path) -> None:
    write_study(tmp_path / "incoming", STUDY_C1)
    code, output = invoke(env, "load", "--aet", "PACS_SOURCE_2", str(tmp_path / "incoming"))
    assert code == 0, output
    assert "indexed 2, unchanged 0" in output
    code, output = invoke(env, "ls")
    assert code == 0
    assert "PACS_SOURCE_2" in output and "PAT003" in output
    code, output = invoke(env, "load", "--aet", "PACS_SOURCE_2", str(tmp_path / "incoming"))
    assert code == 0
    assert "indexed 0, unchanged 2" in output


def test_load_into_an_unknown_ae_title_fails_cleanly(env: dict[str, str], tmp_path: Path) -> None:
    write_study(tmp_path / "incoming", STUDY_C1)
    code, output = invoke(env, "load", "--aet", "NOPE", str(tmp_path / "incoming"))
    assert code == 2
    assert "unknown AE title 'NOPE'" in output


def test_push_a_study_to_storescp(env: dict[str, str], tmp_path: Path, storescp: StoreScp) -> None:
    write_study(tmp_path / "incoming", STUDY_B1)
    assert invoke(env, "load", "--aet", "PACS_SOURCE_1", str(tmp_path / "incoming"))[0] == 0
    target = f"{storescp.ae_title}@127.0.0.1:{storescp.port}"
    code, output = invoke(
        env, "push", "--aet", "PACS_SOURCE_1", "--to", target, "--study", STUDY_B1.uid
    )
    assert code == 0, output
    assert "sent 4" in output
    assert len(storescp.wait_for(4)) == 4


def test_push_to_a_closed_port_reports_unavailable(env: dict[str, str], tmp_path: Path) -> None:
    write_study(tmp_path / "incoming", STUDY_B1)
    assert invoke(env, "load", "--aet", "PACS_SOURCE_1", str(tmp_path / "incoming"))[0] == 0
    target = f"X@127.0.0.1:{free_port()}"
    code, output = invoke(env, "push", "--aet", "PACS_SOURCE_1", "--to", target, "--study", "1.2")
    assert code == 1
    assert "nothing to send" in output
    code, output = invoke(
        env, "push", "--aet", "PACS_SOURCE_1", "--to", target, "--study", STUDY_B1.uid
    )
    assert code == 1
    assert "association refused or failed" in output


def test_serve_indexes_the_archive_and_answers(env: dict[str, str], tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    write_study(archive / "PACS_SOURCE_2", STUDY_C1)
    write_study(archive, STUDY_B1)  # outside any AE folder: belongs to the first AE title
    port = free_port()
    command = [
        sys.executable,
        "-c",
        "from drimbox.cli import main; main()",
        "kit",
        "pacs",
        "serve",
        "--archive",
        str(archive),
        "--port",
        str(port),
    ]
    process = subprocess.Popen(
        command, env={**DCMTK_ENV, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_for_port(port, process, seconds=60)
        findscu = require_binary("findscu")
        for aet, study in (("PACS_SOURCE_1", STUDY_B1), ("PACS_SOURCE_2", STUDY_C1)):
            done = subprocess.run(
                [
                    findscu,
                    "-v",
                    "-S",
                    "-aec",
                    aet,
                    "-k",
                    "QueryRetrieveLevel=STUDY",
                    "-k",
                    "StudyInstanceUID=",
                    "127.0.0.1",
                    str(port),
                ],
                capture_output=True,
                text=True,
                timeout=60,
                env=DCMTK_ENV,
                check=False,
            )
            assert study.uid in done.stderr, done.stderr
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert f"listening on 127.0.0.1:{port}" in stdout.decode()
    assert f"echoscu -aec PACS_SOURCE_1 127.0.0.1 {port}" in stdout.decode()
    assert "indexed 6" in stderr.decode()
